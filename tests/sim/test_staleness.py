"""STALE_DATA: the check against a slow loop, its threshold edges and message, its wiring into every local
simulation (delay 0 and 1, max trade, test period) and, on the bundled sample, stale fundamentals in OS."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from alphamine.data.panel import Panel
from alphamine.data.sample_paths import SAMPLE_FILES, sample_path
from alphamine.sim.simulate import simulate
from alphamine.sim.staleness import STALE_DATA_MAX_SHARE, period_ranges, stale_data_check
from tests.sim.conftest import small_market


def slow_shares(
    ages_by_field: dict[str, np.ndarray | None], mask: np.ndarray, ranges: dict[str, tuple[int, int]], limit: float
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for f, ages in ages_by_field.items():
        out[f] = {}
        for period, (lo, hi) in ranges.items():
            held = stale = 0
            for t in range(max(lo, 0), min(hi, mask.shape[0])):
                for j in range(mask.shape[1]):
                    if mask[t, j]:
                        held += 1
                        stale += ages is not None and bool(ages[t, j] > limit)
            out[f][period] = stale / held if held else 0.0
    return out


def test_check_matches_a_slow_loop() -> None:
    rng = np.random.default_rng(11)
    for _ in range(6):
        T, N = int(rng.integers(5, 40)), int(rng.integers(1, 9))
        a = rng.uniform(0, 800, (T, N)).astype(np.float32)
        a[rng.random((T, N)) < 0.2] = np.nan
        b = np.round(rng.uniform(0, 800, (T, N)))
        ages: dict[str, np.ndarray | None] = {"a": a, "a2": a, "b": b, "fresh": None}
        mask = rng.random((T, N)) < 0.6
        cut = int(rng.integers(0, T))
        ranges = {"is": (0, cut), "os": (cut, T), "wide": (-3, T + 3), "empty": (2, 2)}
        limit = float(rng.choice([100, 400, 799]))
        got = stale_data_check(ages, mask, ranges, limit, 0.3)
        want = slow_shares(ages, mask, ranges, limit)
        assert got["fields"] == want  # both divide the same integer counts
        worst = max(v for per in want.values() for v in per.values())
        assert got["value"] == pytest.approx(worst)
        assert got["result"] == ("WARNING" if worst > 0.3 else "PASS")


def one_field(age: float, stale_cells: int, held: int = 10) -> dict[str, Any]:
    """A check over one row of `held` positions, `stale_cells` of them at age `age`, the rest fresh."""
    ages = np.zeros((1, held))
    ages[0, :stale_cells] = age
    return stale_data_check({"x": ages}, np.ones((1, held), bool), {"is": (0, 1)})


def test_threshold_edges() -> None:
    assert one_field(400, 10)["result"] == "PASS" and one_field(400, 10)["value"] == 0.0  # 400 days: not stale
    assert one_field(400.5, 10)["value"] == 1.0
    assert one_field(401, 2)["result"] == "PASS" and one_field(401, 2)["value"] == pytest.approx(0.2)  # not > 20 %
    assert one_field(401, 3)["result"] == "WARNING"
    nan_ages = np.full((1, 4), np.nan)  # no value behind the position: never stale
    assert stale_data_check({"x": nan_ages}, np.ones((1, 4), bool), {"is": (0, 1)})["value"] == 0.0
    empty = stale_data_check({"x": np.full((2, 2), 900.0)}, np.zeros((2, 2), bool), {"is": (0, 2), "os": (2, 2)})
    assert empty["fields"] == {"x": {"is": 0.0, "os": 0.0}} and empty["result"] == "PASS"  # no positions
    tighter = stale_data_check({"x": np.full((1, 2), 50.0)}, np.ones((1, 2), bool), {"is": (0, 1)}, 30, 0.5)
    assert tighter["result"] == "WARNING" and tighter["limit"] == 0.5 and tighter["limitDays"] == 30


def test_shape_and_message() -> None:
    T, N = 10, 5
    old = np.zeros((T, N))
    old[6:, :3] = 700  # 3 of 5 positions stale in the last 4 rows
    half = np.zeros((T, N))
    half[:5, :] = 900
    ranges = {"is": (0, 6), "os": (6, T)}
    got = stale_data_check(
        {"total_revenue": old, "net_income": old, "half": half, "close": None}, np.ones((T, N), bool), ranges
    )
    assert set(got) == {"name", "result", "limit", "value", "limitDays", "fields", "message"}
    assert (got["name"], got["result"], got["limit"], got["limitDays"]) == ("STALE_DATA", "WARNING", 0.2, 400)
    assert got["value"] == pytest.approx(5 / 6)
    assert got["fields"]["close"] == {"is": 0.0, "os": 0.0}
    assert got["fields"]["total_revenue"] == pytest.approx({"is": 0.0, "os": 0.6})
    msg = got["message"]
    assert "total_revenue, net_income (is 0.0%, os 60.0%)" in msg  # one report table: one group
    assert "half (is 83.3%, os 0.0%)" in msg and "close" not in msg and "400 days" in msg and "20%" in msg
    ok = stale_data_check({"close": None}, None, ranges)
    assert ok["result"] == "PASS" and ok["value"] == 0.0 and "400 days" in ok["message"]
    assert stale_data_check({}, None, ranges)["message"] == "the expression reads no field with age information"


def report_market() -> Panel:
    """The simulator's small market plus a report-like field `rep` whose values, for half the names, stop
    being refreshed near the end: by the OS period they are more than 400 days old."""
    p = small_market(seed=4)
    T, N = p.shape
    rng = np.random.default_rng(5)
    ages = np.tile((np.arange(T) % 90).astype(np.float64)[:, None], (1, N))  # quarterly reports
    ages[200:, : N // 2] = 350.0 + np.arange(T - 200)[:, None]  # then none: 400 crossed on row 251
    values = np.repeat(rng.normal(size=(T // 90 + 1, N)), 90, axis=0)[:T]
    return p.with_fields(matrices={"rep": values}, ages={"rep": ages})


SETTINGS = [
    {"universe": "TOP24", "delay": 1},
    {"universe": "TOP24", "delay": 0, "decay": 3},
    {"universe": "TOP24", "delay": 1, "maxTrade": "ON"},
    {"universe": "TOP24", "delay": 1, "testPeriod": "P0Y2M"},
    {"universe": "TOP12", "delay": 0, "maxTrade": "ON", "testPeriod": "P0Y1M", "neutralization": "NONE"},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_simulation_wiring_matches_the_check_on_its_positions(settings: dict[str, Any]) -> None:
    p = report_market()
    res = simulate("group_rank(rep, industry) + rank(-ts_delta(close, 3))", p, settings, keep_weights=True)
    got = res.checks[-1]
    assert got["name"] == "STALE_DATA" and set(got["fields"]) == {"rep", "close"}
    positions = res.weights  # PnL frame: the position of PnL row p was built from data rows <= p - 1
    assert positions is not None
    ranges = period_ranges(res.periods)
    assert set(ranges) == ({"is", "os", "train", "test"} if "testPeriod" in settings else {"is", "os"})
    T = p.n_days
    data_rows = {k: (lo - 1, hi - 1) for k, (lo, hi) in ranges.items()}
    ages = {"rep": p.ages["rep"][: T - 1], "close": None}
    want = stale_data_check(ages, positions[1:] != 0, data_rows)
    assert got == want
    assert got["fields"] == slow_shares(ages, positions[1:] != 0, data_rows, 400)
    assert got["result"] == "WARNING" and got["fields"]["rep"]["os"] > 0.2 > got["fields"]["rep"]["is"]
    assert "STALE_DATA" not in res.failed_checks()  # a WARNING never fails an alpha


def test_every_simulation_reports_stale_data() -> None:
    p = small_market()
    res = simulate("rank(-ts_delta(close, 5))", p, {"universe": "TOP24"})
    names = [c["name"] for c in res.checks]
    assert names[-1] == "STALE_DATA" and names.count("STALE_DATA") == 1
    check = res.checks[-1]
    assert check["result"] == "PASS" and check["fields"] == {"close": {"is": 0.0, "os": 0.0}}
    assert check["limit"] == STALE_DATA_MAX_SHARE


def _sample_present() -> bool:
    return all(sample_path(k).is_file() for k in SAMPLE_FILES)


@pytest.mark.skipif(not _sample_present(), reason="the bundled sample data files are absent from this install")
def test_sample_fundamentals_are_stale_out_of_sample() -> None:
    from alphamine.data.freshness import field_ages, freshness_by_period
    from alphamine.data.sample import load_sample

    p = load_sample()
    assert p.ages["total_revenue"] is p.ages["net_income"] and p.ages["cap"] is p.ages["total_revenue"]
    fund = simulate("rank(total_revenue / cap)", p, {"universe": "TOP500"}).checks[-1]
    price = simulate("rank(-ts_delta(close, 5))", p, {"universe": "TOP500"}).checks[-1]
    assert fund["result"] == "WARNING" and fund["fields"]["total_revenue"]["os"] > 0.3
    assert fund["fields"]["total_revenue"]["is"] < 0.05 and "total_revenue, cap (is" in fund["message"]
    assert price["result"] == "PASS" and price["fields"] == {"close": {"is": 0.0, "os": 0.0}}
    T = p.n_days
    last_year = {"last_year": (T - 252, T)}
    shares = freshness_by_period(p, ["total_revenue", "close"], last_year, universe="TOP500")
    assert shares["total_revenue"]["last_year"] > 0.3 and shares["close"]["last_year"] == 0.0
    ages = field_ages(p, "total_revenue")
    assert ages is not None and np.nanmedian(ages[-1]) > 400  # two-year-old reports on the last day

"""Data freshness: point-in-time ages of report fields, NaN-pattern ages of market fields, how ages travel
with the panel (derivation, slices, cache) and the per-period stale shares for reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphamine.data.cache import MANIFEST, open_panel, save_panel
from alphamine.data.derived import add_derived_fields
from alphamine.data.errors import DataError
from alphamine.data.freshness import (
    ages_over,
    days_since_finite,
    field_ages,
    freshness_by_period,
    has_ages,
    stale_cells,
    stale_shares,
)
from alphamine.data.fundamentals import join_point_in_time, join_point_in_time_with_ages, load_fundamentals
from alphamine.data.panel import Panel

DATES = np.array(
    [np.datetime64("2019-01-01") + i for i in range(1000) if (i % 7) not in (5, 6)], dtype="datetime64[D]"
)  # a calendar with "weekends": 2019-01-06 (i = 5) is the first
INST = np.array(["A", "B", "C", "D", "E"])
LAG = 90


def _same_day_pair() -> tuple[str, str]:
    """Two period ends one day apart that become available on the same trading day (the first one's
    period end + lag falls on a "weekend")."""
    for k in range(200, 400):
        pe = np.datetime64("2019-01-01") + k
        if (pe + LAG - np.datetime64("2019-01-01")).astype(int) % 7 == 5:
            return str(pe), str(pe + 1)
    raise AssertionError("no weekend found")


def report_table() -> pd.DataFrame:
    c1, c2 = _same_day_pair()
    rows = [
        ("A", "2018-06-30", 1.0),  # public 2018-09-28, before the panel starts
        ("A", "2018-12-31", 2.0),
        ("A", "2019-12-31", 3.0),
        ("A", "2019-12-31", 3.5),  # a restatement: same period, later row
        ("A", "2020-12-31", np.nan),  # the newest report leaves the line item empty
        ("A", "2021-12-31", 5.0),
        ("B", "2018-12-31", 10.0),
        ("B", "2020-12-31", 12.0),  # fiscal 2019 is missing: the 2018 report grows old
        ("C", c1, 20.0),
        ("C", c2, 21.0),  # same availability day as the row above: the later period wins
        ("E", "2019-03-31", 40.0),
        ("Z", "2019-12-31", 99.0),  # not a panel instrument
    ]
    return pd.DataFrame(rows, columns=["ticker", "period_end", "x"])


def reference_ages(dates: np.ndarray, inst: np.ndarray, table: pd.DataFrame, lag: int) -> tuple[np.ndarray, ...]:
    """(values, ages) by plain loops: on each day the report with the greatest (availability day, period,
    row) among those available, available from the first trading day >= period end + lag (or that date
    itself when it is before the panel's first day); age = day - availability day."""
    reports = []
    for pos, (_, r) in enumerate(table.iterrows()):
        pe = np.datetime64(pd.Timestamp(r["period_end"]).date(), "D")
        public = pe + np.timedelta64(lag, "D")
        later = dates[dates >= public]
        if not later.size:
            continue
        avail = public if public <= dates[0] else later[0]
        reports.append((r["ticker"], avail, pe, pos, r["x"]))
    values = np.full((dates.size, inst.size), np.nan)
    ages = np.full((dates.size, inst.size), np.nan)
    for j, tick in enumerate(inst):
        for t, day in enumerate(dates):
            best = None
            for rt, avail, pe, pos, value in reports:
                if rt == tick and avail <= day and (best is None or (avail, pe, pos) > best[0]):
                    best = ((avail, pe, pos), value)
            if best is not None:
                values[t, j] = best[1]
                ages[t, j] = (day - best[0][0]).astype(int)
    return values, ages


def test_report_ages_match_a_slow_loop() -> None:
    table = report_table()
    values, ages = join_point_in_time_with_ages(DATES, INST, table, value_cols=["x"], lag_days=LAG)
    ref_values, ref_ages = reference_ages(DATES, INST, table, LAG)
    np.testing.assert_array_equal(values["x"], ref_values)
    np.testing.assert_array_equal(ages, ref_ages)
    assert ages.dtype == np.float32 and ages.shape == (DATES.size, INST.size)
    plain = join_point_in_time(DATES, INST, table, value_cols=["x"], lag_days=LAG)["x"]
    np.testing.assert_array_equal(plain, values["x"])
    # the report public before the panel is already 95 days old on the first day (2019-01-01 - 2018-09-28)
    assert ages[0, 0] == (DATES[0] - (np.datetime64("2018-06-30") + LAG)).astype(int) == 95
    # a restatement (the later row) keeps its period's availability day: the first trading day on or after
    # 2020-03-30 (a "weekend"), where the age is 0
    t19 = int(np.searchsorted(DATES, np.datetime64("2019-12-31") + LAG))
    assert DATES[t19] == np.datetime64("2020-03-31") and values["x"][t19, 0] == 3.5 and ages[t19, 0] == 0
    # an empty line item has its report's age
    t20 = int(np.searchsorted(DATES, np.datetime64("2020-12-31") + LAG))
    assert np.isnan(values["x"][t20, 0]) and ages[t20, 0] == 0
    assert ages[t20 + 1, 0] == (DATES[t20 + 1] - DATES[t20]).astype(int)
    # the missing fiscal 2019 of B: the 2018 report is over 400 days old before the 2020 one arrives
    b = ages[:, 1]
    assert np.nanmax(b) > 600 and (b[t20:] < 400).all()
    assert np.isnan(ages[:, 3]).all()  # D has no report


def test_same_day_reports_and_lags() -> None:
    c1, c2 = _same_day_pair()
    table = pd.DataFrame({"ticker": ["C", "C"], "period_end": [c1, c2], "x": [1.0, 2.0]})
    values, ages = join_point_in_time_with_ages(DATES, INST, table, value_cols=["x"], lag_days=LAG)
    t = int(np.searchsorted(DATES, np.datetime64(c2) + LAG))
    assert np.isnan(values["x"][t - 1, 2]) and values["x"][t, 2] == 2.0 and ages[t, 2] == 0.0
    for lag in (0, 1, 45, 365):  # every lag: the loop and the join agree
        got = join_point_in_time_with_ages(DATES, INST, report_table(), value_cols=["x"], lag_days=lag)[1]
        np.testing.assert_array_equal(got, reference_ages(DATES, INST, report_table(), lag)[1])


def test_random_tables_match_the_slow_loop() -> None:
    rng = np.random.default_rng(3)
    dates, inst = DATES[:150], INST[:3]
    for _ in range(8):
        n = int(rng.integers(1, 12))
        table = pd.DataFrame(
            {
                "ticker": rng.choice(["A", "B", "C", "Q"], n),
                "period_end": [str(np.datetime64("2018-10-01") + int(k)) for k in rng.integers(0, 220, n)],
                "x": rng.normal(size=n),
            }
        )
        lag = int(rng.integers(0, 120))
        values, ages = join_point_in_time_with_ages(dates, inst, table, value_cols=["x"], lag_days=lag)
        ref_values, ref_ages = reference_ages(dates, inst, table, lag)
        np.testing.assert_array_equal(values["x"], ref_values)
        np.testing.assert_array_equal(ages, ref_ages)


def market_panel() -> Panel:
    T, N = DATES.size, INST.size
    rng = np.random.default_rng(0)
    close = 50 + rng.random((T, N))
    close[10:20, 1] = np.nan  # a gap
    close[:30, 2] = np.nan  # enters late
    close[300:, 4] = np.nan  # delisted: over a year without a price
    return Panel(
        DATES,
        INST,
        matrices={"close": close, "volume": rng.random((T, N)) * 1e6},
        groups={"sector": np.zeros((T, N), np.int32)},
        vectors={"ev": np.where(rng.random((T, N, 2)) < 0.5, 1.0, np.nan)},
        universes={"ALL": np.ones((T, N), bool)},
        name="freshness",
    )


def slow_days_since_finite(dates: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.full(values.shape[:2], np.nan)
    for j in range(values.shape[1]):
        last = None
        for t in range(values.shape[0]):
            v = values[t, j]
            if np.isfinite(v).any():
                last = dates[t]
            if last is not None:
                out[t, j] = (dates[t] - last).astype(int)
    return out


def test_market_ages_from_the_nan_pattern() -> None:
    p = market_panel()
    for name in ("close", "ev"):
        got = field_ages(p, name)
        assert got is not None and got.dtype == np.float64
        np.testing.assert_array_equal(got, slow_days_since_finite(p.dates, np.asarray(p[name])))
    close = field_ages(p, "close")
    assert close is not None
    assert close[25, 0] == 0 and close[19, 1] == (DATES[19] - DATES[9]).astype(int) and np.isnan(close[0, 2])
    assert field_ages(p, "sector") is None and field_ages(p, "ALL") is None and field_ages(p, "nope") is None
    assert has_ages(p, "ev") and not has_ages(p, "sector")
    np.testing.assert_array_equal(days_since_finite(DATES[:0], np.zeros((0, 3))), np.zeros((0, 3)))
    # fresh market data needs no array; a delisting over a year long does
    assert ages_over(p, "volume", 400) is None
    over = ages_over(p, "close", 400)
    assert over is not None and np.nanmax(over) > 400
    assert ages_over(p, "sector", 400) is None


def fundamental_panel(tmp_path: Path) -> Panel:
    path = tmp_path / "reports.csv"
    table = report_table()
    table["shares"] = [1e6] * len(table)
    table.to_csv(path, index=False)
    return load_fundamentals(path, market_panel(), lag_days=LAG)


def test_loader_ages_travel_with_the_panel(tmp_path: Path) -> None:
    p = fundamental_panel(tmp_path)
    assert set(p.ages) == {"x", "shares"} and p.ages["x"] is p.ages["shares"]  # one array per report table
    ref = reference_ages(DATES, INST, report_table(), LAG)[1]
    np.testing.assert_array_equal(field_ages(p, "x"), ref)
    assert not p.ages["x"].flags.writeable
    # derived: sharesout and cap take their shares' ages (one of the panel's own fields)
    d = add_derived_fields(p, shares=p.matrices["shares"])
    assert d.ages["sharesout"] is d.ages["x"] and d.ages["cap"] is d.ages["x"]
    assert "returns" not in d.ages and "sharesout" not in add_derived_fields(p, shares=np.ones(p.shape)).ages
    # untouched fields keep their ages, a replaced field loses them unless new ones are given
    q = p.with_fields(matrices={"x": np.zeros(p.shape), "y": np.ones(p.shape)})
    assert "x" not in q.ages and q.ages["shares"] is p.ages["shares"]
    r = p.with_fields(matrices={"x": np.zeros(p.shape)}, ages={"x": np.zeros(p.shape)})
    assert (r.ages["x"] == 0).all() and r.ages["x"].dtype == np.float32
    assert "x" not in p.replace(matrices={"close": p["close"]}).ages
    # a forward-filled field loaded without report dates has no age information: it counts as fresh
    filled = field_ages(q, "x")
    assert filled is not None and np.nanmax(filled) == 0
    # slices: ages stay point in time (relative to each row's own date) and shared
    s = p.slice("2020-01-01", None, instruments=["B", "A"])
    assert s.ages["x"] is s.ages["shares"]
    lo = int(np.searchsorted(DATES, np.datetime64("2020-01-01")))
    np.testing.assert_array_equal(s.ages["x"], p.ages["x"][lo:][:, [1, 0]])
    # ages are not part of the data fingerprint
    assert r.fingerprint() == p.with_fields(matrices={"x": np.zeros(p.shape)}).fingerprint()


def test_ages_are_validated() -> None:
    p = market_panel()
    with pytest.raises(DataError, match="MATRIX"):
        p.with_fields(ages={"sector": np.zeros(p.shape)})
    with pytest.raises(DataError, match="MATRIX"):
        p.with_fields(ages={"close": np.zeros((3, 3))})


@pytest.mark.parametrize("mmap", [True, False])
def test_ages_survive_the_cache(tmp_path: Path, mmap: bool) -> None:
    p = add_derived_fields(fundamental_panel(tmp_path), shares=None)
    p = p.with_fields(ages={"volume": np.full(p.shape, 7.0)})  # a second ages array
    save_panel(p, tmp_path / "c")
    m = json.loads((tmp_path / "c" / MANIFEST).read_text())
    # sharesout and cap (from the `shares` field) share the report table's array: one file for four fields
    assert sorted(sorted(e["fields"]) for e in m["ages"]) == [["cap", "shares", "sharesout", "x"], ["volume"]]
    q = open_panel(tmp_path / "c", mmap=mmap, verify=True)
    assert q.fingerprint() == p.fingerprint() and set(q.ages) == set(p.ages)
    assert q.ages["x"] is q.ages["shares"] and not q.ages["x"].flags.writeable
    for k in p.ages:
        np.testing.assert_array_equal(q.ages[k], p.ages[k])
    # a cache written before ages existed (no manifest key) opens without ages
    del m["ages"]
    (tmp_path / "c" / MANIFEST).write_text(json.dumps(m))
    assert dict(open_panel(tmp_path / "c").ages) == {}


def slow_shares(ages: np.ndarray, mask: np.ndarray, ranges: dict[str, tuple[int, int]], limit: float) -> dict:
    out = {}
    for period, (lo, hi) in ranges.items():
        held = stale = 0
        for t in range(max(lo, 0), min(hi, mask.shape[0])):
            for j in range(mask.shape[1]):
                if mask[t, j]:
                    held += 1
                    stale += bool(ages[t, j] > limit)
        out[period] = stale / held if held else 0.0
    return out


def test_freshness_by_period_matches_a_slow_loop(tmp_path: Path) -> None:
    p = fundamental_panel(tmp_path)
    T = p.n_days
    ranges = {"is": (0, T - 200), "os": (T - 200, T), "empty": (5, 5), "wide": (-10, T + 10)}
    got = freshness_by_period(p, ["x", "close", "sector", "shares", "x"], ranges, 400)
    assert list(got) == ["x", "close", "shares"]  # GROUP fields have no age; repeats are dropped
    alive = np.isfinite(p["close"])
    assert got["x"] == pytest.approx(slow_shares(p.ages["x"], alive, ranges, 400))
    close = field_ages(p, "close")
    assert close is not None and got["close"] == pytest.approx(slow_shares(close, alive, ranges, 400))
    assert got["x"]["empty"] == 0.0 and got["x"]["is"] > 0.0
    members = np.zeros(p.shape, bool)
    members[:, 1] = True  # B only: its missing year
    by_b = freshness_by_period(p, ["x"], ranges, 400, universe=members)
    assert by_b["x"] == pytest.approx(slow_shares(p.ages["x"], members, ranges, 400))
    assert freshness_by_period(p, ["x"], ranges, 400, universe="ALL")["x"] == pytest.approx(
        slow_shares(p.ages["x"], np.ones(p.shape, bool), ranges, 400)
    )


def test_stale_cells_and_shares_edges() -> None:
    ages = np.array([[399.0, 400.0, 401.0], [np.nan, 1000.0, 0.0]], dtype=np.float32)
    rows, flat = stale_cells(ages, 400)
    assert rows.tolist() == [0, 1] and flat.tolist() == [2, 4]
    ro = ages.view()
    ro.flags.writeable = False
    assert stale_cells(ro, 400)[1] is stale_cells(ro, 400)[1]  # memoized per read-only array
    assert stale_cells(ro, 399)[1].tolist() == [1, 2, 4]
    mask = np.ones_like(ages, dtype=bool)
    got = stale_shares({"a": ages, "b": None}, mask, {"all": (0, 2), "first": (0, 1)}, 400)
    assert got == {"a": {"all": 2 / 6, "first": 1 / 3}, "b": {"all": 0.0, "first": 0.0}}  # 401 and 1000 of 6
    assert stale_shares({"b": None}, None, {"p": (0, 1)}) == {"b": {"p": 0.0}}
    with pytest.raises(ValueError, match="mask"):
        stale_shares({"a": ages}, None, {"p": (0, 1)})

"""simulate() end to end against the loop reference, the timing contract and the checks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from alphamine.data.panel import Panel
from alphamine.sim.checks import PoolEntry
from alphamine.sim.evaluate import Evaluator
from alphamine.sim.settings import make_settings
from alphamine.sim.simulate import SimulationError, simulate
from tests.sim.conftest import small_market
from tests.sim.reference import ref_book, ref_stats, ref_weights


@pytest.fixture(scope="module")
def panel() -> Panel:
    return small_market(0)


CASES = [
    dict(delay=1, neutralization="MARKET", decay=0, truncation=0.0),
    dict(delay=1, neutralization="INDUSTRY", decay=3, truncation=0.1),
    dict(delay=0, neutralization="SECTOR", decay=0, truncation=0.15),
    dict(delay=1, neutralization="NONE", decay=2, truncation=0.0, pasteurization="OFF"),
    dict(delay=0, neutralization="MARKET", decay=4, truncation=0.08),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_metrics_match_the_loop_reference(panel: Panel, case: dict) -> None:
    expr = "rank(-ts_delta(close, 3)) * (volume / adv20)"
    s = make_settings(universe="TOP24", **case)
    res = simulate(expr, panel, s, keep_weights=True)
    U = panel.universe("TOP24")
    alpha = Evaluator(panel, universe=U if s.pasteurize else None, shift=s.delay).evaluate(expr)
    neutral = s.neutralization.value != "NONE"
    if s.neutralization.value in ("SECTOR", "INDUSTRY"):
        codes = np.asarray(panel.groups[s.neutralization.value.lower()])
    else:
        codes = np.zeros(panel.shape, np.int32)
    W = ref_weights(alpha, U, codes, neutral, s.truncation, decay=s.decay)
    book = ref_book(W, np.asarray(panel["returns"]), s.delay)
    np.testing.assert_allclose(res.weights, book["pos"] / 2e7, atol=1e-12)
    np.testing.assert_allclose(res.daily_pnl, book["pnl"], rtol=1e-10, atol=1e-6)
    first = int(np.flatnonzero(np.any(book["pos"] != 0, axis=1))[0])
    assert res.periods.first == first
    for period in ("is", "os"):
        lo, hi = res.periods.is_range if period == "is" else res.periods.os_range
        lo = max(lo, first)
        want = ref_stats(*(list(book[k][lo:hi]) for k in ("pnl", "traded", "longs", "shorts")))
        got = res.metrics[period]
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (period, key)


def test_periods_follow_p22(panel: Panel) -> None:
    res = simulate("rank(close)", panel, {"universe": "TOP24"})
    T = panel.n_days
    n_os = math.floor(0.2 * T + 0.5)
    assert res.periods.os_range == (T - n_os, T)  # T = 320: IS would keep < 252 days at 252 OS days
    assert res.periods.is_range[1] == T - n_os


def test_delay_one_trades_on_yesterdays_data(panel: Panel) -> None:
    """With delay 1 the weights that earn r[t] come from data of t-1 (P1)."""
    res = simulate(
        "returns", panel, {"universe": "TOP24", "neutralization": "NONE", "truncation": 0}, keep_weights=True
    )
    r = np.asarray(panel["returns"])
    U = panel.universe("TOP24")
    t = 200
    prev = np.where(U[t], r[t - 1], np.nan)
    ok = ~np.isnan(prev)
    np.testing.assert_allclose(res.weights[t][ok], prev[ok] / np.abs(prev[ok]).sum())


def _modified_after(panel: Panel, t: int, seed: int) -> Panel:
    from alphamine.data.derived import add_derived_fields
    from alphamine.data.universes import add_top_universes

    rng = np.random.default_rng(seed)
    mats = {}
    for k in ("close", "open", "volume"):
        a = np.array(panel[k])
        a[t + 1 :] *= rng.uniform(0.5, 1.5, a[t + 1 :].shape)
        mats[k] = a
    raw = Panel(
        panel.dates, panel.instruments, matrices=mats, groups=dict(panel.groups), group_labels=dict(panel.group_labels)
    )
    return add_top_universes(add_derived_fields(raw), (24, 12))


LOOKAHEAD_EXPRS = [
    "rank(-ts_delta(close, 5))",
    "group_neutralize(ts_rank(volume / adv20, 10), industry)",
    "ts_corr(rank(open), rank(volume), 10) * -1",
    "ts_decay_linear(zscore(returns), 5)",
    "trade_when(volume > adv20, -returns, -1)",
    "ts_backfill(ts_regression(returns, ts_delay(returns, 1), 20, rettype=2), 5)",
]


@pytest.mark.parametrize("expr", LOOKAHEAD_EXPRS)
@pytest.mark.parametrize("delay", [0, 1])
def test_no_look_ahead(panel: Panel, expr: str, delay: int) -> None:
    """Changing any data after day t never changes the weights that earn r[t]."""
    s = {"universe": "TOP24", "delay": delay, "decay": 3, "neutralization": "SECTOR", "truncation": 0.1}
    base = simulate(expr, panel, s, keep_weights=True)
    for t in (150, 260):
        other = simulate(expr, _modified_after(panel, t, t), s, keep_weights=True)
        np.testing.assert_array_equal(base.weights[: t + 1], other.weights[: t + 1])


def test_result_json_csv_and_plot(panel: Panel, tmp_path) -> None:
    res = simulate("rank(-ts_delta(close, 5))", panel, {"universe": "TOP24", "testPeriod": "P0Y3M"})
    doc = json.loads(res.to_json_text())
    assert doc["settings"]["neutralization"] == "INDUSTRY"
    assert {"is", "os", "train", "test", "yearly"} <= set(doc)
    for key in (
        "sharpe",
        "fitness",
        "turnover",
        "returns",
        "drawdown",
        "margin",
        "longCount",
        "shortCount",
        "pnl",
        "bookSize",
    ):
        assert key in doc["is"] and key in doc["os"]
    assert any(c["name"] == "LOW_SHARPE" and "limit" in c for c in doc["is"]["checks"])
    assert res.metrics["train"]["pnl"] + res.metrics["test"]["pnl"] == pytest.approx(res.metrics["is"]["pnl"])
    years = res.yearly
    assert list(years.columns)[:3] == ["year", "pnl", "bookSize"]
    assert years["pnl"].sum() == pytest.approx(res.metrics["is"]["pnl"] + res.metrics["os"]["pnl"])
    csv = tmp_path / "pnl.csv"
    res.write_pnl_csv(csv)
    lines = csv.read_text().splitlines()
    assert lines[0] == "date,pnl" and len(lines) == panel.n_days - res.periods.first + 1
    png = tmp_path / "p.png"
    res.plot(png)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_checks_concentration_selfcorr_and_subuniverse(panel: Panel) -> None:
    res = simulate("rank(close)", panel, {"universe": "TOP24", "truncation": 0, "neutralization": "NONE"})
    names = [c["name"] for c in res.checks]
    for n in (
        "LOW_SHARPE",
        "LOW_FITNESS",
        "LOW_TURNOVER",
        "HIGH_TURNOVER",
        "CONCENTRATED_WEIGHT",
        "LOW_SUB_UNIVERSE_SHARPE",
        "SELF_CORRELATION",
        "UNITS",
        "DATA_LENGTH",
    ):
        assert n in names
    selfcorr = next(c for c in res.checks if c["name"] == "SELF_CORRELATION")
    assert selfcorr["result"] == "PENDING"
    # against itself (with a positive Sharpe): correlation 1 and not 10% better -> FAIL
    expr = "rank(close)" if res.metrics["is"]["sharpe"] > 0 else "-rank(close)"
    plain = {"universe": "TOP24", "truncation": 0, "neutralization": "NONE"}
    base = simulate(expr, panel, plain)
    entry = PoolEntry("same", base.dates, base.daily_pnl, base.metrics["is"]["sharpe"])
    again = simulate(expr, panel, plain, pool=[entry])
    sc = next(c for c in again.checks if c["name"] == "SELF_CORRELATION")
    assert sc["result"] == "FAIL" and sc["value"] == pytest.approx(1.0)
    assert sc["correlatedWith"] == "same"
    # an unrelated pool member passes
    noise = PoolEntry("noise", base.dates, np.random.default_rng(1).normal(size=base.dates.size), 3.0)
    ok = simulate(expr, panel, plain, pool=[noise])
    assert next(c for c in ok.checks if c["name"] == "SELF_CORRELATION")["result"] == "PASS"
    # a 3-name book is concentrated
    few = simulate(
        "if_else(rank(volume) > 0.9, 1, 0)", panel, {"universe": "TOP24", "neutralization": "NONE", "truncation": 0}
    )
    cw = next(c for c in few.checks if c["name"] == "CONCENTRATED_WEIGHT")
    assert cw["result"] == "FAIL" and cw["value"] > 0.1 and "date" in cw
    sub = next(c for c in res.checks if c["name"] == "LOW_SUB_UNIVERSE_SHARPE")
    assert sub["result"] in ("PASS", "FAIL") and "limit" in sub
    units = simulate("close + volume", panel, {"universe": "TOP24"})
    assert next(c for c in units.checks if c["name"] == "UNITS")["result"] == "WARNING"


def test_consultant_profile_adds_ladder_checks(panel: Panel) -> None:
    res = simulate("rank(-ts_delta(close, 5))", panel, {"universe": "TOP24", "checkProfile": "consultant"})
    names = [c["name"] for c in res.checks]
    assert "LOW_2Y_SHARPE" in names and "IS_LADDER_SHARPE" in names
    low = next(c for c in res.checks if c["name"] == "LOW_SHARPE")
    assert low["limit"] == 1.58


@pytest.mark.parametrize(
    ("expr", "settings", "message"),
    [
        ("rank(close)", {"universe": "TOP3000"}, "unknown universe"),
        ("rank(clse)", {"universe": "TOP24"}, "clse"),
        ("rank(close", {"universe": "TOP24"}, "SYNTAX"),
        ("ts_delay(close, -1)", {"universe": "TOP24"}, "LOOKAHEAD"),
    ],
)
def test_bad_input_gives_one_clear_error(panel: Panel, expr: str, settings: dict, message: str) -> None:
    with pytest.raises(SimulationError, match=message):
        simulate(expr, panel, settings)


def test_max_trade_caps_daily_trades_at_a_fraction_of_adv(panel: Panel) -> None:
    from alphamine.sim.simulate import adv_dollars

    base = {"universe": "TOP24", "neutralization": "MARKET", "truncation": 0}
    free = simulate("rank(-returns)", panel, base, keep_weights=True)
    capped = simulate(
        "rank(-returns)", panel, {**base, "maxTrade": "ON", "maxTradeAdvFraction": 0.001}, keep_weights=True
    )
    assert capped.weights is not None and free.weights is not None
    pos = capped.weights * 2e7
    change = np.abs(np.diff(np.vstack([np.zeros((1, pos.shape[1])), pos]), axis=0))
    limit = np.full(pos.shape, np.nan)
    limit[1:] = 0.001 * adv_dollars(panel)[:-1]
    ok = ~np.isnan(limit)
    assert np.all(change[ok] <= limit[ok] * (1 + 1e-9) + 1e-6)
    assert np.all(change[~ok] == 0.0)  # no ADV yet: the name cannot trade
    assert capped.metrics["is"]["turnover"] < free.metrics["is"]["turnover"]
    assert any(c["name"] == "LOW_SUB_UNIVERSE_SHARPE" and "value" in c for c in capped.checks)

"""Metric functions against the loop reference and against empyrical-reloaded where they overlap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphamine.sim import metrics as M
from alphamine.sim.periods import os_length, split_periods, year_blocks
from tests.sim.reference import ref_stats

empyrical = pytest.importorskip("empyrical", reason="empyrical-reloaded is a dev dependency")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=0, max_size=80), st.integers(0, 5))
def test_period_stats_match_reference(pnl: list[float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.array(pnl, dtype=float)
    traded = rng.uniform(0, 4e6, p.size)
    longs = rng.integers(0, 50, p.size).astype(float)
    shorts = rng.integers(0, 50, p.size).astype(float)
    got = M.period_stats(p, traded, longs, shorts)
    want = ref_stats(list(p), list(traded), list(longs), list(shorts))
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k


def test_sharpe_matches_empyrical_up_to_ddof() -> None:
    rng = np.random.default_rng(0)
    pnl = rng.normal(2e3, 1e5, 1000)
    n = pnl.size
    emp = empyrical.sharpe_ratio(pnl / 1e7, risk_free=0, period="daily")  # ddof 1, √252
    assert M.sharpe(pnl) == pytest.approx(emp * math.sqrt(n / (n - 1)), rel=1e-12)


def test_drawdown_matches_empyrical_when_the_peak_is_the_start() -> None:
    """empyrical measures drawdowns on compounded wealth relative to the peak; with the peak at the
    start (wealth 1 = $10M) and wealth W_t = 1 + cumsum(pnl)/1e7 the two definitions coincide."""
    rng = np.random.default_rng(1)
    pnl = -np.abs(rng.normal(1e4, 5e4, 300))
    pnl[1::7] *= -0.3  # small rebounds below the starting peak
    wealth = 1 + np.cumsum(pnl) / 1e7
    assert wealth.max() < 1
    rets = np.diff(np.concatenate(([1.0], wealth))) / np.concatenate(([1.0], wealth[:-1]))
    assert M.drawdown(pnl) == pytest.approx(-empyrical.max_drawdown(rets), rel=1e-9)


def test_zero_std_and_empty_periods_give_zeros() -> None:
    flat = M.period_stats(np.full(10, 5.0), np.ones(10), np.ones(10), np.ones(10))
    assert flat["sharpe"] == 0.0 and flat["fitness"] == 0.0
    empty = M.period_stats(np.array([]), np.array([]), np.array([]), np.array([]))
    assert all(v == 0.0 for k, v in empty.items() if k != "bookSize")


def test_fitness_uses_turnover_floor() -> None:
    assert M.fitness(2.0, 0.1, 0.05) == pytest.approx(2.0 * math.sqrt(0.1 / 0.125))
    assert M.fitness(2.0, -0.1, 0.5) == pytest.approx(2.0 * math.sqrt(0.1 / 0.5))


@pytest.mark.parametrize(("T", "n_os"), [(1259, 252), (1260, 252), (2520, 504), (320, 64), (600, 252), (503, 101)])
def test_os_length(T: int, n_os: int) -> None:
    assert os_length(T) == n_os


def test_periods_test_period_and_years() -> None:
    dates = np.arange(np.datetime64("2014-01-01"), np.datetime64("2019-06-01"))
    dates = dates[np.is_busday(dates)]
    p = split_periods(dates, 10, test_period="P1Y")
    assert p.is_range[0] == 10 and p.is_range[1] == dates.size - os_length(dates.size)
    last_is = dates[p.is_range[1] - 1]
    assert dates[p.test_range[0]] > last_is - np.timedelta64(366, "D")
    assert p.train_range == (10, p.test_range[0]) and p.test_range[1] == p.is_range[1]
    blocks = year_blocks(dates, p)
    assert blocks[0][0] == 2014 and blocks[0][2] == 10
    stages = [(y, s) for y, s, _, _ in blocks]
    straddle = dates[p.os_range[0]].astype("datetime64[Y]").astype(int) + 1970
    assert (int(straddle), "IS") in stages and (int(straddle), "OS") in stages
    assert sum(hi - lo for _, _, lo, hi in blocks) == dates.size - 10


def test_period_stats_many_equals_one_period_at_a_time() -> None:
    rng = np.random.default_rng(5)
    pnl = rng.normal(1e4, 1e5, 300)
    traded = rng.uniform(0, 4e6, 300)
    longs = rng.integers(0, 50, 300).astype(float)
    shorts = rng.integers(0, 50, 300).astype(float)
    ranges = [(0, 300), (10, 11), (0, 0), (250, 300), (120, 121)]
    many = M.period_stats_many(pnl, traded, longs, shorts, ranges)
    for (lo, hi), got in zip(ranges, many, strict=True):
        want = M.period_stats(pnl[lo:hi], traded[lo:hi], longs[lo:hi], shorts[lo:hi])
        assert list(got) == list(want)  # BRAIN's key order
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
    assert many[2]["sharpe"] == 0.0 and many[2]["pnl"] == 0.0  # an empty period

"""Yearly Sharpe and the positive-year fraction: against a per-year loop and the simulator's own
period statistics, and the documented treatment of short (stub) years."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from alphamine.research.stability import (
    MIN_YEAR_DAYS,
    Stability,
    YearStat,
    positive_year_fraction,
    stability,
    yearly_sharpes,
)
from alphamine.sim.metrics import period_stats_many, sharpe


def _bdays(start: str, end: str) -> np.ndarray:
    days = np.arange(np.datetime64(start), np.datetime64(end), dtype="datetime64[D]")
    return days[np.is_busday(days)]


def _fixture(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    dates = _bdays("2019-11-04", "2023-02-20")  # stub 2019 (~41 days), 2020-2022 full, stub 2023
    rng = np.random.default_rng(seed)
    pnl = rng.normal(2_000.0, 50_000.0, dates.size)
    return dates, pnl


def test_yearly_sharpes_match_per_year_loop() -> None:
    dates, pnl = _fixture()
    got = yearly_sharpes(dates, pnl, 0, dates.size)
    years = sorted({int(str(d)[:4]) for d in dates})
    assert [s.year for s in got] == years
    for s in got:
        rows = [i for i, d in enumerate(dates) if int(str(d)[:4]) == s.year]
        vals = pnl[rows]
        mean = sum(vals) / len(vals)
        sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))  # ddof 0, as the simulator
        assert s.sharpe == pytest.approx(mean / sd * math.sqrt(252), rel=1e-9)
        assert s.pnl == pytest.approx(float(sum(vals)), rel=1e-12)
        assert s.n_days == len(rows)


def test_yearly_sharpes_agree_with_simulator_period_stats() -> None:
    dates, pnl = _fixture(1)
    lo, hi = 30, dates.size - 10
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    ranges = []
    for y in np.unique(years[lo:hi]):
        idx = np.flatnonzero(years[lo:hi] == y) + lo
        ranges.append((int(idx[0]), int(idx[-1]) + 1))
    zeros = np.zeros_like(pnl)
    sim = period_stats_many(pnl, zeros, zeros, zeros, ranges)
    got = yearly_sharpes(dates, pnl, lo, hi)
    assert len(got) == len(sim)
    for s, row in zip(got, sim, strict=True):
        assert s.sharpe == pytest.approx(row["sharpe"], rel=1e-9)
        assert s.pnl == pytest.approx(row["pnl"], rel=1e-12)


def test_range_and_missing_days() -> None:
    dates, pnl = _fixture(2)
    pnl[5] = np.nan
    pnl[300] = np.inf
    got = yearly_sharpes(dates, pnl, 3, 400)
    assert sum(s.n_days for s in got) == 397 - 2
    first = got[0]
    vals = pnl[3:400][(dates[3:400].astype("datetime64[Y]") == np.datetime64("2019", "Y"))]
    vals = vals[np.isfinite(vals)]
    assert first.sharpe == pytest.approx(sharpe(vals))
    assert yearly_sharpes(dates, pnl, 10, 10) == []
    all_nan = np.full(dates.size, np.nan)
    assert yearly_sharpes(dates, all_nan, 0, dates.size) == []
    with pytest.raises(ValueError):
        yearly_sharpes(dates, pnl[:-5], 0, dates.size)


def test_positive_fraction_ignores_short_years() -> None:
    stats = [
        YearStat(2019, -3.0, -50_000.0, 40),  # stub: ignored
        YearStat(2020, 1.0, 10_000.0, 253),
        YearStat(2021, -0.5, -5_000.0, 252),
        YearStat(2022, 0.0, 0.0, 251),  # flat: not positive
        YearStat(2023, 2.0, 8_000.0, 59),  # stub: ignored
    ]
    assert positive_year_fraction(stats) == pytest.approx(1 / 3)
    assert positive_year_fraction(stats, min_days=1) == pytest.approx(2 / 5)
    assert math.isnan(positive_year_fraction(stats[:1]))
    assert math.isnan(positive_year_fraction([]))
    assert MIN_YEAR_DAYS == 60


def test_stability_summary_and_json() -> None:
    dates, pnl = _fixture(3)
    pnl[dates.astype("datetime64[Y]") == np.datetime64("2021", "Y")] -= 10_000.0  # a losing year
    st = stability(dates, pnl, 0, dates.size)
    assert isinstance(st, Stability)
    full = [y for y in st.years if y.n_days >= MIN_YEAR_DAYS]
    assert [y.year for y in full] == [2020, 2021, 2022]
    assert st.positive_fraction == pytest.approx(sum(y.pnl > 0 for y in full) / 3)
    assert st.min_sharpe == min(y.sharpe for y in full)
    assert st.min_sharpe < 0
    out = st.to_json()
    assert [y["year"] for y in out["years"]] == [2019, 2020, 2021, 2022, 2023]
    json.dumps(out, allow_nan=False)
    empty = stability(dates, pnl, 0, 20)  # one stub year only
    assert math.isnan(empty.positive_fraction) and math.isnan(empty.min_sharpe)
    assert empty.to_json()["positive_fraction"] is None and empty.to_json()["min_sharpe"] is None

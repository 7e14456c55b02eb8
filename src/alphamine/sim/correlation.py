"""PnL correlation between alphas: the matrix of a set of results, and the maximum against an accepted
pool over the last 4 IS years (the SELF_CORRELATION window of brain.md §4.5).

Daily PnL series are aligned on their common dates; a pair with fewer than 2 common days, or a
constant series, has no correlation (NaN).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alphamine.sim.checks import PoolEntry, aligned_correlation, correlation_window
from alphamine.sim.result import SimResult


def pnl_series(result: SimResult) -> tuple[np.ndarray, np.ndarray]:
    """(dates, daily PnL) from the first position day to the end of the panel."""
    f = result.periods.first
    return result.dates[f:], result.daily_pnl[f:]


def correlation_matrix(series: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Pearson correlation of every pair of (dates, pnl) series on their common dates; 1 on the
    diagonal (NaN for a series that is constant)."""
    n = len(series)
    out = np.full((n, n), np.nan)
    for i in range(n):
        d, p = series[i]
        out[i, i] = 1.0 if p.size >= 2 and p.std() > 0 else np.nan
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = aligned_correlation(d, p, *series[j])
    return out


def result_correlations(results: Sequence[SimResult]) -> np.ndarray:
    """The daily-PnL correlation matrix of a set of simulation results (full PnL period)."""
    return correlation_matrix([pnl_series(r) for r in results])


def max_pool_correlation(result: SimResult, pool: Sequence[PoolEntry]) -> tuple[float, str | None]:
    """The highest correlation of `result`'s IS daily PnL with any pool member over the last 4 IS years
    (SELF_CORRELATION semantics), and that member's name; (NaN, None) with no comparable member."""
    lo, hi = max(result.periods.is_range[0], result.periods.first), result.periods.is_range[1]
    if hi <= lo:
        return float("nan"), None
    start, end = correlation_window(result.dates, lo, hi)
    sel = (result.dates[lo:hi] > start) & (result.dates[lo:hi] <= end)
    d, p = result.dates[lo:hi][sel], result.daily_pnl[lo:hi][sel]
    best, name = float("nan"), None
    for entry in pool:
        keep = (entry.dates > start) & (entry.dates <= end)
        c = aligned_correlation(d, p, entry.dates[keep], entry.pnl[keep])
        if not np.isnan(c) and (name is None or c > best):
            best, name = c, entry.name
    return best, name

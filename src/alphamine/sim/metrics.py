"""BRAIN metrics of a daily PnL stream over one period (simulation.md "PnL and metrics", P21-P24).

Small pure functions in the empyrical style: every input is a 1-D float64 array of one period's days
(already restricted to days on or after the first position day), every output a float. Book constants
come from `alphamine.sim.settings`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from alphamine.sim.settings import BOOK_SIZE, HALF_BOOK, TRADING_DAYS

FITNESS_TURNOVER_FLOOR = 0.125


def sharpe(pnl: np.ndarray) -> float:
    """mean / std (ddof 0) · √252; 0 when std is 0 or the period is empty (P23)."""
    if pnl.size == 0:
        return 0.0
    sd = float(pnl.std())
    if sd == 0.0 or not math.isfinite(sd):
        return 0.0
    return float(pnl.mean()) / sd * math.sqrt(TRADING_DAYS)


def annual_returns(pnl: np.ndarray) -> float:
    """Annualized PnL on the $10M half book."""
    return float(pnl.mean()) * TRADING_DAYS / HALF_BOOK if pnl.size else 0.0


def turnover(traded: np.ndarray) -> float:
    """Mean daily traded dollars / $20M book."""
    return float(traded.mean()) / BOOK_SIZE if traded.size else 0.0


def drawdown(pnl: np.ndarray) -> float:
    """Largest peak-to-trough fall of the period's cumulative PnL (restarting at 0, which counts as a
    peak) on the $10M half book."""
    if pnl.size == 0:
        return 0.0
    cum = np.concatenate(([0.0], np.cumsum(pnl)))
    return float((np.maximum.accumulate(cum) - cum).max()) / HALF_BOOK


def margin(pnl: np.ndarray, traded: np.ndarray) -> float:
    """Σ pnl / Σ traded dollars (a fraction; reports show basis points); 0 when nothing traded."""
    total = float(traded.sum())
    return float(pnl.sum()) / total if total > 0 else 0.0


def fitness(sharpe_value: float, returns_value: float, turnover_value: float) -> float:
    """sharpe · √(|returns| / max(turnover, 0.125))."""
    return sharpe_value * math.sqrt(abs(returns_value) / max(turnover_value, FITNESS_TURNOVER_FLOOR))


STAT_NAMES = ("pnl", "longCount", "shortCount", "turnover", "returns", "drawdown", "margin", "sharpe", "fitness")


@njit(cache=True, nogil=True, error_model="numpy")
def _stats_kernel(
    pnl: np.ndarray, traded: np.ndarray, longs: np.ndarray, shorts: np.ndarray, bounds: np.ndarray
) -> np.ndarray:
    """The metrics above (in `STAT_NAMES` order) of every period [lo, hi) of `bounds` (P, 2) in one call:
    a simulation reports ~10 periods (IS, OS, train, test, each year), and one compiled pass per period
    replaces ~30 small NumPy calls each."""
    P = bounds.shape[0]
    out = np.zeros((P, 9))
    ann = math.sqrt(TRADING_DAYS)
    for k in range(P):
        lo = bounds[k, 0]
        hi = bounds[k, 1]
        n = hi - lo
        if n <= 0:
            continue
        total = 0.0
        tr = 0.0
        lc = 0.0
        sc = 0.0
        for i in range(lo, hi):
            total += pnl[i]
            tr += traded[i]
            lc += longs[i]
            sc += shorts[i]
        mean = total / n
        var = 0.0
        cum = 0.0
        peak = 0.0
        dd = 0.0
        for i in range(lo, hi):
            dev = pnl[i] - mean
            var += dev * dev
            cum += pnl[i]
            peak = max(peak, cum)
            dd = max(dd, peak - cum)
        sd = math.sqrt(var / n)
        sh = mean / sd * ann if (sd != 0.0 and math.isfinite(sd)) else 0.0
        ret = mean * TRADING_DAYS / HALF_BOOK
        tv = tr / n / BOOK_SIZE
        out[k, 0] = total
        out[k, 1] = lc / n
        out[k, 2] = sc / n
        out[k, 3] = tv
        out[k, 4] = ret
        out[k, 5] = dd / HALF_BOOK
        out[k, 6] = total / tr if tr > 0 else 0.0
        out[k, 7] = sh
        out[k, 8] = sh * math.sqrt(abs(ret) / max(tv, FITNESS_TURNOVER_FLOOR))
    return out


def period_stats_many(
    pnl: np.ndarray, traded: np.ndarray, longs: np.ndarray, shorts: np.ndarray, ranges: list[tuple[int, int]]
) -> list[dict[str, float]]:
    """`period_stats` of each day range [lo, hi) of the full daily series (an empty range: all zeros)."""
    bounds = np.array(ranges, dtype=np.int64).reshape(-1, 2)
    table = _stats_kernel(pnl, traded, longs, shorts, bounds)
    out = []
    for row in table.tolist():
        stats: dict[str, float] = {"pnl": row[0], "bookSize": BOOK_SIZE}  # BRAIN's key order
        stats.update(zip(STAT_NAMES[1:], row[1:], strict=True))
        out.append(stats)
    return out


def period_stats(pnl: np.ndarray, traded: np.ndarray, longs: np.ndarray, shorts: np.ndarray) -> dict[str, float]:
    """Every BRAIN metric of one period, with BRAIN's JSON names (values not rounded, P24)."""
    def f64(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=np.float64)

    return period_stats_many(f64(pnl), f64(traded), f64(longs), f64(shorts), [(0, len(pnl))])[0]

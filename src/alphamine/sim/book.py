"""From daily weights to the daily series of a book (simulation.md step 8 and "PnL and metrics").

Why these kernels look the way they do: they run once per simulated alpha over the whole (T, N) book, so
they are as hot as the operators. Each day is a few passes over one row (in L1/L2). Float sums are lane
sums (`sim.lanes`: vectorized and reproducible bit for bit, never reassociated by the compiler); counts
and max |w| (an integer max over the IEEE bits) are integer reductions in a pass of their own, which
vectorizes.

Shapes and NaN policy: `weights` (T, N) float64, 0.0 = no position, never NaN; `returns` (T, N) float64,
NaN = missing (contributes 0); `sub` bool (T, N). A book whose PnL row p holds the weights built on row
p - lag: positions before row `lag` are zero.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphamine.sim.lanes import ABS_BITS, LANES, fold


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _book_block(w: np.ndarray, w_prev: np.ndarray, r: np.ndarray, base: int, n: int, acc: np.ndarray) -> None:
    pnl = acc[0]
    traded = acc[1]
    for i in range(n):
        j = base + i
        wj = w[j]
        rj = r[j]
        pnl[i] += wj * rj if rj == rj else 0.0
        traded[i] += abs(wj - w_prev[j])


@njit(cache=True, nogil=True, error_model="numpy")
def _book_row(
    w: np.ndarray, w_prev: np.ndarray, r: np.ndarray, scale: float, acc: np.ndarray
) -> tuple[float, float, float, float, np.int64]:
    """One PnL day: (Σ pos·r, Σ |pos - pos_prev|, longs, shorts, bits of max |w|) with pos = w · scale.
    `acc` is (2, LANES) scratch."""
    n = w.shape[0]
    acc[:] = 0.0
    full = n - n % LANES
    for base in range(0, full, LANES):
        _book_block(w, w_prev, r, base, LANES, acc)
    _book_block(w, w_prev, r, full, n - full, acc)
    wi = w.view(np.int64)
    lc = 0
    sc = 0
    mx = np.int64(0)
    for j in range(n):  # integer reductions only: one vectorized pass
        wj = w[j]
        lc += wj > 0.0
        sc += wj < 0.0
        mx = max(mx, wi[j] & ABS_BITS)
    return fold(acc[0]) * scale, fold(acc[1]) * scale, float(lc), float(sc), mx


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _sub_total_block(w: np.ndarray, sub: np.ndarray, base: int, n: int, total: np.ndarray) -> None:
    for i in range(n):
        j = base + i
        total[i] += w[j] if sub[j] else 0.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _sub_pnl_block(
    w: np.ndarray, sub: np.ndarray, r: np.ndarray, mean: float, base: int, n: int, acc: np.ndarray
) -> None:
    gross = acc[0]
    pnl = acc[1]
    for i in range(n):
        j = base + i
        wj = w[j]
        rj = r[j]
        d = wj - mean if (sub[j] & (wj != 0.0)) else 0.0
        gross[i] += abs(d)
        pnl[i] += d * rj if rj == rj else 0.0


SUB_BOOK_RESIDUE = 1e-12
"""A sub-universe book holding less than this fraction of the book is rounding residue: its PnL is 0."""


@njit(cache=True, nogil=True, error_model="numpy")
def _sub_row(w: np.ndarray, sub: np.ndarray, r: np.ndarray, scale: float, acc: np.ndarray) -> float:
    """One day of the sub-universe book (brain.md §4.3): the weights of names in `sub` holding a
    position, market-neutralized over them, re-scaled to Σ|w| = 1 (× scale); its PnL. `acc` is
    (2, LANES) scratch."""
    n = w.shape[0]
    count = 0
    for j in range(n):
        count += sub[j] & (w[j] != 0.0)
    if count == 0:
        return 0.0
    full = n - n % LANES
    acc[:] = 0.0
    for base in range(0, full, LANES):  # names without a position add 0
        _sub_total_block(w, sub, base, LANES, acc[0])
    _sub_total_block(w, sub, full, n - full, acc[0])
    mean = fold(acc[0]) / count
    acc[:] = 0.0
    for base in range(0, full, LANES):
        _sub_pnl_block(w, sub, r, mean, base, LANES, acc)
    _sub_pnl_block(w, sub, r, mean, full, n - full, acc)
    gross = fold(acc[0])
    # Weights are fractions of the book (Σ|w| = 1). Names that hold only rounding residue of it (seen:
    # 1e-317 each) make no sub-book: re-scaling the residue would overflow (scale / gross = inf).
    if not (gross > SUB_BOOK_RESIDUE):
        return 0.0
    return fold(acc[1]) * (scale / gross)


@njit(cache=True, nogil=True, error_model="numpy")
def _series(T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Zeroed daily series of a book: pnl, traded, longs, shorts, max_abs (rows before the lag stay 0)."""
    return np.zeros(T), np.zeros(T), np.zeros(T), np.zeros(T), np.zeros(T)


@njit(cache=True, nogil=True, error_model="numpy")
def book_series(
    weights: np.ndarray, lag: int, scale: float, returns: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Daily series of a book whose PnL row p holds positions weights[p - lag] · scale (0 before row lag).

    pnl[p] = Σ pos·r[p] (a missing return contributes 0); traded[p] = Σ |pos[p] - pos[p-1]| (from zero
    on the first row); long/short counts use the sign of the position (P20); max_abs[p] = max |pos[p]| /
    scale. One pass, no (T, N) temporaries.
    """
    T, N = returns.shape
    pnl, traded, longs, shorts, max_abs = _series(T)
    max_bits = max_abs.view(np.int64)  # max |w| arrives as its IEEE bits
    zero = np.zeros(N)
    acc = np.empty((2, LANES))
    for p in range(max(lag, 0), T):
        b = p - lag
        prev = weights[b - 1] if b > 0 else zero
        pnl[p], traded[p], longs[p], shorts[p], max_bits[p] = _book_row(weights[b], prev, returns[p], scale, acc)
    return pnl, traded, longs, shorts, max_abs


@njit(cache=True, nogil=True, error_model="numpy")
def sub_universe_pnl(weights: np.ndarray, lag: int, scale: float, sub: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """brain.md §4.3: each day's weights restricted to the sub-universe (names holding a position),
    market-neutralized over them and re-scaled to Σ|w| = 1 (× `scale`); the daily PnL of that book."""
    T = returns.shape[0]
    pnl = np.zeros(T)
    acc = np.empty((2, LANES))
    for p in range(max(lag, 0), T):
        b = p - lag
        pnl[p] = _sub_row(weights[b], sub[b], returns[p], scale, acc)
    return pnl


@njit(cache=True, nogil=True, error_model="numpy")
def book_and_sub_series(
    weights: np.ndarray, lag: int, scale: float, returns: np.ndarray, sub: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`book_series` and `sub_universe_pnl` in one sweep over the days (each day's rows are read from
    memory once and reused from cache); the same numbers as the two kernels, bit for bit."""
    T, N = returns.shape
    pnl, traded, longs, shorts, max_abs = _series(T)
    max_bits = max_abs.view(np.int64)  # max |w| arrives as its IEEE bits
    sub_pnl = np.zeros(T)
    zero = np.zeros(N)
    acc = np.empty((2, LANES))
    for p in range(max(lag, 0), T):
        b = p - lag
        w = weights[b]
        r = returns[p]
        prev = weights[b - 1] if b > 0 else zero
        pnl[p], traded[p], longs[p], shorts[p], max_bits[p] = _book_row(w, prev, r, scale, acc)
        sub_pnl[p] = _sub_row(w, sub[b], r, scale, acc)
    return pnl, traded, longs, shorts, max_abs, sub_pnl


@njit(cache=True, nogil=True, error_model="numpy")
def apply_max_trade(target: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Step 8: cap each day's position change at `limit` dollars (NaN limit = the name cannot trade)."""
    T, N = target.shape
    out = np.empty((T, N))
    prev = np.zeros(N)
    for t in range(T):
        for j in range(N):
            lim = limit[t, j]
            want = target[t, j] - prev[j]
            want = min(max(want, -lim), lim) if lim == lim else 0.0
            prev[j] = prev[j] + want
            out[t, j] = prev[j]
    return out

"""Turnover reducers and recursive smoothers: hump, hump_decay, jump_decay, ts_delta_limit,
ts_weighted_decay, inst_tvr (brain.md §5.3).

Recursive operators (hump, ts_delta_limit, ts_weighted_decay) share one NaN rule: a NaN input gives a
NaN output for that day and the day is skipped by the recursion (the state is carried through it, as
P14 does for trade_when); an instrument without a previous output starts from its input.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphamine.ops.registry import lookback_of
from alphamine.ops.stateful._common import TS, as_f64, boolean, number, reg, series, window

_NAN_STATE = (
    "NaN input → NaN output that day; the recursion skips the day (state carried through it); the "
    "first valid input of an instrument starts the state"
)


@njit(cache=True, nogil=True)
def _hump(x, h):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    state = np.full(N, np.nan)
    for t in range(T):
        base = 0.0
        for j in range(N):
            v = x[t, j]
            if not np.isnan(v):
                base += abs(v)
        lim = h * base
        for j in range(N):
            v = x[t, j]
            if np.isnan(v):
                out[t, j] = np.nan
                continue
            p = state[j]
            if np.isnan(p):
                r = v
            else:
                c = v - p
                if c > lim:
                    r = p + lim
                elif c < -lim:
                    r = p - lim
                else:
                    r = p
            state[j] = r
            out[t, j] = r
    return out


def hump_kernel(x: np.ndarray, hump: float = 0.01) -> np.ndarray:
    return _hump(as_f64(x), float(hump))


@njit(cache=True, nogil=True)
def _hump_decay(x, p, relative):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    for t in range(T):
        for j in range(N):
            v = x[t, j]
            if t == 0 or np.isnan(v):
                out[t, j] = v
                continue
            prev = x[t - 1, j]
            if np.isnan(prev):
                out[t, j] = v
                continue
            thr = p * abs(v + prev) if relative else p
            out[t, j] = v if abs(v - prev) > thr else prev
    return out


def hump_decay_kernel(x: np.ndarray, p: float = 0.0, relative: bool = False) -> np.ndarray:
    return _hump_decay(as_f64(x), float(p), bool(relative))


@njit(cache=True, nogil=True)
def _jump_decay(x, d, sensitivity, force):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    s = np.empty(N, dtype=np.float64)
    n = np.empty(N, dtype=np.float64)
    ss = np.empty(N, dtype=np.float64)
    for t in range(T):
        if t < d - 1:
            for j in range(N):
                out[t, j] = np.nan
            continue
        # population std of the window's valid values (two passes, rows outer for C order)
        s[:] = 0.0
        n[:] = 0.0
        for r in range(t - d + 1, t + 1):
            for j in range(N):
                v = x[r, j]
                if not np.isnan(v):
                    s[j] += v
                    n[j] += 1.0
        for j in range(N):
            s[j] = s[j] / n[j] if n[j] > 0 else np.nan  # now the mean
        ss[:] = 0.0
        for r in range(t - d + 1, t + 1):
            for j in range(N):
                v = x[r, j]
                if not np.isnan(v):
                    ss[j] += (v - s[j]) * (v - s[j])
        for j in range(N):
            v = x[t, j]
            if np.isnan(v) or t == 0 or np.isnan(x[t - 1, j]):
                out[t, j] = v
                continue
            prev = x[t - 1, j]
            dx = v - prev
            std = np.sqrt(ss[j] / n[j])
            out[t, j] = prev + force * dx if abs(dx) > sensitivity * std else v
    return out


def jump_decay_kernel(x: np.ndarray, d: int, sensitivity: float = 0.5, force: float = 0.1) -> np.ndarray:
    if d < 1:
        raise ValueError(f"jump_decay: d must be >= 1, got {d}")
    return _jump_decay(as_f64(x), int(d), float(sensitivity), float(force))


@njit(cache=True, nogil=True)
def _delta_limit(x, y, frac):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    state = np.full(N, np.nan)
    for t in range(T):
        for j in range(N):
            v = x[t, j]
            if np.isnan(v):
                out[t, j] = np.nan
                continue
            p = state[j]
            if np.isnan(p):
                r = v
            else:
                lim = frac * abs(y[t, j])
                if np.isnan(lim):
                    r = p
                else:
                    c = v - p
                    if c > lim:
                        r = p + lim
                    elif c < -lim:
                        r = p - lim
                    else:
                        r = v
            state[j] = r
            out[t, j] = r
    return out


def ts_delta_limit_kernel(x: np.ndarray, y: np.ndarray, limit_volume: float = 0.1) -> np.ndarray:
    xa, ya = as_f64(x), as_f64(y)
    if xa.shape != ya.shape:
        raise ValueError(f"ts_delta_limit: x {xa.shape} and y {ya.shape} differ in shape")
    return _delta_limit(xa, ya, float(limit_volume))


@njit(cache=True, nogil=True)
def _weighted_decay(x, k):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    state = np.full(N, np.nan)
    for t in range(T):
        for j in range(N):
            v = x[t, j]
            if np.isnan(v):
                out[t, j] = np.nan
                continue
            s = state[j]
            r = v if (np.isnan(s) or k == 1.0) else k * v + (1.0 - k) * s
            state[j] = r
            out[t, j] = r
    return out


def ts_weighted_decay_kernel(x: np.ndarray, k: float = 0.5) -> np.ndarray:
    return _weighted_decay(as_f64(x), float(k))


@njit(cache=True, nogil=True)
def _inst_tvr(x, d):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    traded = np.empty(N, dtype=np.float64)
    held = np.empty(N, dtype=np.float64)
    n = np.empty(N, dtype=np.int64)
    for t in range(T):
        if t < d - 1:
            for j in range(N):
                out[t, j] = np.nan
            continue
        traded[:] = 0.0
        held[:] = 0.0
        n[:] = 0
        for r in range(t - d + 1, t + 1):
            for j in range(N):
                v = x[r, j]
                if np.isnan(v):
                    continue
                held[j] += abs(v)
                n[j] += 1
                if r >= 1:
                    p = x[r - 1, j]
                    if not np.isnan(p):
                        traded[j] += abs(v - p)
        for j in range(N):
            out[t, j] = traded[j] / held[j] if (n[j] > 0 and held[j] != 0.0) else np.nan
    return out


def inst_tvr_kernel(x: np.ndarray, d: int) -> np.ndarray:
    if d < 1:
        raise ValueError(f"inst_tvr: d must be >= 1, got {d}")
    return _inst_tvr(as_f64(x), int(d))


reg(
    "hump",
    TS,
    (series("x"), number("hump", 0.01, "limit as a fraction of the day's Σ|x|", minimum=0)),
    hump_kernel,
    """Rate limiter: keep yesterday's output unless today's input moved past a limit, then move toward
    it by exactly the limit.

    limit[t] = hump · Σ_i |x[t, i]| (valid instruments of the day). With c = x[t] − out[t−1]:
    out[t] = out[t−1] + limit·sign(c) if |c| > limit, else out[t−1]. An instrument's first valid day
    gives out = x. Example: hump=0.1 on a day with Σ|x| = 15 → limit 1.5; yesterday 2, today 5 → 3.5.""",
    assumptions=(
        "limit base = the day's Σ|x| over instruments with a valid x (brain.md: undocumented)",
        "strict '>': a change equal to the limit is held",
        _NAN_STATE,
    ),
    examples=("hump(rank(x), hump=0.001)",),
)

reg(
    "hump_decay",
    TS,
    (
        series("x"),
        number("p", 0.0, "change threshold", minimum=0),
        boolean("relative", False, "threshold relative to |x[t] + x[t−1]|"),
    ),
    hump_decay_kernel,
    """Ignore small day-over-day moves: out[t] = x[t] if |x[t] − x[t−1]| > p (relative=true:
    > p·|x[t] + x[t−1]|), else x[t−1].

    x[t−1] is yesterday's input (not yesterday's output). Row 0, or yesterday NaN → x[t]; today NaN →
    NaN.""",
    assumptions=(
        "x[t−1] is the previous row's input (non-recursive, as the help article writes it)",
        "previous row NaN (or row 0) → x[t]",
    ),
    examples=("hump_decay(x, p=0.05, relative=true)",),
)

reg(
    "jump_decay",
    TS,
    (
        series("x"),
        window("d", "window of the std (including today)"),
        number("sensitivity", 0.5, "jump threshold in units of ts_std_dev(x, d)", minimum=0),
        number("force", 0.1, "fraction of a jump let through"),
    ),
    jump_decay_kernel,
    """Damp jumps: with Δ = x[t] − x[t−1] and σ = ts_std_dev(x, d) (population, NaNs skipped, window
    including today): out[t] = x[t−1] + force·Δ if |Δ| > sensitivity·σ, else x[t].

    NaN for t < d−1 (P3); today NaN → NaN; yesterday NaN → x[t].""",
    lookback=lookback_of("d"),
    assumptions=(
        "x[t−1] is yesterday's input (non-recursive); σ includes today's value",
        "yesterday NaN → x[t] (no jump measurable)",
    ),
    examples=("jump_decay(x, 20, sensitivity=0.5, force=0.1)",),
)

reg(
    "ts_delta_limit",
    TS,
    (
        series("x"),
        series("y", "liquidity measure the change is limited by (e.g. adv20)"),
        number("limit_volume", 0.1, "allowed daily change as a fraction of |y|", minimum=0),
    ),
    ts_delta_limit_kernel,
    """Limit each day's change of the output to limit_volume·|y[t]|:
    out[t] = out[t−1] + clip(x[t] − out[t−1], −L, L), L = limit_volume·|y[t]| (= x[t] when within).

    y NaN → hold out[t−1]; an instrument's first valid day gives x[t].""",
    assumptions=(
        "y NaN → no trade allowed (hold yesterday's output)",
        "the limit uses |y| (sign ignored)",
        _NAN_STATE,
    ),
    examples=("ts_delta_limit(rank(x), adv20 / 1e6, limit_volume=0.1)",),
)

reg(
    "ts_weighted_decay",
    TS,
    (series("x"), number("k", 0.5, "weight of today's value")),
    ts_weighted_decay_kernel,
    """Exponential smoothing: out[t] = k·x[t] + (1 − k)·out[t−1]; past values weigh k·(1−k)^lag.

    An instrument's first valid value starts the recursion (out = x); k = 1 returns x.""",
    assumptions=(
        "semantics not captured by brain.md: exponential weights chosen (recursive EMA on the output); "
        "a two-term reading k·x[t] + (1−k)·x[t−1] is also plausible",
        _NAN_STATE,
    ),
    examples=("ts_weighted_decay(x, k=0.3)",),
)

reg(
    "inst_tvr",
    TS,
    (series("x"), window("d")),
    inst_tvr_kernel,
    """Per-instrument turnover over the last d rows: Σ|x[s] − x[s−1]| / Σ|x[s]|, s = t−d+1..t.

    A change term needs both rows valid; NaNs are skipped; the denominator uses the valid values of the
    window. NaN for t < d−1 (P3), for an all-NaN window and when Σ|x| = 0 (P8).""",
    unit_rule="dimensionless",
    lookback=lookback_of("d"),
    assumptions=(
        "traded = Σ|Δx| over the window's days (the first day's change reads the row before the "
        "window), held = Σ|x| over the window; entering/leaving (NaN ↔ value) counts no trade",
    ),
    examples=("inst_tvr(rank(x), 20)",),
)

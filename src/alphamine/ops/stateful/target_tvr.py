"""Turnover-targeting smoothers: ts_target_tvr_decay, ts_target_tvr_delta_limit, ts_target_tvr_hump
(brain.md §5.3, single source: "auto-tune the smoother to a target turnover").

Algorithm (alphamine's choice; causal by construction). Each operator has a one-parameter smoother
S_λ(out[t−1], x[t]) and a grid of `TVR_GRID_POINTS` values of λ evenly spaced in [lambda_min,
lambda_max]. Every day t, each grid λ yields a candidate row c_λ = S_λ(state, x[t]) and its turnover

    tvr(λ) = Σ_i |c_λ,i − out[t−1, i]| / Σ_i |c_λ,i|

(an instrument entering counts |c|, one leaving counts |out[t−1]|; book 0 → tvr 0 if nothing trades,
else inf). Among the λ with tvr(λ) ≤ target_tvr the one whose row stays closest to today's input
(least Σ_i |c_λ,i − x[t, i]|, i.e. the least smoothing that meets the target) is chosen, ties → the
smaller λ; when no λ meets the target, the λ with the lowest turnover. Only out[t−1] (itself built
from rows < t) and row t are read, so no row after t can influence row t.

NaN rule (as the other recursive smoothers): x NaN → NaN that day, the instrument's state is carried
through; an instrument without a state starts from x.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphamine.ops.stateful._common import TS, as_f64, number, reg, series

TVR_GRID_POINTS = 21
"""Number of λ values tried per day (evenly spaced over [lambda_min, lambda_max], both included)."""

MODE_DECAY, MODE_DELTA_LIMIT, MODE_HUMP = 0, 1, 2


@njit(cache=True, nogil=True)
def _step(mode, lam, p, v, yv, base):  # pragma: no cover - numba
    """One smoother step for a valid input v and previous state p (NaN = none)."""
    if np.isnan(p):
        return v
    if mode == 0:  # exponential decay: λ = weight of yesterday's output
        if lam == 0.0:
            return v
        if lam == 1.0:
            return p
        return lam * p + (1.0 - lam) * v
    if mode == 1:  # delta limit: λ = limit_volume
        lim = lam * abs(yv)
        if np.isnan(lim):
            return p
        c = v - p
        if c > lim:
            return p + lim
        if c < -lim:
            return p - lim
        return v
    # hump: λ = hump fraction of the day's Σ|x|
    lim = lam * base
    c = v - p
    if c > lim:
        return p + lim
    if c < -lim:
        return p - lim
    return p


@njit(cache=True, nogil=True)
def _target_tvr(x, y, mode, lam_lo, lam_hi, target, G):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    state = np.full(N, np.nan)  # last valid output per instrument
    prev = np.full(N, np.nan)  # yesterday's output row (for turnover)
    cand = np.empty((G, N), dtype=np.float64)
    lams = np.empty(G, dtype=np.float64)
    tvr = np.empty(G, dtype=np.float64)
    err = np.empty(G, dtype=np.float64)
    for g in range(G):
        lams[g] = lam_lo if G == 1 else lam_lo + (lam_hi - lam_lo) * g / (G - 1)
    for t in range(T):
        base = 0.0
        for j in range(N):
            v = x[t, j]
            if not np.isnan(v):
                base += abs(v)
        for g in range(G):
            traded = 0.0
            book = 0.0
            e = 0.0
            for j in range(N):
                v = x[t, j]
                if np.isnan(v):
                    r = np.nan
                else:
                    r = _step(mode, lams[g], state[j], v, y[t, j], base)
                cand[g, j] = r
                q = prev[j]
                if np.isnan(r):
                    if not np.isnan(q):
                        traded += abs(q)
                    continue
                book += abs(r)
                e += abs(r - v)
                traded += abs(r) if np.isnan(q) else abs(r - q)
            if book > 0.0:
                tvr[g] = traded / book
            else:
                tvr[g] = 0.0 if traded == 0.0 else np.inf
            err[g] = e
        best = -1
        for g in range(G):
            if tvr[g] <= target and (best < 0 or err[g] < err[best]):
                best = g
        if best < 0:
            best = 0
            for g in range(1, G):
                if tvr[g] < tvr[best] or (np.isnan(tvr[best]) and not np.isnan(tvr[g])):
                    best = g
        for j in range(N):
            r = cand[best, j]
            out[t, j] = r
            prev[j] = r
            if not np.isnan(r):
                state[j] = r
    return out


def _run(x: np.ndarray, y: np.ndarray | None, mode: int, lam_min: float, lam_max: float,
         target: float, name: str) -> np.ndarray:
    xa = as_f64(x)
    ya = xa if y is None else as_f64(y)
    if xa.shape != ya.shape:
        raise ValueError(f"{name}: x {xa.shape} and y {ya.shape} differ in shape")
    lo, hi = sorted((min(max(float(lam_min), 0.0), 1.0), min(max(float(lam_max), 0.0), 1.0)))
    grid = 1 if lo == hi else TVR_GRID_POINTS
    return _target_tvr(xa, ya, mode, lo, hi, float(target), grid)


def ts_target_tvr_decay_kernel(x: np.ndarray, lambda_min: float = 0.0, lambda_max: float = 1.0,
                               target_tvr: float = 0.1) -> np.ndarray:
    return _run(x, None, MODE_DECAY, lambda_min, lambda_max, target_tvr, "ts_target_tvr_decay")


def ts_target_tvr_delta_limit_kernel(x: np.ndarray, y: np.ndarray, lambda_min: float = 0.0,
                                     lambda_max: float = 1.0, target_tvr: float = 0.1) -> np.ndarray:
    return _run(x, y, MODE_DELTA_LIMIT, lambda_min, lambda_max, target_tvr, "ts_target_tvr_delta_limit")


def ts_target_tvr_hump_kernel(x: np.ndarray, lambda_min: float = 0.0, lambda_max: float = 1.0,
                              target_tvr: float = 0.1) -> np.ndarray:
    return _run(x, None, MODE_HUMP, lambda_min, lambda_max, target_tvr, "ts_target_tvr_hump")


def _tvr_params() -> tuple:
    return (
        number("lambda_min", 0.0, "smallest smoother parameter tried (clipped to [0, 1])", minimum=0),
        number("lambda_max", 1.0, "largest smoother parameter tried (clipped to [0, 1])", minimum=0),
        number("target_tvr", 0.1, "daily turnover target: Σ|Δout| / Σ|out|", minimum=0),
    )


_COMMON_ASSUMPTIONS = (
    "semantics single-source: per day, λ is picked on a grid of 21 values in [lambda_min, lambda_max] "
    "so that the day's cross-sectional turnover Σ|Δout|/Σ|out| ≤ target_tvr, preferring the candidate "
    "closest to x (least smoothing); if none meets the target, the lowest-turnover λ",
    "λ bounds are clipped to [0, 1] and swapped if given in reverse",
    "x NaN → NaN; the state is carried through NaN days",
)
_ALGO = """

    Each day every λ on a 21-point grid in [lambda_min, lambda_max] gives a candidate row; its
    turnover Σ_i|c_i − out[t−1, i]| / Σ_i|c_i| (entering and leaving instruments count in full) is
    compared with target_tvr. Among candidates meeting it the one closest to x[t] (least Σ|c − x[t]|,
    ties → smaller λ) is taken; if none meets it, the lowest-turnover one. Causal: reads rows ≤ t."""

reg(
    "ts_target_tvr_decay",
    TS,
    (series("x"), *_tvr_params()),
    ts_target_tvr_decay_kernel,
    """Exponential decay tuned per day to a turnover target: out[t] = λ·out[t−1] + (1 − λ)·x[t], λ = 0
    passes x through, λ = 1 holds yesterday's output.""" + _ALGO,
    assumptions=_COMMON_ASSUMPTIONS,
    examples=("ts_target_tvr_decay(rank(x), target_tvr=0.05)",),
)

reg(
    "ts_target_tvr_delta_limit",
    TS,
    (series("x"), series("y", "liquidity measure (e.g. adv20)"), *_tvr_params()),
    ts_target_tvr_delta_limit_kernel,
    """ts_delta_limit(x, y, limit_volume=λ) tuned per day to a turnover target: the day's change of
    each instrument is clipped to λ·|y[t]| (λ = 0 holds, larger λ follows x more closely; y NaN →
    hold).""" + _ALGO,
    assumptions=(*_COMMON_ASSUMPTIONS, "λ plays the role of limit_volume; y NaN → hold"),
    examples=("ts_target_tvr_delta_limit(rank(x), adv20, target_tvr=0.1)",),
)

reg(
    "ts_target_tvr_hump",
    TS,
    (series("x"), *_tvr_params()),
    ts_target_tvr_hump_kernel,
    """hump(x, hump=λ) tuned per day to a turnover target: hold yesterday's output unless x moved more
    than λ·Σ_i|x[t, i]|, then move by exactly that limit (see hump).""" + _ALGO,
    assumptions=(*_COMMON_ASSUMPTIONS, "λ plays the role of hump's fraction (limit base = the day's Σ|x|)"),
    examples=("ts_target_tvr_hump(rank(x), lambda_max=0.01, target_tvr=0.1)",),
)

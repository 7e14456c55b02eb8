"""Stateful transformational operators: trade_when, keep, filter (brain.md §5.6, simulation.md P14)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numba import njit

from alphamine.ops.registry import MAX_LOOKBACK, ParamError, lookback_of
from alphamine.ops.stateful._common import TR, as_f64, parse_coefficients, reg, series, string, window


@njit(cache=True, nogil=True)
def _trade_when(x, y, z):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    state = np.full(N, np.nan)
    for t in range(T):
        for j in range(N):
            if z[t, j] > 0:  # NaN z → no exit
                state[j] = np.nan
            elif x[t, j] > 0:  # NaN x → hold
                state[j] = y[t, j]
            out[t, j] = state[j]
    return out


def _same_shape(name: str, *arrays: np.ndarray) -> None:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"{name}: inputs differ in shape {sorted(shapes)}")


def trade_when_kernel(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    xa, ya, za = as_f64(x), as_f64(y), as_f64(z)
    _same_shape("trade_when", xa, ya, za)
    return _trade_when(xa, ya, za)


@njit(cache=True, nogil=True)
def _keep(x, f, period):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    last = np.full(N, np.nan)
    since = np.full(N, -1, dtype=np.int64)  # row of f's last change
    for t in range(T):
        for j in range(N):
            fv = f[t, j]
            if not np.isnan(fv) and (since[j] < 0 or fv != last[j]):
                since[j] = t
                last[j] = fv
            if since[j] >= 0 and t - since[j] < period:
                out[t, j] = x[t, j]
            else:
                out[t, j] = np.nan
    return out


def keep_kernel(x: np.ndarray, f: np.ndarray, period: int = 5) -> np.ndarray:
    if period < 1:
        raise ValueError(f"keep: period must be >= 1, got {period}")
    xa, fa = as_f64(x), as_f64(f)
    _same_shape("keep", xa, fa)
    return _keep(xa, fa, int(period))


@njit(cache=True, nogil=True)
def _iir(x, h, a):  # pragma: no cover - numba
    """y[t] = Σ_i h[i]·x[t−i] + Σ_m a[m]·y[t−1−m]; NaN/absent terms count as 0; output masked."""
    T, N = x.shape
    H = h.shape[0]
    M = a.shape[0]
    R = M if M > 0 else 1
    out = np.empty((T, N), dtype=np.float64)
    ring = np.zeros((R, N), dtype=np.float64)  # internal (unmasked) outputs y[t−1..t−M]
    acc = np.empty(N, dtype=np.float64)
    for t in range(T):
        acc[:] = 0.0
        for i in range(H):
            c = h[i]
            if c == 0.0 or t - i < 0:
                continue
            for j in range(N):
                v = x[t - i, j]
                if not np.isnan(v):
                    acc[j] += c * v
        for m in range(M):
            c = a[m]
            if c == 0.0 or t - 1 - m < 0:
                continue
            slot = (t - 1 - m) % R
            for j in range(N):
                v = ring[slot, j]
                if not np.isnan(v):
                    acc[j] += c * v
        slot = t % R
        for j in range(N):
            ring[slot, j] = acc[j]
            out[t, j] = np.nan if (t < H - 1 or np.isnan(x[t, j])) else acc[j]
    return out


MAX_FILTER_TAPS = MAX_LOOKBACK
"""The most coefficients h or t may have (each tap costs a pass over the panel; h taps are a window)."""


def _filter_coefficients(h: str, t: str) -> tuple[np.ndarray, np.ndarray]:
    """(h, t) of a filter() call; `ParamError` naming the bad string. The one definition of filter's
    rules: its declaration's `validate` and the kernel call it."""
    coefficients = []
    for name, text in (("h", h), ("t", t)):
        try:
            c = parse_coefficients(text, "filter", name)
        except ValueError as e:
            raise ParamError(str(e), name) from None
        if c.size > MAX_FILTER_TAPS:
            raise ParamError(f"filter: {name} has {c.size} coefficients, more than {MAX_FILTER_TAPS}", name)
        coefficients.append(c)
    if coefficients[0].size == 0:
        raise ParamError("filter: h needs at least one coefficient", "h")
    return coefficients[0], coefficients[1]


def check_filter(values: Mapping[str, Any]) -> None:
    _filter_coefficients(values.get("h", "1"), values.get("t", "0"))


def filter_kernel(x: np.ndarray, h: str = "1", t: str = "0") -> np.ndarray:
    hc, tc = _filter_coefficients(h, t)
    return _iir(as_f64(x), hc, tc)


def _filter_lookback(consts: Mapping[str, Any]) -> int:
    h = consts.get("h", "1")
    try:
        return max(int(parse_coefficients(str(h), "filter", "h").size) - 1, 0)
    except ValueError:
        return 0


reg(
    "trade_when",
    TR,
    (
        series("x", "entry condition (> 0 enters)"),
        series("y", "value held while in a trade"),
        series("z", "exit condition (> 0 exits; -1 = never)"),
    ),
    trade_when_kernel,
    """Event-driven holding (P14): per instrument and day, if z > 0 → NaN (exit); elif x > 0 → y
    (today's y); else yesterday's output.

    The state starts as NaN and is carried through every day (also days out of the universe; the final
    mask hides them). NaN x counts as "not > 0" (hold), NaN z as "no exit"; entering with a NaN y
    gives NaN. Example: trade_when(volume > adv20, alpha, -1).""",
    unit_rule="combine",
    assumptions=("NaN x → hold, NaN z → no exit, initial state NaN (P14)",),
    examples=("trade_when(volume > adv20, rank(-returns), -1)",),
)

reg(
    "keep",
    TR,
    (
        series("x"),
        series("f", "the series whose changes switch x on"),
        window("period", "days x is kept after a change of f, the change day included"),
    ),
    keep_kernel,
    """x while f changed recently, NaN otherwise: out[t] = x[t] if f changed within the last `period`
    rows (days_from_last_change(f) < period, the change day counting 0), else NaN.

    A change is a valid f that differs from f's previous valid value; the first valid f counts as a
    change; a NaN f today does not reset the count.""",
    lookback=lookback_of("period"),
    assumptions=(
        "single-source semantics: output x on the day f changes and the next period−1 days, NaN after",
        "change of f as in days_from_last_change (first valid f is a change; NaN f days skipped)",
        "no P3 history rule: the period counts from f's change, not from the panel start",
    ),
    examples=("keep(rank(x), eps, period=5)",),
)

reg(
    "filter",
    TR,
    (
        series("x"),
        string("h", "1", "feed-forward coefficients h0,h1,… for x[t], x[t−1], …"),
        string("t", "0", "feedback coefficients t1,t2,… for out[t−1], out[t−2], …"),
    ),
    filter_kernel,
    """Recursive (IIR) filter: y[t] = Σ_i h_i·x[t−i] + Σ_j t_j·y[t−j], i = 0..len(h)−1, j = 1..len(t).

    h and t are comma-separated numbers ("0.5,0.3,0.2"); the default h="1", t="0" returns x. NaN inputs
    and rows before the panel count as 0 inside the recursion, which runs on every row; the output is
    NaN where x[t] is NaN and for t < len(h)−1 (P3 on the feed-forward window).""",
    lookback=_filter_lookback,
    assumptions=(
        "brain.md gives only 'recursive filter': h = feed-forward taps from lag 0, t = feedback taps "
        "from lag 1 (y[t] = Σ h_i x[t−i] + Σ t_j y[t−j])",
        "NaN x terms count as 0 in the sums and the output is masked where x[t] is NaN; the internal "
        "recursion is never reset",
    ),
    examples=('filter(x, h="0.5,0.5", t="0")', 'filter(x, h="0.2", t="0.8")'),
    validate=check_filter,
)

"""Gap filling and change tracking: ts_backfill, kth_element, last_diff_value, days_from_last_change,
ts_step (brain.md §5.3, simulation.md P3/P12).

All kernels are O(T·N): each instrument carries a small state (a ring of its last k valid values, or
its last two distinct values) instead of rescanning the window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numba import njit

from alphamine.ops.registry import ArgKind, EvalContext, Param, ParamError, lookback_of
from alphamine.ops.stateful._common import (
    IGNORE_CHOICES,
    TS,
    as_f64,
    ignore_zero,
    integer,
    reg,
    series,
    string,
    window,
)


@njit(cache=True, nogil=True)
def _kth_valid(x, d, k, skip_zero, include_today, history_rule):  # pragma: no cover - numba
    """k-th most recent valid value per cell, from a ring of each instrument's last k valid values.

    include_today=False (ts_backfill): a valid x[t] is returned as is; otherwise the k-th most recent
    valid value of rows t−d+1..t−1. include_today=True (kth_element): the k-th most recent valid value
    of rows t−d+1..t. history_rule: NaN for t < d−1.
    """
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    vals = np.empty((k, N), dtype=np.float64)
    rows = np.empty((k, N), dtype=np.int64)
    head = np.zeros(N, dtype=np.int64)  # next write slot; when full, also the oldest (= k-th newest)
    cnt = np.zeros(N, dtype=np.int64)
    for t in range(T):
        lo = t - d + 1
        for j in range(N):
            v = x[t, j]
            valid = not np.isnan(v) and not (skip_zero and v == 0.0)
            if valid and include_today:
                h = head[j]
                vals[h, j] = v
                rows[h, j] = t
                head[j] = (h + 1) % k
                if cnt[j] < k:
                    cnt[j] += 1
            if history_rule and t < d - 1:
                out[t, j] = np.nan
            elif valid and not include_today:
                out[t, j] = v
            elif cnt[j] >= k and rows[head[j], j] >= lo:
                out[t, j] = vals[head[j], j]
            else:
                out[t, j] = np.nan
            if valid and not include_today:
                h = head[j]
                vals[h, j] = v
                rows[h, j] = t
                head[j] = (h + 1) % k
                if cnt[j] < k:
                    cnt[j] += 1
    return out


def _k_within(op: str, window: str) -> Callable[[Mapping[str, Any]], None]:
    """The declared rule 1 <= k <= d of ts_backfill / kth_element: the window holds at most d values,
    so a larger k can only give NaN and is a mistake the checker reports. (The kernels, called directly,
    size their ring by min(k, d + 1), which gives the same all-NaN answer for any larger k.)"""

    def check(values: Mapping[str, Any]) -> None:
        d, k = values.get(window), values.get("k", 1)
        if d is not None and not 1 <= k <= d:
            raise ParamError(f"{op}'s k must be between 1 and the window {window}={d} (the window holds at most "
                             f"{d} values), got {k}", "k")

    return check


check_ts_backfill = _k_within("ts_backfill", "lookback")
check_kth_element = _k_within("kth_element", "d")


def ts_backfill_kernel(x: np.ndarray, d: int, k: int = 1, ignore: str = "NAN") -> np.ndarray:
    if d < 1 or k < 1:
        raise ValueError(f"ts_backfill: d and k must be >= 1, got d={d}, k={k}")
    # more than d valid values never fit in the window: k beyond d + 1 changes nothing but the ring size
    return _kth_valid(as_f64(x), int(d), min(int(k), int(d) + 1), ignore_zero(ignore, "ts_backfill"), False, False)


def kth_element_kernel(x: np.ndarray, d: int, k: int = 1, ignore: str = "NaN") -> np.ndarray:
    if d < 1 or k < 1:
        raise ValueError(f"kth_element: d and k must be >= 1, got d={d}, k={k}")
    return _kth_valid(as_f64(x), int(d), min(int(k), int(d) + 1), ignore_zero(ignore, "kth_element"), True, True)


@njit(cache=True, nogil=True)
def _last_diff_value(x, d):  # pragma: no cover - numba
    """Per instrument: a = last valid value (row ra), b = last valid value different from a (row rb).
    Every valid value between rb and ra equals a, so the newest value ≠ today's is a (if a ≠ x[t]) or
    else b; it must lie in rows t−d+1..t−1."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    a = np.full(N, np.nan)
    b = np.full(N, np.nan)
    ra = np.full(N, -1, dtype=np.int64)
    rb = np.full(N, -1, dtype=np.int64)
    for t in range(T):
        lo = t - d + 1
        for j in range(N):
            v = x[t, j]
            res = np.nan
            if t >= d - 1 and not np.isnan(v) and ra[j] >= 0:
                if a[j] != v:
                    if ra[j] >= lo:
                        res = a[j]
                elif rb[j] >= 0 and rb[j] >= lo:
                    res = b[j]
            out[t, j] = res
            if not np.isnan(v):
                if ra[j] >= 0 and v != a[j]:
                    b[j] = a[j]
                    rb[j] = ra[j]
                a[j] = v
                ra[j] = t
    return out


def last_diff_value_kernel(x: np.ndarray, d: int) -> np.ndarray:
    if d < 1:
        raise ValueError(f"last_diff_value: d must be >= 1, got {d}")
    return _last_diff_value(as_f64(x), int(d))


@njit(cache=True, nogil=True)
def _days_from_last_change(x):  # pragma: no cover - numba
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    last = np.full(N, np.nan)
    since = np.full(N, -1, dtype=np.int64)  # row where the current value first appeared
    for t in range(T):
        for j in range(N):
            v = x[t, j]
            if np.isnan(v):
                out[t, j] = np.nan
                continue
            if since[j] < 0 or v != last[j]:
                since[j] = t
                last[j] = v
            out[t, j] = t - since[j]
    return out


def days_from_last_change_kernel(x: np.ndarray) -> np.ndarray:
    return _days_from_last_change(as_f64(x))


def ts_step_kernel(c: float, *, ctx: EvalContext) -> np.ndarray:
    T, N = ctx.shape
    counter = np.arange(1, T + 1, dtype=np.float64) * float(c)
    out = np.empty((T, N), dtype=np.float64, order="C")
    out[:] = counter[:, None]
    return out


_IGNORE_DOC = 'values skipped as missing: "NaN" (default) or "NaN 0" (zeros too)'

reg(
    "ts_backfill",
    TS,
    (
        series("x"),
        window("lookback", "window in days, including today"),
        integer("k", 1, "which valid value to take: 1 = the most recent (at most lookback)", minimum=1),
        string("ignore", "NAN", _IGNORE_DOC, choices=IGNORE_CHOICES),
    ),
    ts_backfill_kernel,
    """Fill missing values from recent valid ones (P12).

    out[t] = x[t] when x[t] is valid; otherwise the k-th most recent valid value among the previous d−1
    rows (t−d+1..t−1) with d = `lookback`; NaN when there are fewer than k. No history rule: rows
    t < d−1 are filled from whatever rows exist. Written `ts_backfill(x, 60)` or
    `ts_backfill(x, lookback=60)`. ±inf are valid values.""",
    lookback=lookback_of("lookback"),
    assumptions=(
        'ignore="NaN 0" treats zeros like NaN: a zero today is filled and zeros are never used as fill values',
        "the window parameter is named d (brain.md writes lookback=d); positional use is the same",
    ),
    examples=("ts_backfill(x, 60)", "ts_backfill(x, 20, k=2)"),
    validate=check_ts_backfill,
)

reg(
    "kth_element",
    TS,
    (
        series("x"),
        window("d"),
        integer("k", 1, "which valid value: 1 = the most recent (today if valid); at most d", minimum=1),
        string("ignore", "NaN", _IGNORE_DOC, choices=IGNORE_CHOICES),
    ),
    kth_element_kernel,
    """The k-th most recent valid value within the last d rows, today included.

    Rows are scanned from today backwards; NaNs (and zeros with ignore="NaN 0") are skipped; the k-th
    value kept is returned, NaN if the window holds fewer than k. kth_element(x, d, 1) equals x where x
    is valid. Rows t < d−1 are NaN (history rule P3).""",
    lookback=lookback_of("d"),
    assumptions=(
        "k counts valid values from the most recent (k=1 is today's value if valid), not an order "
        "statistic (a community note reads k=1 as the window maximum)",
        "the P3 history rule applies: NaN for t < d−1",
    ),
    examples=('kth_element(x, 252, k=1, ignore="NaN 0")',),
    validate=check_kth_element,
)

reg(
    "last_diff_value",
    TS,
    (series("x"), window("d")),
    last_diff_value_kernel,
    """The most recent valid value within the last d rows (t−d+1..t−1) that differs from today's value.

    NaN when today's value is NaN, when no earlier value in the window differs, and for t < d−1 (P3).
    Comparison is exact (no tolerance); ±inf compare as values.""",
    lookback=lookback_of("d"),
    assumptions=("today NaN → NaN (no value to differ from)",),
    examples=("last_diff_value(eps, 63)",),
)

reg(
    "days_from_last_change",
    TS,
    (series("x"),),
    days_from_last_change_kernel,
    """Rows since the current value of x first appeared: 0 on the day x changes.

    A change is a valid value that differs from the previous valid value (NaN rows are skipped when
    comparing, but they count as days); the first valid value of an instrument counts as a change.
    Today NaN → NaN. Example (oldest → newest) 7, 2, 2, 2 → today 2.""",
    unit_rule="dimensionless",
    assumptions=(
        "off-by-one: 0 on the change day (the help article); the registry example (3 for 2,2,2,7 newest "
        "first) counts from the last differing day instead — ours gives 2 there",
        "the first valid value of an instrument counts as a change; a NaN day neither changes nor "
        "resets the count (NaN today → NaN)",
    ),
    examples=("trade_when(days_from_last_change(eps) == 0, rank(eps), -1)",),
)

reg(
    "ts_step",
    TS,
    (Param("c", ArgKind.NUMBER, doc="step per day (ts_step(1) counts 1, 2, 3, …)"),),
    ts_step_kernel,
    """Day counter: out[t] = c·(t + 1) on every instrument (1-based: the panel's first row is c).

    ts_step(1) numbers the rows 1, 2, 3, …; the counter ignores data and universe (the final universe
    mask still hides instruments outside it).""",
    unit_rule="dimensionless",
    needs_context=True,
    assumptions=(
        "1-based (first row = c), counted in panel rows from the panel start; c scales the counter",
    ),
    examples=("ts_step(1)",),
)

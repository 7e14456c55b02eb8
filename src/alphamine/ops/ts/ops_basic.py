"""Kernels (per the registry's calling contract) of the one-series time-series operators.

Every operator below reads the window of the d most recent rows including today (rows t−d+1..t) of each
column; rows t < d−1 are NaN whatever the data (P3: panel rows, not an instrument's own history). NaNs
inside a window are skipped; a statistic needs at least one valid value. ±inf are values (P7). Each
function's docstring is the operator's documentation in the registry.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alphamine.ops.registry import ArgKind, Param, check_param
from alphamine.ops.ts import kernels_moments as km
from alphamine.ops.ts import kernels_shift as ks
from alphamine.ops.ts import kernels_window as kw

MAX_MOMENT_ORDER = 100
"""The highest central moment ts_moment computes (a larger k is a typo; |x − mean|^k overflows anyway)."""

MOMENT_K = Param("k", ArgKind.INT, 0, doc="order of the central moment", minimum=0, maximum=MAX_MOMENT_ORDER)
RETURNS_MODE = Param("mode", ArgKind.INT, 1, doc="1: x/delay − 1; 2: change over midpoint", minimum=1, maximum=2)


def as_panel(x: Any) -> np.ndarray:
    """A C-contiguous float64 (T, N) view or copy of a SERIES argument (never written to)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"time-series operators take (T, N) arrays, got shape {a.shape}")
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    return a


def check_lookback(d: int) -> int:
    d = int(d)
    if d < 1:
        raise ValueError(f"lookback d must be >= 1, got {d}")
    return d


def nan_panel(shape: tuple[int, ...]) -> np.ndarray:
    return np.full(shape, np.nan, dtype=np.float64)


def _moments(x: Any, d: int, stat: int, k: int = 0) -> np.ndarray:
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return km.moments_kernel(a, d, stat, k)


def _extremes(x: Any, d: int, mode: int, constant: float = 0.0) -> np.ndarray:
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return kw.extremes_kernel(a, d, mode, float(constant))


def _shifted(x: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    a = as_panel(x)
    d = check_lookback(d)
    past = nan_panel(a.shape)
    if d < a.shape[0]:
        past[d:] = a[:-d]
    return a, past


def ts_delay(x: Any, d: int) -> np.ndarray:
    """x[t − d], the value d rows ago; NaN for t < d (d ≥ 1). A NaN d rows ago stays NaN (no backfill)."""
    _, past = _shifted(x, d)
    return past


def ts_delta(x: Any, d: int) -> np.ndarray:
    """x[t] − x[t − d]; NaN for t < d or when either value is NaN. ±inf follow IEEE (inf − inf = NaN)."""
    return ks.delta_kernel(as_panel(x), check_lookback(d))


def ts_returns(x: Any, d: int, mode: int = 1) -> np.ndarray:
    """mode 1: x[t]/x[t − d] − 1; mode 2: (x[t] − x[t − d]) / ((x[t] + x[t − d])/2) (change over the
    midpoint). NaN for t < d or when either value is NaN; a zero denominator follows IEEE (±inf, or NaN
    for 0/0), which the end of evaluation turns into NaN (P7)."""
    check_param("ts_returns", RETURNS_MODE, mode)
    mode = int(mode)
    a, past = _shifted(x, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == 1:
            out = a / past - 1.0
        else:
            out = (a - past) / ((a + past) * 0.5)
    return out


def ts_sum(x: Any, d: int) -> np.ndarray:
    """Sum of the non-NaN values of the window (present values only, no rescaling; P10); NaN when all
    are NaN. ±inf follow IEEE (+inf and −inf together → NaN)."""
    return _moments(x, d, km.STAT_SUM)


def ts_mean(x: Any, d: int) -> np.ndarray:
    """Mean of the non-NaN values of the window; NaN when all are NaN. ±inf follow IEEE."""
    return _moments(x, d, km.STAT_MEAN)


def ts_av_diff(x: Any, d: int) -> np.ndarray:
    """x[t] − ts_mean(x, d) (mean of the window's non-NaN values, today included); NaN when today is NaN
    or the window has no valid value."""
    return _moments(x, d, km.STAT_AV_DIFF)


def ts_std_dev(x: Any, d: int) -> np.ndarray:
    """Population standard deviation (ddof 0) of the window's non-NaN values; one valid value → 0
    (P10); all NaN → NaN; a window holding ±inf → NaN."""
    return _moments(x, d, km.STAT_STD)


def ts_zscore(x: Any, d: int) -> np.ndarray:
    """(x[t] − ts_mean(x, d)) / ts_std_dev(x, d) (ddof 0); NaN when today is NaN, when the std is exactly
    0 (a constant window, P8) or the window holds ±inf."""
    return _moments(x, d, km.STAT_ZSCORE)


def ts_ir(x: Any, d: int) -> np.ndarray:
    """ts_mean(x, d) / ts_std_dev(x, d) (ddof 0) over the window's non-NaN values; NaN when the std is
    exactly 0 (P8), when all values are NaN or the window holds ±inf. Today's value may be NaN."""
    return _moments(x, d, km.STAT_IR)


def ts_skewness(x: Any, d: int) -> np.ndarray:
    """Population skewness m3 / m2^1.5 (central moments with divisor n) of the window's non-NaN values;
    NaN when m2 = 0 exactly (constant window, one value), no value is valid or the window holds ±inf."""
    return _moments(x, d, km.STAT_SKEW)


def ts_kurtosis(x: Any, d: int) -> np.ndarray:
    """Excess kurtosis m4 / m2² − 3 (population central moments) of the window's non-NaN values; NaN when
    m2 = 0 exactly, no value is valid or the window holds ±inf."""
    return _moments(x, d, km.STAT_KURT)


def ts_moment(x: Any, d: int, k: int = 0) -> np.ndarray:
    """k-th central moment mean((x − mean)^k) of the window's non-NaN values (divisor n): k = 0 → 1,
    k = 1 → 0, k = 2 → population variance. NaN when no value is valid or the window holds ±inf."""
    check_param("ts_moment", MOMENT_K, k)
    k = int(k)
    if k <= 4:
        return _moments(x, d, km.STAT_MOMENT, k)
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return km.moment_direct_kernel(a, d, k)


def ts_max(x: Any, d: int) -> np.ndarray:
    """Largest non-NaN value of the window; NaN when all are NaN."""
    return _extremes(x, d, kw.EXT_MAX)


def ts_min(x: Any, d: int) -> np.ndarray:
    """Smallest non-NaN value of the window; NaN when all are NaN."""
    return _extremes(x, d, kw.EXT_MIN)


def ts_arg_max(x: Any, d: int) -> np.ndarray:
    """Days since the window's largest non-NaN value (0 = today, d−1 = the oldest row); ties → the most
    recent occurrence (smallest lag, P9); NaN when all are NaN."""
    return _extremes(x, d, kw.EXT_ARG_MAX)


def ts_arg_min(x: Any, d: int) -> np.ndarray:
    """Days since the window's smallest non-NaN value (0 = today); ties → the most recent occurrence
    (smallest lag, P9); NaN when all are NaN."""
    return _extremes(x, d, kw.EXT_ARG_MIN)


def ts_max_diff(x: Any, d: int) -> np.ndarray:
    """x[t] − ts_max(x, d) (≤ 0); NaN when today is NaN."""
    return _extremes(x, d, kw.EXT_MAX_DIFF)


def ts_scale(x: Any, d: int, constant: float = 0.0) -> np.ndarray:
    """(x[t] − ts_min(x, d)) / (ts_max(x, d) − ts_min(x, d)) + constant over the window's non-NaN values;
    NaN when today is NaN or when max = min exactly (zero denominator, P8)."""
    return _extremes(x, d, kw.EXT_SCALE, constant)


def ts_product(x: Any, d: int) -> np.ndarray:
    """Product of the non-NaN values of the window (present values only, P10); NaN when all are NaN.
    IEEE rules for overflow and 0·inf."""
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return kw.product_kernel(a, d)


def ts_median(x: Any, d: int) -> np.ndarray:
    """Median of the window's non-NaN values (mean of the two middle values for an even count); NaN
    when all are NaN."""
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return kw.median_kernel(a, d)


def ts_count_nans(x: Any, d: int) -> np.ndarray:
    """Number of NaN values among the window's d rows (0..d); NaN for t < d−1 like every window."""
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return kw.count_nans_kernel(a, d)

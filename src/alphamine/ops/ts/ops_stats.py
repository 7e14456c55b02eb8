"""Kernels (per the registry's calling contract) of the rank, decay and multi-series time-series
operators. Same window conventions as `ops_basic`: rows t−d+1..t, rows t < d−1 NaN (P3), NaNs skipped."""

from __future__ import annotations

from typing import Any

import numpy as np

from alphamine.ops.registry import MAX_LOOKBACK, ArgKind, Param, check_param
from alphamine.ops.ts import kernels_decay as kd
from alphamine.ops.ts import kernels_multi as kx
from alphamine.ops.ts import kernels_pairs as kp
from alphamine.ops.ts.ops_basic import as_panel, check_lookback, nan_panel

QUANTILE_DRIVERS = ("gaussian", "uniform", "cauchy")

MAX_ENTROPY_BUCKETS = 1000
"""ts_entropy fills and scans `buckets` bins per cell, so the bin count bounds its work (T·N·buckets)."""

ENTROPY_BUCKETS = Param("buckets", ArgKind.INT, 10, doc="histogram bins", minimum=1, maximum=MAX_ENTROPY_BUCKETS)
REGRESSION_LAG = Param("lag", ArgKind.INT, 0, doc="x is read lag rows back", minimum=0, maximum=MAX_LOOKBACK)
REGRESSION_RETTYPE = Param("rettype", ArgKind.INT, 0, doc="0 residual, 1 a, 2 b, 3 fitted, 4 SSE, 5 SST, 6 R², "
                           "7 MSE, 8 SE(b), 9 SE(a)", minimum=0, maximum=9)


def _same_shape(*arrays: np.ndarray) -> None:
    if any(a.shape != arrays[0].shape for a in arrays[1:]):
        raise ValueError(f"shape mismatch: {[a.shape for a in arrays]}")


def ts_rank(x: Any, d: int, constant: float = 0.0) -> np.ndarray:
    """Position of today's value among the window's non-NaN values: (r − 1)/(n − 1) with r the average
    rank of ties (1 = smallest) and n the number of non-NaN values, + constant. Only today valid → 0.5
    (+ constant); today NaN → NaN (P9). (10, 12, 11, 15, 13 oldest → newest) → 0.75."""
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return kd.rank_kernel(a, d, kd.RANK_PLAIN, float(constant))


def ts_quantile(x: Any, d: int, driver: str = "gaussian") -> np.ndarray:
    """ts_rank(x, d) shifted into the open interval like cross-sectional `quantile`:
    p = 1/n + rank·(1 − 2/n) (n = the window's non-NaN values; p = 0.5 when n ≤ 2), then mapped through
    the driver's inverse CDF: gaussian → Φ⁻¹(p), cauchy → tan(π(p − 0.5)), uniform → p − 0.5 (the shifted
    rank minus its mean). Today NaN → NaN."""
    drv = str(driver).lower()
    if drv not in QUANTILE_DRIVERS:
        raise ValueError(f"ts_quantile: driver must be one of {QUANTILE_DRIVERS}, got {driver!r}")
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    p = kd.rank_kernel(a, d, kd.RANK_SHIFTED, 0.0)
    if drv == "gaussian":
        from scipy.special import ndtri  # imported on use: lint and --help need no scipy

        ndtri(p, out=p)
    elif drv == "cauchy":
        p -= 0.5
        p *= np.pi
        np.tan(p, out=p)
    else:
        p -= 0.5
    return p


def ts_entropy(x: Any, d: int, buckets: int = 10) -> np.ndarray:
    """Shannon entropy −Σ p·ln p of the histogram of the window's non-NaN values in `buckets`
    equal-width bins spanning [window min, window max] (the max falls in the last bin, empty bins
    skipped). Constant window → 0; no valid value or a ±inf value → NaN."""
    check_param("ts_entropy", ENTROPY_BUCKETS, buckets)
    buckets = int(buckets)
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return kd.entropy_kernel(a, d, buckets)


def ts_decay_linear(x: Any, d: int, dense: bool = False) -> np.ndarray:
    """Linearly decayed average Σ_k (d − k)·x[t−k] / Σ weights, k = 0..d−1 (today weighs d, the oldest 1).
    Sparse (default): NaN counts as 0 and the denominator is always d(d+1)/2, so a NaN today still gives a
    value (P11); dense=true: NaN terms are left out and the weights renormalized over the present ones.
    All-NaN window → NaN; NaN for t < d−1."""
    a = as_panel(x)
    d = check_lookback(d)
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return kd.decay_linear_kernel(a, d, bool(dense))


def ts_decay_exp_window(x: Any, d: int, factor: float = 1.0, nan: bool = True) -> np.ndarray:
    """Exponentially decayed average Σ f^k·x[t−k] / Σ f^k, k = 0..d−1 (today weighs 1, f = factor; f = 1
    is ts_mean). nan=true (default): NaN terms are skipped and the weights renormalized over the present
    ones; nan=false: a window holding a NaN gives NaN. All-NaN window or zero present weight → NaN."""
    a = as_panel(x)
    d = check_lookback(d)
    f = float(factor)
    if f < 0.0:
        raise ValueError(f"ts_decay_exp_window: factor must be >= 0, got {f}")
    if d > a.shape[0]:
        return nan_panel(a.shape)
    return kd.decay_exp_kernel(a, d, f, bool(nan))


def _pairs(y: Any, x: Any, d: int, lag: int, stat: int) -> np.ndarray:
    ya = as_panel(y)
    xa = as_panel(x)
    _same_shape(ya, xa)
    d = check_lookback(d)
    if d + lag > ya.shape[0]:
        return nan_panel(ya.shape)
    return kp.pairs_kernel(ya, xa, d, lag, stat)


def ts_corr(x: Any, y: Any, d: int) -> np.ndarray:
    """Pearson correlation of x and y over the window's rows where both are non-NaN; needs ≥ 2 such
    pairs; NaN when either variance is exactly 0 (P8) or a pair holds ±inf. Clipped to [−1, 1]."""
    return _pairs(y, x, d, 0, kp.STAT_CORR)


def ts_covariance(y: Any, x: Any, d: int) -> np.ndarray:
    """Covariance of y and x over the window's rows where both are non-NaN, divided by n (one pair → 0,
    P10); NaN when no pair is valid or a pair holds ±inf."""
    return _pairs(y, x, d, 0, kp.STAT_COV)


def ts_regression(y: Any, x: Any, d: int, lag: int = 0, rettype: int = 0) -> np.ndarray:
    """OLS y = a + b·x' with x' = x lagged by `lag` rows, fitted on the window's rows t−d+1..t where y[s]
    and x[s − lag] are both non-NaN; needs ≥ 2 pairs and var(x') > 0 (exact), else NaN; NaN for
    t < d − 1 + lag (P13); a pair holding ±inf → NaN. With SSE = Σ residual², SST = Σ(y − ȳ)²,
    S_xx = Σ(x' − x̄')², MSE = SSE/(n − 2) (NaN when n ≤ 2), rettype:
    0 residual y[t] − (a + b·x[t − lag]) (NaN if either is NaN); 1 intercept a; 2 slope b;
    3 fitted a + b·x[t − lag] (NaN if x[t − lag] is NaN, whatever y[t]); 4 SSE; 5 SST;
    6 R² = 1 − SSE/SST (NaN when SST = 0); 7 MSE; 8 SE(b) = √(MSE/S_xx);
    9 SE(a) = √(MSE·(1/n + x̄'²/S_xx)). Outputs 1, 2, 4–9 come from the window even when today is NaN."""
    check_param("ts_regression", REGRESSION_LAG, lag)
    check_param("ts_regression", REGRESSION_RETTYPE, rettype)
    lag = int(lag)
    rettype = int(rettype)
    return _pairs(y, x, d, lag, kp.STAT_REG + rettype)


def _multi(stat: int, d: int, *series: Any) -> np.ndarray:
    arrays = [as_panel(s) for s in series]
    _same_shape(*arrays)
    d = check_lookback(d)
    if d > arrays[0].shape[0]:
        return nan_panel(arrays[0].shape)
    third = arrays[2] if len(arrays) > 2 else arrays[0]
    return kx.multi_kernel(arrays[0], arrays[1], third, d, stat)


def ts_co_skewness(y: Any, x: Any, d: int) -> np.ndarray:
    """Co-skewness of y with x: mean(dy·dx²) / (σy·σx²), deviations from the window means, population
    σ, over the window's rows where both are non-NaN; NaN when a σ is exactly 0, no pair is valid or a
    pair holds ±inf."""
    return _multi(kx.MULTI_CO_SKEW, d, y, x)


def ts_co_kurtosis(y: Any, x: Any, d: int) -> np.ndarray:
    """Co-kurtosis of y with x: mean(dy·dx³) / (σy·σx³) (population moments) over the window's rows
    where both are non-NaN; NaN when a σ is exactly 0, no pair is valid or a pair holds ±inf."""
    return _multi(kx.MULTI_CO_KURT, d, y, x)


def ts_triple_corr(x: Any, y: Any, z: Any, d: int) -> np.ndarray:
    """Triple correlation mean(dx·dy·dz) / (σx·σy·σz) (population moments) over the window's rows where
    x, y and z are all non-NaN; NaN when a σ is exactly 0, no row is valid or a row holds ±inf."""
    return _multi(kx.MULTI_TRIPLE, d, x, y, z)


def ts_partial_corr(x: Any, y: Any, z: Any, d: int) -> np.ndarray:
    """Partial correlation of x and y controlling for z, (r_xy − r_xz·r_yz) / √((1 − r_xz²)(1 − r_yz²))
    with Pearson r over the window's rows where x, y, z are all non-NaN; needs ≥ 3 such rows; NaN when a
    variance is exactly 0, when |r_xz| or |r_yz| = 1 (1 − r² ≤ 1e-12, i.e. up to rounding), or a row
    holds ±inf."""
    return _multi(kx.MULTI_PARTIAL, d, x, y, z)


def ts_rank_gmean_amean_diff(*xs: Any, d: int) -> np.ndarray:
    """Geometric mean minus arithmetic mean of ts_rank(x_i, d) over the inputs x_1, x_2, …
    ((Π r_i)^(1/m) − Σ r_i/m, always ≤ 0; 0 with a single input); NaN when any input's ts_rank is NaN
    (that input is NaN today). `d` follows the inputs and is given by keyword."""
    if not xs:
        raise ValueError("ts_rank_gmean_amean_diff needs at least one input")
    ranks = [ts_rank(x, d) for x in xs]
    _same_shape(*ranks)
    m = len(ranks)
    prod = ranks[0].copy()
    total = ranks[0]
    for r in ranks[1:]:
        prod *= r
        total += r
    np.power(prod, 1.0 / m, out=prod)
    total /= m
    prod -= total
    return prod

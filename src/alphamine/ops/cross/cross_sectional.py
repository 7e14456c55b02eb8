"""Cross-sectional operators (brain.md §5.4): per day, over instruments.

Shared semantics: each row (day) is processed on its own; NaN cells are excluded from every statistic
and stay NaN in the output; ±inf are ordinary values under IEEE arithmetic (P7); a zero denominator
(std, Σ|x|, max − min, y·y, var(x)) gives NaN for the row (P8, exact zero; "constant" means exactly
min == max).
"""

from __future__ import annotations

import numpy as np

from alphamine.ops.cross import kernels as K
from alphamine.ops.cross._util import op, readonly
from alphamine.ops.cross.sorting import QUANT_P, SIDE_RANK, order_stat
from alphamine.ops.registry import ArgKind, Category, Param

CS = Category.CROSS_SECTIONAL
S = ArgKind.SERIES


def _x(name: str = "x") -> Param:
    return Param(name, S)


_RATE = Param("rate", ArgKind.INT, 2, minimum=0, doc="accepted for compatibility; ranks are always exact (P16)")


@op("rank", CS, [_x(), _RATE], examples=("rank(4, 3, 6, 10, 2) = (0.5, 0.25, 0.75, 1, 0)",),
    assumptions=("ties get the average rank, scaled (r-1)/(n-1); one valid value -> 0.5",
                 "rate is accepted but ranks are always exact (P16)"))
def rank(x: np.ndarray, rate: int = 2) -> np.ndarray:
    """Rank of x among the day's non-NaN values, in [0, 1]: (r-1)/(n-1) where r is the 1-based average
    rank of ties (equal values share the mean of their positions) and n the number of non-NaN values; a
    single valid value -> 0.5; NaN -> NaN; +inf/-inf rank as the largest/smallest values. `rate` is
    accepted and ignored: the sort is always exact."""
    return K.rank_rows(x)


@op("zscore", CS, [_x()], assumptions=("population std (ddof 0); std = 0 (constant row, one value) -> NaN",))
def zscore(x: np.ndarray) -> np.ndarray:
    """(x − mean)/std over the day's non-NaN values, population std (ddof 0). A row whose valid values are
    all equal (including a single value) has std 0 -> NaN (P8). NaN stays NaN."""
    return K.group_stat(x, None, K.ZSCORE)


@op("normalize", CS, [_x(), Param("useStd", ArgKind.BOOL, False), Param("limit", ArgKind.NUMBER, 0.0, minimum=0)],
    unit_rule="first",
    examples=("normalize((3, 5, 6, 2), useStd=true) = (−0.632, 0.632, 1.265, −1.265)",),
    assumptions=("useStd with std = 0 -> NaN (P8)", "limit <= 0 means no clamp",
                 "unit rule 'first' (useStd=true would make it dimensionless; the rule is static)"))
def normalize(x: np.ndarray, useStd: bool = False, limit: float = 0.0) -> np.ndarray:
    """x minus the mean of the day's non-NaN values; with useStd=true also divided by their population
    std (std 0 -> NaN); with limit > 0 the result is clamped to [−limit, limit]. NaN stays NaN."""
    return K.group_stat(x, None, K.NORMALIZE, 1.0 if useStd else 0.0, limit)


@op("scale", CS, [_x(), Param("scale", ArgKind.NUMBER, 1.0, minimum=0),
                  Param("longscale", ArgKind.NUMBER, 0.0, minimum=0, doc="0 = not given"),
                  Param("shortscale", ArgKind.NUMBER, 0.0, minimum=0, doc="0 = not given")],
    assumptions=("longscale/shortscale default 0 = 'not given' (BRAIN's doc text); when either is > 0 each "
                 "side is scaled separately and a side not given (0) uses 1 (P17); an explicit 0 therefore "
                 "also means 'not given'",
                 "Σ|x| = 0 -> NaN (P8); a side with no members stays empty"))
def scale(x: np.ndarray, scale: float = 1.0, longscale: float = 0.0, shortscale: float = 0.0) -> np.ndarray:
    """Scale the day's non-NaN values so that Σ|x| = scale. When longscale > 0 or shortscale > 0, the
    positive values are scaled to sum to longscale and the negative ones to Σ|x| = shortscale instead,
    a side left at its default 0 using 1 (P17); zeros stay 0. Σ|x| = 0 over the row -> NaN (P8).
    NaN stays NaN."""
    return K.group_stat(x, None, K.SCALE, scale, longscale, shortscale)


@op("scale_down", CS, [_x(), Param("constant", ArgKind.NUMBER, 0.0)],
    assumptions=("max = min (constant row, one value) -> NaN (0/0)",))
def scale_down(x: np.ndarray, constant: float = 0.0) -> np.ndarray:
    """(x − min)/(max − min) − constant over the day's non-NaN values; a constant row (max = min,
    including one valid value) -> NaN. NaN stays NaN."""
    return K.group_stat(x, None, K.MINMAX, constant)


@op("quantile", CS, [_x(), Param("driver", ArgKind.STRING, "gaussian", choices=("gaussian", "uniform", "cauchy")),
                     Param("sigma", ArgKind.NUMBER, 1.0, minimum=0)],
    examples=("quantile((4, 3, 6, 10, 2)) = (0, −0.385, 0.385, 0.842, −0.842)",),
    assumptions=("p = 1/n + rank·(1 − 2/n) with rank as in rank() and n the row's valid count (n <= 2 -> 0)",
                 "uniform = sigma·(p − 0.5), which equals p minus its row mean; cauchy = sigma·tan(π(p − 0.5))"))
def quantile(x: np.ndarray, driver: str = "gaussian", sigma: float = 1.0) -> np.ndarray:
    """rank(x) (ties averaged) shifted into [1/n, 1 − 1/n] by p = 1/n + rank·(1 − 2/n) (n = the day's
    non-NaN count), then mapped through the driver: gaussian sigma·Φ⁻¹(p), cauchy sigma·tan(π(p − ½)),
    uniform sigma·(p − mean p) = sigma·(p − ½). NaN stays NaN."""
    p = order_stat(x, None, QUANT_P)
    drv = driver.lower()
    if drv == "gaussian":
        from scipy.special import ndtri  # imported on use: lint and --help need no scipy

        out = ndtri(p)
    elif drv == "uniform":
        out = p - 0.5
    elif drv == "cauchy":
        out = np.tan(np.pi * (p - 0.5))
    else:
        raise ValueError(f"quantile: unknown driver {driver!r} (gaussian, uniform, cauchy)")
    return np.ascontiguousarray(out * sigma, dtype=np.float64)


@op("winsorize", CS, [_x(), Param("std", ArgKind.NUMBER, 4.0, minimum=0)], unit_rule="first",
    examples=("winsorize((2, 4, 5, 6, 3, 8, 10), std=1) = (2.818, 4, 5, 6, 3, 8, 8.039)",),
    assumptions=("population std (ddof 0)",))
def winsorize(x: np.ndarray, std: float = 4.0) -> np.ndarray:
    """Clip x to [mean − std·σ, mean + std·σ], mean and population σ (ddof 0) over the day's non-NaN
    values. A constant row is returned unchanged. NaN stays NaN."""
    return K.group_stat(x, None, K.WINSORIZE, std)


@op("truncate", CS, [_x(), Param("maxPercent", ArgKind.NUMBER, 0.01, minimum=0)], unit_rule="first",
    examples=("truncate((3, 7, 20, 6), maxPercent=0.5) = (3, 7, 18, 6)",),
    assumptions=("the cap is maxPercent·Σ|x| over the day's valid values, applied symmetrically (±cap), "
                 "in one pass (not iterated)",))
def truncate(x: np.ndarray, maxPercent: float = 0.01) -> np.ndarray:
    """Clip x to [−cap, cap] with cap = maxPercent·Σ|x| over the day's non-NaN values (one pass, the
    cap is not recomputed after clipping). NaN stays NaN."""
    return K.group_stat(x, None, K.TRUNCATE, maxPercent)


@op("rank_by_side", CS, [_x(), _RATE, Param("scale", ArgKind.NUMBER, 1.0, minimum=0)],
    assumptions=("positives -> r/n ranked among positives; negatives -> −r/n ranked by |x| among negatives "
                 "(r = average rank of ties, so the smallest magnitude keeps a non-zero weight); zeros -> 0",
                 "the result is scaled so that Σ|out| = scale over the row; an all-zero row -> NaN (as scale)"))
def rank_by_side(x: np.ndarray, rate: int = 2, scale: float = 1.0) -> np.ndarray:
    """Rank positive and negative values separately: a positive value gets r/n, with r its average rank
    among the day's n positive values; a negative value gets −r/n, with r the average rank of |x| among
    the negative values; zeros get 0. The row is then scaled so that Σ|out| = scale (a row of zeros ->
    NaN). NaN stays NaN; `rate` is accepted and ignored (exact ranks)."""
    xr = readonly(x, np.float64)
    side = np.where(np.isnan(xr), -1, np.sign(xr) + 1).astype(np.int32)
    return K.group_stat(order_stat(xr, side, SIDE_RANK), None, K.SCALE, scale)


_REG_ASSUME = ("OLS over the day's cells where both x and y are non-NaN; output NaN where either is NaN",
               "fewer than 2 pairs or x constant over the pairs -> NaN for the row")


@op("regression_neut", CS, [_x("y"), _x("x")], unit_rule="first", assumptions=_REG_ASSUME)
def regression_neut(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Residual y − (a + b·x) of the day's cross-sectional OLS of y on x with intercept, fitted over the
    instruments where both are non-NaN (b = cov(x, y)/var(x), a = mean y − b·mean x). NaN where y or x
    is NaN; NaN for the whole row when x is constant over the pairs (including a single pair)."""
    return K.pair_stat(y, x, None, K.RNEUT)


@op("regression_proj", CS, [_x("y"), _x("x")], unit_rule="first", assumptions=_REG_ASSUME)
def regression_proj(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fitted value a + b·x of the day's cross-sectional OLS of y on x with intercept, fitted over the
    instruments where both are non-NaN; regression_neut + regression_proj = y. NaN where y or x is NaN;
    NaN for the whole row when x is constant over the pairs (including a single pair)."""
    return K.pair_stat(y, x, None, K.RPROJ)


_VEC_ASSUME = ("dot products over the day's cells where both x and y are non-NaN; NaN where either is NaN",
               "y·y = 0 -> NaN for the row (P8)")


@op("vector_neut", CS, [_x(), _x("y")], unit_rule="first", assumptions=_VEC_ASSUME,
    examples=("vector_neut((1, 2, 3), (3, 4, 5)) = (−0.56, −0.08, 0.40)",))
def vector_neut(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x − (x·y / y·y)·y per day (no centering): x made orthogonal to y. Dot products run over the
    instruments where both are non-NaN; NaN where either is NaN; y·y = 0 -> NaN."""
    return K.pair_stat(x, y, None, K.VNEUT)


@op("vector_proj", CS, [_x(), _x("y")], unit_rule="first", assumptions=_VEC_ASSUME)
def vector_proj(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(x·y / y·y)·y per day: the projection of x on y (vector_neut + vector_proj = x). Dot products run
    over the instruments where both are non-NaN; NaN where either is NaN; y·y = 0 -> NaN."""
    return K.pair_stat(x, y, None, K.VPROJ)

"""Vector reductions: a VECTOR field (T, N, K), NaN-padded, becomes a (T, N) matrix (brain.md §5.6).

The elements of a cell's vector are its non-NaN values along K (NaN = padding or missing; both are
skipped). An empty vector (no valid element) gives NaN for every reduction except `vec_count` (0).
Moments are population moments (ddof 0, as everywhere in alphamine); a zero denominator gives NaN (P8).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from alphamine.ops.elementwise._util import IGNORE_ALL, new_out, reg
from alphamine.ops.registry import ArgKind, Category, Param, UnitRule

V = Category.VECTOR
_X = (Param("x", ArgKind.VECTOR),)


def _check(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"vector operators need a (T, N, K) input, got shape {x.shape}")
    return x


def _count(x: np.ndarray) -> np.ndarray:
    return np.count_nonzero(~np.isnan(x), axis=2)


def _sum(x: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
    n = _count(x) if n is None else n
    out = new_out(x.shape[:2])
    np.sum(np.where(np.isnan(x), 0.0, x), axis=2, out=out)
    np.copyto(out, np.nan, where=n == 0)
    return out


def _central_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, n, deviations with NaN → 0) for each cell."""
    n = _count(x)
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        mean = _sum(x, n) / n
        dev = x - mean[:, :, None]
    np.copyto(dev, 0.0, where=np.isnan(x))  # padding only: an inf element still poisons the moments
    return mean, n, dev


def _moment(dev: np.ndarray, n: np.ndarray, k: int) -> np.ndarray:
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        return np.sum(dev**k, axis=2) / n


def vec_count_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(x.shape[:2])
    out[...] = _count(_check(x))
    return out


def vec_sum_kernel(x: np.ndarray) -> np.ndarray:
    return _sum(_check(x))


def vec_avg_kernel(x: np.ndarray) -> np.ndarray:
    x = _check(x)
    n = _count(x)
    out = _sum(x, n)
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.divide(out, n, out=out)
    return out


def _fold(ufunc: np.ufunc, x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape[:2], np.nan)
    if x.shape[2]:
        ufunc.reduce(x, axis=2, out=out)  # fmax/fmin skip NaN; all-NaN → NaN without warnings
    return out


def vec_max_kernel(x: np.ndarray) -> np.ndarray:
    return _fold(np.fmax, _check(x))


def vec_min_kernel(x: np.ndarray) -> np.ndarray:
    return _fold(np.fmin, _check(x))


def vec_range_kernel(x: np.ndarray) -> np.ndarray:
    x = _check(x)
    out = _fold(np.fmax, x)
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.subtract(out, _fold(np.fmin, x), out=out)
    return out


def vec_stddev_kernel(x: np.ndarray) -> np.ndarray:
    _mean, n, dev = _central_moments(_check(x))
    out = _moment(dev, n, 2)
    np.sqrt(out, out=out)
    return out


def vec_ir_kernel(x: np.ndarray) -> np.ndarray:
    mean, n, dev = _central_moments(_check(x))
    std = np.sqrt(_moment(dev, n, 2))
    out = new_out(mean.shape)
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.divide(mean, std, out=out)
    np.copyto(out, np.nan, where=std == 0)
    return out


def _standardized(x: np.ndarray, k: int) -> np.ndarray:
    _mean, n, dev = _central_moments(_check(x))
    m2 = _moment(dev, n, 2)
    out = _moment(dev, n, k)
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.divide(out, m2 ** (k / 2), out=out)
    np.copyto(out, np.nan, where=m2 == 0)
    return out


def vec_skewness_kernel(x: np.ndarray) -> np.ndarray:
    return _standardized(x, 3)


def vec_kurtosis_kernel(x: np.ndarray) -> np.ndarray:
    out = _standardized(x, 4)
    np.subtract(out, 3.0, out=out)
    return out


def vec_norm_kernel(x: np.ndarray) -> np.ndarray:
    return _sum(np.abs(_check(x)))


def vec_powersum_kernel(x: np.ndarray, constant: float = 2.0) -> np.ndarray:
    x = _check(x)
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        powered = np.power(x, constant)
    powered[np.isnan(x)] = 0.0  # padding adds nothing (IEEE pow(NaN, 0) = 1); NaN from pow(−1, 0.5) counts
    out = new_out(x.shape[:2])
    np.sum(powered, axis=2, out=out)
    np.copyto(out, np.nan, where=_count(x) == 0)
    return out


def vec_percentage_kernel(x: np.ndarray, percentage: float = 0.5) -> np.ndarray:
    if not 0.0 <= percentage <= 1.0:
        raise ValueError(f"vec_percentage: percentage must be in [0, 1], got {percentage}")
    x = _check(x)
    out = np.full(x.shape[:2], np.nan)
    if x.shape[2] == 0:
        return out
    s = np.sort(x, axis=2)  # NaN sorts last
    n = _count(x)
    pos = percentage * np.maximum(n - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    v_lo = np.take_along_axis(s, lo[:, :, None], axis=2)[:, :, 0]
    v_hi = np.take_along_axis(s, hi[:, :, None], axis=2)[:, :, 0]
    w = pos - lo
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        res = np.where(w > 0, v_lo + w * (v_hi - v_lo), v_lo)
    np.copyto(out, res, where=n > 0)
    return out


def vec_choose_kernel(x: np.ndarray, nth: int = 0) -> np.ndarray:
    if nth < 0:
        raise ValueError(f"vec_choose: nth must be >= 0, got {nth}")
    x = _check(x)
    out = np.full(x.shape[:2], np.nan)
    if x.shape[2] == 0:
        return out
    valid = ~np.isnan(x)
    hit = valid & (np.cumsum(valid, axis=2) == nth + 1)
    idx = np.argmax(hit, axis=2)
    picked = np.take_along_axis(x, idx[:, :, None], axis=2)[:, :, 0]
    np.copyto(out, picked, where=hit.any(axis=2))
    return out


_SIMPLE: tuple[tuple[str, Callable[..., np.ndarray], str, UnitRule], ...] = (
    ("vec_avg", vec_avg_kernel, "Mean of the vector's valid elements.", "first"),
    ("vec_sum", vec_sum_kernel, "Sum of the vector's valid elements; empty vector → NaN (not 0).", "first"),
    ("vec_count", vec_count_kernel, "Number of valid (non-NaN) elements; empty vector → 0.", "dimensionless"),
    ("vec_max", vec_max_kernel, "Largest valid element.", "first"),
    ("vec_min", vec_min_kernel, "Smallest valid element.", "first"),
    ("vec_range", vec_range_kernel, "vec_max − vec_min (0 for one element).", "first"),
    ("vec_stddev", vec_stddev_kernel, "Population standard deviation (ddof 0); one element → 0.", "first"),
    ("vec_ir", vec_ir_kernel, "vec_avg / vec_stddev; NaN when the std is 0 (P8).", "dimensionless"),
    ("vec_skewness", vec_skewness_kernel, "Population skewness m3 / m2^1.5; NaN when m2 = 0.", "dimensionless"),
    ("vec_kurtosis", vec_kurtosis_kernel, "Excess kurtosis m4 / m2² − 3 (population moments); NaN when m2 = 0.",
     "dimensionless"),
    ("vec_norm", vec_norm_kernel, "Σ|x| over the valid elements; empty vector → NaN.", "first"),
)
_EMPTY = ("vec_*: NaN elements are skipped; an empty vector gives NaN (vec_sum and vec_norm too, not 0) "
          "except vec_count = 0.",)

for _name, _kernel, _doc, _unit in _SIMPLE:
    reg(_name, V, _X, _kernel, _doc + " Empty vector → " + ("0." if _name == "vec_count" else "NaN."),
        unit_rule=_unit, assumptions=_EMPTY if _name in ("vec_sum", "vec_count", "vec_norm") else (),
        examples=(f"{_name}(x)",))

reg(
    "vec_percentage",
    V,
    (*_X, Param("percentage", ArgKind.NUMBER, default=0.5, minimum=0.0, doc="in [0, 1]")),
    vec_percentage_kernel,
    "The `percentage` quantile of the valid elements, linear interpolation between order statistics "
    "(0.5 = median, 0 = min, 1 = max). Empty vector → NaN.",
    unit_rule="first",
    assumptions=("vec_percentage interpolates linearly between sorted values (numpy's default quantile).",),
)
reg(
    "vec_powersum",
    V,
    (*_X, Param("constant", ArgKind.NUMBER, default=2.0, doc="the exponent")),
    vec_powersum_kernel,
    "Σ x^constant over the valid elements (IEEE pow per element). Empty vector → NaN.",
    unit_rule="combine",
)
reg(
    "vec_choose",
    V,
    (*_X, Param("nth", ArgKind.INT, default=0, minimum=0, doc="0-based position among valid elements")),
    vec_choose_kernel,
    "The nth (0-based) valid element in vector order; NaN when the vector has ≤ nth valid elements.",
    unit_rule="first",
    assumptions=("vec_choose counts positions among the valid elements (NaNs skipped, like reduce_choose's "
                 "ignoreNan=true default).",),
)

"""Vector reductions: a VECTOR field (T, N, K), NaN-padded, becomes a (T, N) matrix (brain.md §5.6).

The elements of a cell's vector are its non-NaN values along K (NaN = padding or missing; both are
skipped). An empty vector (no valid element) gives NaN for every reduction except `vec_count` (0).
Moments are population moments (ddof 0, as everywhere in alphamine); a zero denominator gives NaN (P8).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from alphamine.ops.elementwise._util import reg
from alphamine.ops.registry import ArgKind, Category, Param, UnitRule, check_param

V = Category.VECTOR
_X = (Param("x", ArgKind.VECTOR),)
_PERCENTAGE = Param("percentage", ArgKind.NUMBER, default=0.5, minimum=0.0, maximum=1.0, doc="in [0, 1]")
_NTH = Param("nth", ArgKind.INT, default=0, minimum=0, doc="0-based position among valid elements")


def _check(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"vector operators need a (T, N, K) input, got shape {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float64)


# Reduction codes of `_reduce` (one compiled kernel serves every vec_* operator).
COUNT, SUM, AVG, MAX, MIN, RANGE, STD, IR, SKEW, KURT, NORM, POWERSUM, CHOOSE, PERCENTAGE = range(14)


@numba.njit(cache=True, nogil=True)
def _reduce(x: np.ndarray, op: int, param: float) -> np.ndarray:  # pragma: no cover - compiled
    T, N, K = x.shape
    out = np.empty((T, N))
    buf = np.empty(K)
    for t in range(T):
        for i in range(N):
            n = 0
            for k in range(K):
                a = x[t, i, k]
                if not np.isnan(a):
                    buf[n] = a
                    n += 1
            if op == COUNT:
                out[t, i] = n
                continue
            if n == 0:
                out[t, i] = np.nan
                continue
            if op == CHOOSE:
                j = int(param)
                out[t, i] = buf[j] if j < n else np.nan
                continue
            if op == PERCENTAGE:
                if n > 32:
                    buf[:n] = np.sort(buf[:n])
                else:  # insertion sort in place: no allocation for the usual short vectors
                    for k in range(1, n):
                        a = buf[k]
                        j = k - 1
                        while j >= 0 and buf[j] > a:
                            buf[j + 1] = buf[j]
                            j -= 1
                        buf[j + 1] = a
                v = buf
                pos = param * (n - 1)
                lo = int(np.floor(pos))
                hi = min(lo + 1, n - 1)
                w = pos - lo
                out[t, i] = v[lo] + w * (v[hi] - v[lo]) if w > 0 else v[lo]
                continue
            if MAX <= op <= RANGE:  # the three codes are consecutive
                hi_v = buf[0]
                lo_v = buf[0]
                for k in range(1, n):
                    hi_v = max(hi_v, buf[k])
                    lo_v = min(lo_v, buf[k])
                out[t, i] = hi_v if op == MAX else lo_v if op == MIN else hi_v - lo_v
                continue
            s = 0.0
            if op == NORM:
                for k in range(n):
                    s += abs(buf[k])
                out[t, i] = s
                continue
            if op == POWERSUM:
                for k in range(n):
                    s += buf[k] ** param
                out[t, i] = s
                continue
            for k in range(n):
                s += buf[k]
            if op == SUM:
                out[t, i] = s
                continue
            mean = s / n
            if op == AVG:
                out[t, i] = mean
                continue
            m2 = 0.0
            m3 = 0.0
            m4 = 0.0
            for k in range(n):
                d = buf[k] - mean
                m2 += d * d
                m3 += d * d * d
                m4 += d * d * d * d
            m2 /= n
            m3 /= n
            m4 /= n
            if op == STD:
                out[t, i] = np.sqrt(m2)
            elif m2 == 0.0:
                out[t, i] = np.nan  # zero denominator (P8)
            elif op == IR:
                out[t, i] = mean / np.sqrt(m2)
            elif op == SKEW:
                out[t, i] = m3 / m2**1.5
            else:  # KURT
                out[t, i] = m4 / (m2 * m2) - 3.0
    return out


def _kernel(op: int) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(x: np.ndarray) -> np.ndarray:
        return _reduce(_check(x), op, 0.0)

    return kernel


def vec_powersum_kernel(x: np.ndarray, constant: float = 2.0) -> np.ndarray:
    return _reduce(_check(x), POWERSUM, float(constant))


def vec_percentage_kernel(x: np.ndarray, percentage: float = 0.5) -> np.ndarray:
    check_param("vec_percentage", _PERCENTAGE, percentage)
    return _reduce(_check(x), PERCENTAGE, float(percentage))


def vec_choose_kernel(x: np.ndarray, nth: int = 0) -> np.ndarray:
    check_param("vec_choose", _NTH, nth)
    return _reduce(_check(x), CHOOSE, float(nth))


_SIMPLE: tuple[tuple[str, Callable[..., np.ndarray], str, UnitRule], ...] = (
    ("vec_avg", _kernel(AVG), "Mean of the vector's valid elements.", "first"),
    ("vec_sum", _kernel(SUM), "Sum of the vector's valid elements; empty vector → NaN (not 0).", "first"),
    ("vec_count", _kernel(COUNT), "Number of valid (non-NaN) elements; empty vector → 0.", "dimensionless"),
    ("vec_max", _kernel(MAX), "Largest valid element.", "first"),
    ("vec_min", _kernel(MIN), "Smallest valid element.", "first"),
    ("vec_range", _kernel(RANGE), "vec_max − vec_min (0 for one element).", "first"),
    ("vec_stddev", _kernel(STD), "Population standard deviation (ddof 0); one element → 0.", "first"),
    ("vec_ir", _kernel(IR), "vec_avg / vec_stddev; NaN when the std is 0 (P8).", "dimensionless"),
    ("vec_skewness", _kernel(SKEW), "Population skewness m3 / m2^1.5; NaN when m2 = 0.", "dimensionless"),
    ("vec_kurtosis", _kernel(KURT), "Excess kurtosis m4 / m2² − 3 (population moments); NaN when m2 = 0.",
     "dimensionless"),
    ("vec_norm", _kernel(NORM), "Σ|x| over the valid elements; empty vector → NaN.", "first"),
)
_EMPTY = ("vec_*: NaN elements are skipped; an empty vector gives NaN (vec_sum and vec_norm too, not 0) "
          "except vec_count = 0.",)

for _name, _fn, _doc, _unit in _SIMPLE:
    reg(_name, V, _X, _fn, _doc + " Empty vector → " + ("0." if _name == "vec_count" else "NaN."),
        unit_rule=_unit, assumptions=_EMPTY if _name in ("vec_sum", "vec_count", "vec_norm") else (),
        examples=(f"{_name}(x)",))

reg(
    "vec_percentage",
    V,
    (*_X, _PERCENTAGE),
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
    "Σ x^constant over the valid elements (IEEE pow per element, so a negative element with a fractional "
    "constant makes the sum NaN). Empty vector → NaN.",
    unit_rule="combine",
)
reg(
    "vec_choose",
    V,
    (*_X, _NTH),
    vec_choose_kernel,
    "The nth (0-based) valid element in vector order; NaN when the vector has ≤ nth valid elements.",
    unit_rule="first",
    assumptions=("vec_choose counts positions among the valid elements (NaNs skipped, like reduce_choose's "
                 "ignoreNan=true default).",),
)

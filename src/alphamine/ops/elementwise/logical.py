"""Logical operators and comparisons (brain.md §5.2; simulation.md "Operators" and P14).

Results are 1.0 (true) / 0.0 (false). Truthiness is "non-zero" (so 2, −0.5 and ±inf are true). NaN in
any input → NaN out, for comparisons (NaN == NaN is NaN, not 0), `&&`, `||`, `!` and the condition of
`if_else`. Only `is_nan` maps NaN to a number.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from alphamine.ops.elementwise._util import new_out, reg, series
from alphamine.ops.registry import Category

L = Category.LOGICAL

_NAN_NOTE = "NaN in either input → NaN."


def _shape2(a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    return np.broadcast_shapes(np.shape(a), np.shape(b))


def _propagate(out: np.ndarray, *xs: np.ndarray) -> np.ndarray:
    for x in xs:
        np.copyto(out, np.nan, where=np.isnan(x))
    return out


_LT, _LE, _GT, _GE, _EQ, _NE = range(6)
_CMP_CODES = {"less": _LT, "less_equal": _LE, "greater": _GT, "greater_equal": _GE, "equal": _EQ,
              "not_equal": _NE}


def _fast2(*xs: np.ndarray) -> bool:
    """Inputs the one-pass numba kernels take: 2-D float64 arrays (any strides: read-only, broadcast
    literals and non-contiguous views are read in place)."""
    return all(isinstance(x, np.ndarray) and x.dtype == np.float64 and x.ndim == 2 for x in xs)


def _make_cmp(code: int) -> Callable[..., None]:
    @njit(cache=True, nogil=True)
    def cmp(a, b, out):  # pragma: no cover - numba
        T, N = out.shape
        for t in range(T):
            for i in range(N):
                x = a[t, i]
                y = b[t, i]
                if code == _LT:
                    r = x < y
                elif code == _LE:
                    r = x <= y
                elif code == _GT:
                    r = x > y
                elif code == _GE:
                    r = x >= y
                elif code == _EQ:
                    r = x == y
                else:
                    r = x != y
                out[t, i] = np.nan if (x != x or y != y) else (1.0 if r else 0.0)

    return cmp


_CMP_KERNELS: dict[int, Callable[..., None]] = {}


def _comparison(ufunc: np.ufunc) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    code = _CMP_CODES[ufunc.__name__]

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = new_out(_shape2(a, b))
        if _fast2(a, b) and out.ndim == 2:  # one pass, no temporaries
            fn = _CMP_KERNELS.get(code)
            if fn is None:
                fn = _CMP_KERNELS[code] = _make_cmp(code)
            fn(np.broadcast_to(a, out.shape), np.broadcast_to(b, out.shape), out)
            return out
        ufunc(a, b, out=out)  # bool result cast into the float64 buffer
        return _propagate(out, a, b)

    kernel.__name__ = f"compare_{ufunc.__name__}"
    return kernel


def and_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = new_out(_shape2(a, b))
    np.logical_and(np.not_equal(a, 0), np.not_equal(b, 0), out=out)
    return _propagate(out, a, b)


def or_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = new_out(_shape2(a, b))
    np.logical_or(np.not_equal(a, 0), np.not_equal(b, 0), out=out)
    return _propagate(out, a, b)


def not_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    np.equal(x, 0, out=out)
    return _propagate(out, x)


def is_nan_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    np.isnan(x, out=out)
    return out


@njit(cache=True, nogil=True)
def _if_else(c, a, b, out):  # pragma: no cover - numba
    T, N = out.shape
    for t in range(T):
        for i in range(N):
            v = c[t, i]
            out[t, i] = np.nan if v != v else (a[t, i] if v != 0.0 else b[t, i])


def if_else_kernel(c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = new_out(np.broadcast_shapes(np.shape(c), np.shape(a), np.shape(b)))
    if _fast2(c, a, b) and out.ndim == 2:  # one pass, no temporaries
        _if_else(np.broadcast_to(c, out.shape), np.broadcast_to(a, out.shape), np.broadcast_to(b, out.shape), out)
        return out
    np.copyto(out, b)
    np.copyto(out, a, where=np.not_equal(c, 0))  # NaN != 0 is True here; fixed just below
    return _propagate(out, c)


_COMPARISONS = (
    ("less", "<", np.less, "1 if a < b else 0"),
    ("less_equal", "<=", np.less_equal, "1 if a ≤ b else 0"),
    ("greater", ">", np.greater, "1 if a > b else 0"),
    ("greater_equal", ">=", np.greater_equal, "1 if a ≥ b else 0"),
    ("equal", "==", np.equal, "1 if a = b (exact) else 0"),
    ("not_equal", "!=", np.not_equal, "1 if a ≠ b (exact) else 0"),
)
_CMP_UNIT = ("comparisons use unit rule 'dimensionless' (the 0/1 output has no unit), so comparing price "
             "with volume does not raise a UNITS warning.",)

for _name, _symbol, _ufunc, _text in _COMPARISONS:
    reg(
        _name,
        L,
        (series("a"), series("b")),
        _comparison(_ufunc),
        f"{_text}; {_NAN_NOTE} ±inf compare as values (inf == inf is 1).",
        symbol=_symbol,
        assumptions=(f"{_name}: NaN in → NaN out (P14), not 0.", *_CMP_UNIT),
    )

reg(
    "and",
    L,
    (series("a"), series("b")),
    and_kernel,
    f"1 if both inputs are non-zero else 0; {_NAN_NOTE} (also 0 && NaN).",
    symbol="&&",
    assumptions=("and/or: truthiness = non-zero; NaN propagates even where the other input decides (P14).",),
)
reg(
    "or",
    L,
    (series("a"), series("b")),
    or_kernel,
    f"1 if either input is non-zero else 0; {_NAN_NOTE} (also 1 || NaN).",
    symbol="||",
)
reg("not", L, (series("x"),), not_kernel, "1 if x == 0 else 0 (any non-zero is true); NaN → NaN.", symbol="!")
reg("is_nan", L, (series("x"),), is_nan_kernel, "1 where x is NaN, else 0 (±inf → 0). Never NaN.")
reg(
    "if_else",
    L,
    (series("c", "condition"), series("a", "value when c is true"), series("b", "value when c is false")),
    if_else_kernel,
    "a where c is non-zero, b where c == 0, NaN where c is NaN (P14). The chosen branch's NaN passes "
    "through; the other branch is ignored.",
    unit_rule="combine",
    symbol="?:",
    assumptions=("if_else: a NaN condition gives NaN (P14); truthiness = non-zero.",
                 "if_else uses unit rule 'combine' (no check) because 'same' would also compare the "
                 "dimensionless condition with the branches."),
    examples=("if_else(volume > adv20, 2 * ts_delta(close, 3), ts_delta(close, 3))",),
)

"""Arithmetic operators: + - * / ^ and their relatives (brain.md §5.1).

NaN semantics (unless an operator says otherwise): NaN in any input → NaN out; IEEE rules for ±inf
and division by zero (x/0 = ±inf, 0/0 = NaN; P7). Variadic operators accumulate into one buffer.
"""

from __future__ import annotations

import numpy as np

from alphamine.ops.elementwise._util import IGNORE_ALL, boolean, copy_f64, new_out, reg, series
from alphamine.ops.registry import ArgKind, Category, Param

A = Category.ARITHMETIC

MIN_INPUTS = 2
"""add, subtract, multiply, max and min take at least two inputs (brain.md §5.1): the declarations'
`min_count`, so the checker reports ARITY and the evaluator never calls a kernel with one."""


def _need_two(name: str, xs: tuple[np.ndarray, ...]) -> None:
    if len(xs) < MIN_INPUTS:
        raise ValueError(f"{name} needs at least {MIN_INPUTS} inputs, got {len(xs)}")


def _first(x: np.ndarray, filter_value: float | None) -> np.ndarray:
    out = copy_f64(x)
    if filter_value is not None:
        np.copyto(out, filter_value, where=np.isnan(out))
    return out


def _accumulate(name: str, ufunc: np.ufunc, xs: tuple[np.ndarray, ...], filter_value: float | None) -> np.ndarray:
    _need_two(name, xs)
    if filter_value is None:
        # One pass for the first pair (no copy of xs[0] first); float64 loop as if xs[0] were cast first.
        out = new_out(np.shape(xs[0]))
        with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
            ufunc(xs[0], xs[1], out=out, dtype=np.float64)
            for x in xs[2:]:
                ufunc(out, x, out=out)
        return out
    out = _first(xs[0], filter_value)
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        for x in xs[1:]:
            if filter_value is None:
                ufunc(out, x, out=out)
            else:
                # A filtered NaN is the operation's identity (0 for + and -, 1 for *): skip it.
                ufunc(out, x, out=out, where=~np.isnan(x))
    return out


def add_kernel(*xs: np.ndarray, filter: bool = False) -> np.ndarray:
    return _accumulate("add", np.add, xs, 0.0 if filter else None)


def subtract_kernel(*xs: np.ndarray, filter: bool = False) -> np.ndarray:
    return _accumulate("subtract", np.subtract, xs, 0.0 if filter else None)


def multiply_kernel(*xs: np.ndarray, filter: bool = False) -> np.ndarray:
    return _accumulate("multiply", np.multiply, xs, 1.0 if filter else None)


def max_kernel(*xs: np.ndarray) -> np.ndarray:
    return _accumulate("max", np.maximum, xs, None)  # np.maximum propagates NaN


def min_kernel(*xs: np.ndarray) -> np.ndarray:
    return _accumulate("min", np.minimum, xs, None)


def divide_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = new_out(np.broadcast_shapes(np.shape(x), np.shape(y)))
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.divide(x, y, out=out)
    return out


def inverse_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.divide(1.0, x, out=out)
    return out


def _nan_where_any_nan(out: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    np.copyto(out, np.nan, where=np.isnan(x))
    np.copyto(out, np.nan, where=np.isnan(y))


def power_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = new_out(np.broadcast_shapes(np.shape(x), np.shape(y)))
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.power(x, y, out=out)
    _nan_where_any_nan(out, x, y)  # IEEE pow(NaN, 0) = pow(1, NaN) = 1; a missing input stays missing
    return out


def signed_power_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = new_out(np.broadcast_shapes(np.shape(x), np.shape(y)))
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.abs(x, out=out)
        np.power(out, y, out=out)
        np.multiply(out, np.sign(x), out=out)
    _nan_where_any_nan(out, x, y)
    return out


def reverse_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    np.negative(x, out=out)
    return out


def abs_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    np.abs(x, out=out)
    return out


def sign_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    np.sign(x, out=out)
    return out


_FILTER_DOC = "true: treat NaN inputs as the identity before combining"

reg(
    "add",
    A,
    (Param("x", ArgKind.SERIES, variadic=True, min_count=MIN_INPUTS), boolean("filter", False, _FILTER_DOC + " (0)")),
    add_kernel,
    "Element-wise sum of two or more inputs. NaN in any input → NaN; filter=true turns every NaN "
    "into 0 first (so an all-NaN cell gives 0). inf + (−inf) = NaN.",
    unit_rule="same",
    symbol="+",
    assumptions=("add: fewer than 2 inputs is an error (BRAIN: 'at least 2 inputs required').",
                 "add(filter=true): a cell where every input is NaN gives 0 (NaN→0 before adding)."),
    examples=("add(x, y, filter=true)", "close + open"),
)
reg(
    "subtract",
    A,
    (Param("x", ArgKind.SERIES, variadic=True, min_count=MIN_INPUTS), boolean("filter", False, _FILTER_DOC + " (0)")),
    subtract_kernel,
    "Left-to-right difference x − y − …; NaN in any input → NaN; filter=true turns NaN into 0 first "
    "(subtract(NaN, 5, filter=true) = −5).",
    unit_rule="same",
    symbol="-",
    assumptions=("subtract accepts 2 or more inputs (newer BRAIN text; an older registry said exactly 2).",),
    examples=("subtract(close, open)", "close - open"),
)
reg(
    "multiply",
    A,
    (Param("x", ArgKind.SERIES, variadic=True, min_count=MIN_INPUTS), boolean("filter", False, _FILTER_DOC + " (1)")),
    multiply_kernel,
    "Element-wise product of two or more inputs; NaN in any input → NaN; filter=true turns NaN into 1 "
    "first (multiply(5, NaN, filter=true) = 5; all-NaN cell → 1). 0 × inf = NaN.",
    unit_rule="combine",
    symbol="*",
    assumptions=("multiply(filter=true) replaces NaN with 1, following the worked example 5×NaN → 5; a newer "
                 "description says 'NaN as 0' (conflict, brain.md §5.1).",),
    examples=("multiply(rank(-returns), rank(volume/adv20), filter=true)",),
)
reg(
    "divide",
    A,
    (series("x"), series("y")),
    divide_kernel,
    "x / y with IEEE rules: x/0 = ±inf, 0/0 = NaN, NaN in → NaN.",
    unit_rule="combine",
    symbol="/",
    assumptions=("divide by zero gives ±inf (NaN for 0/0), not an error; ±inf becomes NaN at the end (P7).",),
)
reg(
    "power",
    A,
    (series("x"), series("y")),
    power_kernel,
    "x ^ y (IEEE pow: negative base with a non-integer exponent → NaN, 0^−1 = inf). NaN in either input "
    "→ NaN (also pow(NaN, 0) and pow(1, NaN), which IEEE defines as 1).",
    unit_rule="combine",
    symbol="^",
    assumptions=("power/signed_power: a NaN input always gives NaN, although IEEE pow(NaN, 0) = 1.",),
)
reg(
    "signed_power",
    A,
    (series("x"), series("y")),
    signed_power_kernel,
    "sign(x) · |x|^y (keeps the sign of x). NaN in either input → NaN; signed_power(0, y<0) = 0·inf = NaN; "
    "signed_power(0, 0) = 0.",
    unit_rule="combine",
    assumptions=("signed_power(0, y) for y < 0 is sign(0)·inf = NaN (literal reading of sign(x)·abs(x)^y).",),
    examples=("signed_power(-9, 0.5)  # -3",),
)
reg(
    "reverse",
    A,
    (series("x"),),
    reverse_kernel,
    "Unary minus: −x (NaN stays NaN).",
    unit_rule="first",
    symbol="neg",
)
reg("inverse", A, (series("x"),), inverse_kernel, "1 / x; inverse(0) = inf (IEEE), NaN → NaN.",
    unit_rule="combine")
reg("abs", A, (series("x"),), abs_kernel, "Absolute value |x|; NaN → NaN.", unit_rule="first")
reg("sign", A, (series("x"),), sign_kernel, "+1 for x > 0, −1 for x < 0, 0 for 0; NaN → NaN.")
reg(
    "max",
    A,
    (Param("x", ArgKind.SERIES, variadic=True, min_count=MIN_INPUTS),),
    max_kernel,
    "Element-wise maximum of two or more inputs; NaN in any input → NaN (P14).",
    unit_rule="same",
)
reg(
    "min",
    A,
    (Param("x", ArgKind.SERIES, variadic=True, min_count=MIN_INPUTS),),
    min_kernel,
    "Element-wise minimum of two or more inputs; NaN in any input → NaN (P14).",
    unit_rule="same",
)

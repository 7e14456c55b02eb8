"""Elementary functions and rounding (brain.md §5.1 and the genius-level arithmetic set).

All are one-input maps: NaN → NaN; ±inf are treated as values (P7), e.g. log(inf) = inf, tanh(±inf) = ±1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from alphamine.ops.elementwise._util import IGNORE_ALL, new_out, number, reg, series, ufunc_unary
from alphamine.ops.registry import Category, ParamError

A = Category.ARITHMETIC
X = (series("x"),)


def s_log_1p_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    np.abs(x, out=out)
    np.log1p(out, out=out)
    np.copysign(out, x, out=out)  # s_log_1p(0) = 0 (±0), NaN stays NaN
    return out


def round_kernel(x: np.ndarray) -> np.ndarray:
    """Half away from zero, computed exactly: |x| − floor(|x|) is exact in binary floating point."""
    a = np.abs(x)
    out = new_out(np.shape(x))
    np.floor(a, out=out)
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        frac = a - out  # inf - inf = NaN for ±inf; fixed below by copysign of the floor (= inf)
    np.add(out, 1.0, out=out, where=frac >= 0.5)
    np.copysign(out, x, out=out)
    return out


ROUND_DOWN_SNAP = 1e-9
"""round_down snaps a quotient x/f within this relative distance of an integer onto it, so that decimal
steps behave as written (round_down(0.3, 0.1) = 0.3 although 0.3/0.1 = 2.9999999999999996)."""


def check_round_down(values: Mapping[str, Any]) -> None:
    """round_down's rule (declaration and kernel): the step f is > 0."""
    f = values.get("f", 1.0)
    if not f > 0:
        raise ParamError(f"round_down's f must be > 0, got {f}", "f")


def round_down_kernel(x: np.ndarray, f: float = 1.0) -> np.ndarray:
    check_round_down({"f": f})
    out = new_out(np.shape(x))
    with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
        np.divide(x, f, out=out)
        nearest = np.round(out)
        snap = np.abs(out - nearest) <= ROUND_DOWN_SNAP * np.maximum(1.0, np.abs(nearest))
        np.copyto(out, nearest, where=snap)
        np.floor(out, out=out)
        np.multiply(out, f, out=out)
    return out


def fraction_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    np.modf(x, out=(out, new_out(np.shape(x))))
    return out


def sigmoid_kernel(x: np.ndarray) -> np.ndarray:
    out = new_out(np.shape(x))
    from scipy.special import expit  # imported on use: lint and --help need no scipy

    expit(x, out=out)
    return out


reg("sqrt", A, X, ufunc_unary(np.sqrt), "Square root; NaN for x < 0 (use signed_power(x, 0.5) to keep "
    "the sign); sqrt(inf) = inf.", unit_rule="combine")
reg("log", A, X, ufunc_unary(np.log), "Natural logarithm: log(0) = −inf, log(x<0) = NaN, log(inf) = inf.")
reg("exp", A, X, ufunc_unary(np.exp), "e^x; overflows to inf (exp(−inf) = 0); NaN → NaN.")
reg(
    "s_log_1p",
    A,
    X,
    s_log_1p_kernel,
    "sign(x) · log(1 + |x|): a sign-preserving log squashing; s_log_1p(0) = 0, ±inf → ±inf, NaN → NaN.",
    assumptions=("s_log_1p = sign(x)·log(1+|x|) (unbounded), although one description calls ±1 asymptotes.",),
)
reg("tanh", A, X, ufunc_unary(np.tanh), "Hyperbolic tangent, in [−1, 1]; tanh(±inf) = ±1, NaN → NaN.")
reg("sigmoid", A, X, sigmoid_kernel, "1 / (1 + exp(−x)), in [0, 1]; sigmoid(−inf) = 0, sigmoid(inf) = 1, NaN → NaN.")
reg("arc_tan", A, X, ufunc_unary(np.arctan), "Inverse tangent, in (−π/2, π/2); arc_tan(±inf) = ±π/2; NaN → NaN.")
reg("arc_sin", A, X, ufunc_unary(np.arcsin), "Inverse sine for −1 ≤ x ≤ 1, NaN outside.")
reg("arc_cos", A, X, ufunc_unary(np.arccos), "Inverse cosine for −1 ≤ x ≤ 1, NaN outside.")
reg("floor", A, X, ufunc_unary(np.floor), "Largest integer ≤ x; ±inf stay ±inf; NaN → NaN.", unit_rule="first")
reg("ceiling", A, X, ufunc_unary(np.ceil), "Smallest integer ≥ x; ±inf stay ±inf; NaN → NaN.", unit_rule="first")
reg(
    "round",
    A,
    X,
    round_kernel,
    "Nearest integer; ties (x.5) round half away from zero (round(2.5) = 3, round(−2.5) = −3); "
    "±inf stay ±inf; NaN → NaN.",
    unit_rule="first",
    assumptions=("round: ties round half away from zero (C round()); BRAIN only says 'closest integer'.",),
)
reg(
    "round_down",
    A,
    (series("x"), number("f", 1.0, "the step; > 0")),
    round_down_kernel,
    "Greatest multiple of f that is ≤ x: f·floor(x/f) (round_down(2.5) = 2, round_down(-2.5) = -3). "
    "Quotients within 1e-9 (relative) of an integer count as that integer. NaN → NaN, ±inf stay ±inf; "
    "f ≤ 0 is an error.",
    unit_rule="first",
    assumptions=("round_down: 'less than input' read as ≤ (an exact multiple maps to itself); floor also for "
                 "negative x; x/f within 1e-9 of an integer snaps to it.",),
    examples=("round_down(x, f=0.5)",),
    validate=check_round_down,
)
reg(
    "fraction",
    A,
    X,
    fraction_kernel,
    "x minus its integer part truncated toward zero, keeping the sign: fraction(3.7) = 0.7, "
    "fraction(−3.7) = −0.7; fraction(±inf) = ±0 (C modf); NaN → NaN.",
    assumptions=("fraction(x) = x − trunc(x) (sign kept; 'removes the whole number part ... with sign'); "
                 "±inf → ±0 as C modf does.",),
)

"""Arithmetic, elementary functions and NaN-handling operators against cell-by-cell references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_elem_common import INF, NAN, assert_same, cellwise, check_fresh, elem_data, kernel, readonly

from alphamine.ops import EvalContext

# ---------------------------------------------------------------- scalar references (IEEE, by hand)


def _nan(*v: float) -> bool:
    return any(math.isnan(a) for a in v)


def r_div(a: float, b: float) -> float:
    if _nan(a, b):
        return NAN
    if b == 0:
        return NAN if a == 0 else math.copysign(INF, a) * math.copysign(1.0, b)
    return a / b


def _is_odd_int(y: float) -> bool:
    return math.isfinite(y) and y == int(y) and int(y) % 2 == 1


def r_pow(a: float, b: float) -> float:
    if _nan(a, b):
        return NAN
    try:
        return math.pow(a, b)
    except ValueError:  # 0 ** negative, or negative ** non-integer
        if a == 0:
            return math.copysign(INF, a) if _is_odd_int(b) else INF
        return NAN
    except OverflowError:
        return -INF if a < 0 and _is_odd_int(b) else INF


def r_sign(a: float) -> float:
    return NAN if math.isnan(a) else (1.0 if a > 0 else -1.0 if a < 0 else 0.0)


def r_signed_power(a: float, b: float) -> float:
    if _nan(a, b):
        return NAN
    return r_sign(a) * r_pow(abs(a), b)


def r_exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        return INF


def r_sqrt(a: float) -> float:
    return NAN if a < 0 else math.sqrt(a)  # math.sqrt(nan) = nan


def r_log(a: float) -> float:
    return NAN if math.isnan(a) or a < 0 else -INF if a == 0 else math.log(a)


def r_domain(f):  # type: ignore[no-untyped-def]
    def g(a: float) -> float:
        try:
            return f(a)
        except ValueError:
            return NAN

    return g


def r_sigmoid(a: float) -> float:
    if math.isnan(a):
        return NAN
    e = r_exp(-a)
    return 1.0 / (1.0 + e)


def r_int_op(f):  # type: ignore[no-untyped-def]
    def g(a: float) -> float:
        return a if not math.isfinite(a) else float(f(a))

    return g


def r_round(a: float) -> float:
    if not math.isfinite(a):
        return a
    fl = math.floor(abs(a))
    return math.copysign(fl + (1 if abs(a) - fl >= 0.5 else 0), a)


UNARY = {
    "reverse": lambda a: -a,
    "abs": abs,
    "sign": r_sign,
    "inverse": lambda a: r_div(1.0, a),
    "sqrt": r_sqrt,
    "log": r_log,
    "exp": r_exp,
    "s_log_1p": lambda a: math.copysign(math.log1p(abs(a)), a),
    "tanh": math.tanh,
    "sigmoid": r_sigmoid,
    "arc_tan": math.atan,
    "arc_sin": r_domain(math.asin),
    "arc_cos": r_domain(math.acos),
    "floor": r_int_op(math.floor),
    "ceiling": r_int_op(math.ceil),
    "round": r_round,
    "fraction": lambda a: math.modf(a)[0],
    "purify": lambda a: NAN if math.isinf(a) else a,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_reference(name: str) -> None:
    x = readonly(elem_data(1))
    before = x.copy()
    out = kernel(name)(x)
    assert_same(out, cellwise(UNARY[name], x))
    check_fresh(out, x)
    assert_same(x, before)


def _binary_data() -> tuple[np.ndarray, np.ndarray]:
    x = elem_data(2)
    y = elem_data(3)
    y[::5, :] = 0.0  # division by zero, 0 ** y, x ** 0
    y[1::7, :] = 2.0
    y[2::7, :] = 0.5
    return readonly(x), readonly(y)


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("divide", r_div),
        ("power", r_pow),
        ("signed_power", r_signed_power),
        ("max", lambda a, b: NAN if _nan(a, b) else max(a, b)),
        ("min", lambda a, b: NAN if _nan(a, b) else min(a, b)),
        ("add", lambda a, b: a + b),
        ("subtract", lambda a, b: a - b),
        ("multiply", lambda a, b: NAN if _nan(a, b) else a * b),
        ("nan_mask", lambda a, b: NAN if b < 0 else a),
    ],
)
def test_binary_matches_reference(name: str, ref) -> None:  # type: ignore[no-untyped-def]
    x, y = _binary_data()
    out = kernel(name)(x, y)
    assert_same(out, cellwise(ref, x, y))
    check_fresh(out, x, y)


def _filtered(values: tuple[float, ...], fill: float) -> tuple[float, ...]:
    return tuple(fill if math.isnan(v) else v for v in values)


def test_variadic_accumulate_left_to_right_with_and_without_filter() -> None:
    xs = [readonly(elem_data(s)) for s in (4, 5, 6)]

    def r_sum(*v: float) -> float:
        return math.fsum(v) if all(map(math.isfinite, v)) else sum(v)

    def r_sub(*v: float) -> float:
        acc = v[0]
        for w in v[1:]:
            acc -= w
        return acc

    def r_prod(*v: float) -> float:
        return NAN if _nan(*v) else math.prod(v)

    assert_same(kernel("add")(*xs), cellwise(r_sum, *xs))
    assert_same(kernel("add")(*xs, filter=True), cellwise(lambda *v: r_sum(*_filtered(v, 0.0)), *xs))
    assert_same(kernel("subtract")(*xs), cellwise(r_sub, *xs))
    assert_same(kernel("subtract")(*xs, filter=True), cellwise(lambda *v: r_sub(*_filtered(v, 0.0)), *xs))
    assert_same(kernel("multiply")(*xs), cellwise(r_prod, *xs))
    assert_same(kernel("multiply")(*xs, filter=True), cellwise(lambda *v: r_prod(*_filtered(v, 1.0)), *xs))
    assert_same(kernel("max")(*xs), cellwise(lambda *v: NAN if _nan(*v) else max(v), *xs))
    assert_same(kernel("min")(*xs), cellwise(lambda *v: NAN if _nan(*v) else min(v), *xs))


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "max", "min"])
def test_variadic_needs_two_inputs(name: str) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        kernel(name)(elem_data())


# ---------------------------------------------------------------- brain.md worked examples


def row(*v: float) -> np.ndarray:
    return np.array([v], dtype=np.float64)


def lit(v: float, like: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.float64(v), like.shape)


def test_golden_add_subtract_multiply_filter() -> None:
    x, y = row(1, NAN, 3), row(4, 5, NAN)
    assert_same(kernel("add")(x, y), row(5, NAN, NAN))
    assert_same(kernel("add")(x, y, filter=True), row(5, 5, 3))
    five, nan = row(5.0), row(NAN)
    assert_same(kernel("multiply")(five, nan), row(NAN))
    assert_same(kernel("multiply")(five, nan, filter=True), row(5.0))
    assert_same(kernel("multiply")(row(2), row(3), row(4)), row(24))
    assert_same(kernel("subtract")(row(10), row(3), row(2)), row(5))
    assert_same(kernel("subtract")(nan, five, filter=True), row(-5))
    assert_same(kernel("add")(nan, nan, filter=True), row(0))
    assert_same(kernel("multiply")(nan, nan, filter=True), row(1))


def test_golden_signed_power_sign_sqrt_log() -> None:
    assert_same(kernel("signed_power")(row(3, -9, 0, NAN), row(2, 0.5, 2, 2)), row(9, -3, 0, NAN))
    assert_same(kernel("sign")(row(2, -3, 5, 6, 3, NAN, -10)), row(1, -1, 1, 1, 1, NAN, -1))
    assert_same(kernel("sqrt")(row(9, 0.25, 0, -4)), row(3, 0.5, 0, NAN))
    np.testing.assert_allclose(kernel("log")(row(10, 1, 0.5)), row(2.302585, 0, -0.693147), atol=1e-6)
    assert_same(kernel("log")(row(0, -1, INF)), row(-INF, NAN, INF))
    assert_same(kernel("divide")(row(1, -1, 0), row(0, 0, 0)), row(INF, -INF, NAN))
    assert_same(kernel("power")(row(NAN, 1, 0), row(0, NAN, -1)), row(NAN, NAN, INF))


def test_golden_rounding() -> None:
    assert_same(kernel("round_down")(row(2.5, 3.2, 5.4)), row(2, 3, 5))
    assert_same(kernel("round_down")(row(-2.5, 0.3, 0.7, 7), 0.1 * 0 + 0.1), row(-2.5, 0.3, 0.7, 7))
    assert_same(kernel("round_down")(row(-2.5, 1.26, NAN, INF), 0.5), row(-2.5, 1.0, NAN, INF))
    assert_same(kernel("round")(row(2.5, -2.5, 1.5, 0.49999999999999994, -0.4)), row(3, -3, 2, 0, -0.0))
    assert_same(kernel("fraction")(row(3.75, -3.75, INF, NAN)), row(0.75, -0.75, 0.0, NAN))
    with pytest.raises(ValueError, match="f must be > 0"):
        kernel("round_down")(row(1.0), 0.0)


def test_round_down_matches_reference() -> None:
    x = readonly(elem_data(7))
    for f in (1.0, 0.5, 0.1, 3.0):
        def ref(a: float, f: float = f) -> float:
            if not math.isfinite(a):
                return a
            q = a / f
            if abs(q - round(q)) <= 1e-9 * max(1.0, abs(round(q))):
                q = round(q)
            return math.floor(q) * f

        assert_same(kernel("round_down")(x, f), cellwise(ref, x))


def test_to_nan_nan_out_replace() -> None:
    x = row(0, 1, NAN, 2, -0.0)
    assert_same(kernel("to_nan")(x), row(NAN, 1, NAN, 2, NAN))
    assert_same(kernel("to_nan")(x, 2.0), row(0, 1, NAN, NAN, -0.0))
    assert_same(kernel("to_nan")(x, 7.0, True), row(0, 1, 7, 2, -0.0))
    assert_same(kernel("nan_out")(row(-2, -1, 0, 1, 2, NAN), -1.0, 1.0), row(NAN, -1, 0, 1, NAN, NAN))
    assert_same(kernel("nan_mask")(row(1, 2, 3, 4), row(-1, 0, NAN, 5)), row(NAN, 2, 3, 4))
    assert_same(kernel("replace")(row(0, 1, NAN, 2), "0 nan", "9"), row(9, 1, 9, 2))
    assert_same(kernel("replace")(row(1, 2, 3), "1,2", "2 5"), row(2, 5, 3))  # simultaneous, no chain
    with pytest.raises(ValueError, match="dest"):
        kernel("replace")(row(1.0), "1 2", "1 2 3")


def test_to_nan_matches_reference() -> None:
    x = readonly(elem_data(8))
    assert_same(kernel("to_nan")(x, 1.5), cellwise(lambda a: NAN if a == 1.5 else a, x))
    assert_same(kernel("to_nan")(x, 0.0, True), cellwise(lambda a: 0.0 if math.isnan(a) else a, x))
    assert_same(kernel("nan_out")(x, -0.5, 1.0), cellwise(lambda a: a if -0.5 <= a <= 1.0 else NAN, x))


def test_pasteurize_uses_universe_and_removes_inf() -> None:
    x = row(2, 3, 5, INF, 3, 8, 10)
    uni = np.array([[True] * 6 + [False]])
    assert_same(kernel("pasteurize")(x, ctx=EvalContext(shape=x.shape, universe=uni)), row(2, 3, 5, NAN, 3, 8, NAN))
    assert_same(kernel("pasteurize")(x, ctx=EvalContext(shape=x.shape)), row(2, 3, 5, NAN, 3, 8, 10))
    big = readonly(elem_data(9))
    u = np.random.default_rng(0).random(big.shape) < 0.7
    expect = np.where(u & ~np.isinf(big), big, np.nan)
    out = kernel("pasteurize")(big, ctx=EvalContext(shape=big.shape, universe=u))
    assert_same(out, expect)
    check_fresh(out, big)


def test_literal_broadcast_operands() -> None:
    x = readonly(elem_data(10))
    three = lit(3.0, x)
    assert_same(kernel("add")(x, three), x + 3.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert_same(kernel("divide")(three, x), 3.0 / x)
    assert_same(kernel("max")(three, x), cellwise(lambda a: NAN if math.isnan(a) else max(3.0, a), x))
    out = kernel("multiply")(three, lit(2.0, x))
    assert_same(out, np.full(x.shape, 6.0))
    check_fresh(out, three)
    # Fortran-ordered input still gives a C-contiguous output
    f = np.asfortranarray(x)
    assert kernel("abs")(f).flags.c_contiguous
    assert kernel("sqrt")(f).flags.c_contiguous

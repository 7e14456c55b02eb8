"""Comparisons and logical operators: 1.0/0.0 results, NaN propagation (P14), truthiness = non-zero."""

from __future__ import annotations

import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_elem_common import NAN, assert_same, cellwise, check_fresh, elem_data, kernel, readonly


def _nan(*v: float) -> bool:
    return any(math.isnan(a) for a in v)


COMPARISONS = {
    "less": operator.lt,
    "less_equal": operator.le,
    "greater": operator.gt,
    "greater_equal": operator.ge,
    "equal": operator.eq,
    "not_equal": operator.ne,
}


def _cmp_ref(op):  # type: ignore[no-untyped-def]
    return lambda a, b: NAN if _nan(a, b) else float(op(a, b))


def _pair() -> tuple[np.ndarray, np.ndarray]:
    x = elem_data(11)
    y = elem_data(12)
    y[::3] = x[::3]  # many equal cells (including equal infinities)
    y[:, 4] = x[:, 4]
    return readonly(x), readonly(y)


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_match_reference(name: str) -> None:
    x, y = _pair()
    out = kernel(name)(x, y)
    assert_same(out, cellwise(_cmp_ref(COMPARISONS[name]), x, y))
    check_fresh(out, x, y)


def r_and(a: float, b: float) -> float:
    return NAN if _nan(a, b) else float(a != 0 and b != 0)


def r_or(a: float, b: float) -> float:
    return NAN if _nan(a, b) else float(a != 0 or b != 0)


def _truthy_data(seed: int) -> np.ndarray:
    x = elem_data(seed)
    x[::2] = np.round(x[::2])  # plenty of exact zeros
    return readonly(x)


def test_logical_match_reference() -> None:
    a, b = _truthy_data(13), _truthy_data(14)
    assert_same(kernel("and")(a, b), cellwise(r_and, a, b))
    assert_same(kernel("or")(a, b), cellwise(r_or, a, b))
    assert_same(kernel("not")(a), cellwise(lambda v: NAN if math.isnan(v) else float(v == 0), a))
    assert_same(kernel("is_nan")(a), cellwise(lambda v: float(math.isnan(v)), a))
    c = _truthy_data(15)
    ref = cellwise(lambda cc, aa, bb: NAN if math.isnan(cc) else (aa if cc != 0 else bb), c, a, b)
    out = kernel("if_else")(c, a, b)
    assert_same(out, ref)
    check_fresh(out, a, b, c)


def test_golden_logic() -> None:
    r = lambda *v: np.array([v], dtype=np.float64)  # noqa: E731
    assert_same(kernel("and")(r(1, 2, 0, 0, NAN, 0), r(1, -0.5, 1, 0, 1, NAN)), r(1, 1, 0, 0, NAN, NAN))
    assert_same(kernel("or")(r(1, 0, 0, NAN, 1), r(0, 0, np.inf, 0, NAN)), r(1, 0, 1, NAN, NAN))
    assert_same(kernel("not")(r(0, 1, -3, NAN)), r(1, 0, 0, NAN))
    assert_same(kernel("is_nan")(r(NAN, np.inf, 0)), r(1, 0, 0))
    assert_same(kernel("equal")(r(NAN, np.inf, 1), r(NAN, np.inf, 1)), r(NAN, 1, 1))
    assert_same(kernel("if_else")(r(1, 0, NAN, 2), r(10, 10, 10, NAN), r(20, NAN, 20, 20)), r(10, NAN, NAN, NAN))
    # literal operands arrive broadcast
    x = readonly(elem_data(16))
    half = np.broadcast_to(0.5, x.shape)
    assert_same(kernel("greater")(x, half), cellwise(_cmp_ref(operator.gt), x, half))
    assert_same(kernel("if_else")(kernel("greater")(x, half), half, np.broadcast_to(-1.0, x.shape)),
                cellwise(lambda v: NAN if math.isnan(v) else (0.5 if v > 0.5 else -1.0), x))


_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0, 1.0, NAN]))


@settings(max_examples=60, deadline=None)
@given(
    a=arrays(np.float64, (3, 4), elements=_values),
    b=arrays(np.float64, (3, 4), elements=_values),
    name=st.sampled_from([*sorted(COMPARISONS), "and", "or"]),
)
def test_binary_logic_nan_iff_input_nan(a: np.ndarray, b: np.ndarray, name: str) -> None:
    out = kernel(name)(a, b)
    nan_in = np.isnan(a) | np.isnan(b)
    assert np.array_equal(np.isnan(out), nan_in)
    assert set(np.unique(out[~nan_in])) <= {0.0, 1.0}


@settings(max_examples=40, deadline=None)
@given(c=arrays(np.float64, (2, 5), elements=_values), a=arrays(np.float64, (2, 5), elements=_values))
def test_if_else_and_not_properties(c: np.ndarray, a: np.ndarray) -> None:
    b = -np.abs(a) - 1.0
    out = kernel("if_else")(c, a, b)
    assert np.array_equal(np.isnan(out), np.isnan(c) | (np.isnan(a) & (c != 0)) | (np.isnan(b) & (c == 0)))
    n = kernel("not")(c)
    assert np.array_equal(np.isnan(n), np.isnan(c))
    assert np.array_equal(kernel("not")(n)[~np.isnan(c)], (c != 0)[~np.isnan(c)].astype(float))

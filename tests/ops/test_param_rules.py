"""Parameter rules live in the declarations (bounds, choices, variadic counts, `validate`), and the
kernels that guard their constants raise the very same `ParamError`: one definition per rule."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from alphamine.ops import REGISTRY, ArgKind, BindError, Param, ParamError
from alphamine.ops.elementwise.masking import replace_kernel
from alphamine.ops.elementwise.transform import bucket_kernel, clamp_kernel
from alphamine.ops.elementwise.vector import vec_choose_kernel, vec_percentage_kernel
from alphamine.ops.registry import MAX_INT, MAX_LOOKBACK, check_param
from alphamine.ops.stateful.fill import kth_element_kernel, ts_backfill_kernel
from alphamine.ops.stateful.transform import filter_kernel
from alphamine.ops.ts.ops_basic import ts_moment, ts_returns
from alphamine.ops.ts.ops_stats import ts_entropy, ts_regression

X = np.arange(12.0).reshape(4, 3)
VEC = np.arange(24.0).reshape(4, 3, 2)


def test_param_violation_reads_bounds_caps_and_choices() -> None:
    p = Param("k", ArgKind.INT, 0, minimum=0, maximum=9)
    assert p.violation(0) is None and p.violation(9) is None
    assert p.violation(-1) == "at least 0" and p.violation(10) == "at most 9"
    assert Param("d", ArgKind.LOOKBACK).violation(MAX_LOOKBACK + 1) == f"at most {MAX_LOOKBACK}"
    assert Param("n", ArgKind.INT, 1).violation(MAX_INT + 1) == f"at most {MAX_INT}"
    assert Param("f", ArgKind.NUMBER, 1.0).violation(1e308) is None  # numbers are unbounded by default
    assert Param("f", ArgKind.NUMBER, math.nan).violation(math.nan) is None  # a NaN default (clamp's mask)
    s = Param("driver", ArgKind.STRING, "gaussian", choices=("gaussian", "uniform"))
    assert s.violation("UNIFORM") is None and s.violation("cauchy") == "one of gaussian, uniform"
    with pytest.raises(ParamError) as e:
        check_param("op", p, 10)
    assert e.value.param == "k" and str(e.value) == "op's k must be at most 9, got 10"


def test_every_integer_and_window_param_is_bounded() -> None:
    """Parameters that can size arrays or loops always have a finite upper bound."""
    for op in REGISTRY.values():
        for p in op.params:
            if p.kind in (ArgKind.LOOKBACK, ArgKind.INT):
                assert p.upper_bound is not None and p.upper_bound <= MAX_INT, (op.name, p.name)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "max", "min"])
def test_two_input_variadics_need_two_inputs(name: str) -> None:
    op = REGISTRY[name]
    with pytest.raises(BindError, match="at least 2 inputs"):
        op.bind(["x"], {})
    assert op.bind(["x", "y"], {})["x"] == ["x", "y"]
    with pytest.raises(ValueError, match="at least 2 inputs"):  # the kernel guard, same count
        op.kernel(X)


def test_one_input_variadics_stay_allowed() -> None:
    assert REGISTRY["ts_rank_gmean_amean_diff"].bind(["x"], {"d": 5}) == {"x": ["x"], "d": 5}
    assert REGISTRY["group_coalesce"].bind(["g1", "g2"], {}) == {"g1": "g1", "g2": ["g2"]}


def test_min_count_only_on_variadic_params() -> None:
    from alphamine.ops import Category, Operator

    with pytest.raises(ValueError, match="min_count"):
        Operator("bad", Category.ARITHMETIC, (Param("x", ArgKind.SERIES, min_count=2),), lambda x: x, "doc")


# (operator, constants that break its declared rules, the param blamed, a kernel call with them)
CASES: list[tuple[str, dict[str, Any], str | None, Any]] = [
    ("clamp", {"lower": 2.0, "upper": 1.0}, "upper", lambda: clamp_kernel(X, lower=2.0, upper=1.0)),
    ("bucket", {"range": "", "buckets": ""}, None, lambda: bucket_kernel(X)),
    ("bucket", {"range": "1,0,0.1", "buckets": ""}, "range", lambda: bucket_kernel(X, range_spec="1,0,0.1")),
    ("bucket", {"range": "0,1,1e-9", "buckets": ""}, "range", lambda: bucket_kernel(X, range_spec="0,1,1e-9")),
    ("bucket", {"range": "", "buckets": "5,2"}, "buckets", lambda: bucket_kernel(X, buckets="5,2")),
    ("bucket", {"range": "", "buckets": "a,b"}, "buckets", lambda: bucket_kernel(X, buckets="a,b")),
    ("replace", {"target": "", "dest": "1"}, "target", lambda: replace_kernel(X, target="", dest="1")),
    ("replace", {"target": "0 1", "dest": "1 2 3"}, "dest", lambda: replace_kernel(X, target="0 1", dest="1 2 3")),
    ("replace", {"target": "x", "dest": "1"}, "target", lambda: replace_kernel(X, target="x", dest="1")),
    ("filter", {"h": "", "t": "0"}, "h", lambda: filter_kernel(X, h="", t="0")),
    ("filter", {"h": "1", "t": "a"}, "t", lambda: filter_kernel(X, h="1", t="a")),
    ("vec_percentage", {"percentage": 1.5}, "percentage", lambda: vec_percentage_kernel(VEC, 1.5)),
    ("vec_percentage", {"percentage": -0.1}, "percentage", lambda: vec_percentage_kernel(VEC, -0.1)),
    ("vec_choose", {"nth": -1}, "nth", lambda: vec_choose_kernel(VEC, -1)),
    ("ts_entropy", {"d": 3, "buckets": 2**31}, "buckets", lambda: ts_entropy(X, 3, buckets=2**31)),
    ("ts_moment", {"d": 3, "k": 10**308}, "k", lambda: ts_moment(X, 3, k=10**308)),
    ("ts_returns", {"d": 1, "mode": 3}, "mode", lambda: ts_returns(X, 1, mode=3)),
    ("ts_regression", {"d": 2, "lag": 0, "rettype": 10}, "rettype", lambda: ts_regression(X, X, 2, rettype=10)),
    ("ts_regression", {"d": 2, "lag": -1, "rettype": 0}, "lag", lambda: ts_regression(X, X, 2, lag=-1)),
    ("round_down", {"f": 0.0}, "f", lambda: REGISTRY["round_down"].kernel(X, 0.0)),
]


@pytest.mark.parametrize(("name", "consts", "param", "kernel_call"), CASES)
def test_declaration_and_kernel_share_each_rule(name: str, consts: dict[str, Any], param: str | None,
                                                kernel_call: Any) -> None:
    op = REGISTRY[name]
    with pytest.raises(ParamError) as declared:
        op.check_constants({**{p.name: p.default for p in op.params if p.kind.is_constant}, **consts})
    assert declared.value.param == param
    with pytest.raises(ParamError) as kernel:
        kernel_call()
    assert str(kernel.value) == str(declared.value)


def test_window_bound_counts_for_k() -> None:
    for name, window in (("kth_element", "d"), ("ts_backfill", "lookback")):
        op = REGISTRY[name]
        base = {p.name: p.default for p in op.params if p.kind.is_constant}
        op.check_constants({**base, window: 10, "k": 10})
        with pytest.raises(ParamError, match=f"between 1 and the window {window}=10") as e:
            op.check_constants({**base, window: 10, "k": 11})
        assert e.value.param == "k"


def test_kernels_size_their_ring_by_the_window_not_k() -> None:
    """k beyond the window can only give NaN; the kernels (called directly) answer that without a
    k-sized buffer, and exactly as a window-sized k does."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 5))
    x[rng.random(x.shape) < 0.3] = np.nan
    for k in (7, 2**40):
        np.testing.assert_array_equal(kth_element_kernel(x, 5, k), np.full(x.shape, np.nan))
        np.testing.assert_array_equal(ts_backfill_kernel(x, 5, k), ts_backfill_kernel(x, 5, 6))
    assert not np.isnan(kth_element_kernel(x, 5, 1)[10:]).all()


def test_valid_constants_pass_every_declaration() -> None:
    for op in REGISTRY.values():
        defaults = {p.name: p.default for p in op.params if p.kind.is_constant and not p.required}
        ints = (ArgKind.LOOKBACK, ArgKind.INT)
        required: dict[str, Any] = {p.name: 5 for p in op.params if p.kind in ints and p.required}
        required.update({p.name: 1.0 for p in op.params if p.kind is ArgKind.NUMBER and p.required})
        if op.name == "bucket":
            defaults["range"] = "0,1,0.1"
        if op.name == "replace":
            defaults.update(target="0", dest="1")
        op.check_constants({**defaults, **required})

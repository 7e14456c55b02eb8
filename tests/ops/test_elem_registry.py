"""Registry declarations of the element-wise operators and the kernel calling contract for all of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_elem_common import elem_data, readonly

from alphamine.data.fields import FieldType
from alphamine.ops import REGISTRY, SYMBOLS, ArgKind, Category, EvalContext, Operator, get
from conftest import make_groups

EXPECTED: dict[Category, set[str]] = {
    Category.ARITHMETIC: {
        "add", "subtract", "multiply", "divide", "power", "reverse", "inverse", "signed_power", "sqrt", "log",
        "exp", "abs", "sign", "max", "min", "to_nan", "densify", "pasteurize", "s_log_1p", "tanh", "sigmoid",
        "arc_tan", "arc_sin", "arc_cos", "floor", "ceiling", "round", "round_down", "fraction", "nan_mask",
        "purify", "replace", "nan_out",
    },
    Category.LOGICAL: {
        "and", "or", "not", "is_nan", "if_else", "less", "less_equal", "greater", "greater_equal", "equal",
        "not_equal",
    },
    Category.VECTOR: {
        "vec_avg", "vec_sum", "vec_count", "vec_max", "vec_min", "vec_range", "vec_stddev", "vec_ir",
        "vec_kurtosis", "vec_skewness", "vec_norm", "vec_percentage", "vec_powersum", "vec_choose",
    },
    Category.TRANSFORMATIONAL: {"bucket", "tail", "left_tail", "right_tail", "clamp"},
}
MINE = sorted(set().union(*EXPECTED.values()))

SYMBOL_OF = {
    "+": "add", "-": "subtract", "*": "multiply", "/": "divide", "^": "power", "neg": "reverse",
    "&&": "and", "||": "or", "!": "not", "?:": "if_else", "<": "less", "<=": "less_equal", ">": "greater",
    ">=": "greater_equal", "==": "equal", "!=": "not_equal",
}


def test_categories_and_symbols() -> None:
    for cat, names in EXPECTED.items():
        for name in names:
            assert get(name).category == cat, name
    for sym, name in SYMBOL_OF.items():
        assert SYMBOLS[sym] == name
        assert get(name).symbol == sym
    assert get("densify").output == FieldType.GROUP and get("bucket").output == FieldType.GROUP
    assert get("pasteurize").needs_context
    assert {get(n).unit_rule for n in ("add", "subtract", "max", "min")} == {"same"}
    assert {get(n).unit_rule for n in ("multiply", "divide", "power", "inverse", "if_else")} == {"combine"}
    assert get("reverse").unit_rule == "first" and get("abs").unit_rule == "first"
    assert {get(n).unit_rule for n in ("sign", "log", "tanh", "less", "equal", "and")} == {"dimensionless"}
    for name in ("add", "subtract", "multiply", "max", "min"):
        assert get(name).variadic_index == 0
    assert get("add").signature == "add(x..., filter=false)"
    assert get("bucket").signature == (
        'bucket(x, range="", buckets="", skipBegin=false, skipEnd=false, skipBoth=false, NANGroup=false)'
    )


@pytest.mark.parametrize("name", MINE)
def test_declared_with_docs_and_pure_time(name: str) -> None:
    op = REGISTRY[name]
    assert len(op.doc) > 20, name
    assert not op.time_series and op.lookback({p.name: p.default for p in op.params}) == 0
    for p in op.params:
        assert p.kind in (ArgKind.SERIES, ArgKind.GROUP, ArgKind.VECTOR) or not p.required, (name, p.name)


# ------------------------------------------------------------ the calling contract, for every operator

CONSTANTS: dict[tuple[str, str], Any] = {
    ("bucket", "range"): "-1,1,0.5",
    ("replace", "target"): "0 nan",
    ("replace", "dest"): "1",
    ("clamp", "lower"): -0.5,
    ("clamp", "upper"): 0.5,
    ("nan_out", "upper"): 1.0,
    ("tail", "upper"): 0.5,
}


def _value(op: Operator, kind: ArgKind, name: str, default: Any, broadcast: bool, k: int) -> Any:
    if kind == ArgKind.SERIES:
        if broadcast and k > 0:
            return np.broadcast_to(np.float64(0.5 * k), (24, 12))
        return readonly(elem_data(30 + k))
    if kind == ArgKind.GROUP:
        return readonly(make_groups(1, T=24, N=12))
    if kind == ArgKind.VECTOR:
        v = np.round(np.random.default_rng(k).standard_normal((24, 12, 4)), 1)
        v[:, :, 2:][np.random.default_rng(k + 1).random((24, 12, 2)) < 0.5] = np.nan
        return readonly(v)
    return CONSTANTS.get((op.name, name), default)


def _args(op: Operator, broadcast: bool) -> tuple[list[Any], dict[str, Any]]:
    """Arguments the way the evaluator passes them: positional up to the variadic param, then keywords."""
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    vi = op.variadic_index
    k = 0
    for i, p in enumerate(op.params):
        if p.variadic:
            for _ in range(3):
                positional.append(_value(op, p.kind, p.name, p.default, broadcast, k))
                k += 1
        elif vi is not None and i > vi:
            keywords[p.name] = _value(op, p.kind, p.name, p.default, broadcast, k)
        else:
            positional.append(_value(op, p.kind, p.name, p.default, broadcast, k))
            k += p.kind in (ArgKind.SERIES, ArgKind.GROUP, ArgKind.VECTOR)
    if op.needs_context:
        keywords["ctx"] = EvalContext(shape=(24, 12), universe=np.arange(24 * 12).reshape(24, 12) % 3 > 0)
    return positional, keywords


@pytest.mark.parametrize("broadcast", [False, True])
@pytest.mark.parametrize("name", MINE)
def test_kernel_contract(name: str, broadcast: bool, recwarn: pytest.WarningsRecorder) -> None:
    op = REGISTRY[name]
    positional, keywords = _args(op, broadcast)
    arrays = [a for a in [*positional, *keywords.values()] if isinstance(a, np.ndarray)]
    before = [a.copy() for a in arrays]
    out = op.kernel(*positional, **keywords)
    out2 = op.kernel(*positional, **keywords)  # deterministic
    assert out.shape == (24, 12)
    assert out.dtype == (np.int32 if op.output == FieldType.GROUP else np.float64)
    assert out.flags.c_contiguous and out.flags.writeable
    for a, b in zip(arrays, before, strict=True):
        assert not np.shares_memory(out, a)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(out, out2)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], name

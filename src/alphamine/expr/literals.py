"""The Python value of a constant argument, typed by the parameter it binds to.

Why here: the evaluator hands kernels plain Python scalars (the registry's calling contract: LOOKBACK /
INT as int, NUMBER as float, BOOL as bool, STRING as str) read straight from the syntax tree, so the
reading of a literal belongs to the expression layer. Ranges are not checked here: that is
`Operator.check_constants`, the rule the checker reports too.
"""

from __future__ import annotations

from typing import Any

from alphamine.expr import ast as A
from alphamine.opspec import ArgKind, Operator, Param


def literal_value(op: Operator, p: Param, node: A.Node) -> Any:
    """The value of a literal argument (a number, `-number`, bool or string) as the kind of `p` wants
    it; ValueError naming the operator and parameter when the node is not such a literal or does not
    fit the kind (a string for a number, 2.5 for an integer, a lookback below 1)."""
    value: Any
    if isinstance(node, A.Unary) and node.op == "-" and isinstance(node.operand, A.Number):
        value = -float(node.operand.value)
    elif isinstance(node, A.Number | A.Bool | A.String):
        value = node.value
    else:
        raise ValueError(f"{op.name}: parameter {p.name!r} must be a constant, not an expression")
    kind = p.kind
    if kind == ArgKind.STRING:
        if not isinstance(value, str):
            raise ValueError(f"{op.name}: parameter {p.name!r} must be a string")
        return value
    if isinstance(value, str):
        raise ValueError(f"{op.name}: parameter {p.name!r} must be a number, got a string")
    if kind == ArgKind.BOOL:
        return bool(value)
    if kind in (ArgKind.LOOKBACK, ArgKind.INT):
        f = float(value)
        if not f.is_integer():  # also ±inf
            raise ValueError(f"{op.name}: parameter {p.name!r} must be an integer, got {f:g}")
        i = int(f)
        if kind == ArgKind.LOOKBACK and i < 1:
            raise ValueError(f"{op.name}: lookback {p.name!r} must be a positive integer, got {i}")
        return i
    return float(value)

"""Value types of expressions, and stand-in declarations for infix operators.

Why: the checker reasons about what a sub-expression *is* (a (T, N) matrix, integer group codes, a
vector field, or a constant) independently of its value. The stand-ins let infix syntax be checked
while the global registry is still being filled (they are used only when the registry lacks the
operator an infix symbol maps to).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from alphamine.data.fields import FieldType, Unit
from alphamine.opspec import ArgKind, Category, Operator, Param

if TYPE_CHECKING:
    import numpy as np


class ValueType(str, Enum):
    """What an expression evaluates to."""

    MATRIX = "MATRIX"  # (T, N) float64
    GROUP = "GROUP"  # (T, N) int32 group codes
    VECTOR = "VECTOR"  # (T, N, K) float64, an unreduced vector field
    CONSTANT = "CONSTANT"  # a literal: number, bool or string

    @classmethod
    def of_field(cls, t: FieldType) -> ValueType:
        if t is FieldType.GROUP:
            return cls.GROUP
        if t is FieldType.VECTOR:
            return cls.VECTOR
        return cls.MATRIX  # MATRIX (the checker rejects UNIVERSE names before asking)


@dataclass(frozen=True)
class Info:
    """What the checker knows about a sub-expression.

    const: the value of a CONSTANT (float, bool or str). unit: the physical unit, None = unitless or
    unknown (never warns). lookback: cumulative lookback in days. is_field: a bare field (a GROUP or
    VECTOR field rather than an operator's output). bad: an error was reported inside, so callers
    skip follow-up complaints about the same place.
    """

    type: ValueType
    const: Any = None
    unit: Unit | None = None
    lookback: int = 0
    is_field: bool = False
    bad: bool = False
    name: str | None = None  # the field or variable name, for messages


UNKNOWN = Info(ValueType.MATRIX, bad=True)


def _no_kernel(*args: Any, **kwargs: Any) -> np.ndarray:  # pragma: no cover - never evaluated
    raise NotImplementedError("stand-in declaration used by the checker only")


def _op(name: str, params: tuple[str, ...], unit_rule: Any, category: Category = Category.ARITHMETIC,
        symbol: str | None = None) -> Operator:
    return Operator(name=name, category=category,
                    params=tuple(Param(p, ArgKind.SERIES) for p in params),
                    kernel=_no_kernel, doc="checker stand-in", unit_rule=unit_rule, symbol=symbol)


FALLBACK_OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        _op("add", ("x", "y"), "same", symbol="+"),
        _op("subtract", ("x", "y"), "same", symbol="-"),
        _op("multiply", ("x", "y"), "combine", symbol="*"),
        _op("divide", ("x", "y"), "combine", symbol="/"),
        _op("power", ("x", "y"), "combine", symbol="^"),
        _op("less", ("x", "y"), "dimensionless", Category.LOGICAL, "<"),
        _op("less_equal", ("x", "y"), "dimensionless", Category.LOGICAL, "<="),
        _op("greater", ("x", "y"), "dimensionless", Category.LOGICAL, ">"),
        _op("greater_equal", ("x", "y"), "dimensionless", Category.LOGICAL, ">="),
        _op("equal", ("x", "y"), "dimensionless", Category.LOGICAL, "=="),
        _op("not_equal", ("x", "y"), "dimensionless", Category.LOGICAL, "!="),
        _op("and", ("x", "y"), "dimensionless", Category.LOGICAL, "&&"),
        _op("or", ("x", "y"), "dimensionless", Category.LOGICAL, "||"),
        _op("not", ("x",), "dimensionless", Category.LOGICAL, "!"),
        _op("reverse", ("x",), "first", symbol="neg"),
        _op("if_else", ("cond", "then", "otherwise"), "same", Category.LOGICAL, "?:"),
    )
}

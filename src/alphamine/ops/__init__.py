"""FASTEXPR operators: declarations (signature, types, docs) and vectorized kernels.

Importing this package registers every operator in `REGISTRY`.
"""

from alphamine.ops.registry import (
    REGISTRY,
    REQUIRED,
    SYMBOLS,
    ArgKind,
    BindError,
    Category,
    EvalContext,
    Operator,
    Param,
    ParamError,
    all_operators,
    get,
    register,
)

__all__ = [
    "REGISTRY",
    "REQUIRED",
    "SYMBOLS",
    "ArgKind",
    "BindError",
    "Category",
    "EvalContext",
    "Operator",
    "Param",
    "ParamError",
    "all_operators",
    "get",
    "register",
]

# Operator families register themselves on import (declarations live beside their kernels).
from alphamine.ops import cross, elementwise, stateful, ts  # noqa: F401

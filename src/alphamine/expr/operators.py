"""How the expression layer sees the operator registry.

Why a seam: `alphamine.expr` sits below `alphamine.ops` in the layer table, and other engineers fill
the registry while this package is used, so every public function takes an optional
`operators: Mapping[str, Operator]` (tests pass a small local mapping) and only the default reaches
for the global `REGISTRY`, importing the operator modules lazily and tolerating a broken one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from alphamine.expr.walk import DEFAULT_SYMBOLS
from alphamine.ops.registry import REGISTRY, Operator

Operators = Mapping[str, Operator]


def default_operators() -> Operators:
    """The global registry, with the operator modules imported (registration happens on import).

    An import failure in an operator module (work in progress elsewhere) leaves whatever did
    register; the checker then reports UNKNOWN_OPERATOR rather than crashing.
    """
    with contextlib.suppress(Exception):
        import alphamine.ops  # noqa: F401
    return REGISTRY


def symbol_table(operators: Operators) -> dict[str, str]:
    """Infix symbol -> operator name: the declared `symbol`s, falling back to the standard names."""
    table = dict(DEFAULT_SYMBOLS)
    for name, op in operators.items():
        if op.symbol is not None:
            table[op.symbol] = name
    return table


def infix_of(operators: Operators) -> dict[str, str]:
    """Operator name -> its infix symbol, for operators that declare one."""
    return {name: op.symbol for name, op in operators.items() if op.symbol is not None}

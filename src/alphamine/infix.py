"""FASTEXPR's infix spellings and the registered operators they apply: the one definition.

Why a root module: the operator registry (`alphamine.ops`) checks every declared `symbol` against
this table, and the expression layer (`alphamine.expr.walk`) reads it without importing any kernel.
"neg" is unary minus, "?:" the ternary.
"""

from __future__ import annotations

INFIX_OPERATORS: dict[str, str] = {
    "+": "add",
    "-": "subtract",
    "*": "multiply",
    "/": "divide",
    "^": "power",
    "<": "less",
    "<=": "less_equal",
    ">": "greater",
    ">=": "greater_equal",
    "==": "equal",
    "!=": "not_equal",
    "&&": "and",
    "||": "or",
    "!": "not",
    "neg": "reverse",
    "?:": "if_else",
}

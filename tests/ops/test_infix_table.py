"""The infix table is defined once (`alphamine.infix`) and the registry declares exactly those symbols."""

from __future__ import annotations

import pytest

import alphamine.ops  # noqa: F401  (registers every operator)
from alphamine.expr.walk import DEFAULT_SYMBOLS
from alphamine.infix import INFIX_OPERATORS
from alphamine.ops.registry import SYMBOLS, Category, Operator, register


def test_registry_symbols_are_the_infix_table() -> None:
    assert SYMBOLS == INFIX_OPERATORS and DEFAULT_SYMBOLS is INFIX_OPERATORS


def test_a_symbol_outside_the_table_is_refused() -> None:
    with pytest.raises(ValueError, match=r"alphamine\.infix maps"):
        register(Operator("plus_two", Category.ARITHMETIC, (), lambda: None, doc="test", symbol="++"))

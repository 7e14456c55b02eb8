"""Registry-wide guarantees: size, documentation, declarations and the generated reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphamine.ops import REGISTRY, SYMBOLS, ArgKind, Category, all_operators
from alphamine.ops.reference import render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_at_least_90_operators_across_all_categories() -> None:
    ops = all_operators()
    assert len(ops) >= 90
    assert {o.category for o in ops} == set(Category)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_operator_is_documented_and_well_formed(name: str) -> None:
    op = REGISTRY[name]
    assert op.doc.strip(), f"{name} has no docstring"
    assert callable(op.kernel)
    series_like = {ArgKind.SERIES, ArgKind.GROUP, ArgKind.VECTOR}
    if op.name != "ts_step":
        assert any(p.kind in series_like for p in op.params), f"{name} takes no data input"
    for p in op.params:
        if p.kind == ArgKind.LOOKBACK:
            assert op.time_series or op.category == Category.TIME_SERIES, f"{name}: window on a non-ts operator"


def test_infix_symbols_map_to_operators() -> None:
    for sym in ("+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=", "&&", "||", "!", "neg", "?:"):
        assert sym in SYMBOLS, f"no operator for {sym!r}"
        assert SYMBOLS[sym] in REGISTRY


def test_docs_operators_md_is_current() -> None:
    path = ROOT / "docs" / "operators.md"
    assert path.read_text(encoding="utf-8") == render_markdown(), (
        "docs/operators.md is stale: run `alphamine ops docs --out docs/operators.md`"
    )

"""The expression layer against the real operator registry (skipped where an operator is missing)."""

from __future__ import annotations

import pytest
from expr_fixtures import CATALOGUE

from alphamine.expr import canonical, check, structural_hash
from alphamine.expr.operators import default_operators

REGISTRY = default_operators()


def needs(*names: str) -> pytest.MarkDecorator:
    missing = [n for n in names if n not in REGISTRY]
    return pytest.mark.skipif(bool(missing), reason=f"not registered yet: {', '.join(missing)}")


@needs("group_neutralize", "rank", "ts_delta", "reverse", "ts_mean", "subtract", "ts_rank", "bucket")
@pytest.mark.parametrize(
    "source",
    [
        "group_neutralize(rank(-ts_delta(close, 5)), industry)",
        "a = ts_mean(close, 20); rank(a - close)",
        "ts_rank(close, 20, constant=0)",
        'group_neutralize(close, bucket(rank(cap), range="0,1,0.1"))',
    ],
)
def test_brain_examples_are_clean(source: str) -> None:
    assert [d for d in check(source, CATALOGUE, n_days=252) if d.is_error] == []


@needs("ts_delay")
def test_lookahead_with_real_registry() -> None:
    assert "LOOKAHEAD" in [d.code for d in check("ts_delay(close, -1)", CATALOGUE)]


@needs("ts_rank", "ts_mean")
def test_cumulative_lookback_with_real_registry() -> None:
    codes = [d.code for d in check("ts_rank(ts_mean(close, 20), 20)", CATALOGUE, n_days=30)]
    assert codes == ["LOOKBACK_TOO_LONG"]


@needs("add", "vec_avg", "rank")
def test_vector_and_units_with_real_registry() -> None:
    assert "VECTOR_UNREDUCED" in [d.code for d in check("rank(news_vec)", CATALOGUE)]
    assert [d.code for d in check("rank(vec_avg(news_vec))", CATALOGUE)] == []
    assert [d.code for d in check("close + volume", CATALOGUE)] == ["UNITS"]


@needs("add", "ts_rank")
def test_canonical_with_real_registry() -> None:
    assert canonical("add(open, close)") == "close + open"
    assert canonical("ts_rank(x, 20, constant=0)") == "ts_rank(x, 20)"
    assert structural_hash("b = open; add(b, close)") == structural_hash("close + open")


def test_real_symbols_match_the_parser() -> None:
    """Every infix spelling the registry declares is one the grammar parses."""
    from alphamine.expr.ast import BINARY_OPS, UNARY_OPS

    for name, op in REGISTRY.items():
        if op.symbol is not None:
            assert op.symbol in (*BINARY_OPS, *UNARY_OPS, "neg", "?:"), name

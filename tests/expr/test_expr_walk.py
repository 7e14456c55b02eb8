"""Traversals, rewrites and `inline`."""

from __future__ import annotations

import pytest
from expr_fixtures import CATALOGUE, OPS

from alphamine.expr import (
    Binary,
    Call,
    Keyword,
    Name,
    Number,
    Program,
    canonical,
    children,
    depth,
    fields_used,
    inline,
    lookbacks,
    map_nodes,
    operator_count,
    operators_used,
    parse,
    parse_expression,
    replace,
    walk,
    walk_paths,
)
from alphamine.expr.walk import get, with_children

E = parse_expression


def test_children_and_walk_order() -> None:
    tree = E("rank(a + b, rate=1)")
    assert isinstance(tree, Call)
    assert children(tree) == (Binary("+", Name("a"), Name("b")), Keyword("rate", Number(1.0)))
    kinds = [type(n).__name__ for n in walk(tree)]
    assert kinds == ["Call", "Binary", "Name", "Name", "Keyword", "Number"]
    paths = [p for p, _ in walk_paths(tree)]
    assert paths == [(), (0,), (0, 0), (0, 1), (1,), (1, 0)]
    assert get(tree, (1, 0)) == Number(1.0)
    program = parse("a = close; rank(a)")
    assert [type(n).__name__ for n in walk(program)] == ["Program", "Assign", "Name", "Call", "Name"]


def test_replace_by_path() -> None:
    tree = E("ts_mean(close, 20) - close")
    new = replace(tree, (0, 1), Number(60.0))
    assert canonical(new, OPS) == "ts_mean(close, 60) - close"
    assert canonical(tree, OPS) == "ts_mean(close, 20) - close"  # the original is untouched
    assert replace(tree, (), Name("x")) == Name("x")
    with pytest.raises(IndexError):
        replace(tree, (5,), Name("x"))
    # unchanged sub-trees are shared, not copied
    assert new.right is tree.right  # type: ignore[attr-defined]


def test_replace_by_predicate_and_function() -> None:
    tree = E("rank(close) + ts_mean(close, 5)")
    swapped = replace(tree, lambda n: n == Name("close"), Name("vwap"))
    assert canonical(swapped, OPS) == "rank(vwap) + ts_mean(vwap, 5)"
    wrapped = replace(tree, lambda n: isinstance(n, Call) and n.func == "rank",
                      lambda n: Call("zscore", (n,)))
    assert canonical(wrapped, OPS) == "ts_mean(close, 5) + zscore(rank(close))"


def test_with_children_validates() -> None:
    tree = E("a + b")
    with pytest.raises(ValueError):
        with_children(tree, [Name("a")])
    with pytest.raises(TypeError):
        with_children(E("f(a, k=1)"), [Name("a"), Name("b")])


def test_map_nodes_bottom_up() -> None:
    tree = E("ts_mean(close, 20) + ts_delay(close, 5)")

    def double_windows(n):  # type: ignore[no-untyped-def]
        if isinstance(n, Number):
            return Number(n.value * 2)
        return n

    assert canonical(map_nodes(tree, double_windows), OPS) == "ts_delay(close, 10) + ts_mean(close, 40)"
    seen: list[str] = []
    map_nodes(E("f(g(x), y)"), lambda n: seen.append(type(n).__name__) or n)  # type: ignore[func-returns-value]
    assert len(seen) == 4 and seen[-1] == "Call"  # the root comes last
    deep = E("-" * 2000 + "x")
    assert depth(map_nodes(deep, lambda n: n)) == 2001  # iterative: no recursion limit


def test_analyses() -> None:
    program = parse("a = ts_mean(close, 20); b = rank(a - volume); group_neutralize(b * -a, sector)")
    assert fields_used(program, CATALOGUE) == ["close", "volume", "sector"]
    assert fields_used(E("x + close")) == ["x", "close"]
    assert operators_used(program) == ["group_neutralize", "multiply", "rank", "subtract", "ts_mean", "reverse"]
    assert operator_count(E("rank(-x + +y)")) == 3  # rank, +, unary minus; unary plus is not counted
    assert depth(E("x")) == 1
    assert depth(E("rank(ts_mean(x, 5), rate=0)")) == 3


def test_lookbacks() -> None:
    tree = E("ts_rank(ts_mean(close, 20), d=10) + ts_delay(open, 5) + rank(x, 2)")
    uses = lookbacks(tree, OPS)
    assert [(u.operator, u.param, u.value) for u in uses] == [
        ("ts_rank", "d", 10.0), ("ts_mean", "d", 20.0), ("ts_delay", "d", 5.0)]
    for u in uses:
        assert get(tree, u.path) == Number(u.value)  # paths point at the constant
    assert lookbacks(E("unknown(x, 5) + ts_mean(x)"), OPS) == []  # unknown / unbound calls skipped


def test_inline() -> None:
    program = parse("a = ts_mean(close, 20); b = a - close; rank(b)")
    assert inline(program) == E("rank(ts_mean(close, 20) - close)")
    assert inline(parse("a = close; a = a + 1; a * a")) == E("(close + 1) * (close + 1)")
    assert inline(parse("close = rank(close); close")) == E("rank(close)")
    assert inline(E("x")) == Name("x")
    assert inline(Program((), Name("y"))) == Name("y")

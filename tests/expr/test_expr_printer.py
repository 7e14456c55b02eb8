"""Exact printer, normalizer, canonical form and structural hash."""

from __future__ import annotations

import math

import pytest
from expr_fixtures import OPS

from alphamine.expr import (
    Binary,
    Call,
    Name,
    Number,
    String,
    Ternary,
    Unary,
    canonical,
    normalize,
    parse,
    parse_expression,
    structural_hash,
    to_source,
)
from alphamine.expr.printer import format_number

a, b, c, x = (Name(n) for n in "abcx")


@pytest.mark.parametrize(
    ("value", "text"),
    [(20.0, "20"), (-3.0, "-3"), (0.5, "0.5"), (1e-05, "1e-05"), (1e20, "1e+20"), (123456.0, "123456"),
     (0.1, "0.1"), (-0.0, "-0"), (math.inf, "1e999"), (-math.inf, "-1e999")],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text
    assert parse_expression(text) == Number(value)


def test_format_number_rejects_nan() -> None:
    with pytest.raises(ValueError):
        format_number(math.nan)


@pytest.mark.parametrize(
    "source",
    [
        "a + b * c", "(a + b) * c", "a - (b - c)", "a - b - c", "a ^ b ^ c", "(a ^ b) ^ c", "-x ^ 2",
        "(-x) ^ 2", "(-2) ^ 2", "-(5)", "-5", "--5", "- -x", "!a && b", "!(a && b)", "a ? b : c ? d : e",
        "(a ? b : c) ? d : e", "a ? (b ? c : d) : e", "a || b && c", "(a || b) && c", "a == (b == c)",
        "a < b == c", "(a < b) < c", "f(x, 20, k=1)", 'f(s="q\\"uote\\\\")', "a * -b", "a / (b * c)",
        "a = ts_mean(close, 20); rank(a - close)", "f(k=a ? b : c)", "2 ^ -1", "a ^ (b + c)",
    ],
)
def test_to_source_round_trips(source: str) -> None:
    tree = parse(source)
    printed = to_source(tree)
    assert parse(printed) == tree
    assert to_source(parse(printed)) == printed


def test_minimal_parentheses_and_spacing() -> None:
    assert to_source(parse("(a)+((b)*(c))")) == "a + b * c"
    assert to_source(parse("((a+b))*c")) == "(a + b) * c"
    assert to_source(parse("-(x^2)")) == "-x ^ 2"
    assert to_source(parse("f( x ,20,k = 1 )")) == "f(x, 20, k=1)"
    assert to_source(parse("a=1;b=a;b;")) == "a = 1; b = a; b"
    assert to_source(Binary("-", a, Binary("+", b, c))) == "a - (b + c)"
    assert to_source(Binary("^", Number(-2.0), Number(2.0))) == "(-2) ^ 2"
    assert to_source(Unary("-", Number(5.0))) == "-(5)"
    assert to_source(Ternary(Ternary(a, b, c), x, x)) == "(a ? b : c) ? x : x"
    assert to_source(String('a"b\n')) == '"a\\"b\\n"'


# ------------------------------------------------------------------------------------------ normalize
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ts_rank(x, 20, 0)", "ts_rank(x, 20)"),  # default given positionally: dropped
        ("ts_rank(x, 20, constant=0)", "ts_rank(x, 20)"),  # default by keyword: dropped
        ("ts_rank(x, 20, 1)", "ts_rank(x, 20, constant=1)"),  # optional -> keyword
        ("ts_rank(d=20, x=x)", "ts_rank(x, 20)"),  # required -> positional, declaration order
        ("ts_regression(y, x, 20, rettype=2, lag=1)", "ts_regression(y, x, 20, lag=1, rettype=2)"),
        ("quantile(x, driver=gaussian)", "quantile(x)"),  # bare word = string, equal to the default
        ("quantile(x, driver=uniform)", 'quantile(x, driver="uniform")'),
        ("quantile(x, driver=\"GAUSSIAN\")", "quantile(x)"),  # choices are case-insensitive
        ("rank(x, rate=2)", "rank(x)"),
        ("b + a", "a + b"),
        ("b * a", "a * b"),
        ("b == a", "a == b"),
        ("b && a", "a && b"),
        ("b - a", "b - a"),  # not commutative
        ("c + b + a", "a + (b + c)"),  # only pairs are ordered: (c + b) + a -> a + (b + c)
        ("add(b, a)", "a + b"),  # infix spelling
        ("add(c, b, a)", "add(c, b, a)"),  # three operands: order kept (rounding)
        ("add(b, a, filter=true)", "add(b, a, filter=true)"),
        ("add(b, a, filter=false)", "a + b"),
        ("subtract(a, b)", "a - b"),
        ("reverse(x)", "-x"),
        ("reverse(3)", "-3"),
        ("not(x)", "!x"),
        ("if_else(a, b, c)", "a ? b : c"),
        ("max(c, a, b)", "max(a, b, c)"),  # exact operation: all operands ordered
        ("+x", "x"),
        ("-(5)", "-5"),
        ("unknown_op(b, k=1, a)", None),  # does not parse (positional after keyword)
        ("unknown_op(k=1, b)", None),
        ("unknown_op(z, y, k=2, j=1)", "unknown_op(z, y, k=2, j=1)"),  # unknown: kept as written
        ("rank(x, 1, 2)", "rank(x, 1, 2)"),  # does not bind: kept
        ("a = b + a; rank(a)", "a = a + b; rank(a)"),
    ],
)
def test_canonical(source: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(Exception):  # noqa: B017 - ParseError
            canonical(source, OPS)
        return
    assert canonical(source, OPS) == expected
    assert canonical(expected, OPS) == expected  # idempotent


def test_normalize_is_a_tree_rewrite() -> None:
    tree = parse_expression("add(b, a)")
    assert normalize(tree, OPS) == Binary("+", a, b)
    assert normalize(Call("rank", (x,)), {}) == Call("rank", (x,))  # no operators: calls kept


def test_canonical_spacing_insensitive() -> None:
    assert canonical("rank( ts_mean (close,20)-close )", OPS) == canonical("rank(ts_mean(close, 20) - close)", OPS)
    assert canonical("((a)) + (b)", OPS) == "a + b"


def test_structural_hash() -> None:
    h1 = structural_hash("a = ts_mean(close, 20); rank(a - close)", OPS)
    h2 = structural_hash("rank(ts_mean(close,20) - close)", OPS)
    h3 = structural_hash("rank(close - ts_mean(close, 20))", OPS)
    assert h1 == h2
    assert h1 != h3
    assert len(h1) == 32 and int(h1, 16) >= 0
    assert structural_hash("ts_rank(x, 20, 0) + 1", OPS) == structural_hash("1 + ts_rank(x, 20)", OPS)
    assert structural_hash(parse("b + a"), OPS) == structural_hash(parse("a + b"), OPS)


def test_text_memos_give_the_tree_answers_and_are_cleared_with_the_parse_cache() -> None:
    from alphamine.expr.parser import clear_parse_cache, parse
    from alphamine.expr.printer import _canonical_text, _structural_hash_text

    texts = ["rank(-ts_delta(close, 5))", "a = rank(close); b = a + 1; b * 2", "-(close - open) / open",
             "group_neutralize(rank(volume), industry)", "ts_mean(returns, 5) + ts_mean(returns,5)"]  # fmt: skip
    clear_parse_cache()
    for text in texts:
        tree = parse(text)
        assert canonical(text) == canonical(tree) and structural_hash(text) == structural_hash(tree)
        assert canonical(text) == canonical(text)  # the memo's second answer
    assert _canonical_text.cache_info().currsize == len(texts) == _structural_hash_text.cache_info().currsize
    clear_parse_cache()
    assert _canonical_text.cache_info().currsize == 0 == _structural_hash_text.cache_info().currsize

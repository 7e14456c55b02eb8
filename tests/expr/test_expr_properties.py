"""Hypothesis properties: exact round trip, canonical idempotence, spacing/parenthesis insensitivity,
and the checker's never-raise contract. Deterministic (derandomized) via `PROPERTY`."""

from __future__ import annotations

import math

from expr_fixtures import CATALOGUE, OPS, PROPERTY
from hypothesis import given
from hypothesis import strategies as st

from alphamine.expr import (
    Assign,
    Binary,
    Bool,
    Call,
    Keyword,
    Name,
    Node,
    Number,
    ParseError,
    Program,
    String,
    Ternary,
    Unary,
    canonical,
    check,
    normalize,
    parse,
    to_source,
)
from alphamine.expr.ast import BINARY_OPS, UNARY_OPS
from alphamine.expr.printer import PRECEDENCE, precedence

# ------------------------------------------------------------------------------------------ strategies
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s not in ("true", "false"))
# Mostly names the catalogue / operator table know, so normalization and checking have work to do.
field_names = st.one_of(st.sampled_from(sorted(CATALOGUE)), identifiers)
func_names = st.one_of(st.sampled_from(sorted(OPS)), identifiers)

numbers = st.one_of(
    st.integers(-1000, 1000).map(float),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
    st.sampled_from([0.5, 1e-05, 20.0, 252.0, -0.0]),
).map(Number)
leaves: st.SearchStrategy[Node] = st.one_of(
    numbers,
    st.booleans().map(Bool),
    st.text(max_size=6).map(String),
    field_names.map(Name),
)


def _call(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    kwargs = st.lists(st.tuples(identifiers, children), max_size=2, unique_by=lambda kv: kv[0]).map(
        lambda kvs: tuple(Keyword(k, v) for k, v in kvs))
    return st.builds(Call, func_names, st.lists(children, max_size=3).map(tuple), kwargs)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Unary, st.sampled_from(UNARY_OPS), children),
        st.builds(Binary, st.sampled_from(BINARY_OPS), children, children),
        st.builds(Ternary, children, children, children),
        _call(children),
    )


_expressions = st.recursive(leaves, _extend, max_leaves=12)


@st.composite
def expressions_(draw: st.DrawFn) -> Node:
    return draw(_expressions)


@st.composite
def programs_(draw: st.DrawFn) -> Program:
    assigns = draw(st.lists(st.builds(Assign, identifiers, _expressions), max_size=2))
    return Program(tuple(assigns), draw(_expressions))


# Composite wrappers keep hypothesis' strategy reprs small.
expressions = expressions_()
programs = programs_()


# ------------------------------------------------------------------------------------------ noisy printer
def noisy(node: Node, draw) -> str:  # type: ignore[no-untyped-def]
    """Like to_source but with random whitespace, comments and redundant parentheses."""

    def ws() -> str:
        return draw(st.sampled_from(["", " ", "  ", "\n", "\t", " /* c */ "]))

    def sub(child: Node, needs: bool) -> str:
        text = noisy(child, draw)
        extra = draw(st.booleans()) and not (isinstance(child, Number) and isinstance(node, Unary))
        return f"({ws()}{text}{ws()})" if needs or extra else text

    if isinstance(node, Unary):
        operand = node.operand
        if node.op == "-" and isinstance(operand, Number) and precedence(operand) == PRECEDENCE["atom"]:
            return f"-({noisy(operand, draw)})"
        return node.op + ws() + sub(operand, precedence(operand) < PRECEDENCE["unary"])
    if isinstance(node, Binary):
        p = PRECEDENCE[node.op]
        if node.op == "^":
            lneed, rneed = precedence(node.left) < PRECEDENCE["atom"], precedence(node.right) < PRECEDENCE["unary"]
        else:
            lneed, rneed = precedence(node.left) < p, precedence(node.right) <= p
        return f"{sub(node.left, lneed)}{ws()}{node.op}{ws()}{sub(node.right, rneed)}"
    if isinstance(node, Ternary):
        cond = sub(node.cond, precedence(node.cond) <= PRECEDENCE["?:"])
        return f"{cond}{ws()}?{ws()}{sub(node.then, False)}{ws()}:{ws()}{sub(node.otherwise, False)}"
    if isinstance(node, Call):
        parts = [sub(a, False) for a in node.args] + [f"{k.name}{ws()}={ws()}{sub(k.value, False)}"
                                                    for k in node.kwargs]
        return f"{node.func}{ws()}({ws()}{(ws() + ',' + ws()).join(parts)}{ws()})"
    return to_source(node)


# ------------------------------------------------------------------------------------------ properties
@PROPERTY
@given(programs)
def test_parse_to_source_round_trip(program: Program) -> None:
    text = to_source(program)
    assert parse(text) == program
    assert to_source(parse(text)) == text


@PROPERTY
@given(expressions)
def test_expression_round_trip(tree: Node) -> None:
    assert parse(to_source(tree)).result == tree


@PROPERTY
@given(programs)
def test_canonical_is_idempotent_and_matches_normalize(program: Program) -> None:
    text = canonical(program, OPS)
    assert canonical(parse(text), OPS) == text
    expected = normalize(program if program.assignments else program.result, OPS)
    reparsed = parse(text)
    assert (reparsed if program.assignments else reparsed.result) == expected


@PROPERTY
@given(st.data())
def test_canonical_ignores_spacing_and_parentheses(data: st.DataObject) -> None:
    tree = data.draw(expressions)
    plain = to_source(tree)
    messy = noisy(tree, data.draw)
    assert canonical(parse(messy), OPS) == canonical(parse(plain), OPS)


@PROPERTY
@given(st.text(max_size=60))
def test_check_never_raises_on_text(source: str) -> None:
    diags = check(source, CATALOGUE, operators=OPS, n_days=50)
    assert all(d.code != "INTERNAL" for d in diags), diags
    for d in diags:
        if d.span is not None:
            assert 0 <= d.span.start <= d.span.end <= len(source)


VALID = [
    "group_neutralize(rank(-ts_delta(close, 5)), industry)",
    "a = ts_mean(close, 20); rank(a - close)",
    "ts_rank(close, 20, constant=0)",
    'bucket(rank(cap), range="0,1,0.1")',
    "close > open ? (close - open) / open : -returns",
    "/* c */ !(volume < adv20) && rank(vec_avg(news_vec)) >= 0.5 || x",
]
ALPHABET = "()[],;=+-*/^<>!&|?:\"'.#0123456789 \n_aeksxz"


@PROPERTY
@given(st.data())
def test_check_never_raises_on_mutations(data: st.DataObject) -> None:
    source = data.draw(st.sampled_from(VALID))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(source)))
        if data.draw(st.booleans()) and source:
            source = source[:pos] + source[pos + 1:]
        else:
            source = source[:pos] + data.draw(st.sampled_from(ALPHABET)) + source[pos:]
    diags = check(source, CATALOGUE, operators=OPS, n_days=30)
    assert all(d.code != "INTERNAL" for d in diags), (source, diags)
    try:
        parse(source)
    except ParseError as e:
        syntax = [d for d in diags if d.code == "SYNTAX"]
        assert syntax and syntax[0].span is not None
        assert (syntax[0].span.line, syntax[0].span.column) == (e.line, e.column)


@PROPERTY
@given(programs)
def test_check_never_raises_on_trees(program: Program) -> None:
    diags = check(program, CATALOGUE, operators=OPS, n_days=30)
    assert all(d.code != "INTERNAL" for d in diags), diags


def test_infinite_and_negative_zero_literals_survive() -> None:
    for value in (math.inf, -math.inf, -0.0):
        assert parse(to_source(Number(value))).result == Number(value)
    assert math.copysign(1.0, parse(to_source(Number(-0.0))).result.value) < 0  # type: ignore[attr-defined]

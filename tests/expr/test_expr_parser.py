"""Parser: every construct, every precedence row, error positions, spans."""

from __future__ import annotations

import pytest

from alphamine.expr import (
    Assign,
    Binary,
    Bool,
    Call,
    Keyword,
    Name,
    Number,
    ParseError,
    Program,
    String,
    Ternary,
    Unary,
    parse,
    parse_expression,
)

a, b, c, d, e, x = (Name(n) for n in "abcdex")


def N(v: float) -> Number:
    return Number(float(v))


def B(op: str, left, right) -> Binary:  # type: ignore[no-untyped-def]
    return Binary(op, left, right)


def E(source: str):  # type: ignore[no-untyped-def]
    return parse_expression(source)


# ------------------------------------------------------------------------------------------ literals
@pytest.mark.parametrize(
    ("source", "value"),
    [("20", 20.0), ("0", 0.0), ("3.25", 3.25), (".5", 0.5), ("2.", 2.0), ("1e-5", 1e-5), ("1E+3", 1000.0),
     ("2.5e2", 250.0), ("-7", -7.0), ("- 7", -7.0), ("-1.5e-3", -1.5e-3), ("1e999", float("inf"))],
)
def test_numbers(source: str, value: float) -> None:
    node = E(source)
    assert isinstance(node, Number)
    assert node.value == value
    assert isinstance(node.value, float)


def test_bools_strings_names() -> None:
    assert E("true") == Bool(True)
    assert E("false") == Bool(False)
    assert E('"0,1,0.1"') == String("0,1,0.1")
    assert E(r'"a\"b\\c\nd\te"') == String('a"b\\c\nd\te')
    assert E('""') == String("")
    assert E("close") == Name("close")
    assert E("truex") == Name("truex")  # a keyword prefix is still a name
    assert E("_x1") == Name("_x1")


# ------------------------------------------------------------------------------------------ precedence
@pytest.mark.parametrize(
    ("source", "tree"),
    [
        # ternary is loosest and right-associative
        ("a ? b : c ? d : e", Ternary(a, b, Ternary(c, d, e))),
        ("a ? b ? c : d : e", Ternary(a, Ternary(b, c, d), e)),
        ("a || b ? c : d", Ternary(B("||", a, b), c, d)),
        # || < && < == != < comparisons < + - < * / < unary < ^
        ("a || b && c", B("||", a, B("&&", b, c))),
        ("a && b || c", B("||", B("&&", a, b), c)),
        ("a && b == c", B("&&", a, B("==", b, c))),
        ("a == b != c", B("!=", B("==", a, b), c)),
        ("a == b < c", B("==", a, B("<", b, c))),
        ("a < b <= c", B("<=", B("<", a, b), c)),
        ("a > b >= c", B(">=", B(">", a, b), c)),
        ("a < b + c", B("<", a, B("+", b, c))),
        ("a + b * c", B("+", a, B("*", b, c))),
        ("a - b - c", B("-", B("-", a, b), c)),
        ("a / b * c", B("*", B("/", a, b), c)),
        ("-a * b", B("*", Unary("-", a), b)),
        ("-x^2", Unary("-", B("^", x, N(2)))),
        ("-2^2", Unary("-", B("^", N(2), N(2)))),
        ("a^b^c", B("^", a, B("^", b, c))),
        ("2^-1", B("^", N(2), N(-1))),
        ("a^-b", B("^", a, Unary("-", b))),
        ("(a^b)^c", B("^", B("^", a, b), c)),
        ("!a && b", B("&&", Unary("!", a), b)),
        ("!(a && b)", Unary("!", B("&&", a, b))),
        ("+a", Unary("+", a)),
        ("--a", Unary("-", Unary("-", a))),
        ("(a + b) * c", B("*", B("+", a, b), c)),
        ("a * (b + c)", B("*", a, B("+", b, c))),
    ],
)
def test_precedence(source: str, tree) -> None:  # type: ignore[no-untyped-def]
    assert E(source) == tree


def test_unary_minus_folding() -> None:
    assert E("-5") == N(-5)
    assert E("-(5)") == Unary("-", N(5))  # parentheses block the fold
    assert E("--5") == Unary("-", N(-5))  # only a bare literal folds
    assert E("a - 5") == B("-", a, N(5))
    assert E("a - -5") == B("-", a, N(-5))
    assert E("(-2)^2") == B("^", N(-2), N(2))


# ------------------------------------------------------------------------------------------ calls, programs
def test_calls() -> None:
    assert E("ts_rank(x, 20, constant=0)") == Call("ts_rank", (x, N(20)), (Keyword("constant", N(0)),))
    assert E('bucket(rank(cap), range="0,1,0.1")') == Call(
        "bucket", (Call("rank", (Name("cap"),)),), (Keyword("range", String("0,1,0.1")),))
    assert E("ts_step()") == Call("ts_step", ())
    assert E("f(a=1, b=true)") == Call("f", (), (Keyword("a", N(1)), Keyword("b", Bool(True))))
    assert E("f(a == b)") == Call("f", (B("==", a, b),))
    assert E("f(k=a ? b : c)") == Call("f", (), (Keyword("k", Ternary(a, b, c)),))


def test_brain_examples() -> None:
    tree = E("group_neutralize(rank(-ts_delta(close, 5)), industry)")
    assert tree == Call("group_neutralize", (
        Call("rank", (Unary("-", Call("ts_delta", (Name("close"), N(5)))),)), Name("industry")))
    program = parse("a = ts_mean(close, 20); rank(a - close)")
    assert program == Program(
        (Assign("a", Call("ts_mean", (Name("close"), N(20)))),),
        Call("rank", (B("-", a, Name("close")),)))


def test_programs_and_comments() -> None:
    source = """
    /* momentum, neutralized */
    a = ts_mean(close, 20);   // a line comment
    b = a - close;            # another one
    rank(b);
    """
    program = parse(source)
    assert [s.name for s in program.assignments] == ["a", "b"]
    assert program.result == Call("rank", (b,))
    assert parse("x;") == Program((), x)
    assert parse("/* a */ x /* b */") == Program((), x)
    assert parse("a = 1; a = a + 1; a").assignments[1] == Assign("a", B("+", a, N(1)))


def test_equality_ignores_spans() -> None:
    assert parse("a+b") == parse("  a  +\n b ")
    assert hash(E("rank(x)")) == hash(Call("rank", (x,)))


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("source", "line", "column", "fragment"),
    [
        ("rank(x))", 1, 8, "unexpected ')'"),
        ("ts_mean(close, )", 1, 16, "unexpected ')'"),
        ("1 +", 1, 4, "end of input"),
        ("a = ;", 1, 5, "unexpected ';'"),
        ("close @ 2", 1, 7, "unexpected character '@'"),
        ("f(a=1, b)", 1, 8, "positional argument after a keyword"),
        ('rank("abc)', 1, 6, "unterminated string"),
        ("a /* never closed", 1, 3, "unterminated /* comment"),
        ("", 1, 1, "end of input"),
        ("a = 1;\nb = (2 +;\nb", 2, 9, "unexpected ';'"),
        ("rank(x) rank(y)", 1, 9, "unexpected name 'rank'"),
        ("a ? b", 1, 6, "end of input"),
        ("f(1,, 2)", 1, 5, "unexpected ','"),
        ("x = = 1", 1, 5, "unexpected '='"),
        ("3 4", 1, 3, "unexpected number 4"),
    ],
)
def test_error_positions(source: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(source)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert fragment in err.message
    assert "^" in str(err)  # caret picture
    lines = str(err).splitlines()
    # the caret sits under the reported column
    assert lines[-1].index("^") - 2 == column - 1


def test_error_lists_expected_tokens() -> None:
    with pytest.raises(ParseError) as info:
        parse("rank(x")
    assert "')'" in info.value.expected
    assert "expected" in str(info.value)


def test_parse_expression_rejects_statements() -> None:
    with pytest.raises(ParseError):
        parse_expression("a = 1; a")


# ------------------------------------------------------------------------------------------ spans
def test_spans() -> None:
    source = "rank(a + ts_mean(close, 20), rate=0)"
    call = E(source)
    assert isinstance(call, Call)
    assert call.span is not None and (call.span.start, call.span.end) == (0, len(source))
    plus = call.args[0]
    assert plus.span is not None and source[plus.span.start:plus.span.end] == "a + ts_mean(close, 20)"
    inner = plus.right  # type: ignore[attr-defined]
    assert inner.span.column == 10 and inner.span.end_column == 28
    kw = call.kwargs[0]
    assert kw.span is not None and source[kw.span.start:kw.span.end] == "rate=0"
    assert kw.value.span is not None and kw.value.span.column == 35


def test_spans_include_parentheses_and_folded_minus() -> None:
    source = "(a + b) * -5"
    tree = E(source)
    assert tree.span is not None and (tree.span.start, tree.span.end) == (0, len(source))
    assert tree.right.span.start == 10  # type: ignore[attr-defined]


def test_multiline_spans() -> None:
    source = "a = ts_mean(close,\n   20);\nrank(a)"
    program = parse(source)
    assign = program.assignments[0]
    assert assign.span is not None
    assert (assign.span.line, assign.span.column, assign.span.end_line, assign.span.end_column) == (1, 1, 2, 8)
    assert program.result.span is not None and program.result.span.line == 3
    twenty = assign.value.args[1]  # type: ignore[attr-defined]
    assert (twenty.span.line, twenty.span.column) == (2, 4)


def test_parses_are_memoized_and_errors_are_raised_every_time() -> None:
    from alphamine.expr.parser import clear_parse_cache, parse

    clear_parse_cache()
    first = parse("rank(-ts_delta(close, 5))")
    assert parse("rank(-ts_delta(close, 5))") is first  # immutable trees are shared
    clear_parse_cache()
    again = parse("rank(-ts_delta(close, 5))")
    assert again == first and again is not first
    for _ in range(2):
        with pytest.raises(ParseError):
            parse("rank(")

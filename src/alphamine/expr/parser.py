"""FASTEXPR source text -> `Program`, with a span on every node.

Why lark LALR with an embedded transformer: the AST is built while parsing (no intermediate parse
tree), which keeps parsing cheap for generators that produce thousands of candidates. The parser is
stateless (wrapper objects, not instance state, carry the "parenthesized"/"folded" facts), so one
lark instance serves every thread.

Contract: `parse` returns a Program or raises `ParseError` carrying the 1-based line and column of the
offending character (for an unexpected end: just after the last token) and a caret picture in its
message. Unary minus written directly before a numeric literal folds into a negative `Number`
(`-5` -> Number(-5.0)); a parenthesized literal does not fold (`-(5)` -> Unary), so every tree has
a spelling that parses back to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import lark
from lark import Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from alphamine.expr.ast import (
    Assign,
    Binary,
    Bool,
    Call,
    Keyword,
    Name,
    Node,
    Number,
    Program,
    Span,
    String,
    Ternary,
    Unary,
)
from alphamine.expr.diagnostics import caret, span_at


class ParseError(ValueError):
    """Syntax error. `line`/`column` are 1-based; `pos`/`end_pos` 0-based offsets into `source`."""

    def __init__(self, message: str, source: str, pos: int, end_pos: int | None = None,
                 expected: tuple[str, ...] = ()) -> None:
        self.message = message
        self.source = source
        self.span = span_at(source, pos, end_pos if end_pos is not None else pos + 1)
        self.pos = self.span.start
        self.end_pos = self.span.end
        self.line = self.span.line
        self.column = self.span.column
        self.expected = expected
        detail = f"; expected {', '.join(expected)}" if expected and len(expected) <= 8 else ""
        super().__init__(f"line {self.line}, column {self.column}: {message}{detail}\n"
                         f"{caret(source, self.span)}")


@dataclass(frozen=True)
class _Wrapped:
    """A node that was parenthesized or produced by folding: blocks a further fold; `span` is the
    outer extent (parentheses included) used for the parent's span."""

    node: Node
    span: Span


def _un(item: Any) -> Any:
    return item.node if isinstance(item, _Wrapped) else item


def _span(item: Any) -> Span | None:
    if isinstance(item, _Wrapped):
        return item.span
    if isinstance(item, Token):
        if item.start_pos is None:
            return None
        return Span(item.start_pos, item.end_pos or item.start_pos, item.line or 1, item.column or 1,
                    item.end_line or item.line or 1, item.end_column or item.column or 1)
    if isinstance(item, Node):
        return item.span
    return None


def _extent(first: Any, last: Any) -> Span | None:
    a, b = _span(first), _span(last)
    if a is None:
        return b
    return a.merge(b)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def unescape(body: str) -> str:
    """Decode a string literal's body: \\n \\t \\r, and \\X -> X for any other character."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Args(list[Node]):
    """Marker for the `arguments` rule's result."""


class _Builder(Transformer[Token, Any]):
    """Callbacks named after the grammar's aliases; children include every token (keep_all_tokens)."""

    def number(self, c: list[Any]) -> Node:
        return Number(float(c[0]), span=_span(c[0]))

    def true(self, c: list[Any]) -> Node:
        return Bool(True, span=_span(c[0]))

    def false(self, c: list[Any]) -> Node:
        return Bool(False, span=_span(c[0]))

    def string(self, c: list[Any]) -> Node:
        return String(unescape(str(c[0])[1:-1]), span=_span(c[0]))

    def name(self, c: list[Any]) -> Node:
        return Name(str(c[0]), span=_span(c[0]))

    def paren(self, c: list[Any]) -> _Wrapped:
        span = _extent(c[0], c[2])
        assert span is not None
        return _Wrapped(_un(c[1]), span)

    def unary(self, c: list[Any]) -> Any:
        op, operand = str(c[0]), c[1]
        span = _extent(c[0], operand)
        if op == "-" and isinstance(operand, Number):  # a bare literal: fold
            assert span is not None
            return _Wrapped(Number(-operand.value, span=span), span)
        return Unary(op, _un(operand), span=span)

    def binary(self, c: list[Any]) -> Node:
        return Binary(str(c[1]), _un(c[0]), _un(c[2]), span=_extent(c[0], c[2]))

    def ternary(self, c: list[Any]) -> Node:
        return Ternary(_un(c[0]), _un(c[2]), _un(c[4]), span=_extent(c[0], c[4]))

    def keyword(self, c: list[Any]) -> Node:
        return Keyword(str(c[0]), _un(c[2]), span=_extent(c[0], c[2]))

    def arguments(self, c: list[Any]) -> _Args:
        return _Args(x for x in c if not isinstance(x, Token))

    def call(self, c: list[Any]) -> Node:
        args: list[Node] = []
        kwargs: list[Keyword] = []
        for item in c[2] or ():
            node = _un(item)
            if isinstance(node, Keyword):
                kwargs.append(node)
            elif kwargs:
                raise _PositionalAfterKeyword(_span(item))
            else:
                args.append(node)
        return Call(str(c[0]), tuple(args), tuple(kwargs), span=_extent(c[0], c[3]))

    def assign(self, c: list[Any]) -> Node:
        return Assign(str(c[0]), _un(c[2]), span=_extent(c[0], c[3]))

    def program(self, c: list[Any]) -> Program:
        items = [x for x in c if x is not None and not isinstance(x, Token)]
        *assigns, result = items
        return Program(tuple(assigns), _un(result), span=_extent(c[0], c[-1] if c[-1] is not None else c[-2]))


class _PositionalAfterKeyword(Exception):
    def __init__(self, span: Span | None) -> None:
        self.span = span


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = files("alphamine.expr").joinpath("grammar.lark").read_text(encoding="utf-8")
    # cache=True: lark stores the LALR tables (keyed by grammar and options) in the temp directory, so a
    # fresh process loads them in ~5 ms instead of building them in ~100 ms (`alphamine lint` start-up).
    return lark.Lark(grammar, parser="lalr", keep_all_tokens=True, maybe_placeholders=True,
                     transformer=_Builder(), cache=True)


def parse(source: str) -> Program:
    """Parse a FASTEXPR program (`a = ...; b = ...; final_expression` or one expression).

    Trees are immutable, so parses are memoized per source text: a simulation lints and evaluates the
    same text, and a search re-reads its parents. Errors are raised anew on every call."""
    return _parse_cached(source)


def clear_parse_cache() -> None:
    """Forget memoized parses and canonical texts (the benchmark measures passes that parse from scratch)."""
    from alphamine.expr.printer import clear_canonical_cache

    _parse_cached.cache_clear()
    clear_canonical_cache()


@lru_cache(maxsize=16384)
def _parse_cached(source: str) -> Program:
    try:
        tree = _parser().parse(source)
    except _PositionalAfterKeyword as e:
        start = e.span.start if e.span else 0
        end = e.span.end if e.span else None
        raise ParseError("positional argument after a keyword argument", source, start, end) from None
    except UnexpectedInput as e:
        raise _translate(e, source) from None
    if not isinstance(tree, Program):  # pragma: no cover - the grammar's start rule is `program`
        raise ParseError("not a program", source, 0)
    return tree


def parse_expression(source: str) -> Node:
    """Parse source that must be a single expression (no statements); returns the expression."""
    program = parse(source)
    if program.assignments:
        first = program.assignments[0].span
        raise ParseError("expected a single expression, found statements", source,
                         first.start if first else 0, first.end if first else None)
    return program.result


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of input"
    if token.type == "NUMBER":
        return f"number {token.value}"
    if token.type == "NAME":
        return f"name {token.value!r}"
    if token.type == "STRING":
        return f"string {token.value}"
    return repr(str(token.value))


def _expected(names: set[str] | frozenset[str]) -> tuple[str, ...]:
    out = set()
    for name in names:
        if name == "$END":
            out.add("end of input")
            continue
        try:
            pattern = _parser().get_terminal(name).pattern
        except KeyError:
            out.add(name.lower())
            continue
        if pattern.type == "str":
            out.add(repr(pattern.value))
        else:
            out.add(name.lower())
    return tuple(sorted(out))


def _translate(e: UnexpectedInput, source: str) -> ParseError:
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream or 0
        ch = source[pos] if 0 <= pos < len(source) else ""
        if ch == '"':
            return ParseError("unterminated string", source, pos, len(source))
        if ch == "/" and source.startswith("/*", pos):  # pragma: no cover - lexed as "/" "*"
            return ParseError("unterminated /* comment", source, pos, len(source))
        return ParseError(f"unexpected character {ch!r}", source, pos, pos + 1)
    if isinstance(e, UnexpectedToken):
        token = e.token
        expected = _expected(e.expected)
        if token.type == "$END":
            pos = token.end_pos if token.end_pos is not None else len(source)
            return ParseError("unexpected end of input", source, pos, pos, expected)
        pos = token.start_pos if token.start_pos is not None else 0
        end = token.end_pos if token.end_pos is not None else pos + 1
        if str(token.value) == "*" and source[pos - 1:pos] == "/":
            return ParseError("unterminated /* comment", source, pos - 1, len(source), expected)
        return ParseError(f"unexpected {_describe_token(token)}", source, pos, end, expected)
    if isinstance(e, UnexpectedEOF):  # pragma: no cover - LALR reports UnexpectedToken($END)
        return ParseError("unexpected end of input", source, len(source), len(source))
    return ParseError(str(e), source, 0)  # pragma: no cover

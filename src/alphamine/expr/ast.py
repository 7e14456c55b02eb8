"""The FASTEXPR syntax tree: immutable, typed nodes with source spans.

Why frozen dataclasses: trees are shared freely (sub-expression cache, mutation-based generators, the
canonical hash), so a node must never change after it is built; a "change" builds a new tree
(`alphamine.expr.walk.replace`). Equality and hashing ignore spans, so two trees parsed from
differently spaced sources compare equal, and nodes can key dicts.

Contract relied on by the evaluator: the node classes and their field names below.
`Number.value` is always a float (ints included: 20 is stored as 20.0 and printed as ``20``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """Where a node came from: offsets are 0-based, [start, end); line/column are 1-based.

    `end_line`/`end_column` point just past the last character (lark's convention).
    """

    start: int
    end: int
    line: int
    column: int
    end_line: int
    end_column: int

    def merge(self, other: Span | None) -> Span:
        """The smallest span covering both (self first in the source)."""
        if other is None:
            return self
        first = self if self.start <= other.start else other
        last = self if self.end >= other.end else other
        return Span(first.start, last.end, first.line, first.column, last.end_line, last.end_column)


@dataclass(frozen=True)
class Node:
    """Base of every syntax node. `span` is None for nodes built in code (not parsed)."""

    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Number(Node):
    """A numeric literal (ints too). A unary minus written directly before a literal folds into it."""

    value: float


@dataclass(frozen=True)
class Bool(Node):
    """`true` / `false` (BRAIN treats them as 1 / 0 where a number is expected)."""

    value: bool


@dataclass(frozen=True)
class String(Node):
    """A double-quoted string constant (`range="0,1,0.1"`), stored unescaped."""

    value: str


@dataclass(frozen=True)
class Name(Node):
    """A data field or a variable; which one is decided by the checker / `inline`."""

    id: str


@dataclass(frozen=True)
class Keyword(Node):
    """`name=value` inside a call."""

    name: str
    value: Node


@dataclass(frozen=True)
class Call(Node):
    """`func(args..., kw=value...)`; keyword order is kept as written (the printer normalizes it)."""

    func: str
    args: tuple[Node, ...]
    kwargs: tuple[Keyword, ...] = ()


@dataclass(frozen=True)
class Unary(Node):
    """Prefix operator: op in "-", "+", "!"."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """Infix operator: op in + - * / ^ < <= > >= == != && ||."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Ternary(Node):
    """`cond ? then : otherwise` (= if_else)."""

    cond: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class Assign(Node):
    """`name = value;` — a statement of a program."""

    name: str
    value: Node


@dataclass(frozen=True)
class Program(Node):
    """Statements followed by the final expression, which is the alpha."""

    assignments: tuple[Assign, ...]
    result: Node


UNARY_OPS = ("-", "+", "!")
BINARY_OPS = ("+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=", "&&", "||")


def inline(program: Program | Node) -> Node:
    """Substitute every variable into the result, so a program becomes one expression tree.

    Statements run in order: a variable's value is inlined with the variables assigned before it, so
    re-assignment (`a = a + 1;`) and a variable that shadows a field (`close = rank(close); close`)
    mean what they read. Names that are not variables stay `Name` (fields, or errors the checker
    reports). Substituted sub-trees are shared, not copied. A non-Program node is returned unchanged.
    """
    if not isinstance(program, Program):
        return program
    env: dict[str, Node] = {}
    for statement in program.assignments:
        env[statement.name] = _substitute(statement.value, env) if env else statement.value
    return _substitute(program.result, env) if env else program.result


def _substitute(node: Node, env: dict[str, Node]) -> Node:
    # Local import: walk imports this module.
    from alphamine.expr.walk import map_nodes

    def fn(n: Node) -> Node:
        if isinstance(n, Name) and n.id in env:
            return env[n.id]
        return n

    return map_nodes(node, fn)

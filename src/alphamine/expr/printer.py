"""Printing trees back to FASTEXPR: a faithful printer, a normalizer, and the canonical form + hash.

Why three layers: `to_source(tree)` is exact (parse(to_source(t)) == t for every tree, parentheses
only where precedence needs them), which makes round-trip testing meaningful; `normalize(tree)` is
the semantic-preserving rewrite that makes equivalent spellings identical; `canonical = to_source .
normalize` is the key under which candidates are deduplicated and simulation results cached, and
`structural_hash` hashes the canonical text of the inlined program.

Normalization (never changes what an expression computes):
- unary plus dropped; unary minus of a literal folded (`-(5)` -> `-5`);
- registered operator calls: required params positional, then variadic values, then optional params
  as keywords in declaration order, keywords equal to the declared default dropped; a bare word in a
  STRING param becomes a string (`driver=gaussian` -> `driver="gaussian"`);
- calls of operators with an infix spelling in exactly that shape become infix (`add(a, b)` ->
  `a + b`, `reverse(x)` -> `-x`, `if_else(c, a, b)` -> `c ? a : b`);
- the two operands of `+ * == != && ||` are ordered by their canonical text (one IEEE operation is
  commutative; re-associating 3+ operands would change rounding, so only pairs are swapped);
  `max`/`min` operands are all sorted (exact operations).
Calls that do not bind, or name unknown operators, keep their arguments as written (only their
sub-trees are normalized).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from alphamine.expr.ast import (
    Binary,
    Bool,
    Call,
    Keyword,
    Name,
    Node,
    Number,
    Program,
    String,
    Ternary,
    Unary,
    inline,
)
from alphamine.expr.walk import children, map_nodes
from alphamine.opspec import REQUIRED, ArgKind, BindError, Operator

PRECEDENCE: dict[str, int] = {
    "?:": 1, "||": 2, "&&": 3, "==": 4, "!=": 4, "<": 5, "<=": 5, ">": 5, ">=": 5,
    "+": 6, "-": 6, "*": 7, "/": 7, "unary": 8, "^": 9, "atom": 10,
}
COMMUTATIVE = frozenset({"+", "*", "==", "!=", "&&", "||"})
EXACT_SYMMETRIC_CALLS = frozenset({"max", "min"})


def format_number(value: float) -> str:
    """Integers without `.0`, otherwise the shortest round-tripping repr (`1e-05`); ±inf as `1e999`."""
    if math.isnan(value):
        raise ValueError("NaN has no FASTEXPR spelling")
    if math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    if float(value).is_integer() and abs(value) < 1e16:
        if value == 0 and math.copysign(1.0, value) < 0:
            return "-0"
        return str(int(value))
    return repr(float(value))


def format_string(value: str) -> str:
    """Double-quoted with backslash escapes for backslash, quote, newline, tab and CR."""
    body = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\t", "\\t").replace("\r", "\\r"))
    return f'"{body}"'


def precedence(node: Node) -> int:
    """Binding strength of the node's printed form (higher binds tighter)."""
    if isinstance(node, Ternary):
        return PRECEDENCE["?:"]
    if isinstance(node, Binary):
        return PRECEDENCE.get(node.op, PRECEDENCE["atom"])
    if isinstance(node, Unary):
        return PRECEDENCE["unary"]
    if isinstance(node, Number) and (node.value < 0 or math.copysign(1.0, node.value) < 0):
        return PRECEDENCE["unary"]  # printed with a leading "-"
    return PRECEDENCE["atom"]


def _wrap(text: str, child: Node, needs: bool) -> str:
    return f"({text})" if needs else text


def _render(node: Node, kids: list[str]) -> str:
    """The text of `node` given its children's texts (children(node) order)."""
    if isinstance(node, Number):
        return format_number(node.value)
    if isinstance(node, Bool):
        return "true" if node.value else "false"
    if isinstance(node, String):
        return format_string(node.value)
    if isinstance(node, Name):
        return node.id
    if isinstance(node, Keyword):
        return f"{node.name}={kids[0]}"
    if isinstance(node, Call):
        return f"{node.func}({', '.join(kids)})"
    if isinstance(node, Unary):
        operand = node.operand
        if node.op == "-" and isinstance(operand, Number) and precedence(operand) == PRECEDENCE["atom"]:
            return f"-({kids[0]})"  # a bare literal would fold into a negative Number
        return node.op + _wrap(kids[0], operand, precedence(operand) < PRECEDENCE["unary"])
    if isinstance(node, Binary):
        p = PRECEDENCE.get(node.op, PRECEDENCE["atom"])
        if node.op == "^":  # grammar: atom "^" unary
            left = _wrap(kids[0], node.left, precedence(node.left) < PRECEDENCE["atom"])
            right = _wrap(kids[1], node.right, precedence(node.right) < PRECEDENCE["unary"])
        else:  # left-associative: left at the same level, right one level tighter
            left = _wrap(kids[0], node.left, precedence(node.left) < p)
            right = _wrap(kids[1], node.right, precedence(node.right) <= p)
        return f"{left} {node.op} {right}"
    if isinstance(node, Ternary):
        cond = _wrap(kids[0], node.cond, precedence(node.cond) <= PRECEDENCE["?:"])
        return f"{cond} ? {kids[1]} : {kids[2]}"
    if isinstance(node, Program):
        statements = [*kids[:-1], kids[-1]]
        return "; ".join(statements)
    # Assign
    return f"{getattr(node, 'name', '?')} = {kids[0]}"


def _text(node: Node, memo: dict[int, str]) -> str:
    """Iterative post-order rendering with an id-memo (shared sub-trees are printed once)."""
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if id(n) in memo:
            continue
        kids = children(n)
        if expanded or not kids:
            memo[id(n)] = _render(n, [memo[id(k)] for k in kids])
        else:
            stack.append((n, True))
            stack.extend((k, False) for k in kids if id(k) not in memo)
    return memo[id(node)]


def to_source(node: Node, memo: dict[int, str] | None = None) -> str:
    """Exact printer: `parse(to_source(t))` equals `t` (a Program, or Program((), t) for an expression).

    `memo` (node id -> text) may be shared by calls on sub-trees of one tree that stays alive
    meanwhile (the evaluator prints every sub-tree's cache key): each node is then rendered once."""
    return _text(node, {} if memo is None else memo)


def normalize(node: Node, operators: Mapping[str, Operator] | None = None) -> Node:
    """The semantic-preserving normal form described in the module docstring."""
    from alphamine.expr.operators import default_operators, infix_of

    ops = default_operators() if operators is None else operators
    infix = infix_of(ops)
    variables = {a.name for a in node.assignments} if isinstance(node, Program) else set()
    memo: dict[int, str] = {}
    alive: list[Node] = []  # keeps memo ids valid

    def text(n: Node) -> str:
        alive.append(n)
        return _text(n, memo)

    def step(n: Node) -> Node:
        if isinstance(n, Unary):
            if n.op == "+":
                return n.operand
            if n.op == "-" and isinstance(n.operand, Number):
                return Number(-n.operand.value, span=n.span)
            return n
        if isinstance(n, Call) and n.func in ops:
            n2 = _normalize_call(n, ops[n.func], infix.get(n.func), variables)
            if n2 is not n:
                return step(n2) if not isinstance(n2, Call) else _sort_call(n2, text)
            return _sort_call(n, text)
        if isinstance(n, Binary) and n.op in COMMUTATIVE and text(n.right) < text(n.left):
            return Binary(n.op, n.right, n.left, span=n.span)
        return n

    return map_nodes(node, step)


def _sort_call(n: Call, text: Any) -> Node:
    if n.func in EXACT_SYMMETRIC_CALLS and not n.kwargs and len(n.args) >= 2:
        ordered = tuple(sorted(n.args, key=text))
        if any(a is not b for a, b in zip(ordered, n.args, strict=True)):
            return Call(n.func, ordered, n.kwargs, span=n.span)
    return n


def _is_default(value: Node, default: Any, case_insensitive: bool) -> bool:
    if default is REQUIRED or default is None:
        return False
    if isinstance(default, bool):
        return isinstance(value, Bool) and value.value == default
    if isinstance(default, int | float):
        return isinstance(value, Number) and value.value == default
    if isinstance(default, str) and isinstance(value, String):
        if case_insensitive:
            return value.value.lower() == default.lower()
        return value.value == default
    return False


def _normalize_call(n: Call, op: Operator, symbol: str | None, variables: set[str]) -> Node:
    names = [k.name for k in n.kwargs]
    if len(set(names)) != len(names):
        return n
    vi = op.variadic_index
    if vi is not None and any(not p.required for p in op.params[:vi]):
        return n  # an optional param before the variadic one has no keyword-free spelling
    try:
        bound = op.bind(list(n.args), {k.name: k.value for k in n.kwargs})
    except BindError:
        return n
    args: list[Node] = []
    kwargs: list[Keyword] = []
    for i, p in enumerate(op.params):
        if p.name not in bound:
            continue
        value = bound[p.name]
        if isinstance(value, list):
            args.extend(value)
            continue
        if p.kind is ArgKind.STRING and isinstance(value, Name) and value.id not in variables:
            value = String(value.id, span=value.span)
        after_variadic = vi is not None and i > vi
        if p.required and not after_variadic:
            args.append(value)
        elif not _is_default(value, p.default, p.choices is not None):
            kwargs.append(Keyword(p.name, value))
    if symbol is not None and not kwargs:
        if symbol in ("neg", "!") and len(args) == 1:
            return Unary("-" if symbol == "neg" else "!", args[0], span=n.span)
        if symbol == "?:" and len(args) == 3:
            return Ternary(args[0], args[1], args[2], span=n.span)
        if symbol in PRECEDENCE and symbol not in ("?:", "unary", "atom") and len(args) == 2:
            return Binary(symbol, args[0], args[1], span=n.span)
    new = Call(n.func, tuple(args), tuple(kwargs), span=n.span)
    return n if _same_call(new, n) else new


def _same_call(a: Call, b: Call) -> bool:
    """Shallow equality: the same children (by identity) in the same roles. Node `==` compares whole
    sub-trees recursively, which a deep tree cannot afford (and identity is what `map_nodes` keeps)."""
    return (a.func == b.func and len(a.args) == len(b.args) and len(a.kwargs) == len(b.kwargs)
            and all(x is y for x, y in zip(a.args, b.args, strict=True))
            and all(x.name == y.name and x.value is y.value for x, y in zip(a.kwargs, b.kwargs, strict=True)))


def canonical(node: Node | str, operators: Mapping[str, Operator] | None = None) -> str:
    """Canonical text: `to_source(normalize(tree))`. A string is parsed first (ParseError if invalid).

    Programs keep their statements (`a = ...; rank(a)`); use `structural_hash` for a key that is
    independent of how the program is split into variables. Text with the default operators is
    memoized (generators, dedup and the store canonicalize the same strings several times).
    """
    if isinstance(node, str):
        if operators is None:
            return _canonical_text(node)
        from alphamine.expr.parser import parse

        node = parse(node)
    return _canonical_node(node, operators)


def clear_canonical_cache() -> None:
    """Forget memoized canonical texts and hashes (`parser.clear_parse_cache` calls this)."""
    _canonical_text.cache_clear()
    _structural_hash_text.cache_clear()


@lru_cache(maxsize=16384)
def _canonical_text(text: str) -> str:
    from alphamine.expr.parser import parse

    return _canonical_node(parse(text), None)


def _canonical_node(node: Node, operators: Mapping[str, Operator] | None) -> str:
    if isinstance(node, Program) and not node.assignments:
        node = node.result
    return to_source(normalize(node, operators))


def structural_hash(node: Node | str, operators: Mapping[str, Operator] | None = None) -> str:
    """32 hex chars: blake2b-16 of the canonical text of the inlined program (text with the default
    operators memoized)."""
    if isinstance(node, str):
        if operators is None:
            return _structural_hash_text(node)
        from alphamine.expr.parser import parse

        node = parse(node)
    return _hash_node(node, operators)


@lru_cache(maxsize=16384)
def _structural_hash_text(text: str) -> str:
    from alphamine.expr.parser import parse

    return _hash_node(parse(text), None)


def _hash_node(node: Node, operators: Mapping[str, Operator] | None) -> str:
    text = canonical(inline(node), operators)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

"""Generic traversals and rewrites of FASTEXPR trees.

Why: the mutation-based generators (swap a field, change a window, wrap in an operator) and the
analyses (Power-Pool operator/field counts, lookback grids) all need the same few primitives. Every
rewrite returns a new tree and shares the untouched sub-trees; nothing is mutated.

Child order (the index used by paths): Call -> args then kwargs (Keyword nodes); Keyword -> value;
Unary -> operand; Binary -> left, right; Ternary -> cond, then, otherwise; Assign -> value;
Program -> assignments then result; literals and Name have no children.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import replace as _dc_replace
from typing import Any

from alphamine.expr.ast import (
    Assign,
    Binary,
    Call,
    Keyword,
    Name,
    Node,
    Program,
    Ternary,
    Unary,
)
from alphamine.infix import INFIX_OPERATORS

Path = tuple[int, ...]

DEFAULT_SYMBOLS: dict[str, str] = INFIX_OPERATORS
"""Infix spellings -> registered operator names (`alphamine.infix`, the one definition)."""


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes of `node`, in the documented child order."""
    if isinstance(node, Call):
        return (*node.args, *node.kwargs)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Ternary):
        return (node.cond, node.then, node.otherwise)
    if isinstance(node, Keyword | Assign):
        return (node.value,)
    if isinstance(node, Program):
        return (*node.assignments, node.result)
    return ()


def with_children(node: Node, new: tuple[Node, ...] | list[Node]) -> Node:
    """`node` with its children replaced (same count and order as `children(node)`); keeps the span.

    Returns `node` itself when every child is identical, so unchanged sub-trees stay shared.
    """
    old = children(node)
    if len(new) != len(old):
        raise ValueError(f"{type(node).__name__} has {len(old)} children, got {len(new)}")
    if all(a is b for a, b in zip(old, new, strict=True)):
        return node
    if isinstance(node, Call):
        n = len(node.args)
        kwargs = new[n:]
        if not all(isinstance(k, Keyword) for k in kwargs):
            raise TypeError("a Call's keyword children must be Keyword nodes")
        return _dc_replace(node, args=tuple(new[:n]), kwargs=tuple(kwargs))  # type: ignore[arg-type]
    if isinstance(node, Binary):
        return _dc_replace(node, left=new[0], right=new[1])
    if isinstance(node, Unary):
        return _dc_replace(node, operand=new[0])
    if isinstance(node, Ternary):
        return _dc_replace(node, cond=new[0], then=new[1], otherwise=new[2])
    if isinstance(node, Keyword | Assign):
        return _dc_replace(node, value=new[0])
    if isinstance(node, Program):
        assigns = new[:-1]
        if not all(isinstance(a, Assign) for a in assigns):
            raise TypeError("a Program's statements must be Assign nodes")
        return _dc_replace(node, assignments=tuple(assigns), result=new[-1])  # type: ignore[arg-type]
    return node


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, pre-order (a node before its children, children left to right)."""
    for _path, n in walk_paths(node):
        yield n


def walk_paths(node: Node) -> Iterator[tuple[Path, Node]]:
    """(path, node) pairs, pre-order; `path` is the tuple of child indices from the root."""
    stack: list[tuple[Path, Node]] = [((), node)]
    while stack:
        path, n = stack.pop()
        yield path, n
        kids = children(n)
        for i in range(len(kids) - 1, -1, -1):
            stack.append(((*path, i), kids[i]))


def get(node: Node, path: Path) -> Node:
    """The sub-node at `path` (IndexError when the path does not exist)."""
    for i in path:
        node = children(node)[i]
    return node


def replace(node: Node, target: Path | Callable[[Node], bool], new: Node | Callable[[Node], Node]) -> Node:
    """A new tree with a sub-tree replaced.

    `target` is a path (tuple of child indices; `()` = the root) or a predicate; with a predicate
    every matching node is replaced, top-down, without descending into a replaced sub-tree. `new` is
    the replacement node or a function of the replaced node. Raises IndexError for a bad path.
    """
    make: Callable[[Node], Node] = new if callable(new) else (lambda _old: new)
    if isinstance(target, tuple):
        return _replace_at(node, target, make)
    pred = target

    def go(n: Node) -> Node:
        if pred(n):
            return make(n)
        kids = children(n)
        return with_children(n, [go(k) for k in kids]) if kids else n

    return go(node)


def _replace_at(node: Node, path: Path, make: Callable[[Node], Node]) -> Node:
    if not path:
        return make(node)
    kids = list(children(node))
    i = path[0]
    if not 0 <= i < len(kids):
        raise IndexError(f"path index {i} out of range for {type(node).__name__}")
    kids[i] = _replace_at(kids[i], path[1:], make)
    return with_children(node, kids)


def map_nodes(node: Node, fn: Callable[[Node], Node]) -> Node:
    """Bottom-up transform: children are mapped first, then `fn` gets the rebuilt node.

    Iterative (no recursion limit for deep trees). Shared sub-trees are mapped once.
    """
    done: dict[int, Node] = {}
    stack: list[tuple[Node, bool]] = [(node, False)]
    keep: list[Node] = []  # keeps ids stable while `done` is alive
    while stack:
        n, expanded = stack.pop()
        if id(n) in done:
            continue
        kids = children(n)
        if expanded or not kids:
            rebuilt = with_children(n, [done[id(k)] for k in kids]) if kids else n
            done[id(n)] = fn(rebuilt)
            keep.append(n)
        else:
            stack.append((n, True))
            stack.extend((k, False) for k in kids if id(k) not in done)
    return done[id(node)]


def operator_name(node: Node, symbols: Mapping[str, str] | None = None) -> str | None:
    """The registered operator a node applies (infix spelled through `symbols`), or None.

    Unary plus is the identity and applies no operator.
    """
    table = DEFAULT_SYMBOLS if symbols is None else symbols
    if isinstance(node, Call):
        return node.func
    if isinstance(node, Binary):
        return table.get(node.op, node.op)
    if isinstance(node, Unary):
        if node.op == "+":
            return None
        return table.get("neg" if node.op == "-" else node.op, node.op)
    if isinstance(node, Ternary):
        return table.get("?:", "if_else")
    return None


def operators_used(node: Node, symbols: Mapping[str, str] | None = None) -> list[str]:
    """Distinct operator names in the tree, in first-use order (infix mapped to names: + -> add)."""
    seen: dict[str, None] = {}
    for n in walk(_inlined(node)):
        name = operator_name(n, symbols)
        if name is not None:
            seen.setdefault(name)
    return list(seen)


def operator_count(node: Node) -> int:
    """How many operator applications the (inlined) tree has (unary plus not counted)."""
    return sum(1 for n in walk(_inlined(node)) if operator_name(n) is not None)


def fields_used(node: Node, catalogue: Mapping[str, Any] | None = None) -> list[str]:
    """Distinct data fields read, in first-use order. Variables are inlined first; with a catalogue
    only names in it count, without one every remaining Name does."""
    seen: dict[str, None] = {}
    for n in walk(_inlined(node)):
        if isinstance(n, Name) and (catalogue is None or n.id in catalogue):
            seen.setdefault(n.id)
    return list(seen)


def depth(node: Node) -> int:
    """Height of the tree: a leaf has depth 1 (Keyword wrappers are not counted as a level). Iterative
    and memoized over shared sub-trees (an inlined chain of variables is not expanded)."""
    from alphamine.expr.limits import measure

    return measure(node)[0]


@dataclass(frozen=True)
class LookbackUse:
    """One constant window argument: `operator(param=value)` at `path` in the inlined tree."""

    operator: str
    param: str
    value: float
    path: Path


def lookbacks(node: Node, operators: Mapping[str, Any] | None = None) -> list[LookbackUse]:
    """The constant LOOKBACK arguments used (window lengths, delays), pre-order.

    Uses each operator's declaration to know which params are lookbacks; calls that do not bind or
    name unknown operators are skipped. Paths index the inlined tree (`inline(program)`).
    """
    from alphamine.expr.ast import Number
    from alphamine.expr.operators import default_operators
    from alphamine.opspec import ArgKind, BindError

    ops = default_operators() if operators is None else operators

    out: list[LookbackUse] = []
    for path, n in walk_paths(_inlined(node)):
        if not isinstance(n, Call) or n.func not in ops:
            continue
        op = ops[n.func]
        try:
            bound = op.bind(list(range(len(n.args))), {k.name: len(n.args) + j for j, k in enumerate(n.kwargs)})
        except BindError:
            continue
        for pname, idx in bound.items():
            param = op.param(pname)
            if param is None or param.kind is not ArgKind.LOOKBACK or isinstance(idx, list):
                continue
            child = children(n)[idx]
            if isinstance(child, Keyword):
                value, where = child.value, (*path, idx, 0)
            else:
                value, where = child, (*path, idx)
            if isinstance(value, Number):
                out.append(LookbackUse(n.func, pname, value.value, where))
    return out


def _inlined(node: Node) -> Node:
    from alphamine.expr.ast import inline

    return inline(node) if isinstance(node, Program) else node

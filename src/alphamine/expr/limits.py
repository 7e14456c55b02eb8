"""How big an expression may be: the single definition of the checker's TOO_COMPLEX rule.

Why a limit at all: the checker walks a tree recursively, and evaluation holds one cached array per
distinct sub-expression and prints every sub-tree's canonical text as its cache key. Variables make
trees that look small but expand hugely (`v1 = v0 + v0; v2 = v1 + v1; ...` doubles per line), so the
size is measured on the tree as evaluated: variables substituted (`inline`), a shared sub-tree counted
once per use.

Contract: `check` reports TOO_COMPLEX when `measure(inline(program))` exceeds `MAX_DEPTH` or
`MAX_NODES`; below the limits the checker runs inside `recursion_room(CHECKER_FRAMES)` (so the
outcome does not depend on how deep the caller's stack already is) and the evaluator, the printer and
the normalizer are iterative, so every lint-clean expression can be evaluated (tests/expr and
tests/sim check both sides at and around the limits).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from alphamine.expr.ast import Keyword, Node
from alphamine.expr.walk import children

MAX_DEPTH = 256
"""The deepest operator nesting accepted (a leaf has depth 1; `a + b + c` has depth 3). Real alphas stay
far below (tens); a 255-term flat sum still passes."""

MAX_NODES = 20_000
"""The most nodes the expression may have once variables are substituted."""

FRAMES_PER_LEVEL = 6
"""Python frames the checker uses per tree level (infer -> apply -> comprehension -> argument -> infer),
with room to spare."""

CHECKER_FRAMES = FRAMES_PER_LEVEL * MAX_DEPTH + 200
"""Frames the checker may need on top of its caller's stack for a tree within the limits."""


def measure(node: Node) -> tuple[int, int]:
    """(depth, size) of a tree: depth as `walk.depth` (Keyword wrappers not counted), size = number of
    nodes with a shared sub-tree counted once per use. Iterative and linear in the number of *distinct*
    nodes, so a doubling chain of variables is measured without being expanded."""
    memo: dict[int, tuple[int, int]] = {}
    keep: list[Node] = []  # ids stay valid while memo lives
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if id(n) in memo:
            continue
        kids = children(n)
        if expanded or not kids:
            depth, size = 0, 1
            for k in kids:
                d, s = memo[id(k)]
                depth = max(depth, d)
                size += s
            own = 0 if isinstance(n, Keyword) else 1
            memo[id(n)] = (depth + own, size)
            keep.append(n)
        else:
            stack.append((n, True))
            stack.extend((k, False) for k in kids if id(k) not in memo)
    return memo[id(node)]


def too_complex(node: Node) -> str | None:
    """Why `node` (an inlined expression) is beyond the limits, or None when it is within them."""
    depth, size = measure(node)
    if depth > MAX_DEPTH:
        return f"the expression nests {depth} levels deep; the limit is {MAX_DEPTH}"
    if size > MAX_NODES:
        return f"the expression has {size} nodes once variables are substituted; the limit is {MAX_NODES}"
    return None


def _stack_depth() -> int:
    depth = 0
    frame = sys._getframe(1)
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth


@contextmanager
def recursion_room(frames: int) -> Iterator[None]:
    """Run the body with at least `frames` Python frames available above the current stack (the
    interpreter's recursion limit is raised for the duration if needed, then restored). Python 3.11+
    runs Python-to-Python calls without growing the C stack, so a few thousand frames are safe.

    The limit is process-wide: it is restored only if nobody changed it meanwhile (another thread in
    its own `recursion_room`), so a concurrent caller is never left below what it asked for."""
    old = sys.getrecursionlimit()
    need = _stack_depth() + frames
    if need > old:
        sys.setrecursionlimit(need)
    try:
        yield
    finally:
        if need > old and sys.getrecursionlimit() == need:
            sys.setrecursionlimit(old)

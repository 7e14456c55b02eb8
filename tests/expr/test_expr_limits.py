"""TOO_COMPLEX: the limits of `expr.limits` decide, whatever the caller's stack, and everything the
checker accepts can be printed, normalized and hashed (tests/sim/test_complexity.py evaluates it)."""

from __future__ import annotations

import sys
import time

import pytest
from expr_fixtures import CATALOGUE, OPS

from alphamine.expr import canonical, check, depth, inline, parse, structural_hash, to_source
from alphamine.expr.limits import MAX_DEPTH, MAX_NODES, measure, recursion_room


def flat_chain(n: int) -> str:
    """close + close + ... (n terms): a left-nested tree of depth n."""
    return " + ".join(["close"] * n)


def variable_chain(n: int) -> str:
    """v0 = close + 1; v1 = v0 + 1; ...; v{n-1}: depth n + 1 once inlined."""
    return "v0 = close + 1; " + "".join(f"v{i} = v{i - 1} + 1; " for i in range(1, n)) + f"v{n - 1}"


def codes(source: str) -> list[str]:
    return [d.code for d in check(source, CATALOGUE, operators=OPS)]


@pytest.mark.parametrize("n", [MAX_DEPTH - 1, MAX_DEPTH])
def test_flat_chain_at_the_limit_is_clean(n: int) -> None:
    assert depth(parse(flat_chain(n)).result) == n
    assert codes(flat_chain(n)) == []


def test_flat_chain_beyond_the_limit_is_too_complex() -> None:
    source = flat_chain(MAX_DEPTH + 1)
    (d,) = check(source, CATALOGUE, operators=OPS)
    assert (d.code, d.severity) == ("TOO_COMPLEX", "error")
    assert d.message == f"the expression nests {MAX_DEPTH + 1} levels deep; the limit is {MAX_DEPTH}"
    assert d.span is not None and d.span.start == 0


@pytest.mark.parametrize(("n", "expected"), [(MAX_DEPTH - 1, []), (MAX_DEPTH, ["TOO_COMPLEX"])])
def test_variable_chain_counts_its_inlined_depth(n: int, expected: list[str]) -> None:
    source = variable_chain(n)
    assert depth(inline(parse(source))) == n + 1
    assert codes(source) == expected


def test_size_is_counted_once_variables_are_substituted() -> None:
    """A doubling chain is tiny as text and huge as evaluated; measuring it does not expand it."""
    source = "v0 = close; " + "".join(f"v{i} = v{i - 1} + v{i - 1}; " for i in range(1, 60)) + "v59"
    started = time.perf_counter()
    d_, size = measure(inline(parse(source)))
    assert (d_, size) == (60, 2**60 - 1)
    (d,) = check(source, CATALOGUE, operators=OPS)
    assert d.code == "TOO_COMPLEX" and f"the limit is {MAX_NODES}" in d.message
    assert time.perf_counter() - started < 1.0
    assert codes("v0 = close; " + "".join(f"v{i} = v{i - 1} + v{i - 1}; " for i in range(1, 12)) + "v11") == []


def test_the_outcome_does_not_depend_on_the_callers_stack() -> None:
    source = flat_chain(MAX_DEPTH)

    def nested(k: int) -> list[str]:
        return codes(source) if k == 0 else nested(k - 1)

    assert nested(sys.getrecursionlimit() - 150) == []
    assert sys.getrecursionlimit() < 10_000  # restored afterwards, not left raised


def test_recursion_room_raises_and_restores_the_limit() -> None:
    before = sys.getrecursionlimit()
    with recursion_room(before * 2):
        assert sys.getrecursionlimit() >= before * 2
    assert sys.getrecursionlimit() == before


@pytest.mark.parametrize("source", [
    flat_chain(MAX_DEPTH),
    variable_chain(MAX_DEPTH - 1),
    "rank(" * (MAX_DEPTH - 1) + "close" + ")" * (MAX_DEPTH - 1),
    "max(" * (MAX_DEPTH - 1) + "close" + ", open)" * (MAX_DEPTH - 1),
])
def test_accepted_trees_print_normalize_and_hash(source: str) -> None:
    assert codes(source) == []
    tree = parse(source)
    assert parse(to_source(tree)) == tree
    text = canonical(inline(tree), OPS)
    assert canonical(text, OPS) == text
    assert len(structural_hash(source, OPS)) == 32

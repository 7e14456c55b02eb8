"""Random FASTEXPR over the whole operator registry, for "lint-clean => simulates" property tests.

Trees are drawn typed (a SERIES slot gets a MATRIX field, a literal or a MATRIX-valued operator; a
GROUP slot a GROUP field or a group-producing operator, ...) with constants taken from edge-value
pools (zero, negatives, huge, subnormal, infinite, integer overflow, empty and malformed strings), and
now and then a deliberately wrong kind (a MATRIX field as a group, a universe as a field), so that the
checker's rejections are exercised as much as its acceptances. Used with hypothesis (`draw_expr`) and by
hand for longer runs (`random_exprs`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from alphamine.data.fields import FieldType
from alphamine.data.panel import Panel
from alphamine.expr.printer import format_string
from alphamine.ops.registry import ArgKind, Operator, Param, all_operators

# Constant pools: ordinary values, and edge values (drawn a quarter of the time).
LOOKBACKS = (("1", "2", "3", "5", "10", "20", "60"),
             ("299", "300", "301", "10000", "10001", "2147483648", "1e308", "0", "-1", "2.5"))
INTS = (("0", "1", "2", "3", "5", "10"),
        ("-1", "4", "9", "11", "100", "101", "1000", "1001", "2147483647", "2147483648", "1e308", "1.5"))
NUMBERS = (("0", "0.5", "1", "2", "-1", "0.01", "100"),
           ("-0.5", "1.5", "3", "1e308", "-1e308", "1e-308", "5e-324", "1e999", "-1e999"))
STRINGS = (("0,1,0.1", "0.1,1,0.1", "0.2,0.5,0.8", "0 nan", "1", "0.5,0.5"),
           ("", " ", "1,0,0.1", "0,1,0", "0,1,-1", "0,1e308,1e-300", "2,5,6,7,10", "5,2", "1,1", "nan", "1 2",
            "a,b", "NaN", "NaN 0", "gaussian", "inf", "-inf,0", "1e999", "1,2,3"))
SERIES_LITERALS = ("0", "1", "-1", "0.5", "1e308", "-1e308", "1e-308", "1e999", "nan", "inf")

Draw = Callable[[list[Any]], Any]  # picks one element of a list


class Fuzzer:
    """Builds expression text for one panel's catalogue from a `choose(list) -> element` source."""

    def __init__(self, panel: Panel) -> None:
        cat = panel.catalogue
        self.matrices = [n for n, f in cat.items() if f.type is FieldType.MATRIX]
        self.groups = [n for n, f in cat.items() if f.type is FieldType.GROUP]
        self.vectors = [n for n, f in cat.items() if f.type is FieldType.VECTOR]
        self.universes = [n for n, f in cat.items() if f.type is FieldType.UNIVERSE]
        ops = all_operators()
        self.by_output: dict[FieldType, list[Operator]] = {
            t: [o for o in ops if o.output is t] for t in (FieldType.MATRIX, FieldType.GROUP)
        }

    def expr(self, choose: Draw, depth: int = 3) -> str:
        return self.series(choose, depth)

    def series(self, choose: Draw, depth: int) -> str:
        if depth > 0 and choose([0, 1, 2]) > 0:
            return self.call(choose(self.by_output[FieldType.MATRIX]), choose, depth - 1)
        roll = choose(list(range(40)))
        if roll < 3:
            return choose(list(SERIES_LITERALS))
        if roll == 3 and self.universes:
            return choose(self.universes)  # wrong kind: a universe is not a field
        if roll == 4 and self.groups:
            return choose(self.groups)  # wrong kind: grouping data used as numbers
        return choose(self.matrices)

    def group(self, choose: Draw, depth: int) -> str:
        roll = choose(list(range(20)))
        if roll == 0:
            return self.series(choose, depth)  # wrong kind: a MATRIX expression as a group
        if depth <= 0 or roll < 12:
            return choose(self.groups)
        return self.call(choose(self.by_output[FieldType.GROUP]), choose, depth - 1)

    def vector(self, choose: Draw) -> str:
        if not self.vectors or choose(list(range(20))) == 0:
            return choose(self.matrices)  # wrong kind
        return choose(self.vectors)

    def constant(self, p: Param, choose: Draw) -> str:
        edge = choose([0, 1, 2, 3]) == 0
        kind = p.kind
        if kind is ArgKind.LOOKBACK:
            return choose(list(LOOKBACKS[edge]))
        if kind is ArgKind.INT:
            return choose(list(INTS[edge]))
        if kind is ArgKind.NUMBER:
            return choose(list(NUMBERS[edge]))
        if kind is ArgKind.BOOL:
            return choose(["true", "false", "1", "0", "2"] if edge else ["true", "false"])
        pool = list(STRINGS[edge]) + list(p.choices or ())
        return format_string(choose(pool))

    def value(self, p: Param, choose: Draw, depth: int) -> str:
        if p.kind is ArgKind.SERIES:
            return self.series(choose, depth)
        if p.kind is ArgKind.GROUP:
            return self.group(choose, depth)
        if p.kind is ArgKind.VECTOR:
            return self.vector(choose)
        return self.constant(p, choose)

    def call(self, op: Operator, choose: Draw, depth: int) -> str:
        positional: list[str] = []
        keywords: list[str] = []
        vi = op.variadic_index
        for i, p in enumerate(op.params):
            if p.variadic:
                count = choose([1, 2, 2, 2, 3])
                positional.extend(self.value(p, choose, depth) for _ in range(count))
            elif p.required:
                text = self.value(p, choose, depth)
                if vi is not None and i > vi:
                    keywords.append(f"{p.name}={text}")
                else:
                    positional.append(text)
            elif choose([0, 1, 2]) == 0:
                keywords.append(f"{p.name}={self.value(p, choose, depth)}")
        return f"{op.name}({', '.join(positional + keywords)})"


def random_exprs(panel: Panel, n: int, seed: int = 0, depth: int = 3) -> list[str]:
    """`n` expressions from a seeded `random.Random` (for runs outside hypothesis)."""
    rng = random.Random(seed)
    fuzzer = Fuzzer(panel)
    return [fuzzer.expr(rng.choice, depth) for _ in range(n)]

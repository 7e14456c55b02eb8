"""The theme sampler: steer generation towards the fields and operators the store has explored least.

Why: left alone, generators keep proposing close/returns/rank because those fill the most slots; the
store then holds hundreds of near-duplicates and the correlation check rejects them. Weighting each
proposal by how unexplored its ingredients are spreads the search over the catalogue (BRAIN's
"data diversity" and Power-Pool rules reward exactly that).

Contract: `generate(ctx, n)` asks each wrapped generator for about `oversample * n / len(generators)`
candidates, removes duplicates, and draws `n` of them without replacement with probability
proportional to `novelty(candidate)`, using `ctx.rng` only (same seed and inputs -> same list).
`novelty = 1 / (1 + mean field count) * (1 / (1 + mean operator count)) ** OPERATOR_WEIGHT`, counts
from `ctx.explored_fields` / `ctx.explored_operators` (GROUP fields are not counted: they only
condition a signal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from alphamine.data.fields import FieldType
from alphamine.expr import fields_used, operators_used
from alphamine.generate.candidate import Candidate, GenerationContext, Generator
from alphamine.generate.mutate import as_node, dedup

OVERSAMPLE = 4  # candidates drawn from the generators per candidate returned
OPERATOR_WEIGHT = 0.5  # operators matter less than fields for diversity
SATURATED_WEIGHT = 0.1  # a candidate reading exactly a saturated family's fields (the gate's family cap)


def novelty(candidate: Candidate, ctx: GenerationContext) -> float:
    """The sampling weight of a candidate (in (0, 1]; 1 = everything unexplored), times SATURATED_WEIGHT
    when it reads exactly the fields of a family the gate reports as saturated (`ctx.saturated`) or any
    field that goes stale later in the data (`ctx.stale_fields`)."""
    node = as_node(candidate.expression)
    fields = [f for f in fields_used(node, ctx.catalogue) if ctx.catalogue[f].type != FieldType.GROUP]
    ops = operators_used(node)
    f_count = float(np.mean([ctx.explored_fields.get(f, 0) for f in fields])) if fields else 0.0
    o_count = float(np.mean([ctx.explored_operators.get(o, 0) for o in ops])) if ops else 0.0
    weight = (1.0 / (1.0 + f_count)) * (1.0 / (1.0 + o_count)) ** OPERATOR_WEIGHT
    if frozenset(fields) in ctx.saturated or not ctx.stale_fields.isdisjoint(fields):
        return weight * SATURATED_WEIGHT
    return weight


class ThemeSampler:
    """A generator over generators that favours unexplored fields and operators (see module doc)."""

    name = "themes"

    def __init__(self, generators: Sequence[Generator], oversample: int = OVERSAMPLE) -> None:
        if not generators:
            raise ValueError("ThemeSampler needs at least one generator")
        self.generators = tuple(generators)
        self.oversample = max(1, int(oversample))

    def generate(self, ctx: GenerationContext, n: int) -> list[Candidate]:
        if n <= 0:
            return []
        per = math.ceil(self.oversample * n / len(self.generators))
        seen: set[tuple[str, str]] = set()
        pool: list[Candidate] = []
        for gen in self.generators:
            pool.extend(dedup(gen.generate(ctx, per), seen))
        if len(pool) <= n:
            return pool
        weigh = ctx.memory_weight
        weights = np.array([novelty(c, ctx) * (weigh(c) if weigh is not None else 1.0) for c in pool], dtype=float)
        picks = ctx.rng.choice(len(pool), size=n, replace=False, p=weights / weights.sum())
        return [pool[int(i)] for i in picks]

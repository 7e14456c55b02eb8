"""Neutralization rotation: spread a batch over the neutralizations the panel supports.

Why: the same signal can pass or fail BRAIN's checks depending on the neutralization (an industry-
neutral reversal is another alpha than a market-neutral one, with lower correlation to the pool).
Rotating the setting over a batch explores that axis for free instead of fixing it per run.

Contract: `rotate_neutralization(candidates, ctx)` returns the candidates in the same order with
`settings.neutralization` set to `allowed[i % len(allowed)]`, where `allowed` is `ctx.neutralizations`
(in that order) restricted to those the catalogue supports: a group neutralization needs its group
field, the risk-model ones (FAST/SLOW/SLOW_AND_FAST) need the risk group; MARKET and NONE always work.
Every other field of a candidate (expression, generator, thesis, lineage) is kept. With nothing
allowed the candidates come back unchanged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from alphamine.data.fields import FieldInfo, FieldType
from alphamine.generate.candidate import Candidate, GenerationContext
from alphamine.sim.settings import Neutralization
from alphamine.sim.simulate import GROUP_NEUTRALIZATIONS, RISK_GROUP

RISK_MODELS = (Neutralization.FAST, Neutralization.SLOW, Neutralization.SLOW_AND_FAST)


def supported(name: str | Neutralization, catalogue: Mapping[str, FieldInfo]) -> bool:
    """Whether a neutralization can run on a panel with this catalogue."""
    try:
        n = Neutralization(str(name).upper())
    except ValueError:
        return False

    def has_group(g: str) -> bool:
        info = catalogue.get(g)
        return info is not None and info.type == FieldType.GROUP

    if n in GROUP_NEUTRALIZATIONS:
        return has_group(GROUP_NEUTRALIZATIONS[n])
    if n in RISK_MODELS:
        return has_group(RISK_GROUP)
    return True


def allowed_neutralizations(ctx: GenerationContext) -> list[Neutralization]:
    out: list[Neutralization] = []
    for name in ctx.neutralizations:
        if supported(name, ctx.catalogue):
            n = Neutralization(str(name).upper())
            if n not in out:
                out.append(n)
    return out


def rotate_neutralization(candidates: Sequence[Candidate], ctx: GenerationContext) -> list[Candidate]:
    allowed = allowed_neutralizations(ctx)
    if not allowed:
        return list(candidates)
    return [
        dataclasses.replace(c, settings=c.settings.with_(neutralization=allowed[i % len(allowed)]))
        for i, c in enumerate(candidates)
    ]

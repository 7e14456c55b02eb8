"""The theme sampler favours unexplored fields; rotation covers the supported neutralizations."""

from __future__ import annotations

import dataclasses

from alphamine.data.fields import FieldType
from alphamine.data.panel import Panel
from alphamine.expr import fields_used, parse
from alphamine.generate import (
    FieldFactory,
    TemplateGenerator,
    ThemeSampler,
    novelty,
    rotate_neutralization,
)
from alphamine.sim.settings import Neutralization

from .conftest import make_ctx


def test_novelty_prefers_unexplored(syn: Panel) -> None:
    ctx = make_ctx(syn, explored_fields={"close": 50}, explored_operators={"rank": 10})
    [a] = FieldFactory().generate(make_ctx(syn), 1)
    a = dataclasses.replace(a, expression="rank(close)")
    b = dataclasses.replace(a, expression="rank(volume)")
    c = dataclasses.replace(a, expression="zscore(volume)")
    assert novelty(a, ctx) < novelty(b, ctx) < novelty(c, ctx) == 1.0


def test_sampler_favours_least_explored_fields(syn: Panel) -> None:
    """With every price/returns field heavily explored, the sample is dominated by the other fields
    (a fixed seed; the unweighted pool has far fewer of them)."""
    cat = syn.catalogue
    explored = {"close": 200, "open": 200, "high": 200, "low": 200, "vwap": 200, "returns": 200}

    def share(cands: list) -> float:
        hits = 0
        for c in cands:
            used = [f for f in fields_used(parse(c.expression)) if cat[f].type != FieldType.GROUP]
            hits += not (set(used) & set(explored))
        return hits / len(cands)

    gens = [TemplateGenerator(), FieldFactory()]
    ctx = make_ctx(syn, seed=9, explored_fields=explored)
    picked = ThemeSampler(gens).generate(ctx, 30)
    pool_ctx = make_ctx(syn, seed=9)
    pool = ThemeSampler(gens, oversample=1).generate(pool_ctx, 120)
    assert len(picked) == 30
    assert share(picked) > share(pool) + 0.25
    assert share(picked) > 0.7


def test_sampler_is_deterministic(syn: Panel) -> None:
    gens = [TemplateGenerator(), FieldFactory()]
    a = ThemeSampler(gens).generate(make_ctx(syn, seed=1, explored_fields={"close": 5}), 20)
    b = ThemeSampler(gens).generate(make_ctx(syn, seed=1, explored_fields={"close": 5}), 20)
    assert a == b and len(a) == 20
    assert len({(c.expression, c.settings.key()) for c in a}) == 20


def test_rotation_covers_supported_neutralizations(syn: Panel) -> None:
    ctx = make_ctx(syn, neutralizations=("INDUSTRY", "SUBINDUSTRY", "SECTOR", "MARKET", "NONE"))
    cands = TemplateGenerator().generate(make_ctx(syn, seed=2), 10)
    rotated = rotate_neutralization(cands, ctx)
    assert [c.expression for c in rotated] == [c.expression for c in cands]
    assert [c.generator for c in rotated] == [c.generator for c in cands]
    assert [c.thesis for c in rotated] == [c.thesis for c in cands]
    got = [c.settings.neutralization for c in rotated]
    assert set(got) == {Neutralization(n) for n in ctx.neutralizations}
    assert got[:5] == [Neutralization(n) for n in ctx.neutralizations]
    assert all(c.settings.universe == cands[0].settings.universe for c in rotated)


def test_rotation_skips_neutralizations_without_their_group(syn: Panel) -> None:
    cat = {k: v for k, v in syn.catalogue.items() if k != "subindustry"}
    ctx = make_ctx(syn)
    ctx.catalogue = cat
    cands = TemplateGenerator().generate(make_ctx(syn, seed=2), 8)
    got = {c.settings.neutralization for c in rotate_neutralization(cands, ctx)}
    assert got == {Neutralization.INDUSTRY, Neutralization.SECTOR, Neutralization.MARKET}

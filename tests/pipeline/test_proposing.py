"""GENERATE's generator mix: `--generators` parsing and the shares each generator fills."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.data.synthetic import synthetic
from alphamine.generate import Candidate, GenerationContext
from alphamine.generate.field_factory import FieldFactory
from alphamine.generate.templates import TemplateGenerator
from alphamine.generate.themes import ThemeSampler
from alphamine.pipeline.proposing import parse_generators, propose
from alphamine.sim.settings import make_settings


def test_parse_generators_splits_free_shares_equally() -> None:
    assert parse_generators("templates,factory") == {"templates": 0.5, "factory": 0.5}
    shares = parse_generators("templates, factory, evolve:0.4")
    assert shares["evolve"] == pytest.approx(0.4) and shares["templates"] == pytest.approx(0.3)
    assert parse_generators("evolve:0.2") == {"evolve": 1.0}  # normalized


@pytest.mark.parametrize("text,msg", [
    ("templates,foo", "unknown generator 'foo'"),
    ("evolve:x", "must be a number"),
    ("evolve:1.5", "between 0 and 1"),
    ("evolve:0.7,llm:0.6", "add up to 1.30"),
    ("templates,templates", "listed twice"),
    ("", "at least one"),
])
def test_parse_generators_names_the_bad_item(text: str, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        parse_generators(text)


class Fixed:
    """A generator that proposes up to `k` fixed candidates (a stand-in for a paused LLM or an evolve
    generator without parents)."""

    name = "fixed"

    def __init__(self, k: int) -> None:
        self.k = k

    def generate(self, ctx: GenerationContext, n: int) -> list[Candidate]:
        exprs = [f"rank(ts_delta(close, {w}))" for w in (2, 3, 4, 5, 6, 7, 8, 9)][: min(n, self.k)]
        return [Candidate(e, ctx.base_settings, "fixed", None) for e in exprs]  # type: ignore[arg-type]


def _ctx() -> GenerationContext:
    panel = synthetic(40, 300, seed=1)
    return GenerationContext(panel.catalogue, panel.n_days, make_settings({"universe": "TOP40"}),
                             np.random.default_rng(0))


def _sampler(names):
    return ThemeSampler([{"templates": TemplateGenerator, "factory": FieldFactory}[n]() for n in names])


def test_shares_are_filled_and_shortfalls_go_to_the_sampler() -> None:
    shares = parse_generators("templates,factory,evolve:0.5")
    out, counts = propose(_ctx(), 10, shares, _sampler, {"evolve": Fixed(8)})
    assert counts["evolve"] == 5 and counts["sampler"] == 5 and len(out) == 10
    out, counts = propose(_ctx(), 10, shares, _sampler, {"evolve": Fixed(2)})  # short: the sampler fills
    assert counts["evolve"] == 2 and counts["sampler"] == 8 and len(out) == 10

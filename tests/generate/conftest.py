"""Shared fixtures for the generator tests: the bundled sample and small synthetic panels."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.data import load_sample, synthetic
from alphamine.data.panel import Panel
from alphamine.generate import GenerationContext
from alphamine.sim.settings import Settings
from alphamine.sim.simulate import universe_size


def largest_top(panel: Panel) -> str:
    return max((u for u in panel.universes if universe_size(u)), key=lambda u: universe_size(u) or 0)


def make_ctx(panel: Panel, seed: int = 0, **kw: object) -> GenerationContext:
    settings = Settings(universe=largest_top(panel))
    return GenerationContext(panel.catalogue, panel.n_days, settings, np.random.default_rng(seed), **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sample() -> Panel:
    return load_sample()


@pytest.fixture(scope="session")
def syn() -> Panel:
    """The planted synthetic market the optimizer tests simulate on (reversal and value planted)."""
    return synthetic(120, 600, seed=7)

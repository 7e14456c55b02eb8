"""What generators produce and what optimizers read: `Candidate`, `Thesis`, `Evidence`.

Why here: every proposer (templates, field factory, variants, the named optimizers, later the LLM
generator) speaks these types, and the store persists them, so they are plain frozen dataclasses with
JSON-able fields and no behaviour beyond small helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from alphamine.data.fields import FieldInfo
from alphamine.sim.settings import Settings

THESIS_TYPES = (
    "reversal",
    "momentum",
    "volatility",
    "liquidity",
    "volume_price",
    "value",
    "quality",
    "growth",
    "group_relative",
    "sentiment",
    "other",
)


@dataclass(frozen=True)
class Thesis:
    """Why a candidate should work: the factor type, the economic rationale, and how it is expected
    to fail (what a researcher should watch in the results)."""

    type: str
    rationale: str
    failure_mode: str

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "rationale": self.rationale, "failure_mode": self.failure_mode}


@dataclass(frozen=True)
class Candidate:
    """One proposed alpha: an expression (canonical form) with its settings and provenance.

    `generator` names the proposer ("template:<family>", "field_factory", "variant:<strategy>",
    "optimizer:<name>"); `parent_id` is the store id of the candidate it was derived from, with the
    variant `strategy` and its `params`; `priority` orders the simulation queue (higher first).
    """

    expression: str
    settings: Settings
    generator: str
    thesis: Thesis
    parent_id: int | None = None
    strategy: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    priority: float = 0.0


@dataclass(frozen=True)
class Evidence:
    """What a simulation said about a candidate, in the terms optimizers reason with (IS only: nothing
    in the pipeline may select on OS)."""

    sharpe: float
    fitness: float
    turnover: float
    returns: float
    margin: float
    drawdown: float
    long_count: float
    short_count: float
    universe_size: float  # average number of names in the universe
    checks: Mapping[str, str]  # check name -> PASS / FAIL / WARNING / PENDING
    max_correlation: float | None = None  # against the accepted pool, when known
    correlated_with: str | None = None

    @property
    def coverage(self) -> float:
        """Average fraction of the universe holding a position."""
        return (self.long_count + self.short_count) / self.universe_size if self.universe_size else 0.0

    def failed(self, name: str) -> bool:
        return self.checks.get(name) == "FAIL"


@dataclass
class GenerationContext:
    """Everything a generator may read. `explored_fields` / `explored_operators` count how often the
    store has already simulated each field/operator (the theme sampler favours the least explored);
    `rng` is seeded by the run so proposals are reproducible."""

    catalogue: Mapping[str, FieldInfo]
    n_days: int
    base_settings: Settings
    rng: np.random.Generator
    explored_fields: Mapping[str, int] = field(default_factory=dict)
    explored_operators: Mapping[str, int] = field(default_factory=dict)
    neutralizations: Sequence[str] = ("INDUSTRY", "SUBINDUSTRY", "SECTOR", "MARKET")
    saturated: frozenset[frozenset[str]] = frozenset()
    """Field sets (GROUP fields left out) of lineage families that already hold their share of the
    ready set: the theme sampler steers away from new candidates reading exactly those fields."""
    memory_weight: Callable[[Candidate], float] | None = None
    """The cross-run alpha memory's weight of a candidate (`store.memory.AlphaMemory.weigher`: in
    [0.5, 1.5], exactly 1.0 with nothing known); the theme sampler multiplies it into its novelty."""
    stale_fields: frozenset[str] = frozenset()
    """Fields whose values stop updating later in the data (the gate's DATA_FRESHNESS holds back alphas
    on them): the theme sampler steers away from candidates reading any of them."""


@runtime_checkable
class Generator(Protocol):
    """Proposes new candidates (deterministic given the context's rng)."""

    name: str

    def generate(self, ctx: GenerationContext, n: int) -> list[Candidate]: ...

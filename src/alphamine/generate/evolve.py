"""Evolutionary search: breed new candidates from the store's best evidence.

Why: templates and the field factory sample shapes blind, variants sweep one alpha's neighbourhood; an
evolutionary step recombines what already worked (the run's fittest simulated candidates and the ready
alphas of every run on the same data) with the typed moves of `evolve_ops`, and pushes away from what
the ready pool already holds, so the search keeps finding alphas the self-correlation check accepts.

Contracts:
- fitness is the SEARCH period's (`train` when the run has a validation window, else `is`; the same
  rule as `pipeline.validation.search_metrics`), and PnL is sliced to that period: neither validation
  nor OS is ever read, so evolution cannot select on held-out data;
- every offspring lints clean against `ctx.catalogue` / `ctx.n_days` (`mutate.make_candidate`), has its
  double negations collapsed (`tidy`), is not a bare field up to its sign (`is_trivial`), gives no
  operator the same operand twice (`repeated_operands`), has at most `max_operators` operators, stacks
  no more normalizers than its parents (`double_wraps`), and differs from every other offspring
  (canonical structure + settings) and from every parent and ready alpha (structure, any settings);
- `generator = "evolve:<move>"` and `strategy = <move>` (a `evolve_ops.MOVES` name); `parent_id` is the
  primary parent's store id, so `Store.lineage` resolves across runs; `params` = {"parents": [ids],
  "runs": [run ids], "op": move, "fitness", "novelty", "score"}; settings, thesis and tags come from the
  primary parent (the thesis is inferred when the parent has none);
- ranking: score = fitness term x ((1 - novelty_weight) + novelty_weight x novelty), where the fitness
  term is the mean percentile of the parents' search fitness among all parents and ready alphas, and
  novelty = (structural distance to the nearest ready alpha) x (1 - correlation_penalty x mean over the
  parents of their highest positive search-period PnL correlation with another ready alpha); the best
  `n` are returned, ties in proposal order;
- deterministic for a given `ctx.rng` state (the only randomness).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from alphamine.expr import Node, operator_count, structural_hash
from alphamine.expr.operators import default_operators
from alphamine.generate.candidate import Candidate, GenerationContext, Thesis
from alphamine.generate.evolve_ops import (
    MOVES,
    Operators,
    add_wrapper,
    double_wraps,
    is_trivial,
    mutate_field,
    mutate_operator,
    mutate_window,
    profile_distance,
    remove_wrapper,
    repeated_operands,
    signature_classes,
    subtree_crossover,
    subtree_profile,
    tidy,
)
from alphamine.generate.mutate import as_node, make_candidate
from alphamine.sim.checks import aligned_correlation
from alphamine.sim.settings import Settings

if TYPE_CHECKING:
    from alphamine.store import CandidateRow, ResultRow, Store

MOVE_WEIGHTS: Mapping[str, float] = {
    "crossover": 0.3, "mutate_operator": 0.15, "mutate_window": 0.15, "mutate_field": 0.15,
    "add_wrapper": 0.15, "remove_wrapper": 0.1,
}
NOVELTY_WEIGHT = 0.5
CORRELATION_PENALTY = 0.5
TOURNAMENT_SIZE = 3
OVERSAMPLE = 3  # offspring bred per candidate returned (the ranking picks among them)
ATTEMPTS_PER_CANDIDATE = 12  # breeding budget: give up after n * this many tries
MAX_OPERATORS = 16  # bloat control: crossover grows trees; BRAIN alphas rarely need more
DEFAULT_PARENTS = 20


@dataclass(frozen=True, eq=False)  # arrays inside
class Parent:
    """One breeding parent (or ready alpha). `fitness` is the search period's; `pnl` is (dates, daily PnL)
    over the search period only, None when unknown. `candidate_id` / `run_id` locate it in the store
    (None for parents given in code: their offspring then have no `parent_id`)."""

    expression: str
    settings: Settings
    fitness: float
    candidate_id: int | None = None
    run_id: str | None = None
    pnl: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    thesis: Thesis | None = None
    tags: tuple[str, ...] = ()

    def key(self) -> str:
        """The canonical structure hash (computed once)."""
        return self._key

    @cached_property
    def _key(self) -> str:
        return structural_hash(self.expression)


def _fit(p: Parent) -> float:
    return p.fitness if math.isfinite(p.fitness) else -math.inf


class EvolutionGenerator:
    """Tournament selection, typed crossover and mutation, lint filter, novelty ranking (module doc).

    `parents` breed (they are the primary parents); `ready_pool` gives novelty pressure and serves,
    with the parents, as crossover donors (ready alphas of earlier runs as building blocks)."""

    name = "evolve"

    def __init__(
        self,
        parents: Sequence[Parent],
        ready_pool: Sequence[Parent] = (),
        *,
        novelty_weight: float = NOVELTY_WEIGHT,
        correlation_penalty: float = CORRELATION_PENALTY,
        tournament_size: int = TOURNAMENT_SIZE,
        move_weights: Mapping[str, float] | None = None,
        oversample: int = OVERSAMPLE,
        max_operators: int = MAX_OPERATORS,
        operators: Operators | None = None,
    ) -> None:
        weights = dict(MOVE_WEIGHTS if move_weights is None else move_weights)
        unknown = set(weights) - set(MOVES)
        if unknown or not any(w > 0 for w in weights.values()):
            raise ValueError(f"move weights need positive weights over {sorted(MOVES)} (unknown: {sorted(unknown)})")
        if not 0.0 <= novelty_weight <= 1.0 or not 0.0 <= correlation_penalty <= 1.0:
            raise ValueError("novelty_weight and correlation_penalty must be in [0, 1]")
        self.parents = tuple(parents)
        self.ready_pool = tuple(ready_pool)
        self.novelty_weight = float(novelty_weight)
        self.correlation_penalty = float(correlation_penalty)
        self.tournament_size = max(1, int(tournament_size))
        self.moves = [k for k in MOVES if weights.get(k, 0) > 0]
        total = sum(weights[k] for k in self.moves)
        self.probs = np.array([weights[k] / total for k in self.moves])
        self.oversample = max(1, int(oversample))
        self.max_operators = int(max_operators)
        self.operators = operators

    # ------------------------------------------------------------------------------ breeding
    def generate(self, ctx: GenerationContext, n: int) -> list[Candidate]:
        if n <= 0 or not self.parents:
            return []
        ops = default_operators() if self.operators is None else self.operators
        classes = signature_classes(ops)
        parents = _unique(self.parents)
        donors = _unique([*parents, *self.ready_pool])  # the same objects: ids key the caches below
        nodes = {id(p): as_node(p.expression) for p in donors}
        forbidden = {p.key() for p in donors}
        pct = _percentiles(donors)
        pool = [subtree_profile(p.expression, ops) for p in self.ready_pool]
        corr: dict[int, float] = {}
        seen: set[tuple[str, str]] = set()
        made: list[tuple[float, Candidate]] = []
        for _ in range(n * ATTEMPTS_PER_CANDIDATE):
            if len(made) >= self.oversample * n:
                break
            move = self.moves[int(ctx.rng.choice(len(self.moves), p=self.probs))]
            first = self._tournament(parents, ctx.rng)
            family, child = self._breed(move, first, donors, nodes, ctx, ops, classes)
            cand = self._offspring(child, move, family, ctx, nodes, forbidden, seen)
            if cand is None:
                continue
            fitness = float(np.mean([pct[id(p)] for p in family]))
            penalty = float(np.mean([self._correlation(p, corr) for p in family]))
            distance = min((profile_distance(subtree_profile(cand.expression, ops), q) for q in pool), default=1.0)
            novelty = distance * (1.0 - self.correlation_penalty * penalty)
            score = fitness * ((1.0 - self.novelty_weight) + self.novelty_weight * novelty)
            params = {**cand.params, "fitness": round(fitness, 6), "novelty": round(novelty, 6),
                      "score": round(score, 6)}
            made.append((score, dataclasses.replace(cand, params=params)))
        order = sorted(range(len(made)), key=lambda i: -made[i][0])
        return [made[i][1] for i in order[:n]]

    def _breed(
        self, move: str, first: Parent, donors: Sequence[Parent], nodes: Mapping[int, Node],
        ctx: GenerationContext, ops: Operators, classes: Mapping[str, Sequence[str]],
    ) -> tuple[list[Parent], Node | None]:
        """(the parents, the raw child or None) of one `move` on `first` (crossover: with a tournament
        winner among the other donors)."""
        a, rng = nodes[id(first)], ctx.rng
        if move == "crossover":
            others = [p for p in donors if p.key() != first.key()]
            if not others:
                return [first], None
            second = self._tournament(others, rng)
            return [first, second], subtree_crossover(a, nodes[id(second)], rng, ctx.catalogue, ops)
        if move == "mutate_operator":
            return [first], mutate_operator(a, rng, ops, classes)
        if move == "mutate_window":
            return [first], mutate_window(a, rng, n_days=ctx.n_days, catalogue=ctx.catalogue, operators=ops)
        if move == "mutate_field":
            return [first], mutate_field(a, rng, ctx.catalogue, avoid=ctx.stale_fields)
        if move == "add_wrapper":
            return [first], add_wrapper(a, rng, ctx.catalogue, ops)
        return [first], remove_wrapper(a, rng)

    def _offspring(
        self, child: Node | None, move: str, family: list[Parent], ctx: GenerationContext,
        nodes: Mapping[int, Node], forbidden: set[str], seen: set[tuple[str, str]],
    ) -> Candidate | None:
        """The lint-clean, new `Candidate` for `child`, or None (module contract)."""
        if child is None:
            return None
        child = tidy(child)
        if is_trivial(child) or repeated_operands(child) or operator_count(child) > self.max_operators:
            return None
        if double_wraps(child) > max(double_wraps(nodes[id(p)]) for p in family):
            return None
        first = family[0]
        params: dict[str, Any] = {"parents": [p.candidate_id for p in family],
                                  "runs": [p.run_id for p in family], "op": move}
        cand = make_candidate(child, ctx, generator=f"evolve:{move}", thesis=first.thesis, settings=first.settings,
                              strategy=move, params=params, tags=(*first.tags, "evolve"))
        if cand is None:
            return None
        h = structural_hash(cand.expression)
        key = (h, cand.settings.key())
        if h in forbidden or key in seen:
            return None
        seen.add(key)
        return dataclasses.replace(cand, parent_id=first.candidate_id, tags=tuple(dict.fromkeys(cand.tags)))

    def _tournament(self, pool: Sequence[Parent], rng: np.random.Generator) -> Parent:
        """The fittest of `tournament_size` distinct parents drawn uniformly (the first drawn on ties)."""
        k = min(self.tournament_size, len(pool))
        picks = [pool[int(i)] for i in rng.choice(len(pool), size=k, replace=False)]
        return max(picks, key=_fit)

    def _correlation(self, p: Parent, cache: dict[int, float]) -> float:
        """The parent's highest positive search-period PnL correlation with a ready alpha other than
        itself (0 without PnL)."""
        if id(p) not in cache:
            best = 0.0
            if p.pnl is not None:
                for q in self.ready_pool:
                    if q.pnl is None or (q.key() == p.key() and q.settings.key() == p.settings.key()):
                        continue
                    c = aligned_correlation(p.pnl[0], p.pnl[1], q.pnl[0], q.pnl[1])
                    if math.isfinite(c):
                        best = max(best, c)
            cache[id(p)] = best
        return cache[id(p)]


def _unique(parents: Sequence[Parent]) -> list[Parent]:
    """First of each (structure, settings)."""
    out: dict[tuple[str, str], Parent] = {}
    for p in parents:
        out.setdefault((p.key(), p.settings.key()), p)
    return list(out.values())


def _percentiles(parents: Sequence[Parent]) -> dict[int, float]:
    """id(parent) -> the fraction of `parents` whose search fitness is at most its own (the fittest 1.0,
    ties equal, non-finite lowest)."""
    fits = [_fit(p) for p in parents]
    return {id(p): sum(g <= f for g in fits) / len(fits) for p, f in zip(parents, fits, strict=True)}


# ---------------------------------------------------------------------------------- from the store
def search_block(res: ResultRow) -> Mapping[str, Any]:
    """The metrics the search may read (`pipeline.validation.search_metrics`'s rule, restated here
    because `generate` sits below `pipeline`): `train` with a validation window, else `is`."""
    if res.test_range[1] > res.test_range[0] and res.metrics.get("train"):
        return dict(res.metrics["train"])
    return dict(res.metrics.get("is", {}))


def search_pnl(res: ResultRow) -> tuple[np.ndarray, np.ndarray]:
    """(dates, daily PnL) on the search period: the train rows with a validation window, else IS,
    from the first position day; never validation nor OS."""
    lo, hi = res.train_range if res.test_range[1] > res.test_range[0] else res.is_range
    lo = max(int(lo), int(res.first))
    hi = max(lo, int(hi))
    return res.dates[lo:hi], res.pnl[lo:hi]


def parent_of(row: CandidateRow, res: ResultRow) -> Parent:
    """The breeding record of a stored candidate and its result (search fitness and PnL only)."""
    value = search_block(res).get("fitness")
    fitness = float(value) if isinstance(value, int | float) else math.nan
    return Parent(expression=row.expression, settings=row.settings, fitness=fitness, candidate_id=row.id,
                  run_id=row.run_id, pnl=search_pnl(res), thesis=row.thesis, tags=row.tags)


def parents_from_store(
    store: Store, run_id: str, *, limit: int = DEFAULT_PARENTS, include_ready_from_other_runs: bool = True,
    backend: str | None = None,
) -> tuple[list[Parent], list[Parent]]:
    """(parents, ready pool) for `EvolutionGenerator`.

    parents: the run's `limit` simulated candidates with the best finite search-period fitness (one per
    structure + settings; best first, ties by id), then, with `include_ready_from_other_runs`, up to
    `limit` ready alphas of other runs (best first) whose runs share this run's data fingerprint.
    ready pool: every ready alpha on that fingerprint (only this run's without the flag). Results are
    read with `backend` when given (else the first stored). Raises LookupError for an unknown run."""
    run = store.get_run(run_id)
    if run is None:
        raise LookupError(f"no run {run_id!r} in {store.where}")
    rows = store.candidates(run_id=run_id)
    results = store.results_for([r.id for r in rows], backend=backend)
    own = [parent_of(r, results[r.id]) for r in sorted(rows, key=lambda r: r.id) if r.id in results]
    own = _unique(sorted((p for p in own if math.isfinite(p.fitness)), key=lambda p: -p.fitness))[:limit]
    fingerprints: dict[str, str | None] = {}
    ready_rows: list[CandidateRow] = []
    for row, _res in store.ready_pool(data_fingerprint=run.data_fingerprint):
        if row.run_id not in fingerprints:
            other = store.get_run(row.run_id)
            fingerprints[row.run_id] = None if other is None else other.data_fingerprint
        if fingerprints[row.run_id] == run.data_fingerprint and (include_ready_from_other_runs or row.run_id == run_id):
            ready_rows.append(row)
    ready_results = store.results_for([r.id for r in ready_rows], backend=backend)
    ready = [parent_of(r, ready_results[r.id]) for r in ready_rows if r.id in ready_results]
    parents = list(own)
    if include_ready_from_other_runs:
        taken = {(p.key(), p.settings.key()) for p in own}
        others = [p for p in ready if p.run_id != run_id and (p.key(), p.settings.key()) not in taken]
        parents += sorted(others, key=lambda p: (-_fit(p), p.candidate_id or 0))[:limit]
    return parents, ready

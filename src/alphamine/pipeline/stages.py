"""The stages of one iteration. Every stage is idempotent: re-running it after a crash continues where
its last commit left off (candidates are unique per run, results are keyed by (expression, settings,
data) and never simulated twice), and the controller marks it finished only when it completes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alphamine.data.fields import FieldType
from alphamine.expr import canonical, check, fields_used, operators_used, parse, structural_hash
from alphamine.generate import Candidate, GenerationContext
from alphamine.generate.field_factory import FieldFactory
from alphamine.generate.optimizers import triggered_optimizers
from alphamine.generate.repairs import propose_repairs, repairable_failures
from alphamine.generate.rotation import rotate_neutralization
from alphamine.generate.templates import TemplateGenerator
from alphamine.generate.themes import ThemeSampler
from alphamine.generate.variants import generic_variants
from alphamine.pipeline import decide as D
from alphamine.pipeline.context import RunContext
from alphamine.pipeline.proposing import parse_generators, propose
from alphamine.pipeline.quota import admit
from alphamine.pipeline.simulating import simulate_rows
from alphamine.pipeline.trial_gate import family_cap, search_range
from alphamine.pipeline.validation import search_checks, search_metrics
from alphamine.store import CandidateRow, DuplicateCandidateError, ResultRow
from alphamine.store.status import UNSIMULATED_STATUSES
from alphamine.store.status import CandidateStatus as CS

DERIVED = ("variant:", "optimizer:", "repair:", "llm:enhance")
STAGE_GENERATORS = {"VARIANT_SEARCH": ("variant:",), "ENHANCE": ("optimizer:", "repair:", "llm:enhance")}


def saturated_families(rc: RunContext) -> frozenset[frozenset[str]]:
    """Field sets of the run's lineage families that hold more than their share (the gate's family cap)
    of the candidates that passed DECIDE, so GENERATE explores elsewhere. DECIDE's verdicts, not the
    gate's: the gate reads the validation window, which the search must not (the ready set is a subset
    of these, so a family saturated in the ready set is saturated here first)."""
    passed: dict[int, int] = {}
    for r in rc.store.candidates(run_id=rc.run_id):
        if any(h.get("status") == CS.GATE_PENDING for h in r.reasons):
            root = r.root_id if r.root_id is not None else r.id
            passed[root] = passed.get(root, 0) + 1
    cap = family_cap(sum(passed.values()), rc.config.gate.max_family_share)
    out = set()
    for root, size in passed.items():
        if size > cap:
            fields = rc.store.get_candidate(root).fields
            out.add(frozenset(f for f in fields if f in rc.catalogue and rc.catalogue[f].type != FieldType.GROUP))
    return frozenset(out)


def generation_context(rc: RunContext, iteration: int, stage: str) -> GenerationContext:
    fields, ops = rc.store.exploration_counts()
    salt = sum(ord(c) for c in stage)
    return GenerationContext(
        catalogue=rc.catalogue,
        n_days=rc.panel.n_days,  # windows stay within the local history either way
        base_settings=rc.settings,
        rng=np.random.default_rng([rc.config.seed, iteration, salt]),
        explored_fields=dict(fields),
        explored_operators=dict(ops),
        saturated=saturated_families(rc) if rc.config.gate.trial_aware else frozenset(),
        stale_fields=rc.stale_fields() if rc.config.gate.trial_aware else frozenset(),
        memory_weight=memory_weigher(rc),
    )


def memory_weigher(rc: RunContext) -> Any:
    """The alpha memory's candidate weigher for this run's dataset and region (decay measured at the
    run's start, so a seed proposes the same whenever it is resumed); None without a memory."""
    import datetime as dt

    from alphamine.store.errors import StoreError
    from alphamine.store.memory import AlphaMemory
    from alphamine.store.memory_schema import run_dataset

    run = rc.store.get_run(rc.run_id)
    if run is None:
        return None
    root = Path(run.runtime_root) if run.runtime_root else rc.run_dir.parent.parent
    if not (root / "alpha_memory.sqlite3").exists():
        return None
    try:
        with AlphaMemory.at_root(root) as memory:
            return memory.weigher(run_dataset(run.config), rc.settings.region, rc.catalogue,
                                  now=dt.datetime.fromisoformat(run.created_at))
    except (StoreError, OSError, ValueError):
        return None


def add_candidates(rc: RunContext, iteration: int, cands: Sequence[Candidate], conn: Any = None) -> list[int]:
    """Insert candidates that this run does not have yet (same canonical expression and settings),
    including ones earlier in `cands` (not yet committed, so the store cannot see them). The run's
    existing keys are read in one query; a concurrent writer's insert since then is still caught by
    the store (`DuplicateCandidateError`) and skipped."""
    keyed = []
    for cand in cands:
        try:
            text = canonical(cand.expression)
            program = parse(text)
        except Exception:  # a generator bug must not stop the run: INSPECT would reject it anyway
            text, program = cand.expression, None
        h = structural_hash(text) if program is not None else f"unparsed:{text}"
        keyed.append((cand, text, program, (h, cand.settings.key())))
    seen = rc.store.existing_keys(rc.run_id, [key[0] for *_, key in keyed], conn=conn)
    ids = []
    for cand, text, program, key in keyed:
        if key in seen:
            continue
        seen.add(key)
        fields = sorted(fields_used(program, rc.catalogue)) if program is not None else []
        ops = sorted(operators_used(program)) if program is not None else []
        try:
            ids.append(rc.store.add_candidate(
                rc.run_id, iteration, cand, canonical=text, expr_hash=key[0], fields=fields, operators=ops, conn=conn
            ))  # fmt: skip
        except DuplicateCandidateError:
            continue
    return ids


# ---------------------------------------------------------------------------------------------- GENERATE
def generate(rc: RunContext, iteration: int) -> dict[str, Any]:
    ctx = generation_context(rc, iteration, "GENERATE")
    shares = with_llm_share(parse_generators(rc.config.generators), rc)
    extra = extra_generators(rc, shares)
    proposed, made = propose(ctx, rc.config.candidates_per_iteration, shares, sampled_generators, extra)
    cands = rotate_neutralization(proposed, ctx)
    with rc.store.transaction() as conn:
        ids = add_candidates(rc, iteration, cands, conn=conn)
        summary = {"generated": len(ids), "by_generator": made}
        rc.store.finish_stage(rc.run_id, iteration, "GENERATE", summary, conn=conn)
    mix = ", ".join(f"{k} {v}" for k, v in made.items())
    rc.say(f"  GENERATE: {len(ids)} candidates ({mix})")
    return summary


def sampled_generators(names: Sequence[str]) -> ThemeSampler:
    """The theme sampler over the deterministic generators named (templates, factory)."""
    gens = {"templates": TemplateGenerator, "factory": FieldFactory}
    return ThemeSampler([gens[n]() for n in names])


def extra_generators(rc: RunContext, shares: Mapping[str, float]) -> dict[str, Any]:
    """The evolutionary generator over the store's best search-period evidence (this run's and ready
    alphas of earlier runs on the same data), and the LLM generator when the run has one."""
    out: dict[str, Any] = {}
    if "evolve" in shares:
        from alphamine.generate.evolve import EvolutionGenerator, parent_of, parents_from_store

        parents, pool = parents_from_store(rc.store, rc.run_id, backend=rc.backend_name)
        # novelty against earlier runs' ready alphas and this run's DECIDE-passed candidates: this run's
        # ready set is a gate verdict, which reads the validation window the search must not
        pool = [p for p in pool if p.run_id != rc.run_id]
        passed = [r for r in rc.store.candidates(run_id=rc.run_id)
                  if any(h.get("status") == CS.GATE_PENDING for h in r.reasons)]
        results = results_of(rc, passed)
        pool += [parent_of(r, results[r.id]) for r in passed if r.id in results]
        out["evolve"] = EvolutionGenerator(parents, pool)
    if "llm" in shares and rc.agents is not None:
        out["llm"] = rc.agents.generator
    return out


def with_llm_share(shares: dict[str, float], rc: RunContext) -> dict[str, float]:
    """With LLM agents and `llm` not named in `--generators`: `--llm-share` of the candidates come from
    the LLM, the other generators' shares scaled to the rest. Without agents, `llm` is dropped."""
    if rc.agents is None:
        rest = {k: v for k, v in shares.items() if k != "llm"}
        total = sum(rest.values())
        return {k: v / total for k, v in rest.items()} if total > 0 else {"templates": 0.5, "factory": 0.5}
    if "llm" in shares:
        return shares
    share = min(max(rc.agents.share, 0.0), 1.0)
    return {**{k: v * (1.0 - share) for k, v in shares.items()}, "llm": share}


# ---------------------------------------------------------------------------------------------- INSPECT
def inspect_rows(rc: RunContext, rows: Sequence[CandidateRow], conn: Any) -> dict[str, int]:
    """Lint, settings validation and cross-run dedup of `generated` candidates -> queued / invalid /
    duplicate (the earliest candidate of each key read in one query, the clean ones queued at once)."""
    counts = {"queued": 0, "invalid": 0, "duplicate": 0}
    earliest = rc.store.earliest_candidates([(r.expr_hash, r.settings_key) for r in rows], conn=conn)
    clean: list[int] = []
    for row in rows:
        diags = check(row.expression, rc.catalogue, n_days=rc.history_days)
        errors = [d for d in diags if d.severity == "error"]
        if errors:
            rc.store.set_candidate_status(
                [row.id], CS.INVALID, reason=f"lint {errors[0].code}: {errors[0].message}", conn=conn
            )
            counts["invalid"] += 1
            continue
        if not rc.offers_universe(row.settings.universe):
            rc.store.set_candidate_status(
                [row.id], CS.INVALID, reason=f"unknown universe {row.settings.universe}", conn=conn
            )
            counts["invalid"] += 1
            continue
        earlier_id, earlier_run = earliest.get((row.expr_hash, row.settings_key), (row.id, rc.run_id))
        if earlier_id != row.id and earlier_run != rc.run_id:
            rc.store.set_candidate_status(
                [row.id], CS.DUPLICATE, reason=f"same as #{earlier_id} of run {earlier_run}", conn=conn
            )
            counts["duplicate"] += 1
            continue
        clean.append(row.id)
    if clean:
        rc.store.set_candidate_status(clean, CS.QUEUED, reason="lint clean", conn=conn)
        counts["queued"] += len(clean)
    return counts


def inspect(rc: RunContext, iteration: int) -> dict[str, Any]:
    rows = rc.store.candidates(run_id=rc.run_id, status=CS.GENERATED, iteration=iteration)
    with rc.store.transaction() as conn:
        counts = inspect_rows(rc, rows, conn)
        rc.store.finish_stage(rc.run_id, iteration, "INSPECT", counts, conn=conn)
    rc.say(f"  INSPECT: {counts['queued']} queued, {counts['invalid']} invalid, {counts['duplicate']} duplicates")
    return counts


# ---------------------------------------------------------------------------------------------- SIMULATE
def within_quota(rc: RunContext, iteration: int, stage: str, rows: Sequence[CandidateRow]) -> list[CandidateRow]:
    """The rows this stage may simulate under `--max-sim-alphas` (`pipeline.quota`): all without a
    budget; otherwise its lane's share, cluster round-robin, the rest left queued and reported."""
    ledger = rc.quota_ledger()
    if ledger is None or not rows:
        return list(rows)
    spent_run = spent_iteration = 0
    for r in rc.store.candidates(run_id=rc.run_id):
        if r.status not in UNSIMULATED_STATUSES:
            spent_run += 1
            spent_iteration += r.iteration == iteration
    budget = ledger.lane_budget(stage, iteration, spent_run, spent_iteration)
    decision = admit(rows, budget, stage=stage, iteration=iteration)
    ledger.record(decision, spent_run)
    if decision.deferred:
        rc.say(f"  quota: {stage} admits {len(decision.admitted)} of {len(rows)} ({decision.lane} lane, "
               f"budget {budget}); {len(decision.deferred)} stay queued")
    keep = set(decision.admitted)
    return [r for r in rows if r.id in keep]


def simulate(rc: RunContext, iteration: int) -> dict[str, Any]:
    rows = rc.store.candidates(run_id=rc.run_id, status=CS.QUEUED, iteration=iteration)
    rows = within_quota(rc, iteration, "SIMULATE", rows)
    counts = simulate_rows(rc, iteration, "SIMULATE", rows)
    rc.store.finish_stage(rc.run_id, iteration, "SIMULATE", counts)
    rc.say(f"  SIMULATE: {counts['simulated']} simulated, {counts['reused']} reused, {counts['failed']} failed")
    return counts


# ---------------------------------------------------------------------------------------------- shared
def results_of(rc: RunContext, rows: Sequence[CandidateRow]) -> dict[int, ResultRow]:
    return rc.store.results_for([r.id for r in rows], backend=rc.backend_name)


def derive(
    rc: RunContext, iteration: int, stage: str, pairs: Sequence[tuple[CandidateRow, Sequence[Candidate]]]
) -> dict[str, int]:
    """Insert derived candidates (with lineage), inspect and simulate them."""
    with rc.store.transaction() as conn:
        for parent, children in pairs:
            linked = [
                Candidate(
                    expression=c.expression,
                    settings=c.settings,
                    generator=c.generator,
                    thesis=c.thesis,
                    parent_id=parent.id,
                    strategy=c.strategy,
                    params=dict(c.params),
                    tags=c.tags,
                    priority=c.priority,
                )
                for c in children
            ]
            add_candidates(rc, iteration, linked, conn=conn)
    new = [
        r
        for r in rc.store.candidates(run_id=rc.run_id, status=CS.GENERATED, iteration=iteration)
        if r.generator.startswith(DERIVED)
    ]
    with rc.store.transaction() as conn:
        counts = inspect_rows(rc, new, conn)
    own = STAGE_GENERATORS.get(stage, DERIVED)  # a stage simulates its own proposals (others may wait queued)
    queued = [
        r
        for r in rc.store.candidates(run_id=rc.run_id, status=CS.QUEUED, iteration=iteration)
        if r.generator.startswith(own)
    ]
    sims = simulate_rows(rc, iteration, stage, within_quota(rc, iteration, stage, queued))
    return {**counts, **sims}


def searched(res: ResultRow) -> Any:
    """The metrics block the search reads (`train` when the run has a validation window, else `is`)."""
    return search_metrics(res.metrics, res.test_range)


def search_pnl(res: ResultRow) -> tuple[Any, Any]:
    """(dates, daily PnL) of the search period only: what VARIANT_SEARCH's correlation pruning may read."""
    lo, hi = search_range(res)
    return res.dates[lo:hi], res.pnl[lo:hi]


def search_evidence(rc: RunContext, res: ResultRow) -> Any:
    """Evidence for generators from the search period only (validation and OS are never read)."""
    checks = search_checks(res.checks, res.metrics, res.test_range, rc.settings.check_profile, rc.settings.delay)
    return D.evidence(searched(res), checks, rc.universe_size)


def ranked(rows: Sequence[CandidateRow], results: dict[int, ResultRow], key: str = "fitness") -> list[CandidateRow]:
    have = [r for r in rows if r.id in results]
    return sorted(have, key=lambda r: (-abs(_num(searched(results[r.id]).get(key))), r.id))


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return 0.0
    return out if out == out else 0.0


# ---------------------------------------------------------------------------------------------- VARIANT_SEARCH
def variant_search(rc: RunContext, iteration: int) -> dict[str, Any]:
    rows = [
        r
        for r in rc.store.candidates(run_id=rc.run_id, iteration=iteration)
        if not r.generator.startswith(DERIVED) and r.status not in (*UNSIMULATED_STATUSES, CS.FAILED)
    ]
    results = results_of(rc, rows)
    half = D.PROMISING_SHARPE / 2
    good = [r for r in ranked(rows, results) if abs(_num(searched(results[r.id]).get("sharpe"))) >= half]
    parents = D.prune_correlated([r.id for r in good], {r.id: search_pnl(results[r.id]) for r in good})
    parents = parents[: rc.config.max_variant_alphas]
    by_id = {r.id: r for r in rows}
    ctx = generation_context(rc, iteration, "VARIANT_SEARCH")
    pairs = []
    for pid in parents:
        ev = search_evidence(rc, results[pid])
        pairs.append(
            (by_id[pid], generic_variants(by_id[pid].to_candidate(), ev, ctx, rc.config.max_variants_per_alpha))
        )
    counts = derive(rc, iteration, "VARIANT_SEARCH", pairs) if pairs else {}
    summary = {"parents": len(parents), "pruned": len(good) - len(parents), **counts}
    rc.store.finish_stage(rc.run_id, iteration, "VARIANT_SEARCH", summary)
    rc.say(
        f"  VARIANT_SEARCH: {len(parents)} parents -> "
        f"{counts.get('simulated', 0) + counts.get('reused', 0)} variants simulated"
    )
    return summary


# ---------------------------------------------------------------------------------------------- DECIDE
def decide_rows(rc: RunContext, rows: Sequence[CandidateRow], conn: Any) -> dict[str, int]:
    counts = {"gate_pending": 0, "promising": 0, "rejected": 0}
    results = results_of(rc, rows)
    for row in rows:
        res = results.get(row.id)
        if res is None:
            continue
        checks = search_checks(res.checks, res.metrics, res.test_range, rc.settings.check_profile, rc.settings.delay)
        v = D.decide(searched(res), checks)
        if v.status == CS.GATE_PENDING and rc.agents is not None and rc.agents.use_decide:
            held = rc.agents.hold(row, res, checks, v)  # the LLM may only hold back, never promote
            if held:
                v = D.Verdict(CS.PROMISING, (held, *v.reasons))
        rc.store.set_candidate_status([row.id], v.status, reason="; ".join(v.reasons), conn=conn)
        counts[v.status] += 1
    return counts


def decide(rc: RunContext, iteration: int) -> dict[str, Any]:
    rows = rc.store.candidates(run_id=rc.run_id, status=CS.SIMULATED, iteration=iteration)
    with rc.store.transaction() as conn:
        counts = decide_rows(rc, rows, conn)
        rc.store.finish_stage(rc.run_id, iteration, "DECIDE", counts, conn=conn)
    rc.say(
        f"  DECIDE: {counts['gate_pending']} pass every check, {counts['promising']} promising, "
        f"{counts['rejected']} rejected"
    )
    return counts


# ---------------------------------------------------------------------------------------------- ENHANCE
def enhance(rc: RunContext, iteration: int) -> dict[str, Any]:
    rows = [
        r
        for r in rc.store.candidates(run_id=rc.run_id, iteration=iteration, status=CS.PROMISING)
        if not r.generator.startswith(("optimizer:", "repair:", "llm:enhance"))
    ]
    results = results_of(rc, rows)
    order = ranked(rows, results)[: rc.config.max_enhance_alphas]
    ctx = generation_context(rc, iteration, "ENHANCE")
    pairs = []
    for row in order:
        ev = search_evidence(rc, results[row.id])
        per = max(1, rc.config.max_variants_per_alpha // 2)
        # repairs matched to the failing checks (settings and expression), then the named optimizers
        proposals: list[Candidate] = propose_repairs(row.to_candidate(), repairable_failures(ev), ev, ctx, per)
        for opt in triggered_optimizers(ev):
            proposals += opt.propose(row.to_candidate(), ev, ctx, per)
        if rc.agents is not None:  # diagnosis-aware repairs from the LLM, beside the deterministic ones
            failed = [name for name, result in ev.checks.items() if result == "FAIL"]
            proposals += rc.agents.enhance(row.to_candidate(), results[row.id], ev, failed,
                                           rc.store.lineage(row.id), ctx, per)
        if proposals:
            pairs.append((row, proposals))
    counts = derive(rc, iteration, "ENHANCE", pairs) if pairs else {}
    new = [r for r in rc.store.candidates(run_id=rc.run_id, status=CS.SIMULATED, iteration=iteration)]
    with rc.store.transaction() as conn:
        decided = decide_rows(rc, new, conn)
        summary = {"parents": len(pairs), **counts, **{f"decided_{k}": v for k, v in decided.items()}}
        rc.store.finish_stage(rc.run_id, iteration, "ENHANCE", summary, conn=conn)
    rc.say(f"  ENHANCE: {len(pairs)} parents optimized, {counts.get('simulated', 0)} simulated")
    return summary


from alphamine.pipeline.gate import run_gate, submit_gate  # noqa: E402  (the SUBMIT_GATE stage)

__all__ = ["decide", "enhance", "generate", "inspect", "run_gate", "simulate", "submit_gate", "variant_search"]

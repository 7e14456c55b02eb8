"""The stages of one iteration. Every stage is idempotent: re-running it after a crash continues where
its last commit left off (candidates are unique per run, results are keyed by (expression, settings,
data) and never simulated twice), and the controller marks it finished only when it completes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alphamine.expr import canonical, check, fields_used, operators_used, parse, structural_hash
from alphamine.generate import Candidate, GenerationContext
from alphamine.generate.field_factory import FieldFactory
from alphamine.generate.optimizers import triggered_optimizers
from alphamine.generate.rotation import rotate_neutralization
from alphamine.generate.templates import TemplateGenerator
from alphamine.generate.themes import ThemeSampler
from alphamine.generate.variants import generic_variants
from alphamine.pipeline import decide as D
from alphamine.pipeline.context import RunContext
from alphamine.pipeline.simulating import simulate_rows
from alphamine.sim.checks import PoolEntry
from alphamine.store import CandidateRow, ResultRow
from alphamine.store.status import UNSIMULATED_STATUSES
from alphamine.store.status import CandidateStatus as CS

DERIVED = ("variant:", "optimizer:")


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
    )


def add_candidates(rc: RunContext, iteration: int, cands: Sequence[Candidate], conn: Any = None) -> list[int]:
    """Insert candidates that this run does not have yet (same canonical expression and settings),
    including ones earlier in `cands` (not yet committed, so the store cannot see them)."""
    ids = []
    seen: set[tuple[str, str]] = set()
    for cand in cands:
        try:
            text = canonical(cand.expression)
            program = parse(text)
        except Exception:  # a generator bug must not stop the run: INSPECT would reject it anyway
            text, program = cand.expression, None
        h = structural_hash(text) if program is not None else f"unparsed:{text}"
        key = (h, cand.settings.key())
        if key in seen or rc.store.find_candidate(h, key[1], run_id=rc.run_id, conn=conn) is not None:
            continue
        seen.add(key)
        fields = sorted(fields_used(program, rc.catalogue)) if program is not None else []
        ops = sorted(operators_used(program)) if program is not None else []
        ids.append(
            rc.store.add_candidate(
                rc.run_id, iteration, cand, canonical=text, expr_hash=h, fields=fields, operators=ops, conn=conn
            )
        )
    return ids


# ---------------------------------------------------------------------------------------------- GENERATE
def generate(rc: RunContext, iteration: int) -> dict[str, Any]:
    ctx = generation_context(rc, iteration, "GENERATE")
    sampler = ThemeSampler([TemplateGenerator(), FieldFactory()])
    cands = rotate_neutralization(sampler.generate(ctx, rc.config.candidates_per_iteration), ctx)
    with rc.store.transaction() as conn:
        ids = add_candidates(rc, iteration, cands, conn=conn)
        rc.store.finish_stage(rc.run_id, iteration, "GENERATE", {"generated": len(ids)}, conn=conn)
    rc.say(f"  GENERATE: {len(ids)} candidates")
    return {"generated": len(ids)}


# ---------------------------------------------------------------------------------------------- INSPECT
def inspect_rows(rc: RunContext, rows: Sequence[CandidateRow], conn: Any) -> dict[str, int]:
    """Lint, settings validation and cross-run dedup of `generated` candidates -> queued / invalid /
    duplicate."""
    counts = {"queued": 0, "invalid": 0, "duplicate": 0}
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
        earlier = rc.store.find_candidate(row.expr_hash, row.settings_key)
        if earlier is not None and earlier.id != row.id and earlier.run_id != rc.run_id:
            rc.store.set_candidate_status(
                [row.id], CS.DUPLICATE, reason=f"same as #{earlier.id} of run {earlier.run_id}", conn=conn
            )
            counts["duplicate"] += 1
            continue
        rc.store.set_candidate_status([row.id], CS.QUEUED, reason="lint clean", conn=conn)
        counts["queued"] += 1
    return counts


def inspect(rc: RunContext, iteration: int) -> dict[str, Any]:
    rows = rc.store.candidates(run_id=rc.run_id, status=CS.GENERATED, iteration=iteration)
    with rc.store.transaction() as conn:
        counts = inspect_rows(rc, rows, conn)
        rc.store.finish_stage(rc.run_id, iteration, "INSPECT", counts, conn=conn)
    rc.say(f"  INSPECT: {counts['queued']} queued, {counts['invalid']} invalid, {counts['duplicate']} duplicates")
    return counts


# ---------------------------------------------------------------------------------------------- SIMULATE
def simulate(rc: RunContext, iteration: int) -> dict[str, Any]:
    rows = rc.store.candidates(run_id=rc.run_id, status=CS.QUEUED, iteration=iteration)
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
    queued = [
        r
        for r in rc.store.candidates(run_id=rc.run_id, status=CS.QUEUED, iteration=iteration)
        if r.generator.startswith(DERIVED)
    ]
    sims = simulate_rows(rc, iteration, stage, queued)
    return {**counts, **sims}


def ranked(rows: Sequence[CandidateRow], results: dict[int, ResultRow], key: str = "fitness") -> list[CandidateRow]:
    have = [r for r in rows if r.id in results]
    return sorted(have, key=lambda r: (-abs(results[r.id].metrics["is"][key]), r.id))


# ---------------------------------------------------------------------------------------------- VARIANT_SEARCH
def variant_search(rc: RunContext, iteration: int) -> dict[str, Any]:
    rows = [
        r
        for r in rc.store.candidates(run_id=rc.run_id, iteration=iteration)
        if not r.generator.startswith(DERIVED) and r.status not in (*UNSIMULATED_STATUSES, CS.FAILED)
    ]
    results = results_of(rc, rows)
    good = [r for r in ranked(rows, results) if abs(results[r.id].metrics["is"]["sharpe"]) >= D.PROMISING_SHARPE / 2]
    parents = D.prune_correlated([r.id for r in good], {r.id: results[r.id].pnl_series() for r in good})
    parents = parents[: rc.config.max_variant_alphas]
    by_id = {r.id: r for r in rows}
    ctx = generation_context(rc, iteration, "VARIANT_SEARCH")
    pairs = []
    for pid in parents:
        res = results[pid]
        ev = D.evidence(res.metrics["is"], res.checks, rc.universe_size)
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
        v = D.decide(res.metrics["is"], res.checks)
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
        if not r.generator.startswith("optimizer:")
    ]
    results = results_of(rc, rows)
    order = ranked(rows, results)[: rc.config.max_enhance_alphas]
    ctx = generation_context(rc, iteration, "ENHANCE")
    pairs = []
    for row in order:
        res = results[row.id]
        ev = D.evidence(res.metrics["is"], res.checks, rc.universe_size)
        proposals: list[Candidate] = []
        for opt in triggered_optimizers(ev):
            proposals += opt.propose(row.to_candidate(), ev, ctx, max(1, rc.config.max_variants_per_alpha // 2))
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


# ---------------------------------------------------------------------------------------------- SUBMIT_GATE
def pool_entry(row: CandidateRow, res: ResultRow) -> PoolEntry:
    dates, pnl = res.pnl_series()
    return PoolEntry(name=f"#{row.id}", dates=dates, pnl=pnl, sharpe=res.sharpe)


def platform_checks(rc: RunContext, res: ResultRow) -> list[dict[str, Any]] | None:
    """The checks the gate judges: on the platform, the platform's own (`GET /alphas/{id}/check`, with
    SELF_CORRELATION recomputed locally against the pool and PROD_CORRELATION left PENDING unless
    asked for); None when the platform cannot answer (network, session): `incomplete`, never a
    verdict. Locally, the stored simulation checks."""
    if rc.backend_name != "brain":
        return list(res.checks)
    from alphamine.backends.brain import ChecksUnavailable

    alpha_id = res.metrics["is"].get("alphaId")
    if not alpha_id:
        return list(res.checks)
    try:
        checks = rc.simulator().checks(str(alpha_id))
    except ChecksUnavailable:
        return None
    return list(checks) if checks else list(res.checks)


def run_gate(rc: RunContext, conn: Any) -> dict[str, int]:
    """Mark candidates ready (all checks incl. SELF_CORRELATION against the accepted pool of the same
    region and data), revoke readiness that no longer holds, never submit."""
    region = rc.settings.region
    counts = {"ready": 0, "not_ready": 0, "revoked": 0}
    pool: list[tuple[CandidateRow, ResultRow]] = []
    for row, res in rc.store.ready_pool(region=region):
        if res.data_fingerprint != rc.fingerprint:
            continue  # another dataset: not comparable, left alone
        checks = D.gate_checks(
            res.checks, res.dates, res.pnl, res.is_range, res.first, res.sharpe, [pool_entry(r, x) for r, x in pool]
        )
        v = D.gate_verdict(checks)
        if v.status != CS.READY:
            rc.store.set_candidate_status(
                [row.id], CS.PROMISING, reason="readiness revoked: " + "; ".join(v.reasons), conn=conn
            )
            rc.store.record_gate(row.id, rc.run_id, checks=checks, verdict="revoked", reasons=v.reasons, conn=conn)
            counts["revoked"] += 1
        else:
            pool.append((row, res))
    pending = rc.store.candidates(run_id=rc.run_id, status=CS.GATE_PENDING)
    results = results_of(rc, pending)
    for row in ranked(pending, results):
        res = results[row.id]
        stored = platform_checks(rc, res)
        if stored is None:  # the platform did not answer: no quality verdict, the candidate waits
            reason = "gate incomplete: the platform's checks are unavailable; run `alphamine gate` later"
            rc.store.record_gate(row.id, rc.run_id, checks=[], verdict="incomplete", reasons=(reason,), conn=conn)
            counts["incomplete"] = counts.get("incomplete", 0) + 1
            continue
        checks = D.gate_checks(
            stored, res.dates, res.pnl, res.is_range, res.first, res.sharpe, [pool_entry(r, x) for r, x in pool]
        )
        v = D.gate_verdict(checks)
        rc.store.record_gate(row.id, rc.run_id, checks=checks, verdict=v.status, reasons=v.reasons, conn=conn)
        rc.store.set_candidate_status([row.id], v.status, reason="; ".join(v.reasons), conn=conn)
        if v.status == CS.READY:
            pool.append((row, res))
            counts["ready"] += 1
        else:
            counts["not_ready"] += 1
    return counts


def submit_gate(rc: RunContext, iteration: int) -> dict[str, Any]:
    with rc.store.transaction() as conn:
        counts = run_gate(rc, conn)
        rc.store.finish_stage(rc.run_id, iteration, "SUBMIT_GATE", counts, conn=conn)
    rc.say(
        f"  SUBMIT_GATE: {counts['ready']} ready, {counts['not_ready']} held back, {counts['revoked']} revoked "
        "(nothing is submitted)"
    )
    return counts

"""SUBMIT_GATE: decide which `gate_pending` candidates are ready. Never submits anything.

Order of business (docs/pipeline.md, docs/research.md):
1. re-check the store's ready pool (same region and data) and revoke readiness that no longer holds;
2. judge the pending candidates best-first by `trial_gate.gate_score` (the smaller of search and
   validation fitness): the platform-style checks with SELF_CORRELATION against the pool as it grows
   (so the ready set is chosen greedily under the 0.7 PnL-correlation rule), plus, in trial-aware mode,
   the trial-aware checks (`trial_gate`);
3. trial-aware mode: hold back the lowest-scoring members of any lineage family holding more than
   `max_family_share` of the run's ready set.
"""

from __future__ import annotations

import json
import os
from typing import Any

from alphamine.pipeline import decide as D
from alphamine.pipeline.context import RunContext
from alphamine.pipeline.trial_gate import gate_score, over_cap, run_trials, trial_checks
from alphamine.sim.checks import SELF_CORRELATION_LIMIT, PoolEntry, check
from alphamine.store import CandidateRow, ResultRow
from alphamine.store.status import CandidateStatus as CS


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


def diversity_check(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """READY_SET_CORRELATION: the platform's SELF_CORRELATION lets a correlated alpha in when its Sharpe
    is 1.1x higher; the trial-aware gate keeps the ready set pairwise below the limit without that
    exception (a diverse set outlives a regime; 1.1x Sharpe in-sample is within noise)."""
    sc = next((c for c in checks if c.get("name") == "SELF_CORRELATION"), None)
    if sc is None or sc.get("result") == "PENDING":
        return check("READY_SET_CORRELATION", "PENDING", SELF_CORRELATION_LIMIT)
    value = float(sc.get("value") or 0.0)
    ok = value < SELF_CORRELATION_LIMIT
    extra = {"correlatedWith": sc["correlatedWith"]} if "correlatedWith" in sc else {}
    return check("READY_SET_CORRELATION", "PASS" if ok else "FAIL", SELF_CORRELATION_LIMIT, value, **extra)


def _results(rc: RunContext, rows: list[CandidateRow]) -> dict[int, ResultRow]:
    return rc.store.results_for([r.id for r in rows], backend=rc.backend_name)


def _revoke_stale_pool(rc: RunContext, conn: Any, counts: dict[str, int]) -> list[tuple[CandidateRow, ResultRow]]:
    pool: list[tuple[CandidateRow, ResultRow]] = []
    for row, res in rc.store.ready_pool(region=rc.settings.region):
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
    return pool


def run_gate(rc: RunContext, conn: Any) -> dict[str, int]:
    """Mark candidates ready (see the module doc), revoke readiness that no longer holds, never submit."""
    gate = rc.config.gate
    counts = {"ready": 0, "not_ready": 0, "revoked": 0}
    pool = _revoke_stale_pool(rc, conn, counts)
    pending = rc.store.candidates(run_id=rc.run_id, status=CS.GATE_PENDING)
    results = _results(rc, pending)
    trials = None
    if gate.trial_aware and pending:
        everything = rc.store.candidates(run_id=rc.run_id)
        trials = run_trials(everything, _results(rc, everything))
    order = sorted((r for r in pending if r.id in results), key=lambda r: (-gate_score(results[r.id]), r.id))
    for row in order:
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
        if trials is not None:
            checks += [*trial_checks(row, res, trials, gate, stored, rc.field_staleness()), diversity_check(checks)]
        v = D.gate_verdict(checks)
        rc.store.record_gate(row.id, rc.run_id, checks=checks, verdict=v.status, reasons=v.reasons, conn=conn)
        rc.store.set_candidate_status([row.id], v.status, reason="; ".join(v.reasons), conn=conn)
        if v.status == CS.READY:
            pool.append((row, res))
            counts["ready"] += 1
        else:
            counts["not_ready"] += 1
    if gate.trial_aware:
        counts["family_capped"] = _cap_families(rc, conn)
        counts["ready"] -= min(counts["ready"], counts["family_capped"])
    return counts


def _cap_families(rc: RunContext, conn: Any) -> int:
    """Hold back ready candidates of the run so no lineage family holds more than its share."""
    ready = rc.store.candidates(run_id=rc.run_id, status=CS.READY, conn=conn)
    if not ready:
        return 0
    results = rc.store.results_for([r.id for r in ready], backend=rc.backend_name, conn=conn)
    families: dict[int, list[tuple[float, int]]] = {}
    for r in ready:
        root = r.root_id if r.root_id is not None else r.id
        families.setdefault(root, []).append((gate_score(results[r.id]) if r.id in results else 0.0, r.id))
    dropped = over_cap(families, rc.config.gate.max_family_share)
    root_of = {r.id: (r.root_id if r.root_id is not None else r.id) for r in ready}
    for cid in dropped:
        reason = (f"gate: lineage family #{root_of[cid]} would hold more than "
                  f"{rc.config.gate.max_family_share:.0%} of the ready set (diversity); a better sibling stays")
        rc.store.record_gate(cid, rc.run_id, checks=[], verdict=CS.PROMISING, reasons=(reason,), conn=conn)
        rc.store.set_candidate_status([cid], CS.PROMISING, reason=reason, conn=conn)
    return len(dropped)


CRITIC_NOTES = "critic_notes.json"


def critic_notes(rc: RunContext) -> dict[str, str]:
    """With LLM agents: the critic's novelty note on each ready alpha of the run that has none yet,
    kept in `artifacts/critic_notes.json` ({candidate id: note}; the report's candidate pages show them)."""
    path = rc.artifacts_dir / CRITIC_NOTES
    try:
        notes: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        notes = {}
    if rc.agents is None:
        return notes
    changed = False
    for row in rc.store.candidates(run_id=rc.run_id, status=CS.READY):
        if str(row.id) not in notes:
            note = rc.agents.note(row)
            if note:
                notes[str(row.id)] = note
                changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(notes, indent=2), encoding="utf-8")
        os.replace(tmp, path)
    return notes


def submit_gate(rc: RunContext, iteration: int) -> dict[str, Any]:
    with rc.store.transaction() as conn:
        counts = run_gate(rc, conn)
        rc.store.finish_stage(rc.run_id, iteration, "SUBMIT_GATE", counts, conn=conn)
    critic_notes(rc)
    capped = f", {counts['family_capped']} held back for diversity" if counts.get("family_capped") else ""
    rc.say(
        f"  SUBMIT_GATE: {counts['ready']} ready, {counts['not_ready']} held back{capped}, "
        f"{counts['revoked']} revoked (nothing is submitted)"
    )
    return counts

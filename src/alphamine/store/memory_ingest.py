"""What one run contributes to the alpha memory: its candidates as evidence rows, read from the store.

Why apart from `store.memory`: this side knows the main store (its tables, the status history, gate
records, lineage) and the generators' conventions (`repair:<CHECK>`, `optimizer:<Name>`); the memory
file only stores and aggregates the rows built here. `collect` reads the store and never writes it.

Learned repairs: a child with generator `repair:<CHECK>` is judged on CHECK; an `optimizer:<Name>`
child on the checks of `OPTIMIZER_CHECKS[Name]` that its parent failed (an optimizer not listed: every
check its parent failed except the `HARD_CHECKS`, which no local edit fixes). The verdict is the
check in the child's simulation, else in its latest gate record that judged checks (SELF_CORRELATION is
PENDING in a simulation): PASS or WARNING = fixed, FAIL = not fixed, no verdict = NULL (the child was
not simulated, or the check was not judged). The move is `research.repair_table.repaired`'s for a
repair child, `<Name>:<params["change"]>` for an optimizer child.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from alphamine.research.repair_table import FAILING, PASSING, REPAIR_PREFIX, repaired
from alphamine.store.base import chunks, utcnow
from alphamine.store.errors import NotFoundError
from alphamine.store.memory_schema import (
    HARD_CHECKS,
    INVALID,
    LEARNABLE,
    UNDECIDED,
    UNTESTED,
    candidate_keys,
    cheap_catalogue,
    classify,
    failing,
    run_dataset,
)
from alphamine.store.schema import CANDIDATES, GATE_CHECKS, RUNS, SIM_RESULTS
from alphamine.store.status import CandidateStatus

if TYPE_CHECKING:
    from alphamine.store import Store
    from alphamine.store.rows import CandidateRow

OPTIMIZER_PREFIX = "optimizer:"
OPTIMIZER_CHECKS: dict[str, tuple[str, ...]] = {
    "HighTurnover": ("HIGH_TURNOVER",),
    "LowTurnover": ("LOW_TURNOVER",),
    "ShortFlip": ("LOW_SHARPE", "LOW_FITNESS"),
    "LowFitness": ("LOW_FITNESS",),
    "CoverageRepairer": ("CONCENTRATED_WEIGHT",),
    "Correlation": ("SELF_CORRELATION",),
}
"""The checks each named optimizer (`generate.optimizers`) is meant to repair."""


@dataclass(frozen=True)
class RunEvidence:
    """Rows for the memory's tables: `run` (memory_runs), one `evidence` row per candidate, its `keys`
    (one per kind and value, failure modes included) and its `repairs` (one per judged check)."""

    run: dict[str, Any]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)


def collect(store: Store, run_id: str, catalogue: Mapping[str, Any] | None = None) -> RunEvidence:
    """Every candidate of `run_id` as evidence (`memory_schema` says how each counts). `catalogue` names
    field families (the run's own, when the caller has it); None: `cheap_catalogue`, then names.
    `NotFoundError` for an unknown run."""
    run = store.get_run(run_id)
    if run is None:
        raise NotFoundError(f"no run {run_id!r} in {store.where}")
    rows = store.candidates(run_id=run_id)
    dataset = run_dataset(run.config)
    cat = catalogue if catalogue is not None else cheap_catalogue(run.config)
    parents = {r.parent_id for r in rows if r.parent_id is not None and _is_repair(r.generator)}
    sims, gates = _checks(store, [*(r.id for r in rows), *(p for p in parents if p is not None)])
    out = RunEvidence(run={})
    for r in rows:
        last = str((r.reasons[-1].get("reason") if r.reasons else "") or "")
        o = classify(r.status, last, sims.get(r.id), gates.get(r.id))
        k = candidate_keys(r, dataset=dataset, catalogue=cat)
        ident = {"run_id": run_id, "candidate_id": r.id}
        out.evidence.append({**ident, "dataset": dataset, "region": k.region, "observed_at": r.updated_at,
                             "status": r.status, "pool": o.pool, "outcome": o.outcome, "hard": int(o.hard),
                             "expression": r.expression})
        pairs = [*((kind, v) for kind, values in k.dimensions() for v in values),
                 *(("failure_mode", m) for m in o.failure_modes)]
        out.keys.extend({**ident, "kind": kind, "value": v} for kind, v in dict.fromkeys(pairs))
        if r.parent_id is None or not _is_repair(r.generator):
            continue
        for check in _targets(r, [*failing(sims.get(r.parent_id)), *failing(gates.get(r.parent_id))]):
            fixed = _verdict(check, sims.get(r.id)) if r.id in sims else None
            if fixed is None and r.id in sims:
                fixed = _verdict(check, gates.get(r.id))
            out.repairs.append({**ident, "check_name": check, "move": _move(r), "fixed": fixed,
                                "dataset": dataset, "region": k.region})
    pools = [e["pool"] for e in out.evidence]
    learned = [float(e["outcome"]) for e in out.evidence if e["pool"] == LEARNABLE]
    settings = run.config.get("settings") or {}
    out.run.update({
        "run_id": run_id, "dataset": dataset, "region": str(settings.get("region") or "USA").upper(),
        "run_created_at": run.created_at, "ingested_at": utcnow(),
        **{p: pools.count(p) for p in (LEARNABLE, INVALID, UNDECIDED, UNTESTED)},
        "ready": sum(e["status"] == CandidateStatus.READY for e in out.evidence),
        "hard": sum(e["hard"] for e in out.evidence),
        "mean_outcome": sum(learned) / len(learned) if learned else None,
    })
    return out


def _is_repair(generator: str) -> bool:
    return generator.startswith((REPAIR_PREFIX, OPTIMIZER_PREFIX))


def _targets(row: CandidateRow, parent_fails: Sequence[str]) -> list[str]:
    """The checks a repair child is judged on (module doc)."""
    if row.generator.startswith(REPAIR_PREFIX):
        return [repaired(row)[0]]
    aims = OPTIMIZER_CHECKS.get(row.generator[len(OPTIMIZER_PREFIX):])
    return [c for c in dict.fromkeys(parent_fails) if (c in aims if aims else c not in HARD_CHECKS)]


def _move(row: CandidateRow) -> str:
    if row.generator.startswith(REPAIR_PREFIX):
        return repaired(row)[1]
    change = row.params.get("change")
    name = row.generator[len(OPTIMIZER_PREFIX):]
    return f"{name}:{change}" if change else name


def _verdict(check: str, checks: Iterable[Mapping[str, Any]] | None) -> bool | None:
    for c in checks or ():
        if c.get("name") == check:
            result = str(c.get("result", "")).upper()
            return True if result in PASSING else False if result in FAILING else None
    return None


def _checks(store: Store, ids: Sequence[int]) -> tuple[dict[int, list[Any]], dict[int, list[Any]]]:
    """({candidate: its simulation's checks}, {candidate: checks of its latest gate record that judged
    checks}), read straight from the store's tables (no PnL array is decoded). A candidate's result is
    the one on its run's data; with several backends', the first stored (as `Store.results_for`)."""
    C, R, G = CANDIDATES.c, SIM_RESULTS.c, GATE_CHECKS.c
    sims: dict[int, list[Any]] = {}
    gates: dict[int, list[Any]] = {}
    fp = RUNS.c.data_fingerprint
    same = (R.expr_hash == C.expr_hash) & (R.settings_key == C.settings_key) & (R.data_fingerprint == fp)
    with store.engine.connect() as c, c.begin():
        for part in chunks(list(dict.fromkeys(ids))):
            q = (select(C.id, R.checks).select_from(CANDIDATES).join(RUNS, RUNS.c.run_id == C.run_id)
                 .join(SIM_RESULTS, same).where(C.id.in_(part)).order_by(R.id))
            for cid, checks in c.execute(q):
                sims.setdefault(int(cid), list(checks or []))
            gq = select(G.candidate_id, G.checks).where(G.candidate_id.in_(part)).order_by(G.id)
            for cid, checks in c.execute(gq):
                if checks:
                    gates[int(cid)] = list(checks)
    return sims, gates

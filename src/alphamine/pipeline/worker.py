"""`alphamine worker`: drain a run's queue in claimed batches, from any number of processes at once.

Why next to the controller (which walks one run's stages in one process): a long session wants several
processes, or machines sharing a PostgreSQL store, emptying one queue, refilling it when it runs dry
and steering it with a periodic repair pass, coordinated through the store only. A batch is claimed
atomically (`store.claims`), simulated by `simulate_rows` (a batch's results and statuses commit
together) and decided by `decide_rows` in the transaction that releases the claims. A killed worker
loses at most its batch in flight: its claims expire after the TTL and others take them; a batch killed
between its two commits is `simulated` but undecided, and workers decide those first. No candidate is
simulated twice: a claimed one is invisible to other claimers, and a stored result is reused.

Contracts of `run_worker`:
- `mode="drain"` claims until the queue is empty (waiting while others still hold claims on it);
  `"once"` does one batch. `max_total` caps, exactly, the queued candidates this worker takes
  (simulated, reused or failed): the last claim is cut to what is left.
- Retryable platform failures (`pipeline.retry`) are queued again, `MAX_ATTEMPTS` simulations at most.
- `refill_on_empty`: nothing claimable (even if others still hold claims) gets a new iteration (GENERATE
  + INSPECT, then a field-factory sweep when the generators only repeat themselves), `max_empty_refills`
  times at most.
- Every `optimize_every` candidates, `optimize_pass` over those just decided: repairable parents are
  tagged (`OPTIMIZE_TAGS`) and their children queued above the run's top priority.
- The run's `max_sim_alphas` (any backend) caps what all its workers take: each claim is cut to the
  budget left (`budget_left`: what reached a simulation and what other workers hold, counted in the
  store at each claim), and the worker stops (`stopped="budget"`) when none is left. Two workers
  claiming at the very same moment may still overshoot on a local run; a platform run's shared budget
  (`brain.usage`) holds exactly.
- SIGTERM finishes the batch in flight, releases its claims and returns; Ctrl-C drops the batch (none
  of it commits) and releases its claims. Platform runs claim at most the free leases (`brain.leases`).
- Flat memory: nothing of a batch is kept once it is committed (the CLI's --batch-log shows RSS).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace

from alphamine.generate.candidate import Candidate, Evidence, GenerationContext
from alphamine.generate.mutate import candidate_key
from alphamine.generate.optimizers import HighTurnover, ShortFlip
from alphamine.generate.repairs import propose_repairs, repairable_failures
from alphamine.pipeline import stages as S
from alphamine.pipeline.context import RunContext
from alphamine.pipeline.refill import RefillAhead, refill
from alphamine.pipeline.retry import failure_kind, last_reason
from alphamine.pipeline.simulating import simulate_rows
from alphamine.store import CandidateRow, Store
from alphamine.store.base import chunks
from alphamine.store.status import SIMULATED_STATUSES
from alphamine.store.status import CandidateStatus as CS

SPENT_STATUSES = (*SIMULATED_STATUSES, CS.FAILED)
"""Candidates that reached a simulation: what `--max-sim-alphas` counts."""
STAGE = "WORKER"  # the tasks (batches) a worker records
DEFAULT_TTL = 120.0
MAX_ATTEMPTS = 3  # simulations of one candidate a retryable failure may cost, in all
RECOVER_BATCH = 500
REPAIR_TAGS = {
    "LOW_FITNESS": "repair_low_fitness",
    "LOW_SUB_UNIVERSE_SHARPE": "repair_subuniverse",
    "CONCENTRATED_WEIGHT": "repair_weight_concentration",
    "HIGH_TURNOVER": "turnover_control_candidate",
}
SHORT_FLIP_TAG, TURNOVER_TAG = "short_flip_candidate", "turnover_control_candidate"
OPTIMIZE_TAGS = frozenset({*REPAIR_TAGS.values(), SHORT_FLIP_TAG})
PARENT_STATUSES = (CS.SIMULATED, CS.PROMISING, CS.REJECTED)
_SHORT_FLIP, _HIGH_TURNOVER = ShortFlip(), HighTurnover()


@dataclass
class WorkerReport:
    """What one `run_worker` call did; `stopped` is why it returned: empty | max_total | budget | once |
    signal."""

    worker: str
    run_id: str
    mode: str
    batches: int = 0
    taken: int = 0  # queued candidates claimed and processed (what max_total counts)
    simulated: int = 0
    reused: int = 0
    failed: int = 0
    decided: dict[str, int] = field(default_factory=dict)
    recovered: int = 0  # undecided candidates of killed workers, decided here
    requeued: int = 0  # retryable failures queued again
    refills: int = 0
    refill_queued: int = 0
    checkpoints: int = 0
    tagged: int = 0
    enqueued: int = 0
    stopped: str = ""
    seconds: float = 0.0
    refill_seconds: float = 0.0  # of `seconds`, in refills (GENERATE + INSPECT + field factory)
    optimize_seconds: float = 0.0  # of `seconds`, in optimization checkpoints


@contextmanager
def _sigterm_sets(stop: threading.Event) -> Iterator[None]:
    """SIGTERM sets `stop` (the loop ends after the batch in flight) instead of killing the process."""
    try:
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    except ValueError:  # not the main thread: the caller stops us through `stop`
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _heartbeat(store: Store, worker: str, ids: Sequence[int], ttl: float) -> Iterator[None]:
    """Renew a batch's claims every ttl/3 from a thread while the block (the simulation) runs."""
    done = threading.Event()

    def beat() -> None:
        while not done.wait(ttl / 3):
            with suppress(Exception):  # a busy store: the next beat retries well inside the TTL
                store.heartbeat(worker, ids, ttl)

    thread = threading.Thread(target=beat, name="claims-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def lease_room(rc: RunContext) -> int | None:
    """Free alpha slots in the platform's shared lease file (None: the backend has no leases)."""
    leases = getattr(rc.backend, "leases", None)
    return None if leases is None else int(leases.free_slots())


def run_worker(
    rc: RunContext,
    *,
    mode: str = "drain",
    max_total: int | None = None,
    refill_on_empty: bool = False,
    max_empty_refills: int = 3,
    optimize_every: int = 500,
    optimize_max_parents: int = 10,
    optimize_max_variants: int = 4,
    batch_size: int | None = None,
    claim_ttl: float = DEFAULT_TTL,
    worker_id: str | None = None,
    stop: threading.Event | None = None,
    on_batch: Callable[[WorkerReport, int, float], None] | None = None,
) -> WorkerReport:
    """Drain run `rc.run_id`'s queue (module doc); returns what was done."""
    if mode not in ("drain", "once"):
        raise ValueError(f"mode must be drain or once (got {mode!r})")
    store, t0 = rc.store, time.perf_counter()
    report = WorkerReport(worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}", rc.run_id, mode)
    stop = stop or threading.Event()
    size = max(1, batch_size or rc.config.batch_size)
    poll = min(1.0, max(0.05, claim_ttl / 10))
    window: list[int] = []  # ids decided since the last checkpoint (bounded by optimize_every + a batch)
    ahead = RefillAhead()
    with _sigterm_sets(stop), ahead:
        report.recovered += recover_undecided(rc, report.worker, claim_ttl)
        report.requeued += requeue_retryable(rc)
        while not stop.is_set():
            want = size if max_total is None else min(size, max_total - report.taken)
            if want <= 0:
                report.stopped = "max_total"
                break
            left = budget_left(rc)
            if left is not None and left <= 0:
                report.stopped = "budget"
                break
            want = want if left is None else min(want, left)
            room = lease_room(rc)
            if room is not None and room < 1:
                stop.wait(poll)
                continue
            rows = store.claim_batch(rc.run_id, report.worker, want if room is None else min(want, room), claim_ttl)
            if not rows and ahead.join(report):
                continue  # the refill running ahead queued more
            if not rows:
                if _on_empty(rc, report, refill_on_empty, max_empty_refills, claim_ttl):
                    continue
                queued, _ = store.queue_depth(rc.run_id)
                _, held = store.queue_depth(rc.run_id, statuses=(CS.SIMULATED,))
                if mode == "drain" and (queued or held):  # other workers (maybe dead ones) hold the rest
                    stop.wait(poll)
                    continue
                report.stopped = "empty"
                break
            if refill_on_empty and mode == "drain" and report.refills + ahead.started < max_empty_refills:
                ahead.maybe_start(rc, report, size, None if max_total is None else max_total - report.taken - len(rows))
            _process(rc, report, rows, claim_ttl, on_batch)
            window.extend(r.id for r in rows)
            if optimize_every and len(window) >= optimize_every:
                t1 = time.perf_counter()
                opt = optimize_pass(
                    rc, candidate_ids=window, max_parents=optimize_max_parents, max_variants=optimize_max_variants
                )
                report.checkpoints += 1
                report.tagged, report.enqueued = report.tagged + opt.tagged, report.enqueued + opt.queued
                report.optimize_seconds += time.perf_counter() - t1
                window = []
            if mode == "once":
                report.stopped = "once"
                break
        else:
            report.stopped = "signal"
    report.seconds = time.perf_counter() - t0
    return report


def budget_left(rc: RunContext) -> int | None:
    """Simulations the run's `max_sim_alphas` still allows (None: no budget): the budget less the run's
    candidates that reached a simulation (simulated, decided or failed) and the queued ones other
    workers hold claims on (about to be simulated)."""
    if rc.config.max_sim_alphas is None:
        return None
    spent, _ = rc.store.queue_depth(rc.run_id, statuses=SPENT_STATUSES)
    _, held = rc.store.queue_depth(rc.run_id)
    return max(0, rc.config.max_sim_alphas - spent - held)


def _on_empty(rc: RunContext, report: WorkerReport, refill_on_empty: bool, max_refills: int, ttl: float) -> bool:
    """Nothing claimable: decide leftovers, retry retryable failures, else refill. True: claim again."""
    recovered = recover_undecided(rc, report.worker, ttl)
    requeued = requeue_retryable(rc)
    report.recovered, report.requeued = report.recovered + recovered, report.requeued + requeued
    if requeued:
        return True
    if refill_on_empty and report.refills < max_refills:
        t0 = time.perf_counter()
        report.refills, report.refill_queued = report.refills + 1, report.refill_queued + refill(rc)
        report.refill_seconds += time.perf_counter() - t0
        return True
    return False


def _process(
    rc: RunContext, report: WorkerReport, rows: Sequence[CandidateRow], ttl: float,
    on_batch: Callable[[WorkerReport, int, float], None] | None,
) -> None:
    """Simulate one claimed batch, decide it and release its claims with the decisions."""
    t0, ids = time.perf_counter(), [r.id for r in rows]
    try:
        with _heartbeat(rc.store, report.worker, ids, ttl):
            counts = simulate_rows(rc, max(r.iteration for r in rows), STAGE, rows)
        with rc.store.transaction() as conn:
            decided = S.decide_rows(rc, rows, conn)
            rc.store.release(report.worker, ids, conn=conn)
    except BaseException:
        rc.store.release(report.worker, ids)  # others may take them at once; nothing of the batch committed
        raise
    report.batches, report.taken = report.batches + 1, report.taken + len(rows)
    for key in ("simulated", "reused", "failed"):
        setattr(report, key, getattr(report, key) + counts[key])
    for k, v in decided.items():
        report.decided[k] = report.decided.get(k, 0) + v
    rc.say(f"  worker batch {report.batches}: {len(rows)} claimed, {counts} -> {decided}")
    if on_batch is not None:
        on_batch(report, len(rows), time.perf_counter() - t0)


def recover_undecided(rc: RunContext, worker: str, ttl: float) -> int:
    """Decide `simulated` candidates nobody holds (a worker killed between its batch's two commits,
    or a controller stopped before DECIDE); returns how many got a verdict."""
    total = 0
    while True:
        rows = rc.store.claim_batch(rc.run_id, worker, RECOVER_BATCH, ttl, statuses=(CS.SIMULATED,))
        if not rows:
            return total
        with rc.store.transaction() as conn:
            n = sum(S.decide_rows(rc, rows, conn).values())
            rc.store.release(worker, [r.id for r in rows], conn=conn)
        total += n
        if n == 0:  # simulated without a result of this backend: nothing to decide here
            return total


def requeue_retryable(rc: RunContext) -> int:
    """Queue again failed candidates whose failure is retryable (`pipeline.retry`) and that failed fewer
    than `MAX_ATTEMPTS` times; one transaction, so concurrent workers requeue each once."""
    with rc.store.transaction() as conn:
        again = [
            r.id
            for r in rc.store.candidates(run_id=rc.run_id, status=CS.FAILED, conn=conn)
            if failure_kind(last_reason(r)) is not None
            and sum(e.get("status") == CS.FAILED for e in r.reasons) < MAX_ATTEMPTS
        ]
        if again:
            rc.store.set_candidate_status(again, CS.QUEUED, reason="worker: retryable failure", conn=conn)
    return len(again)


# ---------------------------------------------------------------------------------------------- optimize
@dataclass
class OptimizePlan:
    parent_id: int
    expression: str
    tags: list[str]
    children: list[Candidate]


@dataclass
class OptimizeReport:
    examined: int = 0
    plans: list[OptimizePlan] = field(default_factory=list)
    tagged: int = 0
    queued: int = 0  # children queued (the others were invalid or duplicates)
    dry_run: bool = False


def repair_tags(ev: Evidence) -> list[str]:
    """The optimization tags the search-period evidence earns (empty: nothing to repair)."""
    tags = [REPAIR_TAGS[c] for c in repairable_failures(ev) if c in REPAIR_TAGS]
    if _SHORT_FLIP.triggered(ev):
        tags.append(SHORT_FLIP_TAG)
    if TURNOVER_TAG not in tags and _HIGH_TURNOVER.triggered(ev):
        tags.append(TURNOVER_TAG)
    return tags


def propose_children(parent: Candidate, ev: Evidence, ctx: GenerationContext, max_n: int) -> list[Candidate]:
    """Up to `max_n` children: check-matched repairs, the sign flip and turnover control, taken
    round-robin so each tag gets its best move first; unique, none equal to the parent."""
    fails = [c for c in repairable_failures(ev) if c in REPAIR_TAGS]
    groups = [propose_repairs(parent, fails, ev, ctx, max_n)] if fails else []
    if _SHORT_FLIP.triggered(ev):
        groups.append(_SHORT_FLIP.propose(parent, ev, ctx, max_n))
    if "HIGH_TURNOVER" not in fails and _HIGH_TURNOVER.triggered(ev):
        groups.append(_HIGH_TURNOVER.propose(parent, ev, ctx, max_n))
    seen, out = {candidate_key(parent)}, list[Candidate]()
    for k in range(max(map(len, groups), default=0)):
        for g in groups:
            if k < len(g) and len(out) < max_n and candidate_key(g[k]) not in seen:
                seen.add(candidate_key(g[k]))
                out.append(g[k])
    return out


def optimize_pass(
    rc: RunContext, *, candidate_ids: Sequence[int] | None = None, max_parents: int = 10, max_variants: int = 4,
    dry_run: bool = False,
) -> OptimizeReport:
    """Tag the best repairable parents (by |search fitness|) among `candidate_ids` (None: the whole
    run) and queue their children above the run's top priority, all in one transaction. Parents are
    decided, untagged candidates not themselves repairs or optimizer children; a parent another
    worker tagged meanwhile is skipped. `dry_run` computes the plans and writes nothing."""
    out = OptimizeReport(dry_run=dry_run)
    if candidate_ids is None:
        rows = rc.store.candidates(run_id=rc.run_id, status=list(PARENT_STATUSES))
    else:
        rows = [rc.store.get_candidate(i) for i in dict.fromkeys(candidate_ids)]
    rows = [
        r for r in rows
        if r.status in PARENT_STATUSES and not r.generator.startswith(("optimizer:", "repair:"))
        and not OPTIMIZE_TAGS.intersection(r.tags)
    ]  # fmt: skip
    scored: list[tuple[float, int, list[str], Evidence]] = []
    for part in chunks(rows, 256):
        results = S.results_of(rc, part)
        for r in part:
            if r.id in results:
                out.examined += 1
                ev = S.search_evidence(rc, results[r.id])
                if tags := repair_tags(ev):
                    scored.append((-abs(ev.fitness), r.id, tags, ev))
    if not scored:
        return out
    by_id = {r.id: r for r in rows}
    iteration = max(getattr(rc.store.get_run(rc.run_id), "iteration", 0), *(r.iteration for r in rows))
    ctx = S.generation_context(rc, iteration, "OPTIMIZE")
    for _, pid, tags, ev in sorted(scored, key=lambda s: (s[0], s[1]))[:max_parents]:
        parent = by_id[pid]
        kids = propose_children(parent.to_candidate(), ev, ctx, max_variants)
        out.plans.append(OptimizePlan(pid, parent.expression, tags, kids))
    if not dry_run:
        _enqueue(rc, iteration, out)
    return out


def _enqueue(rc: RunContext, iteration: int, out: OptimizeReport) -> None:
    with rc.store.transaction() as conn:
        top = rc.store.max_priority(rc.run_id, conn=conn)
        for plan in out.plans:
            parent = rc.store.get_candidate(plan.parent_id, conn=conn)
            if OPTIMIZE_TAGS.intersection(parent.tags):  # another worker's checkpoint got here first
                continue
            rc.store.add_tags({parent.id: plan.tags}, conn=conn)
            out.tagged += 1
            priority = max(top if top is not None else 0.0, parent.priority) + 1.0
            kids = [replace(c, parent_id=parent.id, priority=priority) for c in plan.children]
            ids = S.add_candidates(rc, iteration, kids, conn=conn)
            counts = S.inspect_rows(rc, [rc.store.get_candidate(i, conn=conn) for i in ids], conn)
            out.queued += counts["queued"]
    rc.say(f"  optimize: {out.tagged} parents tagged, {out.queued} children queued")

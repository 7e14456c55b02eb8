"""The local server's simulation runner: background threads feeding the backend in batches.

Why threads and batches: `POST /simulations` must answer at once (201 + Location) while the work
runs elsewhere, so that polling with `Retry-After` means something and several simulations are
really in flight together; and the backend is fastest given many expressions at once (the local
fork pool shares sub-expressions within a batch). Each runner thread takes every queued job up to
`batch_size` simulations and calls `backend.simulate_many` once for them.

Why results are written as they arrive: a batch holds several clients' jobs, and a client waits for
its whole job before it reads its alphas and posts the next one. So each outcome the backend reports
through its progress callback is matched to its leaf (by expression and settings, first come first
served: a simulation is a pure function of them), and a job is written, in one transaction with its
parent's status, the moment its last leaf lands; the batch's returned list settles anything not
matched. `eta(id)` estimates when a simulation finishes from the backlog ahead of it and the measured
busy seconds per outcome, for the `Retry-After` a poll advertises (fewer, better-timed polls).

Contract:
- A job is one top-level simulation: a single one, or a multi-simulation parent with its children
  (the leaves). Leaves go WAITING -> SIMULATING -> COMPLETE | ERROR | CANCELLED in the database.
- Expression errors are found here, asynchronously, with `alphamine.expr.check` against the
  backend's catalogue: the leaf is ERROR with `message` and `location {line, start, end, property}`;
  in a multi-simulation its siblings are CANCELLED (not simulated) and the parent is ERROR. A
  `SimFailure` from the backend makes its leaf ERROR with the failure's message; its siblings keep
  their results and the parent is ERROR. A COMPLETE leaf owns a new UNSUBMITTED alpha.
- A job's leaves and its parent's status are committed together (which ends its flight for the
  concurrency cap, `quota.Limits`). `start()` re-queues jobs a previous process left unfinished;
  `stop()` lets a running batch end (bounded wait) and leaves queued jobs WAITING for the next start.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from alphamine.backends.base import Backend, Outcome
from alphamine.brain.server.alpha_json import alpha_row, insert_alpha
from alphamine.brain.server.common import iso, new_id, now_eastern, plain
from alphamine.brain.server.db import ServerDB, dumps, loads
from alphamine.sim.batch import SimFailure, SimSpec
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings

log = logging.getLogger(__name__)

TERMINAL = frozenset({"COMPLETE", "ERROR", "CANCELLED", "WARNING", "TIMEOUT", "FAIL"})
FAILED = frozenset({"ERROR", "FAIL", "TIMEOUT"})
ALPHA_ID_LENGTH = 8
STARTED_PROGRESS = 0.05
"""Progress shown once a batch has started and before its first result."""
RATE_WINDOW = 64
"""Outcomes over which the busy seconds per outcome are measured (at least 8 before any estimate)."""
ETA_SHARE = 0.8
"""`eta` is this share of the backlog's expected time: polling early costs one cheap request, late a
client's whole next job."""


@dataclass(frozen=True)
class Leaf:
    id: str
    expression: str
    settings: Settings


@dataclass(frozen=True)
class Job:
    """One top-level simulation: `top` is its id (the parent's for a multi-simulation)."""

    top: str
    user: str
    leaves: tuple[Leaf, ...]
    multi: bool


@dataclass
class _Flight:
    """A job inside a running batch: the outcomes of its leaves so far."""

    job: Job
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    written: bool = False


class Runner:
    """Background simulation threads (module doc)."""

    def __init__(self, backend: Backend, db: ServerDB, *, threads: int = 2, batch_size: int = 32):
        if threads < 1 or batch_size < 1:
            raise ValueError("threads and batch_size must be >= 1")
        self.backend, self.db = backend, db
        self.batch_size = batch_size
        self._n_threads = threads
        self._jobs: deque[Job] = deque()
        self._cond = threading.Condition()
        self._progress: dict[str, float] = {}
        self._live: OrderedDict[str, int] = OrderedDict()  # top id -> leaves not yet landed, FIFO
        self._top_of: dict[str, str] = {}  # leaf id -> top id, while live
        self._busy = (0.0, 0.0)  # (busy seconds before the current busy spell, when that spell began)
        self._landed_at: deque[float] = deque(maxlen=RATE_WINDOW)  # busy clock at each recent outcome
        self._in_batches = 0  # leaves handed to the backend and not yet landed
        self._threads: list[threading.Thread] = []
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        for job in self._unfinished():
            self.enqueue(job)
        self._stopping = False
        for i in range(self._n_threads):
            t = threading.Thread(target=self._loop, name=f"brain-runner-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def enqueue(self, job: Job) -> None:
        with self._cond:
            for leaf in job.leaves:
                self._progress[leaf.id] = 0.0
                self._top_of[leaf.id] = job.top
            self._progress[job.top] = 0.0
            self._live[job.top] = len(job.leaves)
            self._jobs.append(job)
            self._cond.notify()

    def progress(self, sim_id: str) -> float:
        return self._progress.get(sim_id, 0.0)

    def eta(self, sim_id: str) -> float:
        """Estimated seconds until simulation `sim_id` (a leaf or a top) is written: `ETA_SHARE` of the
        leaves not yet landed of its job and of every job accepted before it, times the busy seconds
        per outcome over the last `RATE_WINDOW` outcomes (0 before 8 were measured, or when the
        simulation is not live). Busy time only: idle spells between clients' jobs do not count."""
        with self._cond:
            top, seen = self._top_of.get(sim_id, sim_id), self._landed_at
            if len(seen) < 8 or top not in self._live:
                return 0.0
            ahead = 0
            for other, remaining in self._live.items():
                ahead += remaining
                if other == top:
                    break
            return ETA_SHARE * ahead * (seen[-1] - seen[0]) / (len(seen) - 1)

    # ------------------------------------------------------------------ work
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                batch = [self._jobs.popleft()]
                size = len(batch[0].leaves)
                while self._jobs and size + len(self._jobs[0].leaves) <= self.batch_size:
                    size += len(self._jobs[0].leaves)
                    batch.append(self._jobs.popleft())
            try:
                self._run(batch)
            except sqlite3.ProgrammingError:  # the database closed under a batch that outlived stop()
                return
            except Exception:  # never let one bad batch kill the thread; its jobs are marked ERROR
                log.exception("simulation batch failed")
                for job in batch:
                    self._fail_job(job, "internal error in the local server")

    def _run(self, batch: Sequence[Job]) -> None:
        ids = [leaf.id for job in batch for leaf in job.leaves] + [job.top for job in batch if job.multi]
        self.db.execute(
            f"UPDATE simulations SET status = 'SIMULATING' WHERE id IN ({','.join('?' * len(ids))})", ids
        )
        flights: list[_Flight] = []
        for job in batch:
            errors = self._lint(job)
            if errors:
                self._write_lint_errors(job, errors)
            else:
                flights.append(_Flight(job))
        for f in flights:
            if not f.job.leaves:  # a restarted multi-simulation whose children had all finished
                self._write(f)
        todo = [(f, leaf) for f in flights for leaf in f.job.leaves]
        if not todo:
            return
        waiting: dict[tuple[str, Settings], deque[tuple[_Flight, Leaf]]] = {}
        for f, leaf in todo:
            waiting.setdefault((leaf.expression, leaf.settings), deque()).append((f, leaf))
            self._progress[leaf.id] = STARTED_PROGRESS

        def progress(_done: int, _total: int, outcome: Outcome) -> None:
            queue = waiting.get((outcome.expression, outcome.settings)) if outcome.settings is not None else None
            if queue:
                self._land(*queue.popleft(), outcome)

        with self._cond:
            if self._in_batches == 0:  # a busy spell begins
                self._busy = (self._busy[0], time.monotonic())
            self._in_batches += len(todo)
        outcomes: Sequence[Outcome | None]
        error = ""
        try:
            outcomes = self.backend.simulate_many([SimSpec(x.expression, x.settings) for _, x in todo], progress)
        except Exception as e:
            log.exception("backend.simulate_many failed")
            outcomes, error = [None] * len(todo), f"simulation failed: {type(e).__name__}: {e}"
        for (f, leaf), outcome in zip(todo, outcomes, strict=True):
            if leaf.id not in f.outcomes:  # not matched as it arrived (or the batch failed)
                self._land(f, leaf, outcome if outcome is not None else SimFailure(leaf.expression, None, error))

    def _land(self, flight: _Flight, leaf: Leaf, outcome: Outcome) -> None:
        """One leaf's outcome arrived: measure, show progress, and write the job once it is whole."""
        job = flight.job
        flight.outcomes[leaf.id] = outcome
        with self._cond:
            before, began = self._busy
            now = time.monotonic()
            self._landed_at.append(before + now - began)
            self._in_batches -= 1
            if self._in_batches == 0:  # the busy spell ends
                self._busy = (before + now - began, now)
            if job.top in self._live:
                self._live[job.top] -= 1
        share = len(flight.outcomes) / len(job.leaves)
        for other in job.leaves:
            if other.id not in flight.outcomes:
                self._progress[other.id] = max(self._progress.get(other.id, 0.0), share)
        self._progress[job.top] = share
        if len(flight.outcomes) == len(job.leaves) and not flight.written:
            flight.written = True
            try:
                self._write(flight)
            except sqlite3.ProgrammingError:  # the database closed (stop): the job stays unfinished
                pass
            except Exception:
                log.exception("writing a simulation job failed")
                self._fail_job(job, "internal error in the local server")

    def _write(self, flight: _Flight) -> None:
        """Every leaf of a whole job and its parent's status, in one transaction (alpha JSON is built
        before the lock is taken)."""
        job, created, finished = flight.job, iso(now_eastern()), time.time()
        rows: dict[str, dict[str, object]] = {}
        for leaf in job.leaves:
            outcome = flight.outcomes[leaf.id]
            if isinstance(outcome, SimResult):
                rows[leaf.id] = alpha_row("", job.user, leaf.id, outcome, created, backend=self.backend.name)
        with self.db.tx() as conn:
            for leaf in job.leaves:
                outcome = flight.outcomes[leaf.id]
                if leaf.id in rows:
                    alpha_id = new_id(ALPHA_ID_LENGTH)
                    while conn.execute("SELECT 1 FROM alphas WHERE id = ?", (alpha_id,)).fetchone():
                        alpha_id = new_id(ALPHA_ID_LENGTH)
                    insert_alpha(conn, {**rows[leaf.id], "id": alpha_id})
                    conn.execute(
                        "UPDATE simulations SET status = 'COMPLETE', alpha = ?, finished = ? WHERE id = ?",
                        (alpha_id, finished, leaf.id),
                    )
                else:
                    message = outcome.error if isinstance(outcome, SimFailure) else "simulation failed"
                    self._set_status(conn, leaf.id, "ERROR", message=message)
            self._finish_parent(conn, job)
        self._forget(job)

    def _write_lint_errors(self, job: Job, errors: dict[str, tuple[str, dict[str, object] | None]]) -> None:
        with self.db.tx() as conn:
            for leaf in job.leaves:
                if leaf.id in errors:
                    message, location = errors[leaf.id]
                    self._set_status(conn, leaf.id, "ERROR", message=message, location=location)
                else:
                    self._set_status(conn, leaf.id, "CANCELLED")
            self._finish_parent(conn, job)
        self._forget(job)

    def _lint(self, job: Job) -> dict[str, tuple[str, dict[str, object] | None]]:
        """leaf id -> (message, location) for each leaf whose expression has an error."""
        from alphamine.expr import check

        catalogue = self.backend.catalogue()
        found: dict[str, tuple[str, dict[str, object] | None]] = {}
        for leaf in job.leaves:
            errors = [d for d in check(leaf.expression, catalogue) if d.is_error]
            if errors:
                d = errors[0]
                loc = None if d.span is None else {
                    "line": d.span.line, "start": d.span.start, "end": d.span.end, "property": "regular"
                }
                found[leaf.id] = (d.message, loc)
        return found

    @staticmethod
    def _set_status(
        conn: sqlite3.Connection, sim_id: str, status: str, *, message: str | None = None,
        location: dict[str, object] | None = None,
    ) -> None:  # fmt: skip
        conn.execute(
            "UPDATE simulations SET status = ?, message = ?, location = ?, finished = ? WHERE id = ?",
            (status, message, dumps(plain(location)) if location else None, time.time(), sim_id),
        )

    @classmethod
    def _finish_parent(cls, conn: sqlite3.Connection, job: Job) -> None:
        """A multi-simulation's status once all its children are terminal: ERROR with the first failed
        child's message, else COMPLETE (read inside the writing transaction, so it sees its writes)."""
        if not job.multi:
            return
        rows = conn.execute("SELECT status, message FROM simulations WHERE parent = ?", (job.top,)).fetchall()
        if any(r["status"] not in TERMINAL for r in rows):
            return
        failed = [r for r in rows if r["status"] in FAILED]
        status = "ERROR" if failed else "COMPLETE"
        cls._set_status(conn, job.top, status, message=failed[0]["message"] if failed else None)

    def _forget(self, job: Job) -> None:
        """The job is written: drop its progress and its place in the backlog."""
        with self._cond:
            for leaf in job.leaves:
                self._progress.pop(leaf.id, None)
                self._top_of.pop(leaf.id, None)
            self._progress.pop(job.top, None)
            self._live.pop(job.top, None)

    def _fail_job(self, job: Job, message: str) -> None:
        try:
            with self.db.tx() as conn:
                for leaf in job.leaves:
                    row = conn.execute("SELECT status FROM simulations WHERE id = ?", (leaf.id,)).fetchone()
                    if row is not None and row["status"] not in TERMINAL:
                        self._set_status(conn, leaf.id, "ERROR", message=message)
                self._finish_parent(conn, job)
            self._forget(job)
        except sqlite3.ProgrammingError:
            pass

    def _unfinished(self) -> list[Job]:
        """Jobs a previous process accepted but did not finish (their leaves that are not terminal)."""
        jobs = []
        tops = self.db.all(
            "SELECT * FROM simulations WHERE parent IS NULL AND status IN ('WAITING', 'SIMULATING') ORDER BY created"
        )
        for top in tops:
            children = loads(top["children"])
            rows = [self.db.one("SELECT * FROM simulations WHERE id = ?", (c,)) for c in children or []] or [top]
            leaves = tuple(
                Leaf(r["id"], r["regular"], Settings.model_validate(loads(r["settings"])))
                for r in rows
                if r is not None and r["status"] not in TERMINAL
            )
            jobs.append(Job(top["id"], top["user"], leaves, bool(children)))
        return jobs

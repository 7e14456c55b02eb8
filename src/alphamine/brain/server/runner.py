"""The local server's simulation runner: background threads feeding the backend in batches.

Why threads and batches: `POST /simulations` must answer at once (201 + Location) while the work
runs elsewhere, so that polling with `Retry-After` means something and several simulations are
really in flight together; and the backend is fastest given many expressions at once (the local
fork pool shares sub-expressions within a batch). Each runner thread takes every queued job up to
`batch_size` simulations and calls `backend.simulate_many` once for them.

Contract:
- A job is one top-level simulation: a single one, or a multi-simulation parent with its children
  (the leaves). Leaves go WAITING -> SIMULATING -> COMPLETE | ERROR | CANCELLED in the database.
- Expression errors are found here, asynchronously, with `alphamine.expr.check` against the
  backend's catalogue: the leaf is ERROR with `message` and `location {line, start, end, property}`;
  in a multi-simulation its siblings are CANCELLED (not simulated) and the parent is ERROR. A
  `SimFailure` from the backend makes its leaf ERROR with the failure's message; its siblings keep
  their results and the parent is ERROR. A COMPLETE leaf owns a new UNSUBMITTED alpha.
- When a job's leaves are all terminal the parent's status is set (which ends its flight for the
  concurrency cap, `quota.Limits`). `start()` re-queues jobs a previous process left unfinished;
  `stop()` lets a running batch end (bounded wait) and leaves queued jobs WAITING for the next start.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from alphamine.backends.base import Backend, Outcome
from alphamine.brain.server.alpha_json import alpha_row, insert_alpha
from alphamine.brain.server.common import iso, new_id, now_eastern, plain
from alphamine.brain.server.db import ServerDB, dumps, loads
from alphamine.sim.batch import SimSpec
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings

log = logging.getLogger(__name__)

TERMINAL = frozenset({"COMPLETE", "ERROR", "CANCELLED", "WARNING", "TIMEOUT", "FAIL"})
ALPHA_ID_LENGTH = 8
STARTED_PROGRESS = 0.05
"""Progress shown once a batch has started and before its first result."""


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
        self._threads: list[threading.Thread] = []
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._jobs.extend(self._unfinished())
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
            self._progress[job.top] = 0.0
            self._jobs.append(job)
            self._cond.notify()

    def progress(self, sim_id: str) -> float:
        return self._progress.get(sim_id, 0.0)

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
        todo: list[tuple[Leaf, str]] = []
        for job in batch:
            errors = self._lint(job)
            if not errors:
                todo.extend((leaf, job.user) for leaf in job.leaves)
                continue
            for leaf in job.leaves:
                if leaf.id in errors:
                    message, location = errors[leaf.id]
                    self._finish_leaf(leaf.id, "ERROR", message=message, location=location)
                else:
                    self._finish_leaf(leaf.id, "CANCELLED")
        if todo:
            def progress(done: int, total: int, _outcome: Outcome) -> None:
                for leaf, _user in todo:
                    self._progress[leaf.id] = done / max(total, 1)

            for leaf, _user in todo:
                self._progress[leaf.id] = STARTED_PROGRESS
            outcomes: Sequence[Outcome | None]
            try:
                outcomes = self.backend.simulate_many([SimSpec(x.expression, x.settings) for x, _ in todo], progress)
            except Exception as e:
                log.exception("backend.simulate_many failed")
                outcomes, error = [None] * len(todo), f"simulation failed: {type(e).__name__}: {e}"
            for (leaf, user), outcome in zip(todo, outcomes, strict=True):
                if isinstance(outcome, SimResult):
                    self._complete(leaf, user, outcome)
                else:
                    self._finish_leaf(leaf.id, "ERROR", message=outcome.error if outcome is not None else error)
        for job in batch:
            self._finish_top(job)

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

    def _complete(self, leaf: Leaf, user: str, result: SimResult) -> None:
        created = iso(now_eastern())
        with self.db.tx() as conn:
            alpha_id = new_id(ALPHA_ID_LENGTH)
            while conn.execute("SELECT 1 FROM alphas WHERE id = ?", (alpha_id,)).fetchone():
                alpha_id = new_id(ALPHA_ID_LENGTH)
            insert_alpha(conn, alpha_row(alpha_id, user, leaf.id, result, created, backend=self.backend.name))
            conn.execute(
                "UPDATE simulations SET status = 'COMPLETE', alpha = ?, finished = ? WHERE id = ?",
                (alpha_id, time.time(), leaf.id),
            )
        self._progress.pop(leaf.id, None)

    def _finish_leaf(
        self, sim_id: str, status: str, *, message: str | None = None, location: dict[str, object] | None = None
    ) -> None:
        self.db.execute(
            "UPDATE simulations SET status = ?, message = ?, location = ?, finished = ? WHERE id = ?",
            (status, message, dumps(plain(location)) if location else None, time.time(), sim_id),
        )
        self._progress.pop(sim_id, None)

    def _finish_top(self, job: Job) -> None:
        if job.multi:
            rows = self.db.all("SELECT status, message FROM simulations WHERE parent = ?", (job.top,))
            if any(r["status"] not in TERMINAL for r in rows):
                return
            failed = [r for r in rows if r["status"] in ("ERROR", "FAIL", "TIMEOUT")]
            status = "ERROR" if failed else "COMPLETE"
            self._finish_leaf(job.top, status, message=failed[0]["message"] if failed else None)
        self._progress.pop(job.top, None)

    def _fail_job(self, job: Job, message: str) -> None:
        try:
            for leaf in job.leaves:
                row = self.db.one("SELECT status FROM simulations WHERE id = ?", (leaf.id,))
                if row is not None and row["status"] not in TERMINAL:
                    self._finish_leaf(leaf.id, "ERROR", message=message)
            self._finish_top(job)
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

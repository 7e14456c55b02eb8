"""Refilling a drained queue: a new iteration's GENERATE + INSPECT (or a field-factory sweep), either
when the queue is empty or ahead of time in a thread (`RefillAhead`)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from alphamine.generate.field_factory import FieldFactory
from alphamine.generate.rotation import rotate_neutralization
from alphamine.pipeline import stages as S
from alphamine.pipeline.context import RunContext

if TYPE_CHECKING:
    from alphamine.pipeline.worker import WorkerReport


def refill(rc: RunContext) -> int:
    """GENERATE and INSPECT a new iteration (its number taken atomically, so concurrent workers never
    repeat one); when that queues nothing, a field-factory sweep. Returns the candidates queued."""
    it = rc.store.next_iteration(rc.run_id)
    rc.say(f"  worker: queue empty, refilling (iteration {it + 1})")
    for stage, fn in (("GENERATE", S.generate), ("INSPECT", S.inspect)):
        rc.store.start_stage(rc.run_id, it, stage)
        counts = fn(rc, it)
    queued = int(counts.get("queued", 0))
    return queued or field_factory_sweep(rc, it)


def field_factory_sweep(rc: RunContext, iteration: int) -> int:
    """One-field candidates over the catalogue (stage FIELD_FACTORY), inspected; returns how many queued."""
    rc.store.start_stage(rc.run_id, iteration, "FIELD_FACTORY")
    ctx = S.generation_context(rc, iteration, "FIELD_FACTORY")
    cands = rotate_neutralization(FieldFactory().generate(ctx, rc.config.candidates_per_iteration), ctx)
    with rc.store.transaction() as conn:
        ids = S.add_candidates(rc, iteration, cands, conn=conn)
        counts = S.inspect_rows(rc, [rc.store.get_candidate(i, conn=conn) for i in ids], conn)
        rc.store.finish_stage(rc.run_id, iteration, "FIELD_FACTORY", {"generated": len(ids), **counts}, conn=conn)
    return counts["queued"]


class RefillAhead:
    """A refill (GENERATE + INSPECT) run in a thread while the last queued batch simulates.

    Why: the simulation runs in the worker pool's processes and this process mostly waits for it, so
    generating the next iteration meanwhile hides most of its cost (a drain with refill otherwise
    stops the pool once per iteration). Started as soon as what is left queued is less than one
    refill (`candidates_per_iteration`, at least four batches): a refill takes several batches' time
    on busy cores, so starting late makes the pool wait. Not started when what is queued already
    covers what the worker still takes (`remaining`, None: no limit). The worker joins it before
    refilling on its own, so refills never overlap and count once."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._queued = 0
        self._seconds = 0.0
        self._error: BaseException | None = None

    @property
    def started(self) -> int:
        return 1 if self._thread is not None else 0

    def maybe_start(self, rc: RunContext, report: WorkerReport, size: int, remaining: int | None) -> None:
        if self._thread is not None and not self._thread.is_alive():
            self.join(report)  # finished: count it, and the next one may start
        if self._thread is not None or (remaining is not None and remaining <= 0):
            return
        queued, held = rc.store.queue_depth(rc.run_id)
        free = queued - held  # not claimed yet (the batch about to simulate is)
        enough = max(4 * size, rc.config.candidates_per_iteration)
        if free >= enough or (remaining is not None and free >= remaining):
            return

        def work() -> None:
            t0 = time.perf_counter()
            try:
                self._queued = refill(rc)
            except BaseException as e:  # re-raised in the worker's thread by `join`
                self._error = e
            self._seconds = time.perf_counter() - t0

        self._thread = threading.Thread(target=work, name="refill-ahead", daemon=True)
        self._thread.start()

    def join(self, report: WorkerReport) -> bool:
        """Wait for a running refill and count it; True when it queued something."""
        if self._thread is None:
            return False
        t0 = time.perf_counter()
        self._thread.join()
        self._thread = None
        report.refill_seconds += time.perf_counter() - t0  # only the wait shows in the drain's time
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        report.refills, report.refill_queued = report.refills + 1, report.refill_queued + self._queued
        return self._queued > 0

    def __enter__(self) -> RefillAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.join()  # a refill in flight commits whole before the worker exits

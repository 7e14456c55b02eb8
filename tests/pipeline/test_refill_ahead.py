"""`RefillAhead`: when a worker starts generating the next iteration in a thread, and how the finished
refill is counted (real store, real GENERATE + INSPECT on a synthetic run)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.pipeline.test_worker import RUN, make_run

from alphamine.cli.console import make_console
from alphamine.cli.worker_cmd import worker_context
from alphamine.pipeline.refill import RefillAhead
from alphamine.pipeline.worker import WorkerReport
from alphamine.store import Store

SIZE = 4  # make_run: batch_size 4, candidates_per_iteration 8 -> start below max(4 x 4, 8) = 16 free


def _wait(ahead: RefillAhead, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while ahead._thread is not None and ahead._thread.is_alive():
        assert time.monotonic() < end, "the refill never finished"
        time.sleep(0.02)


@contextmanager
def _worker(tmp_path: Path, queued: int) -> Iterator[tuple[Store, Any, WorkerReport, RefillAhead]]:
    """A made run with `queued` candidates: its store, worker context, report and refill-ahead."""
    with Store.open(make_run(tmp_path, queued)) as store, RefillAhead() as ahead:
        rc = worker_context(store, RUN, tmp_path, None, make_console(), True)
        yield store, rc, WorkerReport("w", RUN, "drain"), ahead


def _queued(store: Store) -> int:
    queued, held = store.queue_depth(RUN)
    return queued - held


def test_a_refill_starts_below_one_refill_and_is_counted_once_finished(tmp_path: Path) -> None:
    with _worker(tmp_path, 20) as (store, rc, report, ahead):
        ahead.maybe_start(rc, report, SIZE, None)  # 20 free >= 16: nothing to do yet
        assert ahead.started == 0
        store.claim_batch(RUN, "w", 8, 60.0)  # claimed ones are not free: 12 left
        ahead.maybe_start(rc, report, SIZE, 12)  # what is free covers what the worker still takes
        assert ahead.started == 0
        ahead.maybe_start(rc, report, SIZE, None)
        assert ahead.started == 1
        _wait(ahead)
        assert report.refills == 0  # finished, not yet counted
        ahead.maybe_start(rc, report, SIZE, 0)  # collects it; nothing left to take: no new one
        assert (report.refills, ahead.started) == (1, 0)
        assert report.refill_queued > 0 and _queued(store) == 12 + report.refill_queued
        assert not ahead.join(report)  # nothing running: nothing counted twice
        assert report.refills == 1


def test_the_next_refill_starts_as_soon_as_the_last_one_is_collected(tmp_path: Path) -> None:
    with _worker(tmp_path, 2) as (store, rc, report, ahead):
        ahead.maybe_start(rc, report, SIZE, None)
        _wait(ahead)
        store.claim_batch(RUN, "w", 100, 60.0)  # the worker takes everything queued
        ahead.maybe_start(rc, report, SIZE, None)  # collects the first, starts the second at once
        assert (report.refills, ahead.started) == (1, 1)
        assert ahead.join(report) and report.refills == 2
        iterations = {r.iteration for r in store.candidates(run_id=RUN)}
        assert len(iterations) == 3  # the made run's, then one per refill (never the same number twice)

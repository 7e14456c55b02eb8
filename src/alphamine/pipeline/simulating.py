"""SIMULATE: queued candidates through the run's backend, committed batch by batch.

Why its own module: the commit protocol is the crash-safety contract of the most expensive stage. A
batch's results and statuses commit together (a crash loses at most the batch in flight); a result
already stored for (expression, settings, data, backend) is reused, never recomputed; a platform
backend's POSTs are committed before they are sent and their simulation URLs the moment the platform
accepts them, so a resumed run re-attaches to in-flight simulations instead of posting (and paying
for) them again, and looks for the alphas of POSTs whose answer it never recorded before posting them
again (`brain/reconcile.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alphamine.pipeline.context import RunContext
from alphamine.pipeline.progress import SimulationProgress
from alphamine.sim.batch import SimFailure, SimSpec
from alphamine.store import CandidateRow
from alphamine.store.status import CandidateStatus as CS


@dataclass(frozen=True)
class InFlight:
    """A killed run's platform simulations: recorded URLs, and POSTs begun without one (time)."""

    urls: dict[int, str]
    posting: dict[int, float]


def simulate_rows(rc: RunContext, iteration: int, stage: str, rows: Sequence[CandidateRow]) -> dict[str, int]:
    """Simulate queued candidates in batches; each batch commits its results and statuses together, so
    a crash loses at most the batch in flight and nothing is ever simulated twice."""
    counts = {"simulated": 0, "reused": 0, "failed": 0}
    with rc.store.transaction() as conn:
        stored = rc.store.stored_result_keys(
            [(r.expr_hash, r.settings_key) for r in rows], rc.fingerprint, backend=rc.backend_name, conn=conn
        )
        reused = [r.id for r in rows if (r.expr_hash, r.settings_key) in stored]
        todo = [r for r in rows if (r.expr_hash, r.settings_key) not in stored]
        if reused:
            rc.store.set_candidate_status(reused, CS.SIMULATED, reason="result reused from the store", conn=conn)
            counts["reused"] += len(reused)
    if not todo:
        return counts
    backend = rc.simulator()
    in_flight = _in_flight_simulations(rc, stage)
    progress = SimulationProgress(
        rc, total=len(todo), workers=rc.config.workers, label=f"{stage.lower()} it{iteration}"
    )
    with progress:
        for start in range(0, len(todo), rc.config.batch_size):
            batch = todo[start : start + rc.config.batch_size]
            task = rc.store.add_task(
                rc.run_id,
                stage,
                "simulate_batch",
                payload={"candidates": [r.id for r in batch]},
                log_path=str(rc.logs_dir / f"iter{iteration:02d}_{stage.lower()}.log"),
            )
            specs = [SimSpec(r.expression, r.settings) for r in batch]
            results = _simulate_batch(rc, iteration, stage, backend, task, batch, specs, in_flight, progress)
            with rc.store.transaction() as conn:
                simulated: list[int] = []
                for row, res in zip(batch, results, strict=True):
                    if isinstance(res, SimFailure):
                        rc.store.set_candidate_status([row.id], CS.FAILED, reason=res.error, conn=conn)
                        counts["failed"] += 1
                        rc.log(iteration, stage, f"#{row.id} FAILED {row.expression}: {res.error}")
                    else:
                        if not res.data_fingerprint:  # a platform result: key it by the run's data
                            res.data_fingerprint = rc.fingerprint
                        rc.store.put_result(res, expr_hash=row.expr_hash, backend=backend.name, conn=conn)
                        simulated.append(row.id)
                        counts["simulated"] += 1
                        m = res.metrics["is"]
                        rc.log(
                            iteration,
                            stage,
                            f"#{row.id} sharpe {m['sharpe']:.2f} fitness {m['fitness']:.2f} "
                            f"turnover {m['turnover']:.3f} {row.expression}",
                        )
                if simulated:
                    rc.store.set_candidate_status(
                        simulated, CS.SIMULATED, reason=f"simulated on the {backend.name} backend", conn=conn
                    )
                rc.store.finish_task(
                    task, "done", result={"ok": sum(not isinstance(r, SimFailure) for r in results)}, conn=conn
                )
            progress.batch_done(len(batch))
    return counts


def _in_flight_simulations(rc: RunContext, stage: str) -> InFlight:
    """What batches of this stage that never finished (a crash or kill during platform simulations)
    left on the platform: {candidate id: simulation URL} recorded, and {candidate id: time} of POSTs
    begun without a recorded URL (maybe accepted); those tasks are closed as `resumed`."""
    found = InFlight({}, {})
    for task in rc.store.tasks(rc.run_id):
        if task.stage == stage and task.kind == "simulate_batch" and task.status == "running":
            submitted = {int(cid): str(url) for cid, url in (task.payload.get("submitted") or {}).items()}
            posting = {int(cid): float(t) for cid, t in (task.payload.get("posting") or {}).items()}
            unsure = {cid: t for cid, t in posting.items() if cid not in submitted}
            found.urls.update(submitted)
            found.posting.update(unsure)
            rc.store.finish_task(task.id, "resumed", result={"reattached": len(submitted), "unsure": len(unsure)})
    return found


def _simulate_batch(
    rc: RunContext,
    iteration: int,
    stage: str,
    backend: Any,
    task: int,
    batch: Sequence[CandidateRow],
    specs: list[SimSpec],
    in_flight: InFlight,
    progress: SimulationProgress,
) -> list[Any]:
    """One batch on the backend. A platform backend reports each POST before it is sent and each
    simulation's URL as soon as the platform accepts it: both are committed to the task at once (from
    the backend's threads, hence the lock). Simulations recorded by a killed process are re-attached,
    never posted again; those it was posting are first looked for among the account's alphas."""
    if not hasattr(backend, "on_submitted"):
        return list(backend.simulate_many(specs, progress=progress.tick))
    lock = threading.Lock()
    payload: dict[str, Any] = {"candidates": [r.id for r in batch], "submitted": {}, "posting": {}}
    attached = {i: in_flight.urls[r.id] for i, r in enumerate(batch) if r.id in in_flight.urls}
    unsure = {i: in_flight.posting[r.id] for i, r in enumerate(batch) if r.id in in_flight.posting}
    for i, url in attached.items():
        payload["submitted"][str(batch[i].id)] = url
    for i, when in unsure.items():
        payload["posting"][str(batch[i].id)] = when
    if attached or unsure:
        rc.store.set_task_payload(task, payload)

    def posting(indices: Sequence[int], when: float | None) -> None:  # None: answered, rejected
        with lock:
            for i in indices:
                if when is None:
                    payload["posting"].pop(str(batch[i].id), None)
                else:
                    payload["posting"][str(batch[i].id)] = when
            rc.store.set_task_payload(task, payload)

    def submitted(index: int, url: str) -> None:
        with lock:
            payload["submitted"][str(batch[index].id)] = url
            rc.store.set_task_payload(task, payload)

    backend.on_submitted, backend.on_posting = submitted, posting
    with platform_calls_logged(rc.logs_dir / f"iter{iteration:02d}_{stage.lower()}.log"):
        try:
            return list(backend.simulate_many(specs, progress=progress.tick, attached=attached, unsure=unsure))
        finally:
            backend.on_submitted = backend.on_posting = None


@contextmanager
def platform_calls_logged(path: Path) -> Iterator[None]:
    """Every platform call (the `alphamine.brain` loggers: requests, retries, `[BRAIN wait]` and
    `[BRAIN healthcheck]` lines during long waits) goes to the stage's task log while the block runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("alphamine.brain")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()

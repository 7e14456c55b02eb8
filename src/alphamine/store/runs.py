"""Runs, their stages, tasks and artifacts: the "everything recorded" part of a run.

Resumability contract: a stage's outputs and its `finish_stage` marker are written in one
`transaction()`, so `finished_stages(run_id)` is exactly the set of stages whose results are committed;
`resume` re-runs anything else. `start_stage` on a stage that already has a row (a stage interrupted
and now restarted) resets that row to `running` instead of failing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from alphamine.store.base import StoreBase, savepoint, utcnow
from alphamine.store.clean import clean
from alphamine.store.errors import NotFoundError, StoreError
from alphamine.store.rows import ArtifactRow, RunRow, StageRow, TaskRow, artifact_row, run_row, stage_row, task_row
from alphamine.store.schema import ARTIFACTS, RUNS, STAGES, TASKS

RUN_STATUSES = ("running", "interrupted", "failed", "finished")
STAGES_ORDER = ("GENERATE", "INSPECT", "SIMULATE", "VARIANT_SEARCH", "DECIDE", "ENHANCE", "SUBMIT_GATE", "REPORT")
_TERMINAL = ("failed", "finished")


class RunsMixin(StoreBase):
    # ------------------------------------------------------------------ runs
    def create_run(
        self,
        run_id: str,
        *,
        config: dict[str, Any],
        seed: int,
        data_fingerprint: str,
        runtime_root: str,
        conn: Connection | None = None,
    ) -> None:
        """Insert a run in status `running`. Secret-named keys in `config` are redacted (see `clean`);
        a second run with the same id raises `StoreError`."""
        if not run_id:
            raise StoreError("run_id must be a non-empty string")
        now = utcnow()
        exists = select(RUNS.c.run_id).where(RUNS.c.run_id == run_id)
        with self._write(conn) as c:
            if c.execute(exists).first() is not None:
                raise StoreError(f"run {run_id!r} already exists")
            try:
                with savepoint(c):
                    c.execute(
                        insert(RUNS).values(
                            run_id=run_id,
                            status="running",
                            config=clean(config),
                            seed=int(seed),
                            data_fingerprint=data_fingerprint,
                            runtime_root=str(runtime_root),
                            iteration=0,
                            created_at=now,
                            updated_at=now,
                            finished_at=None,
                        )
                    )
            except IntegrityError:  # a concurrent writer created it since the check
                if c.execute(exists).first() is None:
                    raise
                raise StoreError(f"run {run_id!r} already exists") from None

    def get_run(self, run_id: str, *, conn: Connection | None = None) -> RunRow | None:
        with self._read(conn) as c:
            m = c.execute(select(RUNS).where(RUNS.c.run_id == run_id)).mappings().first()
        return None if m is None else run_row(m)

    def list_runs(self, *, conn: Connection | None = None) -> list[RunRow]:
        """All runs, newest first."""
        with self._read(conn) as c:
            rows = c.execute(select(RUNS).order_by(RUNS.c.created_at.desc(), RUNS.c.run_id.desc())).mappings()
            return [run_row(m) for m in rows]

    def set_run_status(
        self, run_id: str, status: str, *, iteration: int | None = None, conn: Connection | None = None
    ) -> None:
        """Change a run's status (one of RUN_STATUSES); `finished`/`failed` stamp `finished_at`, any
        other status clears it (a resumed run is running again). `iteration` records progress."""
        if status not in RUN_STATUSES:
            raise StoreError(f"run status must be one of {', '.join(RUN_STATUSES)} (got {status!r})")
        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "updated_at": now,
            "finished_at": now if status in _TERMINAL else None,
        }
        if iteration is not None:
            values["iteration"] = int(iteration)
        with self._write(conn) as c:
            if c.execute(update(RUNS).where(RUNS.c.run_id == run_id).values(**values)).rowcount == 0:
                raise NotFoundError(f"no run {run_id!r}")

    def set_run_notes(self, run_id: str, notes: str | None, *, conn: Connection | None = None) -> None:
        with self._write(conn) as c:
            stmt = update(RUNS).where(RUNS.c.run_id == run_id).values(notes=notes, updated_at=utcnow())
            if c.execute(stmt).rowcount == 0:
                raise NotFoundError(f"no run {run_id!r}")

    # ------------------------------------------------------------------ stages
    def start_stage(self, run_id: str, iteration: int, stage: str, conn: Connection | None = None) -> int:
        """Mark (run, iteration, stage) running and return its row id; a restarted stage reuses its row."""
        now = utcnow()
        key = (STAGES.c.run_id == run_id) & (STAGES.c.iteration == iteration) & (STAGES.c.stage == stage)
        with self._write(conn) as c:
            existing = c.execute(select(STAGES.c.id).where(key)).scalar()
            if existing is None:
                try:
                    with savepoint(c):
                        res = c.execute(
                            insert(STAGES).values(
                                run_id=run_id, iteration=int(iteration), stage=stage, status="running", started_at=now
                            )
                        )
                    return int(res.inserted_primary_key[0])  # type: ignore[index]
                except IntegrityError:  # a concurrent writer inserted the row since the check: reuse it
                    existing = c.execute(select(STAGES.c.id).where(key)).scalar()
                    if existing is None:
                        raise
            c.execute(
                update(STAGES)
                .where(STAGES.c.id == existing)
                .values(status="running", started_at=now, finished_at=None, summary=None)
            )
            return int(existing)

    def finish_stage(
        self, run_id: str, iteration: int, stage: str, summary: dict[str, Any], conn: Connection | None = None
    ) -> None:
        """Mark the stage finished with its summary (inserting the row if `start_stage` was skipped).
        Call it inside the transaction that wrote the stage's results."""
        now = utcnow()
        key = (STAGES.c.run_id == run_id) & (STAGES.c.iteration == iteration) & (STAGES.c.stage == stage)
        with self._write(conn) as c:
            values = {"status": "finished", "finished_at": now, "summary": clean(summary)}
            if c.execute(update(STAGES).where(key).values(**values)).rowcount > 0:
                return
            try:
                with savepoint(c):
                    c.execute(
                        insert(STAGES).values(
                            run_id=run_id, iteration=int(iteration), stage=stage, started_at=now, **values
                        )
                    )
            except IntegrityError:  # a concurrent writer inserted the row since the update: update it
                if c.execute(update(STAGES).where(key).values(**values)).rowcount == 0:
                    raise

    def finished_stages(self, run_id: str, *, conn: Connection | None = None) -> set[tuple[int, str]]:
        """{(iteration, stage)} whose results are committed."""
        with self._read(conn) as c:
            rows = c.execute(
                select(STAGES.c.iteration, STAGES.c.stage).where(
                    (STAGES.c.run_id == run_id) & (STAGES.c.status == "finished")
                )
            )
            return {(int(i), str(s)) for i, s in rows}

    def stages(self, run_id: str, *, conn: Connection | None = None) -> list[StageRow]:
        """The run's stage rows in execution order (iteration, then start)."""
        with self._read(conn) as c:
            rows = c.execute(
                select(STAGES).where(STAGES.c.run_id == run_id).order_by(STAGES.c.iteration, STAGES.c.id)
            ).mappings()
            return [stage_row(m) for m in rows]

    # ------------------------------------------------------------------ tasks
    def add_task(
        self,
        run_id: str,
        stage: str,
        kind: str,
        *,
        payload: dict[str, Any],
        log_path: str | None = None,
        conn: Connection | None = None,
    ) -> int:
        """Record a unit of work (status `running`) and return its id; payload secrets are redacted."""
        with self._write(conn) as c:
            res = c.execute(
                insert(TASKS).values(
                    run_id=run_id,
                    stage=stage,
                    kind=kind,
                    status="running",
                    payload=clean(payload),
                    log_path=log_path,
                    created_at=utcnow(),
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def set_task_payload(self, task_id: int, payload: dict[str, Any], *, conn: Connection | None = None) -> None:
        """Replace a task's payload (secrets redacted): e.g. the platform simulation URLs of a batch, committed
        as soon as the platform returns them so a resumed run re-attaches instead of posting again."""
        with self._write(conn) as c:
            if c.execute(update(TASKS).where(TASKS.c.id == task_id).values(payload=clean(payload))).rowcount == 0:
                raise NotFoundError(f"no task {task_id}")

    def finish_task(
        self, task_id: int, status: str, *, result: dict[str, Any] | None = None, conn: Connection | None = None
    ) -> None:
        with self._write(conn) as c:
            stmt = (
                update(TASKS)
                .where(TASKS.c.id == task_id)
                .values(status=status, result=None if result is None else clean(result), finished_at=utcnow())
            )
            if c.execute(stmt).rowcount == 0:
                raise NotFoundError(f"no task {task_id}")

    def tasks(self, run_id: str, *, conn: Connection | None = None) -> list[TaskRow]:
        with self._read(conn) as c:
            rows = c.execute(select(TASKS).where(TASKS.c.run_id == run_id).order_by(TASKS.c.id)).mappings()
            return [task_row(m) for m in rows]

    # ------------------------------------------------------------------ artifacts
    def add_artifact(
        self, run_id: str, kind: str, path: str, *, meta: dict[str, Any] | None = None, conn: Connection | None = None
    ) -> int:
        """Record a file the run produced (report, plot, log), by path relative to whatever the caller
        chooses (the run folder is the convention)."""
        with self._write(conn) as c:
            res = c.execute(
                insert(ARTIFACTS).values(
                    run_id=run_id, kind=kind, path=str(path), meta=clean(meta or {}), created_at=utcnow()
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def artifacts(self, run_id: str, *, conn: Connection | None = None) -> list[ArtifactRow]:
        with self._read(conn) as c:
            rows = c.execute(select(ARTIFACTS).where(ARTIFACTS.c.run_id == run_id).order_by(ARTIFACTS.c.id)).mappings()
            return [artifact_row(m) for m in rows]

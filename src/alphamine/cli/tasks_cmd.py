"""`alphamine tasks` and `alphamine retry-sim`: the units of simulation work of a run, and another try
for the simulations the platform (not the expression) failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from alphamine.cli.console import make_console, print_table
from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, open_records, require_run

RETRY_FILE = "alpha_list_retryable.json"


def _run_context(store: Any, run_row: Any, runtime_root: Path, backend: Any) -> Any:
    from alphamine.pipeline.config import RunConfig
    from alphamine.pipeline.context import RunContext
    from alphamine.pipeline.controller import load_panel
    from alphamine.sim.settings import make_settings

    config = RunConfig.model_validate(run_row.config)
    run_dir = Path(run_row.runtime_root or runtime_root) / "runs" / run_row.run_id
    return RunContext(
        store, load_panel(config.data), config, run_row.run_id, run_dir, make_settings(config.settings),
        make_console(), False, backend,
    )  # fmt: skip


def tasks(
    run_id: Annotated[str, typer.Option("--run-id", help="The run whose tasks to show.")],
    task_id: Annotated[int | None, typer.Option("--task-id", help="The task to --cancel or --retry.")] = None,
    cancel: Annotated[bool, typer.Option("--cancel", help="Stop tracking a running task (see docs/brain.md).")] = False,
    retry: Annotated[bool, typer.Option("--retry", help="Queue the task's failed candidates again.")] = False,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ask the platform about in-flight simulations.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """The run's simulation tasks (batches): status, candidates, platform simulations in flight."""
    from alphamine.store.status import CandidateStatus as CS

    if (cancel or retry) and task_id is None:
        raise fail("--cancel and --retry need --task-id")
    if cancel and retry:
        raise fail("choose --cancel or --retry, not both")
    with open_records(runtime_root, db) as store:
        run_row = require_run(store, run_id)
        rows = store.tasks(run_id)
        if task_id is not None:
            task = next((t for t in rows if t.id == task_id), None)
            if task is None:
                raise fail(f"run {run_id} has no task {task_id}")
            if cancel:
                if task.status != "running":
                    raise fail(f"task {task_id} is {task.status}, not running")
                store.finish_task(task_id, "cancelled", result={"cancelled_by": "alphamine tasks --cancel"})
                typer.echo(f"task {task_id} cancelled; its candidates stay queued for the next resume")
            else:
                ids = [int(i) for i in task.payload.get("candidates", [])]
                failed = [c.id for c in store.candidates(run_id=run_id, status=CS.FAILED) if c.id in ids]
                store.set_candidate_status(failed, CS.QUEUED, reason=f"alphamine tasks --retry {task_id}")
                typer.echo(f"{len(failed)} failed candidates of task {task_id} queued again; run `alphamine resume`")
            return
        states: dict[str, str] = {}
        if refresh:
            states = _platform_states(run_row, runtime_root, [t for t in rows if t.status == "running"])
    docs = [
        {
            "id": t.id,
            "stage": t.stage,
            "kind": t.kind,
            "status": t.status,
            "candidates": len(t.payload.get("candidates", [])),
            "platform_simulations": len(t.payload.get("submitted") or {}),
            "created_at": t.created_at[:19],
            "finished_at": (t.finished_at or "")[:19] or None,
            "result": t.result,
            **({"platform": {u: states[u] for u in (t.payload.get("submitted") or {}).values() if u in states}}
               if states else {}),
        }
        for t in rows
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(docs, indent=2))
        return
    table = Table(title=f"tasks of run {run_id}", title_justify="left")
    for col in ("id", "stage", "kind", "status", "candidates", "platform sims", "created", "finished", "result"):
        table.add_column(col)
    for d in docs:
        table.add_row(
            str(d["id"]), d["stage"], d["kind"], d["status"], str(d["candidates"]), str(d["platform_simulations"]),
            d["created_at"], d["finished_at"] or "", json.dumps(d.get("platform") or d["result"] or {}),
        )  # fmt: skip
    print_table(make_console(), table)


def _platform_states(run_row: Any, runtime_root: Path, running: list[Any]) -> dict[str, str]:
    """{simulation URL: platform status} of the in-flight simulations of running tasks (brain runs)."""
    from alphamine.cli.backend_factory import build_backend
    from alphamine.pipeline.config import RunConfig

    config = RunConfig.model_validate(run_row.config)
    urls = [u for t in running for u in (t.payload.get("submitted") or {}).values()]
    if config.backend != "brain" or not urls:
        return {}
    backend = build_backend(config, runtime_root)
    try:
        return {u: backend.client.simulation_status(u) for u in urls}
    finally:
        backend.close()


def retry_sim(
    run_id: Annotated[str, typer.Option("--run-id", help="The run whose retryable failures to simulate again.")],
    batch_size: Annotated[int | None, typer.Option(help="Brain: alphas per multi-simulation.")] = None,
    concurrency: Annotated[int | None, typer.Option(help="Brain: multi-simulations in flight.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help=f"Only write {RETRY_FILE}; simulate nothing.")] = False,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Rebuild the retry list from TIMEOUT, BATCH_SPAWN_FAILED and other platform failures (never
    expression errors) and simulate those candidates again on the run's backend."""
    from alphamine.cli.backend_factory import build_backend
    from alphamine.pipeline.config import RunConfig
    from alphamine.pipeline.retry import retry, retry_list, retryable

    with open_records(runtime_root, db) as store:
        run_row = require_run(store, run_id)
        todo = retryable(store.candidates(run_id=run_id))
        run_dir = Path(run_row.runtime_root or runtime_root) / "runs" / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / RETRY_FILE
        try:
            path.write_text(json.dumps(retry_list(todo), indent=2), encoding="utf-8")
        except OSError as e:
            raise fail(f"cannot write {path}: {e}") from None
        kinds: dict[str, int] = {}
        for _, kind in todo:
            kinds[kind] = kinds.get(kind, 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
        typer.echo(f"{len(todo)} retryable failures ({summary}); list written to {path}")
        if dry_run or not todo:
            return
        config = RunConfig.model_validate(run_row.config)
        if config.platform is not None and (batch_size or concurrency):
            platform = config.platform.model_copy(
                update={k: v for k, v in (("batch_size", batch_size), ("concurrency", concurrency)) if v}
            )
            config = config.model_copy(update={"platform": platform})
        rc = _run_context(store, run_row, runtime_root, build_backend(config, runtime_root))
        counts = retry(rc, [row for row, _ in todo])
    typer.echo(f"retried: {counts['simulated']} simulated, {counts['failed']} failed again")

"""The run controller: iterate the stages until `target_ready` candidates are ready or
`max_iterations` are done; every stage commits before the next starts, so `resume` continues after a
crash, SIGKILL or Ctrl-C without repeating finished work."""

from __future__ import annotations

import datetime as dt
import secrets
import signal
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from alphamine.data.panel import Panel
from alphamine.pipeline import stages as S
from alphamine.pipeline.config import STAGES, DataSource, RunConfig
from alphamine.pipeline.context import RunContext
from alphamine.pipeline.reporting import write_run_reports
from alphamine.sim.settings import make_settings
from alphamine.store import Store

DB_FILE = "alphamine.sqlite3"
DEFAULT_RUNTIME_ROOT = Path(".alphamine")


class RunError(ValueError):
    """The run cannot start or continue (unknown run id, data changed since the run started, ...)."""


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    status: str
    run_dir: Path
    reports: dict[str, Path]
    ready: int
    iterations: int


def open_store(runtime_root: Path, db: str | None) -> Store:
    runtime_root.mkdir(parents=True, exist_ok=True)
    return Store.open(db if db else runtime_root / DB_FILE)


def load_panel(source: DataSource) -> Panel:
    if source.kind == "synthetic":
        from alphamine.data.synthetic import synthetic

        assert source.n_instruments and source.n_days
        return synthetic(source.n_instruments, source.n_days, seed=source.seed)
    if source.kind == "file":
        from alphamine.cli.data_cmd import resolve_panel

        return resolve_panel(source.path, source.meta)
    from alphamine.data.sample import load_sample

    return load_sample()


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _handle_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: the current transaction rolls back and the run is marked
    interrupted."""
    try:
        previous = signal.signal(signal.SIGTERM, _handle_sigterm)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


STAGE_FUNCTIONS: dict[str, Callable[[RunContext, int], dict[str, Any]]] = {
    "GENERATE": S.generate,
    "INSPECT": S.inspect,
    "SIMULATE": S.simulate,
    "VARIANT_SEARCH": S.variant_search,
    "DECIDE": S.decide,
    "ENHANCE": S.enhance,
    "SUBMIT_GATE": S.submit_gate,
}


def _report(rc: RunContext, iteration: int) -> dict[str, Any]:
    paths = write_run_reports(rc.store, rc.run_id, rc.run_dir)
    with rc.store.transaction() as conn:
        for kind, path in paths.items():
            rc.store.add_artifact(rc.run_id, kind, str(path), meta={"iteration": iteration}, conn=conn)
        rc.store.finish_stage(rc.run_id, iteration, "REPORT", {"files": len(paths)}, conn=conn)
    return {"files": len(paths)}


def _ready_count(rc: RunContext) -> int:
    return len(rc.store.candidates(run_id=rc.run_id, status="ready"))


def _loop(rc: RunContext) -> RunOutcome:
    """Run every unfinished stage of every iteration in order (finished ones are skipped: resume)."""
    done = rc.store.finished_stages(rc.run_id)
    iteration = 0
    with _interruptible():
        try:
            for iteration in range(rc.config.max_iterations):
                rc.say(f"[bold]iteration {iteration + 1}/{rc.config.max_iterations}[/bold]")
                for stage in STAGES:
                    if (iteration, stage) in done:
                        continue
                    rc.store.start_stage(rc.run_id, iteration, stage)
                    rc.store.set_run_status(rc.run_id, "running", iteration=iteration)
                    if stage == "REPORT":
                        _report(rc, iteration)
                    else:
                        STAGE_FUNCTIONS[stage](rc, iteration)
                if _ready_count(rc) >= rc.config.target_ready:
                    rc.say(f"target reached: {_ready_count(rc)} ready")
                    break
        except KeyboardInterrupt:
            rc.store.set_run_status(rc.run_id, "interrupted", iteration=iteration)
            raise
        except Exception:
            rc.store.set_run_status(rc.run_id, "failed", iteration=iteration)
            rc.logs_dir.mkdir(parents=True, exist_ok=True)
            (rc.logs_dir / "error.log").write_text(traceback.format_exc(), encoding="utf-8")
            raise
    rc.store.set_run_status(rc.run_id, "finished", iteration=iteration)
    paths = write_run_reports(rc.store, rc.run_id, rc.run_dir)  # final status in the report
    return RunOutcome(rc.run_id, "finished", rc.run_dir, paths, _ready_count(rc), iteration + 1)


def start_run(
    config: RunConfig,
    *,
    runtime_root: Path = DEFAULT_RUNTIME_ROOT,
    db: str | None = None,
    run_id: str | None = None,
    console: Console | None = None,
    quiet: bool = False,
    panel: Panel | None = None,
) -> RunOutcome:
    settings = make_settings(config.settings)
    panel = panel if panel is not None else load_panel(config.data)
    if settings.universe not in panel.universes:
        raise RunError(f"universe {settings.universe} is not offered by this data ({', '.join(panel.universes)})")
    store = open_store(runtime_root, db)
    try:
        rid = run_id or new_run_id()
        if store.get_run(rid) is not None:
            raise RunError(f"run {rid} exists already; use `alphamine resume --run-id {rid}`")
        run_dir = runtime_root / "runs" / rid
        (run_dir / "artifacts").mkdir(parents=True, exist_ok=True)
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        store.create_run(
            rid,
            config=config.model_dump(mode="json"),
            seed=config.seed,
            data_fingerprint=panel.fingerprint(),
            runtime_root=str(runtime_root),
        )
        rc = RunContext(store, panel, config, rid, run_dir, settings, console or Console(), quiet)
        rc.say(
            f"run [bold]{rid}[/bold] on {config.data.describe()} with {settings.universe}, "
            f"{settings.neutralization.value}, decay {settings.decay}; store {store.url}"
        )
        return _loop(rc)
    finally:
        store.close()


def resume_run(
    run_id: str,
    *,
    runtime_root: Path = DEFAULT_RUNTIME_ROOT,
    db: str | None = None,
    console: Console | None = None,
    quiet: bool = False,
    panel: Panel | None = None,
) -> RunOutcome:
    store = open_store(runtime_root, db)
    try:
        run = store.get_run(run_id)
        if run is None:
            known = ", ".join(r.run_id for r in store.list_runs()[:5]) or "none"
            raise RunError(f"no run {run_id!r} in {store.url} (recent runs: {known})")
        config = RunConfig.model_validate(run.config)
        panel = panel if panel is not None else load_panel(config.data)
        if panel.fingerprint() != run.data_fingerprint:
            raise RunError(
                f"the data changed since run {run_id} started (fingerprint {panel.fingerprint()[:12]} "
                f"!= {run.data_fingerprint[:12]}); start a new run instead"
            )
        run_dir = Path(run.runtime_root) / "runs" / run_id if run.runtime_root else runtime_root / "runs" / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        rc = RunContext(
            store, panel, config, run_id, run_dir, make_settings(config.settings), console or Console(), quiet
        )
        done = store.finished_stages(run_id)
        rc.say(f"resuming run [bold]{run_id}[/bold] ({len(done)} stages already done)")
        return _loop(rc)
    finally:
        store.close()

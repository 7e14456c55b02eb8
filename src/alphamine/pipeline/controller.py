"""The run controller: iterate the stages until `target_ready` candidates are ready or
`max_iterations` are done; every stage commits before the next starts, so `resume` continues after a
crash, SIGKILL or Ctrl-C without repeating finished work.

Failure contract: an unexpected error once the run exists becomes `RunFailed`, which records what
was actually done about it (was the run marked failed in the store? was the traceback written to
`runs/<id>/logs/error.log`?), because either step can itself fail (a damaged store, a full disk) and
the CLI must never claim a record that does not exist. Errors a person can fix before the run
starts (`RunError`, a `StoreError` opening the store) are raised as they are.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from alphamine.backends.base import Backend
from alphamine.data.panel import Panel
from alphamine.pipeline import stages as S
from alphamine.pipeline.config import STAGES, DataSource, RunConfig
from alphamine.pipeline.context import ResearchAgents, RunContext
from alphamine.pipeline.reporting import write_run_reports
from alphamine.pipeline.validation import NO_VALIDATION, resolve_validation
from alphamine.runtime import DB_FILENAME, DEFAULT_RUNTIME_ROOT
from alphamine.sim.settings import make_settings
from alphamine.store import Store, StoreError
from alphamine.store.status import CandidateStatus


class RunError(ValueError):
    """The run cannot start or continue (unknown run id, data changed since the run started, ...)."""


class RunFailed(RuntimeError):
    """Run `run_id` stopped on an unexpected error (`error`, also the `__cause__`).

    Not a `RunError`: that one means "fix your input"; this one means "the run broke, here is its
    record". The attributes say what that record truly is:
    - `marked`: the store now says `failed`; else `mark_error` is why marking was impossible;
    - `logged`: the traceback is in `error_log`; else `log_error` is why that file could not be
      written, and `traceback_text` is the only copy (the caller must show it).
    The message is ``run ID failed: TYPE: MESSAGE``."""

    def __init__(
        self,
        run_id: str,
        error: BaseException,
        *,
        traceback_text: str,
        error_log: Path,
        mark_error: BaseException | None = None,
        log_error: BaseException | None = None,
    ) -> None:
        super().__init__(f"run {run_id} failed: {describe_error(error)}")
        self.run_id = run_id
        self.error = error
        self.traceback_text = traceback_text
        self.mark_error = mark_error
        self.error_log = error_log
        self.log_error = log_error

    @property
    def marked(self) -> bool:
        return self.mark_error is None

    @property
    def logged(self) -> bool:
        return self.log_error is None


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped run `run_id` (a `KeyboardInterrupt`, so existing handlers still
    catch it); `marked` says whether the store now says `interrupted`, else `mark_error` is why not.
    Carries the run id so the CLI can name the run to resume."""

    def __init__(self, run_id: str, mark_error: BaseException | None = None) -> None:
        super().__init__(f"run {run_id} interrupted")
        self.run_id = run_id
        self.mark_error = mark_error

    @property
    def marked(self) -> bool:
        return self.mark_error is None


def describe_error(error: BaseException) -> str:
    """`TYPE: first line of the message`, with a database driver's own error in place of SQLAlchemy's
    multi-line wrapper (which appends the SQL and a link)."""
    inner = getattr(error, "orig", None)
    shown = inner if isinstance(inner, BaseException) else error
    lines = str(shown).strip().splitlines()
    return f"{type(shown).__name__}: {lines[0]}" if lines else type(shown).__name__


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    status: str
    run_dir: Path
    reports: dict[str, Path]
    ready: int
    iterations: int


def open_store(runtime_root: Path, db: str | None) -> Store:
    """The store of `runtime_root` (or the `db` URL). Every failure is a `StoreError` naming the store
    (`Store.open`), including a runtime root that cannot be created."""
    try:
        runtime_root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"cannot create the runtime root {runtime_root} ({e.strerror or e})") from e
    return Store.open(db if db else runtime_root / DB_FILENAME)


def load_panel(source: DataSource) -> Panel:
    """The run's panel (`alphamine.data.sources.open_source`)."""
    from alphamine.data.sources import open_source

    return open_source(source)


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


INTERRUPTED = threading.Event()
"""Set by Ctrl-C / SIGTERM during a run. The handler also raises KeyboardInterrupt at once, but Python
swallows an exception raised inside a weakref or `__del__` callback (SQLAlchemy has some), so the loop
checks this flag before every stage and raises again: an interrupt is never lost."""


def _handle_interrupt(signum: int, frame: FrameType | None) -> None:
    INTERRUPTED.set()
    raise KeyboardInterrupt


def check_interrupted() -> None:
    """Raise KeyboardInterrupt when an interrupt arrived during the run (see `INTERRUPTED`)."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: the current transaction rolls back and the run is marked
    interrupted."""
    INTERRUPTED.clear()
    try:
        previous_term = signal.signal(signal.SIGTERM, _handle_interrupt)
        previous_int = signal.signal(signal.SIGINT, _handle_interrupt)
    except ValueError:  # not the main thread
        yield
        return
    previous_hook = sys.unraisablehook

    def quiet_swallowed_interrupt(unraisable: Any) -> None:
        # a KeyboardInterrupt raised inside a callback Python cannot propagate from: the flag re-raises it
        if not (isinstance(unraisable.exc_value, KeyboardInterrupt) and INTERRUPTED.is_set()):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_swallowed_interrupt
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


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
    if rc.agents is not None:
        rc.agents.flush(rc.run_dir)  # the LLM usage the report's cost per ready alpha reads
    paths = write_run_reports(rc.store, rc.run_id, rc.run_dir)
    with rc.store.transaction() as conn:
        for kind, path in paths.items():
            rc.store.add_artifact(rc.run_id, kind, str(path), meta={"iteration": iteration}, conn=conn)
        rc.store.finish_stage(rc.run_id, iteration, "REPORT", {"files": len(paths)}, conn=conn)
    return {"files": len(paths)}


def remember(rc: RunContext) -> None:
    """Ingest the finished run into the cross-run alpha memory (`<runtime-root>/alpha_memory.sqlite3`);
    a memory that cannot be written is reported, never fatal. Only at the end of a run: the memory
    records gate verdicts (which read the validation window), so within a run the search reads a
    memory of earlier runs only."""
    from alphamine.store.errors import StoreError
    from alphamine.store.memory import AlphaMemory

    try:
        with AlphaMemory.at_root(rc.run_dir.parent.parent) as memory:
            memory.ingest(rc.store, rc.run_id, catalogue=rc.catalogue)
    except (StoreError, OSError) as e:
        rc.say(f"  memory not updated: {e}")


def _ready_count(rc: RunContext) -> int:
    return len(rc.store.candidates(run_id=rc.run_id, status=CandidateStatus.READY))


def _loop(rc: RunContext) -> RunOutcome:
    """Run every unfinished stage of every iteration in order (finished ones are skipped: resume).

    Ctrl-C / SIGTERM mark the run `interrupted` and raise `RunInterrupted`; any other error, the final
    report included, raises `RunFailed` from it (`record_failure` says what could be recorded)."""
    iteration = 0
    with _interruptible():
        try:
            done = rc.store.finished_stages(rc.run_id)
            for iteration in range(rc.config.max_iterations):
                rc.say(f"[bold]iteration {iteration + 1}/{rc.config.max_iterations}[/bold]")
                for stage in STAGES:
                    check_interrupted()
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
            check_interrupted()
            rc.store.set_run_status(rc.run_id, "finished", iteration=iteration)
            if rc.agents is not None:
                rc.agents.flush(rc.run_dir)
            paths = write_run_reports(rc.store, rc.run_id, rc.run_dir)  # final status in the report
            remember(rc)
            ready = _ready_count(rc)
        except KeyboardInterrupt as e:
            mark_error: BaseException | None = None
            try:
                rc.store.set_run_status(rc.run_id, "interrupted", iteration=iteration)
            except Exception as m:  # the interruption stays the news; say whether it is recorded
                mark_error = m
            raise RunInterrupted(rc.run_id, mark_error) from e
        except Exception as e:
            raise record_failure(rc, iteration, e) from e
    return RunOutcome(rc.run_id, "finished", rc.run_dir, paths, ready, iteration + 1)


def record_failure(rc: RunContext, iteration: int, error: BaseException) -> RunFailed:
    """Mark run `rc.run_id` failed and write the traceback to `logs/error.log`, each as far as it can
    be done, and return the `RunFailed` that says which of the two happened.

    Marking can fail (the store itself may be what broke); then the log says so too. The log is
    written to a temporary file and renamed into place, so `error.log` is either complete or not
    there (a full disk leaves no empty or truncated log claiming to hold the traceback)."""
    text = "".join(traceback.format_exception(error))
    mark_error: BaseException | None = None
    try:
        rc.store.set_run_status(rc.run_id, "failed", iteration=iteration)
    except Exception as e:
        mark_error = e
        text += f"\nthe run could not be marked failed: {describe_error(e)}\n"
    path = rc.logs_dir / "error.log"
    log_error: OSError | None = None
    try:
        _write_whole(path, text)
    except OSError as e:
        log_error = e
    return RunFailed(rc.run_id, error, traceback_text=text, error_log=path, mark_error=mark_error, log_error=log_error)


def _write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` completely or not at all (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        with suppress(OSError):  # best effort: the folder itself may be what is missing
            tmp.unlink(missing_ok=True)
        raise


def with_validation_window(config: RunConfig, n_days: int) -> RunConfig:
    """`config` with the run's validation window resolved into its settings' `testPeriod` (stored with
    the run, so `resume` simulates with exactly the same). Classic gate: no window. An explicit
    `testPeriod` in the settings wins."""
    if not config.gate.trial_aware or make_settings(config.settings).test_period != NO_VALIDATION:
        return config
    period = resolve_validation(config.gate.validation_period, n_days)
    return config.model_copy(update={"settings": {**config.settings, "testPeriod": period}})


def _attach(rc: RunContext, agents: ResearchAgents | None) -> None:
    """Hand the LLM agents (built by the CLI) to the run, bound to its store."""
    if agents is not None:
        agents.bind(rc.store, rc.run_id, rc.backend_name)
        rc.agents = agents


def start_run(
    config: RunConfig,
    *,
    runtime_root: Path = DEFAULT_RUNTIME_ROOT,
    db: str | None = None,
    run_id: str | None = None,
    console: Console | None = None,
    quiet: bool = False,
    panel: Panel | None = None,
    backend: Backend | None = None,
    agents: ResearchAgents | None = None,
) -> RunOutcome:
    """Start run `run_id` (default: a timestamp) of `config` and run it to the end. `backend` is where
    SIMULATE runs (the CLI builds it; None: a `LocalBackend` over the run's panel)."""
    panel = panel if panel is not None else load_panel(config.data)
    config = with_validation_window(config, panel.n_days)
    settings = make_settings(config.settings)
    if settings.universe not in panel.universes:
        raise RunError(f"universe {settings.universe} is not offered by this data ({', '.join(panel.universes)})")
    store = open_store(runtime_root, db)
    try:
        rid = run_id or new_run_id()
        if store.get_run(rid) is not None:
            raise RunError(f"run {rid} exists already; use `alphamine resume --run-id {rid}`")
        run_dir = runtime_root / "runs" / rid
        try:
            (run_dir / "artifacts").mkdir(parents=True, exist_ok=True)
            (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot create the run folder {run_dir} ({describe_error(e)})") from e
        store.create_run(
            rid,
            config=config.model_dump(mode="json"),
            seed=config.seed,
            data_fingerprint=panel.fingerprint(),
            runtime_root=str(runtime_root),
        )
        rc = RunContext(store, panel, config, rid, run_dir, settings, console or Console(), quiet, backend)
        _attach(rc, agents)
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
    backend: Backend | None = None,
    agents: ResearchAgents | None = None,
) -> RunOutcome:
    """Continue run `run_id` where its last commit left off (`start_run` for `backend`)."""
    store = open_store(runtime_root, db)
    try:
        run = store.get_run(run_id)
        if run is None:
            known = ", ".join(r.run_id for r in store.list_runs()[:5]) or "none"
            raise RunError(f"no run {run_id!r} in {store.url} (recent runs: {known})")
        try:
            config = RunConfig.model_validate(run.config)
        except ValidationError as e:  # a row written by another version, or edited by hand
            bad = e.errors()[0] if e.errors() else {"loc": (), "msg": str(e)}
            where = ".".join(str(p) for p in bad["loc"]) or "config"
            raise RunError(
                f"run {run_id} in {store.url} has a config this alphamine cannot read ({e.error_count()} "
                f"error(s); {where}: {bad['msg']}); start a new run instead"
            ) from e
        panel = panel if panel is not None else load_panel(config.data)
        if panel.fingerprint() != run.data_fingerprint:
            raise RunError(
                f"the data changed since run {run_id} started (fingerprint {panel.fingerprint()[:12]} "
                f"!= {run.data_fingerprint[:12]}); start a new run instead"
            )
        run_dir = Path(run.runtime_root) / "runs" / run_id if run.runtime_root else runtime_root / "runs" / run_id
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot create the run folder {run_dir} ({describe_error(e)})") from e
        rc = RunContext(
            store,
            panel,
            config,
            run_id,
            run_dir,
            make_settings(config.settings),
            console or Console(),
            quiet,
            backend,
        )
        _attach(rc, agents)
        done = store.finished_stages(run_id)
        rc.say(f"resuming run [bold]{run_id}[/bold] ({len(done)} stages already done)")
        return _loop(rc)
    finally:
        store.close()

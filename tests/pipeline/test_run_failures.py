"""A run that crashes says exactly what was recorded (issue #11): the real run id, whether the run is
marked failed (marking fails when the store is what broke), and where the traceback is, or the
traceback itself on stderr when error.log cannot be written. Every crash here comes from a real
failing part: a file where the run's artifacts or logs folder belongs (this fails even for root,
unlike permissions), or a store whose write lock another process holds."""

from __future__ import annotations

import re
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from alphamine.backends.local import LocalBackend
from alphamine.cli.main import app
from alphamine.data.sources import open_source
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import RunError, RunFailed, RunInterrupted, resume_run, start_run
from alphamine.pipeline.presets import resolve_settings
from alphamine.store import Store
from alphamine.store import base as store_base

runner = CliRunner()
N, T = 50, 300
DB = "alphamine.sqlite3"
SMALL = ["--max-iterations", "1", "--candidates", "6", "--max-variant-alphas", "1", "--max-variants-per-alpha", "2"]


def _config(root: Path) -> RunConfig:
    settings = resolve_settings(root, None, {"universe": "TOP50", "decay": 2})
    return RunConfig(
        seed=1,
        settings=settings.to_brain(),
        data=DataSource(kind="synthetic", n_instruments=N, n_days=T, seed=5),
        max_iterations=1,
        target_ready=50,
        candidates_per_iteration=6,
        max_variant_alphas=1,
        max_variants_per_alpha=2,
        max_enhance_alphas=1,
        workers=1,
        batch_size=4,
    )


def _recorded_run(root: Path, run_id: str = "r1") -> Path:
    """A run as `start_run` records it before its first stage; returns its folder (without logs/ or
    artifacts/, which a test may occupy with a file)."""
    config = _config(root)
    fingerprint = open_source(config.data).fingerprint()
    with Store.open(root / DB) as store:
        store.create_run(
            run_id,
            config=config.model_dump(mode="json"),
            seed=config.seed,
            data_fingerprint=fingerprint,
            runtime_root=str(root),
        )
    run_dir = root / "runs" / run_id
    run_dir.mkdir(parents=True)
    return run_dir


def _status(root: Path, run_id: str) -> str:
    with Store.open(root / DB) as store:
        row = store.get_run(run_id)
        assert row is not None
        return str(row.status)


@contextmanager
def _write_lock_held(db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Another connection holds the store's write lock; the store gives up waiting after 0.2 s."""
    monkeypatch.setattr(store_base, "BUSY_TIMEOUT_MS", 200)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        con.execute("ROLLBACK")
        con.close()


def test_a_crash_is_marked_failed_with_the_real_log_path(tmp_path: Path) -> None:
    run_dir = _recorded_run(tmp_path)
    (run_dir / "artifacts").write_text("a file where the artifacts folder belongs\n")  # REPORT fails
    res = runner.invoke(app, ["resume", "--run-id", "r1", "--runtime-root", str(tmp_path), "--quiet"])
    assert res.exit_code == 1, res.output
    log = run_dir / "logs" / "error.log"
    err = res.stderr
    assert err.startswith("error: run r1 failed: FileExistsError: "), err
    assert "the run is marked failed; everything committed is kept." in err
    assert f"the traceback is in {log}" in err
    assert "`alphamine resume --run-id r1`" in err
    assert "<run id>" not in res.output and "Traceback" not in res.output
    assert _status(tmp_path, "r1") == "failed"
    text = log.read_text(encoding="utf-8")
    assert text.startswith("Traceback (most recent call last):") and "FileExistsError" in text
    assert "could not be marked" not in text
    assert [p.name for p in log.parent.iterdir() if p.name.startswith("error.log")] == ["error.log"]


def test_traceback_reaches_stderr_when_error_log_cannot_be_written(tmp_path: Path) -> None:
    """The "full disk" case: the log folder cannot be written (a file sits where it belongs)."""
    run_dir = _recorded_run(tmp_path)
    (run_dir / "artifacts").write_text("blocks the artifacts folder\n")
    (run_dir / "logs").write_text("blocks the logs folder\n")
    res = runner.invoke(app, ["resume", "--run-id", "r1", "--runtime-root", str(tmp_path), "--quiet"])
    assert res.exit_code == 1, res.output
    err = res.stderr
    assert err.startswith("error: run r1 failed: "), err
    assert "the run is marked failed" in err
    assert f"the traceback could not be written to {run_dir / 'logs' / 'error.log'} (FileExistsError" in err
    assert "here it is:" in err and "Traceback (most recent call last):" in err
    assert err.index("here it is:") < err.index("Traceback (most recent call last):")
    assert "the traceback is in" not in err
    assert (run_dir / "logs").read_text() == "blocks the logs folder\n"  # nothing half-written
    assert _status(tmp_path, "r1") == "failed"


def test_an_unusable_store_is_not_claimed_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = _recorded_run(tmp_path)
    with _write_lock_held(tmp_path / DB, monkeypatch):
        with pytest.raises(RunFailed) as info:
            resume_run("r1", runtime_root=tmp_path, console=Console(quiet=True), quiet=True)
        e = info.value
        assert e.run_id == "r1" and not e.marked and e.logged
        assert e.__cause__ is e.error and "database is locked" in str(e.error)
        assert "database is locked" in str(e.mark_error)
        log = e.error_log.read_text(encoding="utf-8")
        assert "the run could not be marked failed: OperationalError: database is locked" in log

        res = runner.invoke(app, ["resume", "--run-id", "r1", "--runtime-root", str(tmp_path), "--quiet"])
    assert res.exit_code == 1, res.output
    err = res.stderr
    assert err.startswith("error: run r1 failed: OperationalError: database is locked"), err
    assert "the run could not be marked failed (OperationalError: database is locked)" in err
    assert "the run is marked failed" not in err
    assert f"the traceback is in {run_dir / 'logs' / 'error.log'}" in err
    assert _status(tmp_path, "r1") == "running"  # what the message said: nothing was marked


def test_a_run_crash_names_the_generated_run_id(tmp_path: Path) -> None:
    """`alphamine run` without --run-id: the message carries the id the run really got. The crash:
    once the run folder exists, a file takes the place of its artifacts folder (used only by REPORT)."""
    runs = tmp_path / "runs"
    swapped: list[Path] = []

    def occupy_artifacts() -> None:
        end = time.monotonic() + 120
        while time.monotonic() < end and not swapped:
            for folder in runs.glob("*/artifacts") if runs.exists() else []:
                folder.rmdir()
                folder.write_text("no artifacts folder here\n")
                swapped.append(folder.parent)
            time.sleep(0.002)

    watcher = threading.Thread(target=occupy_artifacts, daemon=True)
    watcher.start()
    args = ["run", "--synthetic", f"{N},{T}", "--universe", "TOP50", *SMALL, "--workers", "1", "--quiet"]
    res = runner.invoke(app, [*args, "--runtime-root", str(tmp_path)])
    watcher.join(5)
    assert swapped, "the run folder never appeared"
    run_id = swapped[0].name
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", run_id)
    assert res.exit_code == 1, res.output
    err = res.stderr
    assert err.startswith(f"error: run {run_id} failed: "), err
    assert f"the traceback is in {swapped[0] / 'logs' / 'error.log'}" in err
    assert f"`alphamine resume --run-id {run_id}`" in err and "<run id>" not in res.output
    assert (swapped[0] / "logs" / "error.log").is_file()
    assert _status(tmp_path, run_id) == "failed"


def test_a_run_folder_that_cannot_be_created_is_a_run_error(tmp_path: Path) -> None:
    blocked = tmp_path / "runs" / "x"
    blocked.mkdir(parents=True)
    (blocked / "logs").write_text("in the way\n")
    with pytest.raises(RunError, match=f"cannot create the run folder {blocked}"):
        start_run(_config(tmp_path), runtime_root=tmp_path, run_id="x", console=Console(quiet=True), quiet=True)
    with Store.open(tmp_path / DB) as store:
        assert store.get_run("x") is None  # refused before anything was recorded
    res = runner.invoke(
        app, ["run", "--synthetic", f"{N},{T}", "--universe", "TOP50", "--run-id", "x", "--runtime-root", str(tmp_path)]
    )
    assert res.exit_code == 2, res.output
    assert len(res.stderr.strip().splitlines()) == 1 and "cannot create the run folder" in res.stderr


def test_resume_of_an_unreadable_run_config_is_a_run_error(tmp_path: Path) -> None:
    with Store.open(tmp_path / DB) as store:
        store.create_run("old", config={"no_such_field": 1}, seed=0, data_fingerprint="fp", runtime_root=str(tmp_path))
    with pytest.raises(RunError, match=r"run old in .* has a config this alphamine cannot read"):
        resume_run("old", runtime_root=tmp_path, console=Console(quiet=True), quiet=True)


class _CtrlCDuringSimulate(LocalBackend):
    """The user presses Ctrl-C while SIMULATE runs: a real SIGINT, raised in this process, which
    Python turns into KeyboardInterrupt where the run is. Optionally another process takes the
    store's write lock first (the store cannot record the interruption)."""

    def __init__(self, *args: Any, lock: Callable[[], None] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.lock = lock

    def simulate_many(self, specs: Any, progress: Any = None) -> Any:
        if self.lock is not None:
            self.lock()
        signal.raise_signal(signal.SIGINT)
        raise AssertionError("the SIGINT should have interrupted the run")


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler, reason="needs Ctrl-C")
def test_an_interrupted_run_carries_its_id_and_whether_it_is_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _recorded_run(tmp_path)
    panel = open_source(_config(tmp_path).data)
    quiet = Console(quiet=True)
    with pytest.raises(RunInterrupted) as info:
        resume_run("r1", runtime_root=tmp_path, console=quiet, quiet=True, backend=_CtrlCDuringSimulate(panel, 1))
    assert isinstance(info.value, KeyboardInterrupt) and info.value.run_id == "r1" and info.value.marked
    assert _status(tmp_path, "r1") == "interrupted"

    monkeypatch.setattr(store_base, "BUSY_TIMEOUT_MS", 200)
    con = sqlite3.connect(tmp_path / DB, isolation_level=None)

    def take_the_write_lock() -> None:
        con.execute("BEGIN IMMEDIATE")

    try:
        backend = _CtrlCDuringSimulate(panel, 1, lock=take_the_write_lock)
        with pytest.raises(RunInterrupted) as info:
            resume_run("r1", runtime_root=tmp_path, console=quiet, quiet=True, backend=backend)
    finally:
        if con.in_transaction:
            con.execute("ROLLBACK")
        con.close()
    assert not info.value.marked and "database is locked" in str(info.value.mark_error)
    assert _status(tmp_path, "r1") == "running"  # resume set it running; the interruption was not recorded

"""The mining run end to end on a small synthetic market: stages, funnel, lineage, gate, reports,
resume after SIGKILL, cross-run memory."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from alphamine.pipeline.config import STAGES, DataSource, RunConfig
from alphamine.pipeline.controller import resume_run, start_run
from alphamine.pipeline.presets import resolve_settings
from alphamine.store import Store

N, T = 80, 520


def _config(root: Path, **kw) -> RunConfig:
    settings = resolve_settings(root, None, {"universe": "TOP80", "decay": 2})
    base = dict(
        seed=3,
        settings=settings.to_brain(),
        data=DataSource(kind="synthetic", n_instruments=N, n_days=T, seed=5),
        max_iterations=2,
        target_ready=50,
        candidates_per_iteration=12,
        max_variant_alphas=2,
        max_variants_per_alpha=3,
        max_enhance_alphas=2,
        workers=1,
        batch_size=4,
    )
    base.update(kw)
    return RunConfig(**base)


def _summary(store: Store, run_id: str) -> list[tuple]:
    rows = store.candidates(run_id=run_id)
    results = store.results_for([r.id for r in rows])
    return sorted(
        (
            r.expression,
            r.settings_key,
            r.status,
            r.iteration,
            r.generator,
            round(results[r.id].metrics["is"]["sharpe"], 12) if r.id in results else None,
        )
        for r in rows
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("run")
    out = start_run(_config(root), runtime_root=root, run_id="r1", console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    return root, out.run_id


def test_run_records_every_stage_and_writes_reports(finished) -> None:
    root, run_id = finished
    with Store.open(root / "alphamine.sqlite3") as store:
        done = store.finished_stages(run_id)
        assert {(i, s) for i in range(2) for s in STAGES} <= done
        rows = store.candidates(run_id=run_id)
        statuses = {r.status for r in rows}
        assert statuses <= {"invalid", "duplicate", "failed", "promising", "gate_pending", "ready", "rejected"}
        assert any(r.generator.startswith("template:") for r in rows)
        variants = [r for r in rows if r.parent_id is not None]
        assert variants and all(r.strategy for r in variants)
        parent = store.get_candidate(variants[0].parent_id)
        assert [x.id for x in store.lineage(variants[0].id)][-2:] == [parent.id, variants[0].id]
        # nothing simulated twice: one result per distinct (expression, settings)
        simulated = {
            (r.expr_hash, r.settings_key)
            for r in rows
            if r.status in {"promising", "gate_pending", "ready", "rejected"}
        }
        assert len(store.results_for([r.id for r in rows])) >= len(simulated)
        run = store.get_run(run_id)
        assert run is not None and run.status == "finished"
    run_dir = root / "runs" / run_id
    for name in ("run_report.md", "run_report.html", "run_result.json"):
        assert (run_dir / name).stat().st_size > 0
    assert any((run_dir / "logs").iterdir())
    table = (run_dir / "artifacts" / "candidates.csv").read_text().splitlines()
    assert table[0].startswith("id,status,expression") and len(table) > 10
    assert (run_dir / "artifacts" / "ready_pnl.csv").read_text().startswith("date")


def test_second_run_reuses_memory(finished) -> None:
    root, _ = finished
    out = start_run(
        _config(root, max_iterations=1), runtime_root=root, run_id="r2", console=Console(quiet=True), quiet=True
    )
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id=out.run_id)
        assert any(r.status == "duplicate" for r in rows)  # same seed, same first ideas: not simulated again


def _counts(db: Path, run_id: str) -> tuple[int, int, int] | None:
    """(INSPECT finished, SIMULATE finished, candidates simulated) of iteration 0, read with a cheap
    read-only query so that polling never misses the window while the run writes."""
    if not db.exists():
        return None
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            done = {s for (s,) in con.execute(
                "SELECT stage FROM stages WHERE run_id=? AND iteration=0 AND status='finished'", (run_id,))}
            sims = con.execute("SELECT count(*) FROM candidates WHERE run_id=? AND status='simulated'",
                               (run_id,)).fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return None
    if "SIMULATE" in done:
        return (1, 1, sims)
    return (int("INSPECT" in done), 0, sims)


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_sigkill_during_simulate_then_resume_matches_an_uninterrupted_run(tmp_path) -> None:
    plain_root, crash_root = tmp_path / "plain", tmp_path / "crash"
    args = [
        "--synthetic",
        f"{N},{T}",
        "--seed",
        "5",
        "--universe",
        "TOP80",
        "--decay",
        "2",
        "--run-seed",
        "3",
        "--max-iterations",
        "2",
        "--target-ready",
        "50",
        "--candidates",
        "24",
        "--max-variant-alphas",
        "2",
        "--max-variants-per-alpha",
        "3",
        "--workers",
        "1",
        "--batch-size",
        "1",
        "--quiet",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run(
        [sys.executable, "-m", "alphamine", "run", *args, "--run-id", "x", "--runtime-root", str(plain_root)],
        check=True,
        env=env,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "alphamine", "run", *args, "--run-id", "x", "--runtime-root", str(crash_root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    db = crash_root / "alphamine.sqlite3"

    def mid_simulate() -> bool:
        c = _counts(db, "x")
        return c is not None and c[0] == 1 and c[1] == 0 and c[2] >= 2

    assert _wait_for(mid_simulate, 240), (
        proc.stderr.read().decode() if proc.poll() is not None else "never reached SIMULATE"
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Store.open(db) as s:
        assert (0, "SIMULATE") not in s.finished_stages("x")
        before = {r.id for r in s.candidates(run_id="x")}
    resume_run("x", runtime_root=crash_root, console=Console(quiet=True), quiet=True)
    with Store.open(db) as crashed, Store.open(plain_root / "alphamine.sqlite3") as plain:
        assert {r.id for r in crashed.candidates(run_id="x")} >= before  # no candidate lost
        assert _summary(crashed, "x") == _summary(plain, "x")  # same final result
        rows = crashed.candidates(run_id="x")
        keys = [(r.expr_hash, r.settings_key) for r in rows if r.id in crashed.results_for([r.id])]
        assert len(keys) == len(set(keys))
        # no duplicate simulation: the stored results equal the uninterrupted run's, one per key
        assert len(crashed.results_for([r.id for r in rows])) == len(
            plain.results_for([r.id for r in plain.candidates(run_id="x")])
        )


@pytest.mark.slow
def test_ctrl_c_marks_the_run_interrupted_and_resume_finishes_it(tmp_path) -> None:
    root = tmp_path / "int"
    args = [
        "--synthetic",
        f"{N},{T}",
        "--seed",
        "5",
        "--universe",
        "TOP80",
        "--run-seed",
        "4",
        "--max-iterations",
        "4",  # long enough that the SIGINT after the first simulation lands mid-run
        "--candidates",
        "24",
        "--max-variant-alphas",
        "1",
        "--max-variants-per-alpha",
        "2",
        "--workers",
        "1",
        "--batch-size",
        "2",
        "--quiet",
        "--run-id",
        "i",
        "--runtime-root",
        str(root),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "alphamine", "run", *args],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    db = root / "alphamine.sqlite3"

    def simulating() -> bool:  # the cheap read-only poll: opening a Store could wait on the run's writes
        c = _counts(db, "i")
        return c is not None and c[2] >= 1

    assert _wait_for(simulating, 240), "never simulated a candidate"
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out.decode()
    assert b"resume" in out and b"Traceback" not in out
    with Store.open(db) as s:
        run = s.get_run("i")
        assert run is not None and run.status == "interrupted"
    outcome = resume_run("i", runtime_root=root, console=Console(quiet=True), quiet=True)
    assert outcome.status == "finished"

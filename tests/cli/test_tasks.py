"""`alphamine tasks` and `alphamine retry-sim` on a real run's store."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alphamine.cli.main import app
from alphamine.pipeline.retry import failure_kind
from alphamine.store import Store
from alphamine.store.status import CandidateStatus as CS

runner = CliRunner()
ARGS = ["--synthetic", "50,320", "--universe", "TOP50", "--max-iterations", "1", "--candidates", "6",
        "--max-variant-alphas", "0", "--max-enhance-alphas", "0", "--workers", "1", "--quiet"]  # fmt: skip


@pytest.fixture()
def root(tmp_path):
    res = runner.invoke(app, ["run", *ARGS, "--run-id", "t", "--runtime-root", str(tmp_path)])
    assert res.exit_code == 0, res.output
    return tmp_path


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("GET /simulations/x: timed out (ReadTimeout)", "TIMEOUT"),
        ("BATCH_SPAWN_FAILED: the simulation requires more resources", "BATCH_SPAWN_FAILED"),
        ("POST /simulations: HTTP 503 upstream; gave up after 10 attempts", "PLATFORM_ERROR"),
        ("CANCELLED: a sibling failed", "CANCELLED"),
        ("unknown field or variable 'bogus'", None),
        ("lint ARITY: rank takes 1 argument", None),
    ],
)
def test_failure_kinds(reason: str, kind: str | None) -> None:
    assert failure_kind(reason) == kind


def _fail(root, reason: str) -> int:
    with Store.open(root / "alphamine.sqlite3") as store:
        row = store.candidates(run_id="t")[0]
        store.set_candidate_status([row.id], CS.FAILED, reason=reason)
        return row.id


def test_tasks_lists_the_runs_batches(root) -> None:
    res = runner.invoke(app, ["tasks", "--run-id", "t", "--json", "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    docs = json.loads(res.stdout)
    assert docs and all(d["kind"] == "simulate_batch" and d["status"] == "done" for d in docs)
    assert sum(d["candidates"] for d in docs) >= 1
    table = runner.invoke(app, ["tasks", "--run-id", "t", "--runtime-root", str(root)])
    assert table.exit_code == 0 and "simulate_batch" in table.stdout
    bad = runner.invoke(app, ["tasks", "--run-id", "t", "--cancel", "--runtime-root", str(root)])
    assert bad.exit_code == 2 and "--task-id" in bad.output


def test_retry_sim_dry_run_then_retry(root) -> None:
    cid = _fail(root, "POST /simulations: HTTP 503 upstream; gave up after 10 attempts")
    with Store.open(root / "alphamine.sqlite3") as store:
        other = store.candidates(run_id="t")[1].id
        store.set_candidate_status([other], CS.FAILED, reason="unknown field or variable 'bogus'")
    res = runner.invoke(app, ["retry-sim", "--run-id", "t", "--dry-run", "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    listed = json.loads((root / "runs" / "t" / "alpha_list_retryable.json").read_text())
    assert [x["candidate_id"] for x in listed] == [cid] and listed[0]["failure"] == "PLATFORM_ERROR"
    with Store.open(root / "alphamine.sqlite3") as store:
        assert store.get_candidate(cid).status == CS.FAILED  # a dry run changes nothing
    res = runner.invoke(app, ["retry-sim", "--run-id", "t", "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    with Store.open(root / "alphamine.sqlite3") as store:
        assert store.get_candidate(cid).status not in (CS.FAILED, CS.QUEUED)
        assert store.get_candidate(other).status == CS.FAILED  # an expression error is never retried


def test_task_retry_requeues_failed_candidates(root) -> None:
    cid = _fail(root, "timed out")
    with Store.open(root / "alphamine.sqlite3") as store:
        task = next(t for t in store.tasks("t") if cid in t.payload["candidates"])
    args = ["tasks", "--run-id", "t", "--task-id", str(task.id), "--retry", "--runtime-root", str(root)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    with Store.open(root / "alphamine.sqlite3") as store:
        assert store.get_candidate(cid).status == CS.QUEUED

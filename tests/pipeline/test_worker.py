"""`alphamine worker` / `optimize-candidates` as users run them: real worker processes (the CLI in
subprocesses) on one real SQLite store, killed and signalled for real; every claim is checked in the
store (results, status histories, tasks, claims)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from alphamine.expr import canonical, fields_used, operators_used, parse, structural_hash
from alphamine.generate.candidate import Candidate, Thesis
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import load_panel
from alphamine.pipeline.worker import OPTIMIZE_TAGS, STAGE
from alphamine.sim.settings import make_settings
from alphamine.store import Store
from alphamine.store.schema import SIM_RESULTS

RUN = "r1"
DECIDED = {"gate_pending", "promising", "rejected"}
SMALL, LARGE = (60, 400), (200, 1000)  # (instruments, days): fast batches / batches slow enough to catch
EXPRS = [f"rank(ts_mean(close, {a}) - ts_mean(open, {b}))" for a in range(2, 42) for b in range(2, 7)]  # 200


def _entry() -> list[str]:
    """`alphamine` once `worker` is registered in the full tree, else the command module itself."""
    from alphamine.cli.app import app

    names = {c.name or getattr(c.callback, "__name__", "") for c in app.registered_commands}
    return ["-m", "alphamine"] if "worker" in names else ["-m", "alphamine.cli.worker_cmd"]


def make_run(root: Path, n: int, size: tuple[int, int] = SMALL, **config: Any) -> Path:
    """Run `r1` on a synthetic market with `n` distinct queued candidates (priority 0)."""
    cfg = RunConfig(
        seed=1,
        settings=make_settings({"universe": f"TOP{size[0]}", "decay": 2}).to_brain(),
        data=DataSource(kind="synthetic", n_instruments=size[0], n_days=size[1], seed=5),
        workers=1,
        batch_size=4,
        candidates_per_iteration=8,
        **config,
    )
    settings = make_settings(cfg.settings)
    db = root / "alphamine.sqlite3"
    with Store.open(db) as store:
        fp = load_panel(cfg.data).fingerprint()
        store.create_run(RUN, config=cfg.model_dump(mode="json"), seed=1, data_fingerprint=fp, runtime_root=str(root))
        thesis = Thesis("momentum", "trend", "reversals")
        for e in EXPRS[:n]:
            tree = parse(e)
            store.add_candidate(
                RUN, 0, Candidate(e, settings, "template:test", thesis), canonical=canonical(e),
                expr_hash=structural_hash(e), status="queued", fields=sorted(fields_used(tree)),
                operators=sorted(operators_used(tree)),
            )  # fmt: skip
    return db


def start(root: Path, *args: str, command: str = "worker") -> subprocess.Popen[str]:
    cmd = [sys.executable, *_entry(), command, "--run-id", RUN, "--runtime-root", str(root), "--json", *args]
    if command == "worker":
        cmd += ["--quiet", "--workers", "1"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 180) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def facts(db: Path) -> dict[str, Any]:
    """What the store says: statuses, results, how often each candidate was simulated, batches."""
    with Store.open(db) as store:
        rows = store.candidates(run_id=RUN)
        with store.engine.connect() as c:
            results = int(c.execute(select(func.count()).select_from(SIM_RESULTS)).scalar() or 0)
        batches = [t.payload["candidates"] for t in store.tasks(RUN) if t.stage == STAGE]
        return {
            "rows": rows,
            "status": Counter(r.status for r in rows),
            "results": results,
            "simulations": {r.id: sum(e["status"] == "simulated" for e in r.reasons) for r in rows},
            "batches": batches,
            "claims": store.claims(),
            "running_tasks": [t.id for t in store.tasks(RUN) if t.status == "running"],
        }


def wait_for_claims(db: Path, proc: subprocess.Popen[str], timeout: float = 120) -> list[int]:
    """Poll until the worker holds claims; returns the claimed ids."""
    end = time.monotonic() + timeout
    with Store.open(db) as store:
        while time.monotonic() < end:
            held = [k.candidate_id for k in store.claims() if k.worker.split(":")[1] == str(proc.pid)]
            if held:
                return held
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.005)
    raise AssertionError("the worker never claimed anything")


def test_two_workers_drain_one_store_and_simulate_every_candidate_exactly_once(tmp_path: Path) -> None:
    db = make_run(tmp_path, 160, LARGE)
    procs = [start(tmp_path, "--batch-size", "4", "--optimize-every-alphas", "0") for _ in range(2)]
    reports = [finish(p) for p in procs]
    assert sum(r["taken"] for r in reports) == 160
    assert all(r["taken"] > 0 and r["stopped"] == "empty" for r in reports), reports  # both did work
    f = facts(db)
    assert set(f["status"]) <= DECIDED and sum(f["status"].values()) == 160
    assert f["results"] == 160
    assert set(f["simulations"].values()) == {1}  # queued -> simulated -> decided, once each
    batched = [cid for b in f["batches"] for cid in b]
    assert len(batched) == len(set(batched)) == 160
    assert f["claims"] == [] and f["running_tasks"] == []


def test_a_killed_workers_claims_are_taken_over_after_the_ttl(tmp_path: Path) -> None:
    db = make_run(tmp_path, 120, LARGE)
    victim = start(tmp_path, "--batch-size", "40", "--claim-ttl", "2", "--optimize-every-alphas", "0")
    held = wait_for_claims(db, victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    killed_at = time.monotonic()
    with Store.open(db) as store:
        orphaned = [k for k in store.claims() if k.candidate_id in held]
        assert orphaned and store.expired_claims() == []  # still live: nobody may take them yet
    heir = finish(start(tmp_path, "--batch-size", "40", "--claim-ttl", "2", "--optimize-every-alphas", "0"))
    assert heir["stopped"] == "empty"
    assert time.monotonic() - killed_at >= 1.5  # it had to wait for the orphaned claims to expire
    f = facts(db)
    assert set(f["status"]) <= DECIDED and sum(f["status"].values()) == 120
    assert f["results"] == 120 and set(f["simulations"].values()) == {1}
    assert f["claims"] == []
    with Store.open(db) as store:
        assert all(store.get_candidate(i).status in DECIDED for i in held)


def test_sigterm_finishes_the_batch_in_flight_and_exits_0(tmp_path: Path) -> None:
    db = make_run(tmp_path, 120, LARGE)
    proc = start(tmp_path, "--batch-size", "30", "--optimize-every-alphas", "0")
    wait_for_claims(db, proc)
    proc.send_signal(signal.SIGTERM)
    report = finish(proc, timeout=60)
    assert report["stopped"] == "signal"
    f = facts(db)
    done = sum(n for s, n in f["status"].items() if s in DECIDED)
    assert report["taken"] == done and done % 30 == 0 and 0 < done < 120  # whole batches only
    assert f["status"]["queued"] == 120 - done and f["results"] == done
    assert f["claims"] == [] and f["running_tasks"] == []


def test_max_total_alphas_is_exact(tmp_path: Path) -> None:
    db = make_run(tmp_path, 30)
    report = finish(start(tmp_path, "--max-total-alphas", "13", "--optimize-every-alphas", "0"))
    assert (report["taken"], report["batches"], report["stopped"]) == (13, 4, "max_total")
    f = facts(db)
    assert f["status"]["queued"] == 17 and f["results"] == 13
    assert [len(b) for b in f["batches"]] == [4, 4, 4, 1]


def test_the_runs_simulation_budget_caps_what_workers_take(tmp_path: Path) -> None:
    db = make_run(tmp_path, 12, max_sim_alphas=6)
    report = finish(start(tmp_path, "--optimize-every-alphas", "0"))
    assert (report["taken"], report["stopped"]) == (6, "budget")
    f = facts(db)
    assert f["results"] == 6 and f["status"]["queued"] == 6
    assert [len(b) for b in f["batches"]] == [4, 2]  # the last claim cut to the budget left
    again = finish(start(tmp_path, "--optimize-every-alphas", "0"))  # a second worker: nothing left
    assert (again["taken"], again["stopped"]) == (0, "budget") and facts(db)["results"] == 6


def test_the_budget_left_counts_what_other_workers_hold(tmp_path: Path) -> None:
    from alphamine.cli.console import make_console
    from alphamine.cli.worker_cmd import worker_context
    from alphamine.pipeline.worker import budget_left

    with Store.open(make_run(tmp_path, 12, max_sim_alphas=6)) as store:
        rc = worker_context(store, RUN, tmp_path, None, make_console(), True)
        assert budget_left(rc) == 6
        held = store.claim_batch(RUN, "other:1:a", 4, 60.0)  # another worker is about to simulate 4
        assert len(held) == 4 and budget_left(rc) == 2
        store.release("other:1:a", [r.id for r in held])
        assert budget_left(rc) == 6


def test_once_does_one_batch(tmp_path: Path) -> None:
    db = make_run(tmp_path, 10)
    report = finish(start(tmp_path, "--mode", "once", "--batch-size", "3"))
    assert (report["taken"], report["stopped"]) == (3, "once")
    assert facts(db)["status"]["queued"] == 7


def test_refill_on_empty_generates_inspects_and_drains_new_iterations(tmp_path: Path) -> None:
    db = make_run(tmp_path, 0)
    report = finish(start(tmp_path, "--refill-on-empty", "--max-empty-refills", "2", "--optimize-every-alphas", "0"))
    assert report["refills"] == 2 and report["refill_queued"] > 0
    assert report["taken"] == report["refill_queued"] and report["stopped"] == "empty"
    f = facts(db)
    assert {r.iteration for r in f["rows"]} == {1, 2}
    assert f["status"]["queued"] == 0 and f["results"] == report["simulated"] == report["taken"]
    with Store.open(db) as store:
        done = store.finished_stages(RUN)
        assert {(1, "GENERATE"), (1, "INSPECT"), (2, "GENERATE"), (2, "INSPECT")} <= done
        assert store.get_run(RUN).iteration == 2  # type: ignore[union-attr]


def test_the_optimization_checkpoint_queues_tagged_parents_children_first(tmp_path: Path) -> None:
    db = make_run(tmp_path, 24)
    args = ["--batch-size", "4", "--optimize-every-alphas", "8", "--optimize-max-parents", "2",
            "--optimize-max-variants", "2"]  # fmt: skip
    report = finish(start(tmp_path, *args))
    assert report["checkpoints"] >= 1 and report["tagged"] > 0 and report["enqueued"] > 0
    f = facts(db)
    by_id = {r.id: r for r in f["rows"]}
    parents = [r for r in f["rows"] if OPTIMIZE_TAGS.intersection(r.tags)]
    children = [r for r in f["rows"] if r.parent_id is not None]
    assert parents and children and {c.parent_id for c in children} <= {p.id for p in parents}
    assert all(c.generator.startswith(("repair:", "optimizer:")) and c.priority >= 1.0 for c in children)
    assert all(by_id[i].parent_id is None for b in f["batches"][:2] for i in b)  # before the first checkpoint
    assert any(by_id[i].parent_id is not None for i in f["batches"][2])  # children jump the queue
    assert f["status"]["queued"] == 0 and set(f["simulations"].values()) == {1}


def test_optimize_candidates_on_demand_and_dry_run(tmp_path: Path) -> None:
    db = make_run(tmp_path, 16)
    finish(start(tmp_path, "--optimize-every-alphas", "0"))
    before = facts(db)
    dry = finish(start(tmp_path, "--dry-run", "--max-parents", "3", command="optimize-candidates"))
    assert dry["dry_run"] and dry["plans"] and dry["tagged"] == 0 and dry["queued"] == 0
    assert [(r.id, r.tags) for r in facts(db)["rows"]] == [(r.id, r.tags) for r in before["rows"]]
    real = finish(start(tmp_path, "--max-parents", "3", "--max-variants", "2", command="optimize-candidates"))
    assert real["tagged"] == len(real["plans"]) == len(dry["plans"]) and real["queued"] > 0
    after = facts(db)
    assert after["status"]["queued"] == real["queued"]
    tagged = [r for r in after["rows"] if OPTIMIZE_TAGS.intersection(r.tags)]
    assert sorted(r.id for r in tagged) == sorted(p["parent_id"] for p in real["plans"])
    again = finish(start(tmp_path, "--max-parents", "3", command="optimize-candidates"))
    assert not {p["parent_id"] for p in again["plans"]} & {r.id for r in tagged}  # never tagged twice


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads RSS from /proc")
def test_batch_log_shows_flat_memory(tmp_path: Path) -> None:
    make_run(tmp_path, 120)
    log = tmp_path / "batches.jsonl"
    finish(start(tmp_path, "--batch-size", "4", "--optimize-every-alphas", "0", "--batch-log", str(log)))
    rss = [json.loads(line)["rss_mb"] for line in log.read_text().splitlines()]
    assert len(rss) == 30
    assert max(rss[5:]) - rss[5] < 20, rss  # after warm-up, no growth per batch
    assert os.path.getsize(log) > 0

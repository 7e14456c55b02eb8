"""`alphamine plan` end to end: a real run in a real store, its best candidates marked ready, the plan
written to submission_plan.json and replayable under the platform's self-correlation rule."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from alphamine.cli.main import app
from alphamine.pipeline.controller import open_store
from alphamine.sim.checks import PoolEntry, self_correlation
from alphamine.store.status import CandidateStatus as CS

runner = CliRunner()
DATA = ["--synthetic", "60,400", "--seed", "3"]
SMALL = ["--universe", "TOP60", "--max-iterations", "1", "--candidates", "16", "--max-variant-alphas", "2",
         "--max-variants-per-alpha", "3", "--workers", "1", "--quiet"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("plan")
    for rid in ("p1", "p2"):
        res = runner.invoke(app, ["run", *DATA, *SMALL, "--run-id", rid, "--run-seed", rid[-1],
                                  "--runtime-root", str(root)])
        assert res.exit_code == 0, res.output
    store = open_store(root, None)
    try:  # the user's decision stands in for the gate: mark the best simulated candidates ready
        for rid, n in (("p1", 8), ("p2", 2)):
            rows = store.candidates(run_id=rid)
            results = store.results_for([r.id for r in rows])
            best = sorted((r for r in rows if r.id in results and np.isfinite(results[r.id].sharpe)),
                          key=lambda r: -results[r.id].sharpe)[:n]
            assert len(best) == n
            with store.transaction() as conn:
                store.set_candidate_status([r.id for r in best], CS.READY, reason="test: marked ready", conn=conn)
    finally:
        store.close()
    return root


def test_plan_writes_a_replayable_order_within_the_quota(root) -> None:
    out = root / "plan.json"
    res = runner.invoke(app, ["plan", "--run-id", "p1", "--quota", "3", "--output", str(out),
                              "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    assert "Nothing was submitted" in res.output
    plan = json.loads(out.read_text())
    assert plan["pool"] == "local" and plan["pool_size"] == 2  # run p2's ready alphas
    assert 1 <= len(plan["entries"]) <= 3
    assert len(plan["entries"]) + len(plan["skipped"]) == 8
    store = open_store(root, None)
    try:
        pool = [(r, x) for r, x in store.ready_pool() if r.run_id == "p2"]
        accepted = [PoolEntry(f"#{r.id}", *x.pnl_series(), x.sharpe) for r, x in pool]
        ids = [e["candidate_id"] for e in sorted(plan["entries"], key=lambda e: e["position"])]
        results = store.results_for(ids)
        for cid in ids:  # replay the order: every entry passes against the pool and the earlier entries
            res_ = results[cid]
            lo, hi = max(res_.is_range[0], res_.first), res_.is_range[1]
            verdict = self_correlation(res_.dates, res_.pnl, lo, hi, res_.sharpe, accepted)
            assert verdict["result"] == "PASS", (cid, verdict)
            accepted.append(PoolEntry(f"#{cid}", *res_.pnl_series(), res_.sharpe))
    finally:
        store.close()
    for s in plan["skipped"]:
        assert s["reason"]


def test_plan_default_output_and_bad_options(root) -> None:
    res = runner.invoke(app, ["plan", "--run-id", "p1", "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    assert (root / "runs" / "p1" / "submission_plan.json").is_file()
    res = runner.invoke(app, ["plan", "--run-id", "p1", "--pool", "nowhere", "--runtime-root", str(root)])
    assert res.exit_code == 2 and "--pool must be local or brain" in res.output
    res = runner.invoke(app, ["plan", "--run-id", "nope", "--runtime-root", str(root)])
    assert res.exit_code == 2

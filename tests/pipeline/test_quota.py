"""The quota allocator: a run with `--max-sim-alphas N` simulates exactly N, split by the lane shares,
round-robin over structural clusters, the rest left queued and reported in quota_report.json."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from alphamine.data.sources import DataSource
from alphamine.data.synthetic import synthetic
from alphamine.pipeline.config import RunConfig
from alphamine.pipeline.controller import open_store, start_run
from alphamine.pipeline.quota import LANES, QuotaConfig, QuotaLedger, admit, round_robin, skeleton
from alphamine.sim.settings import make_settings
from alphamine.store.status import UNSIMULATED_STATUSES


class Row:  # the three fields the allocator reads
    def __init__(self, id: int, expression: str, priority: float = 0.0) -> None:
        self.id, self.expression, self.priority = id, expression, priority


def test_skeleton_blanks_fields_and_constants() -> None:
    assert skeleton("rank(ts_delta(close, 5))") == skeleton("rank(ts_delta(volume, 20))")
    assert skeleton("rank(ts_delta(close, 5))") != skeleton("zscore(ts_delta(close, 5))")


def test_round_robin_takes_every_cluster_first_once() -> None:
    rows = [Row(1, "rank(close)", 3), Row(2, "rank(open)", 2), Row(3, "zscore(close)", 1), Row(4, "rank(high)", 0)]
    keys = {r.id: skeleton(r.expression) for r in rows}
    assert [r.id for r in round_robin(rows, keys)] == [1, 3, 2, 4]  # type: ignore[arg-type]
    decision = admit(rows, 2, stage="SIMULATE", iteration=0)  # type: ignore[arg-type]
    assert decision.admitted == (1, 3) and decision.deferred == (2, 4) and decision.clusters == 2
    assert any("duplicate-cluster" in r for r in decision.reasons)


@pytest.mark.parametrize("total", [7, 30, 91])
def test_lane_budgets_add_up_to_the_iteration_budget(total: int, tmp_path: Path) -> None:
    ledger = QuotaLedger(total, QuotaConfig(), 3, tmp_path / "q.json")
    spent = 0
    for iteration in range(3):
        start, used = spent, 0
        for stage in ("SIMULATE", "VARIANT_SEARCH", "ENHANCE"):
            b = ledger.lane_budget(stage, iteration, spent, used)
            assert b >= 0
            spent += b
            used += b
        assert used == ledger.iteration_budget(iteration, start)
    assert spent == total
    shares = QuotaConfig(explore=2, exploit=1, repair=1)
    assert math.isclose(sum(shares.share(lane) for lane in LANES), 1.0)


def test_a_run_never_exceeds_its_budget_and_reports_every_decision(tmp_path: Path) -> None:
    n, t, budget = 60, 500, 37
    panel = synthetic(n, t, seed=4)
    cfg = RunConfig(
        seed=1, settings=make_settings({"universe": f"TOP{n}"}).to_brain(),
        data=DataSource(kind="synthetic", n_instruments=n, n_days=t, seed=4), max_iterations=2, target_ready=99,
        candidates_per_iteration=30, max_variant_alphas=3, max_variants_per_alpha=4, max_enhance_alphas=3,
        workers=1, batch_size=8, max_sim_alphas=budget,
    )
    out = start_run(cfg, runtime_root=tmp_path, run_id="q", panel=panel, console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    store = open_store(tmp_path, None)
    try:
        rows = store.candidates(run_id="q")
        simulated = [r for r in rows if r.status not in UNSIMULATED_STATUSES]
        n_simulated = len(simulated)
        assert budget * 0.8 <= len(simulated) <= budget  # a lane with fewer candidates than its share leaves some
        assert any(r.status == "queued" for r in rows)  # the rest waits for a worker
    finally:
        store.close()
    report = json.loads((tmp_path / "runs" / "q" / "artifacts" / "quota_report.json").read_text())
    assert report["total"] == budget
    admitted = sum(len(d["admitted"]) for d in report["decisions"])
    assert admitted == n_simulated
    md = (tmp_path / "runs" / "q" / "run_report.md").read_text()
    assert "## Simulation budget" in md and f"`--max-sim-alphas {budget}`" in md
    assert md.count("| SIMULATE | explore |") == sum(d["stage"] == "SIMULATE" for d in report["decisions"])
    first = [d for d in report["decisions"] if d["iteration"] == 0]
    assert [d["stage"] for d in first][:2] == ["SIMULATE", "VARIANT_SEARCH"]  # ENHANCE when something to repair
    assert first[0]["budget"] == math.floor(math.ceil(budget / 2) * QuotaConfig().share("explore"))

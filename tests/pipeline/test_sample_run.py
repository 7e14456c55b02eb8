"""The main job on the real bundled sample (what `make run` does), kept small."""

from __future__ import annotations

import json
import math

import pytest
from rich.console import Console

from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.pipeline.presets import resolve_settings
from alphamine.store import Store


@pytest.mark.slow
def test_mining_run_on_the_bundled_sample(tmp_path) -> None:
    settings = resolve_settings(tmp_path, "sample_top200_subindustry", {})
    config = RunConfig(
        seed=1,
        settings=settings.to_brain(),
        data=DataSource(kind="sample"),
        max_iterations=1,
        target_ready=50,
        candidates_per_iteration=10,
        max_variant_alphas=1,
        max_variants_per_alpha=2,
        max_enhance_alphas=1,
        workers=1,
    )
    out = start_run(config, runtime_root=tmp_path, run_id="sample", console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    with Store.open(tmp_path / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id="sample")
        results = store.results_for([r.id for r in rows])
        assert len(results) >= 8
        names = []
        for res in results.values():
            assert math.isfinite(res.metrics["is"]["sharpe"]) and math.isfinite(res.metrics["os"]["sharpe"])
            names.append(res.metrics["is"]["longCount"] + res.metrics["is"]["shortCount"])
        assert min(names) > 0  # every simulated candidate held a book
        assert sorted(names)[len(names) // 2] > 100  # most books are broad in TOP200 (sparse fields hold fewer)
    summary = json.loads((tmp_path / "runs" / "sample" / "run_result.json").read_text())
    assert summary["funnel"]["simulated"] == len(results)

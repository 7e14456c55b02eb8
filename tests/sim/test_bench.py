"""The benchmark's measurement machinery on a tiny panel (the figures themselves are never asserted)."""

from __future__ import annotations

import pytest

from alphamine.data.synthetic import synthetic
from alphamine.sim.bench import BENCH_EXPRESSIONS, STAGES, markdown, run_size


@pytest.mark.slow
def test_run_size_reports_every_figure_from_the_fastest_steady_pass() -> None:
    panel = synthetic(40, 300, seed=3)
    exprs = [*BENCH_EXPRESSIONS[:4], "nonexistent_field + 1"]
    run = run_size(panel, exprs, workers=1, label="T", build_seconds=0.1, repeats=2)
    assert run.n_alphas == 5 and run.failures == 1  # a bad alpha is reported, the batch goes on
    assert run.one_core_seconds > 0 and run.cold_seconds > 0 and run.all_cores_seconds > 0
    assert set(run.stage_seconds) == set(STAGES)
    assert sum(run.stage_seconds.values()) == pytest.approx(run.one_core_seconds, rel=1e-6)
    assert "rank" in run.kernel_ms and run.kernel_calls["rank"] >= 1  # kernel timings of that pass
    assert run.steady_faults >= 0 and run.worker_faults >= 0
    text = markdown([run], "2026-01-01")
    assert "| T 40x300 | 5 (1 failed) |" in text and "rank" in text
    assert f"Minor page faults at T: {run.steady_faults:,} in the steady pass" in text

"""`llm_usage.json` (atomic, sessions added across resumes, keys scrubbed) and the cost per ready alpha
of a real small run in a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from alphamine.llm.budget import Budget, Usage
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.pipeline.presets import resolve_settings
from alphamine.pipeline.run_usage import (
    UsageFileError,
    cost_per_ready,
    read_usage,
    usage_path,
    write_usage,
)
from alphamine.pipeline.timings import stage_timings
from alphamine.store import Store
from alphamine.store.status import CandidateStatus


def _budget(prompt: int, completion: int, model: str = "gpt-4o-mini") -> Budget:
    b = Budget(token_budget=10_000)
    b.record_success("generator", Usage(prompt, completion), model)
    b.record_failure("generator", "HTTP 503 after 5 attempt(s)")
    return b


def test_write_and_read_usage(tmp_path: Path) -> None:
    assert read_usage(tmp_path) is None
    budget = _budget(1000, 200)
    path = write_usage(tmp_path, budget.summary(), {"make-v1@abc123": {"calls": 2, "proposed": 6, "dropped": 1}})
    assert path == usage_path(tmp_path) == tmp_path / "artifacts" / "llm_usage.json"
    assert [p.name for p in path.parent.iterdir()] == ["llm_usage.json"]  # no temporary file left
    doc = read_usage(tmp_path)
    assert doc is not None and doc["version"] == 1 and set(doc["sessions"]) == {"run"}
    total = doc["total"]
    assert (total["calls"], total["failures"], total["tokens"]) == (2, 1, 1200)
    assert total["cost"] == pytest.approx((1000 * 0.15 + 200 * 0.60) / 1e6)
    assert total["agents"]["generator"]["calls"] == 2
    assert total["prompts"] == {"make-v1@abc123": {"calls": 2, "dropped": 1, "proposed": 6}}


def test_sessions_add_up_and_rewriting_a_session_replaces_it(tmp_path: Path) -> None:
    first, second = _budget(100, 10), _budget(50, 5, model="no-price-model")
    write_usage(tmp_path, first.summary(), {"make-v1@a": {"calls": 1}})
    write_usage(tmp_path, first.summary(), {"make-v1@a": {"calls": 1}})  # again after another stage
    doc = read_usage(tmp_path)
    assert doc is not None and doc["total"]["tokens"] == 110
    second.pause("LLM token budget reached")
    write_usage(tmp_path, second.summary(), {"make-v1@a": {"calls": 2}, "fix-v1@b": {"fixed": 1}}, session="resume-1")
    doc = read_usage(tmp_path)
    assert doc is not None
    total = doc["total"]
    assert total["tokens"] == 165 and total["calls"] == 4
    assert total["cost"] == pytest.approx(first.summary()["cost"])  # the unpriced session adds tokens only
    assert total["unpriced_calls"] == 1
    assert total["prompts"] == {"fix-v1@b": {"fixed": 1}, "make-v1@a": {"calls": 3}}
    assert total["paused"] == ["resume-1: LLM token budget reached"]


def test_key_like_text_is_scrubbed_and_a_broken_file_is_named(tmp_path: Path) -> None:
    budget = Budget()
    budget.record_failure("generator", "provider said: sk-live-ABCDEFGH12345678 is wrong")
    write_usage(tmp_path, budget.summary(), {})
    text = usage_path(tmp_path).read_text(encoding="utf-8")
    assert "sk-live-ABCDEFGH12345678" not in text
    usage_path(tmp_path).write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageFileError, match=r"llm_usage\.json"):
        read_usage(tmp_path)
    write_usage(tmp_path, _budget(1, 1).summary(), {})  # an unreadable record is replaced
    assert read_usage(tmp_path) is not None


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("usage")
    settings = resolve_settings(root, None, {"universe": "TOP50", "decay": 2})
    config = RunConfig(
        seed=3,
        settings=settings.to_brain(),
        data=DataSource(kind="synthetic", n_instruments=50, n_days=400, seed=5),
        max_iterations=1,
        target_ready=50,
        candidates_per_iteration=8,
        max_variant_alphas=1,
        max_variants_per_alpha=2,
        max_enhance_alphas=1,
        workers=1,
        batch_size=4,
    )
    out = start_run(config, runtime_root=root, run_id="u1", console=Console(quiet=True), quiet=True)
    return root, out.run_id


def test_cost_per_ready_of_a_real_run(run: tuple[Path, str]) -> None:
    root, run_id = run
    run_dir = root / "runs" / run_id
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id=run_id)
        results = store.results_for([r.id for r in rows])
        wall = sum(t.seconds for t in stage_timings(store, run_id))

        none_ready = cost_per_ready(store, run_id, run_dir)
        assert none_ready["ready"] == 0 and none_ready["llm_usage"] == "none"
        totals = none_ready["totals"]
        assert totals["llm_tokens"] is None and totals["llm_cost"] is None
        assert totals["simulations"] == totals["simulations_local"] == len({r.id for r in results.values()}) > 0
        assert totals["simulations_platform"] == 0 and totals["simulations_by_backend"] == {
            "local": totals["simulations"]
        }
        assert totals["wall_seconds"] == pytest.approx(wall, abs=1e-3) and wall > 0
        assert set(none_ready["per_ready"].values()) == {None}

        budget = _budget(3000, 1000)
        write_usage(run_dir, budget.summary(), {"make-v1@abc": {"calls": 2}})
        picked = [r.id for r in rows if r.id in results][:2]
        store.set_candidate_status(picked, CandidateStatus.READY, reason="test: accepted")
        two = cost_per_ready(store, run_id, run_dir)
    assert two["ready"] == 2 and two["llm_usage"] == "recorded"
    per, totals = two["per_ready"], two["totals"]
    assert totals["llm_tokens"] == 4000 and per["llm_tokens"] == 2000
    assert per["llm_cost"] == pytest.approx(budget.summary()["cost"] / 2)
    assert per["llm_calls"] == 1.0
    assert per["simulations"] == pytest.approx(totals["simulations"] / 2)
    assert per["wall_seconds"] == pytest.approx(totals["wall_seconds"] / 2)
    json.dumps(two)  # plain data for the report

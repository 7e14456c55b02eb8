"""The LLM agents against a real OpenAI-compatible server on loopback (`fake_server.py`), a real
synthetic panel and a real SQLite store: prompt versions and theses recorded, the lint gate (one fix
round, unknown fields never become candidates), repairs, retries, auth failures, the budget's kill
switch, the key that never leaks, settings validation, hold-only decisions and search-period-only
correlations for the critic."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from alphamine.brain.credentials import Secret
from alphamine.brain.retry import RetryPolicy
from alphamine.data import synthetic
from alphamine.data.panel import Panel
from alphamine.generate import GenerationContext
from alphamine.generate.candidate import Candidate, Thesis
from alphamine.generate.templates import TemplateGenerator
from alphamine.llm.agents import PromptCounts
from alphamine.llm.budget import Budget
from alphamine.llm.client import LLMClient
from alphamine.llm.config import LLMConfig
from alphamine.llm.enhancer import LLMEnhancer
from alphamine.llm.generator import EvidenceSnapshot, LLMGenerator
from alphamine.llm.knowledge import KnowledgeBase
from alphamine.llm.prompts import PromptLibrary
from alphamine.llm.reviewers import LLMVerdict, Neighbour, critic_note, llm_decide, nearest_ready
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.pipeline.decide import Verdict
from alphamine.pipeline.presets import resolve_settings
from alphamine.pipeline.run_usage import write_usage
from alphamine.pipeline.trial_gate import search_range
from alphamine.sim.checks import aligned_correlation
from alphamine.sim.settings import make_settings
from alphamine.store import Store
from alphamine.store.status import CandidateStatus
from tests.llm.fake_server import FakeLLMServer, Scripted, fake_llm_server

POLICY = RetryPolicy(max_attempts=3, base=1.0, cap=4.0, jitter=0.0, retry_after_cap=10.0)
PLANTED = "sk-PLANTED-agent-key-7d1e0b9a4c"
THESIS = {"type": "reversal", "rationale": "short-term overreaction reverts", "failure_mode": "trending markets"}


def make_client(
    server: FakeLLMServer, budget: Budget | None = None, *, key: str | None = None, sleeps: list[float] | None = None
) -> LLMClient:
    config = LLMConfig("custom", server.url, "fake-model", Secret(server.key if key is None else key), 5.0)
    return LLMClient(
        config, budget, retry=POLICY, sleep=(sleeps if sleeps is not None else []).append, rng=random.Random(1)
    )


def make_reply(*expressions: str) -> str:
    return json.dumps({"thesis": THESIS, "expressions": list(expressions)})


def fix_reply(expression: str) -> str:
    return json.dumps({"expression": expression, "explanation": "fixed"})


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m["content"]) for m in body["messages"] if m["role"] == "user")


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(40, 300, seed=1)


@pytest.fixture
def ctx(panel: Panel) -> GenerationContext:
    return GenerationContext(
        panel.catalogue, panel.n_days, make_settings({"universe": "TOP40", "decay": 2}), np.random.default_rng(0)
    )


@pytest.fixture
def prompts() -> PromptLibrary:
    return PromptLibrary(None)


# ---- generator ----------------------------------------------------------------------------------------


def test_generator_records_prompt_version_thesis_and_knowledge(
    llm_server: FakeLLMServer, ctx: GenerationContext, tmp_path: Path
) -> None:
    lesson = tmp_path / "decay.md"
    lesson.write_text("# Smooth fast signals\n\nRaise decay before rewriting a fast reversal.\n", encoding="utf-8")
    kb = KnowledgeBase(tmp_path)
    kb.approve(kb.add(lesson, "Smooth fast signals").id)
    library = PromptLibrary(tmp_path)
    evidence = EvidenceSnapshot(
        best=[
            (
                "rank(-returns)",
                {"is": {"sharpe": 1.11}, "train": {"sharpe": 2.22}, "os": {"sharpe": 9.87}, "test": {"sharpe": 7.65}},
            )
        ],
        saturated=[{"close", "volume"}],
    )
    llm_server.script(make_reply("rank(-ts_delta(close, 5))", "rank(volume / adv20)"))
    gen = LLMGenerator(
        make_client(llm_server), library, hypotheses=["liquidity shocks revert"], evidence=lambda c: evidence
    )
    cands = gen.generate(ctx, 2)

    assert gen.name == "llm" and gen.last_error is None
    assert [c.expression for c in cands] == ["rank(-ts_delta(close, 5))", "rank(volume / adv20)"]
    version = library.recorded_version("make-v1")
    assert "+" in version  # the approved lesson is part of the version
    for c in cands:
        assert c.generator == "llm:make-v1" and c.settings == ctx.base_settings and c.tags == ("llm",)
        assert c.thesis == Thesis(**THESIS)
        assert c.params == {
            "prompt_version": version,
            "knowledge": [kb.approved()[0].id],
            "hypothesis": "liquidity shocks revert",
        }
    (req,) = llm_server.chat_requests
    text = user_text(req.body)
    assert "Hypothesis: liquidity shocks revert" in text and "adv20" in text
    assert "2.22" in text and "9.87" not in text and "7.65" not in text and "1.11" not in text  # search block only
    assert "{close, volume}" in text
    assert gen.counts.as_dict()[version] == {"calls": 1, "candidates": 2, "proposed": 2, "valid": 2}


def test_lint_failure_is_sent_back_once_with_its_diagnostics(
    llm_server: FakeLLMServer, ctx: GenerationContext, prompts: PromptLibrary
) -> None:
    llm_server.script(make_reply("ts_mean(close, 500)", "rank(-returns)"), fix_reply("ts_mean(close, 20)"))
    gen = LLMGenerator(make_client(llm_server), prompts)
    cands = gen.generate(ctx, 2)

    assert [c.expression for c in cands] == ["ts_mean(close, 20)", "rank(-returns)"]
    _make, fix = llm_server.chat_requests
    sent = user_text(fix.body)
    assert "LOOKBACK_TOO_LONG" in sent and "exceeds the 300 days of history" in sent
    assert "ts_mean(close, 500)" in sent
    assert cands[0].params["fix"]["from"] == "ts_mean(close, 500)"
    assert cands[0].params["fix"]["prompt_version"] == prompts.recorded_version("fix-v1")
    assert "fix" not in cands[1].params
    counts = gen.counts.as_dict()
    assert counts[prompts.recorded_version("make-v1")]["fixed"] == 1
    assert counts[prompts.recorded_version("fix-v1")] == {"calls": 1, "fixed": 1}


def test_an_unknown_field_never_becomes_a_candidate(
    llm_server: FakeLLMServer, ctx: GenerationContext, prompts: PromptLibrary
) -> None:
    llm_server.script(make_reply("rank(short_interest)"), fix_reply("rank(short_interest_ratio)"))
    gen = LLMGenerator(make_client(llm_server), prompts)
    assert gen.generate(ctx, 1) == []
    assert gen.last_error is None  # dropped by lint is not an LLM error
    assert len(llm_server.chat_requests) == 2  # one fix round, never a second
    sent = user_text(llm_server.chat_requests[1].body)
    assert "UNKNOWN_FIELD" in sent and "short_interest" in sent
    assert gen.counts.as_dict()[prompts.recorded_version("make-v1")]["dropped"] == 1


def test_malformed_json_gets_one_repair_call(
    llm_server: FakeLLMServer, ctx: GenerationContext, prompts: PromptLibrary
) -> None:
    llm_server.script("Sure! Here are some alphas: rank(close)", make_reply("rank(-returns)"))
    cands = LLMGenerator(make_client(llm_server), prompts).generate(ctx, 1)
    assert [c.expression for c in cands] == ["rank(-returns)"]
    _first, repair = llm_server.chat_requests
    assert "invalid" in str(repair.body["messages"][-1]["content"])


def test_429_then_success(llm_server: FakeLLMServer, ctx: GenerationContext, prompts: PromptLibrary) -> None:
    sleeps: list[float] = []
    llm_server.script(Scripted.fail(429, "slow down", retry_after=2), make_reply("rank(-returns)"))
    gen = LLMGenerator(make_client(llm_server, sleeps=sleeps), prompts)
    assert [c.expression for c in gen.generate(ctx, 1)] == ["rank(-returns)"]
    assert sleeps == [2.0] and len(llm_server.chat_requests) == 2 and gen.last_error is None


def test_401_gives_no_candidates_a_reason_and_the_run_continues(
    llm_server: FakeLLMServer, ctx: GenerationContext, prompts: PromptLibrary
) -> None:
    gen = LLMGenerator(make_client(llm_server, key=PLANTED), prompts)
    assert gen.generate(ctx, 4) == []
    assert gen.last_error is not None and "401" in gen.last_error and PLANTED not in gen.last_error
    assert len(llm_server.chat_requests) == 1  # final at once, never retried
    assert TemplateGenerator().generate(ctx, 3)  # the deterministic generators go on


def test_token_budget_exhausted_stops_every_further_request(
    llm_server: FakeLLMServer, ctx: GenerationContext, prompts: PromptLibrary
) -> None:
    budget = Budget(token_budget=100)
    llm_server.script(Scripted.ok(make_reply("rank(-returns)", "rank(volume)"), usage=(90, 30)))
    gen = LLMGenerator(make_client(llm_server, budget), prompts, n_per_call=2)
    cands = gen.generate(ctx, 6)  # three rounds wanted; the budget stops the second
    assert [c.expression for c in cands] == ["rank(-returns)", "rank(volume)"]
    assert gen.last_error is not None and "token budget" in gen.last_error
    assert gen.generate(ctx, 2) == [] and "token budget" in str(gen.last_error)
    assert len(llm_server.chat_requests) == 1
    assert gen.counts.as_dict()[prompts.recorded_version("make-v1")]["calls"] == 1  # a paused call sent nothing


# ---- enhancer -----------------------------------------------------------------------------------------


def _parent() -> Candidate:
    return Candidate(
        "rank(-returns)",
        make_settings({"universe": "TOP40", "decay": 2}),
        "template:reversal",
        Thesis(**THESIS),
        tags=("reversal",),
    )


def test_enhancer_validates_settings_changes(
    llm_server: FakeLLMServer, ctx: GenerationContext, prompts: PromptLibrary
) -> None:
    repairs = [
        {"expression": "rank(-ts_mean(returns, 5))", "settings": {"decay": 8}, "why": "trade less"},
        {"expression": "rank(-returns)", "settings": {"neutralization": "BOGUS"}, "why": "x"},
        {"expression": "rank(-returns)", "settings": {"universe": "TOP9999"}, "why": "x"},
        {"expression": "rank(-returns)", "settings": {"neutralization": "sector"}, "why": "broader groups"},
        {"expression": "rank(-returns)", "why": "the parent itself"},
    ]
    llm_server.script(json.dumps({"diagnosis": "turnover too high", "repairs": repairs}))
    enhancer = LLMEnhancer(make_client(llm_server), prompts)
    metrics = {"is": {"sharpe": 1.11}, "train": {"sharpe": 1.37, "turnover": 0.81}, "os": {"sharpe": 9.87}}
    yearly = [{"year": 2016, "sharpe": 1.5, "stage": "IS"}, {"year": 2099, "sharpe": 4.2, "stage": "OS"}]
    kids = enhancer.propose(_parent(), None, metrics, ["HIGH_TURNOVER"], yearly, ["rank(returns)"], ctx, 4)

    assert [(k.expression, k.settings.decay, k.settings.neutralization.value) for k in kids] == [
        ("rank(-ts_mean(returns, 5))", 8, "INDUSTRY"),
        ("rank(-returns)", 2, "SECTOR"),
    ]
    assert all(k.generator == "llm:enhance-v1" and k.thesis == Thesis(**THESIS) for k in kids)
    assert kids[0].params["settings"] == {"decay": [2, 8]}
    assert kids[0].params["diagnosis"] == "turnover too high"
    assert kids[0].params["prompt_version"] == prompts.recorded_version("enhance-v1")
    assert len(enhancer.rejected) == 2 and "BOGUS" in enhancer.rejected[0] and "TOP9999" in enhancer.rejected[1]
    text = user_text(llm_server.chat_requests[0].body)
    assert "1.37" in text and "9.87" not in text and "1.11" not in text and "2099" not in text
    assert "HIGH_TURNOVER" in text and "rank(returns)" in text
    counts = enhancer.counts.as_dict()[prompts.recorded_version("enhance-v1")]
    assert counts["settings_rejected"] == 2 and counts["repeated"] == 1 and counts["candidates"] == 2


def test_enhancer_error_returns_nothing_with_a_reason(
    llm_server: FakeLLMServer, ctx: GenerationContext, prompts: PromptLibrary
) -> None:
    llm_server.script(Scripted.fail(400, "bad request"))
    enhancer = LLMEnhancer(make_client(llm_server), prompts)
    assert enhancer.propose(_parent(), None, {"sharpe": 1.2}, ["LOW_FITNESS"], [], [], ctx, 3) == []
    assert enhancer.last_error is not None and "400" in enhancer.last_error


# ---- decide and critic --------------------------------------------------------------------------------


def test_llm_decide_can_only_hold(llm_server: FakeLLMServer, prompts: PromptLibrary) -> None:
    client, row = make_client(llm_server), _parent()
    metrics = {"train": {"sharpe": 1.64, "fitness": 1.2}, "os": {"sharpe": 9.87}, "is": {}, "test": {}}
    checks = [{"name": "LOW_SHARPE", "result": "PASS"}, {"name": "HIGH_TURNOVER", "result": "WARNING"}]
    passing = Verdict(CandidateStatus.GATE_PENDING, ("passes every simulation check",))
    counts = PromptCounts()

    llm_server.script(json.dumps({"verdict": "hold", "reasons": ["one good year carries it"]}))
    held = llm_decide(client, prompts, row, metrics, checks, passing, counts=counts)
    assert held == LLMVerdict(True, ("one good year carries it",), prompts.recorded_version("decision-v1"))
    text = user_text(llm_server.chat_requests[0].body)
    assert "1.64" in text and "9.87" not in text and "HIGH_TURNOVER WARNING" in text

    llm_server.script(json.dumps({"verdict": "keep", "reasons": ["consistent"]}))
    kept = llm_decide(client, prompts, row, metrics, checks, "ready", counts=counts)
    assert kept is not None and kept.hold is False
    assert set(LLMVerdict.__dataclass_fields__) == {"hold", "reasons", "prompt_version"}  # no way to promote

    before = len(llm_server.chat_requests)
    for status in ("rejected", "promising", Verdict(CandidateStatus.REJECTED, ("fails LOW_SHARPE",))):
        assert llm_decide(client, prompts, row, metrics, checks, status) is None  # nothing to hold back
    assert len(llm_server.chat_requests) == before  # and nothing asked

    llm_server.script(Scripted.fail(403, "forbidden"))
    assert llm_decide(client, prompts, row, metrics, checks, passing, counts=counts) is None  # no opinion
    assert counts.as_dict()[prompts.recorded_version("decision-v1")] == {"calls": 3, "errors": 1, "hold": 1, "keep": 1}


@pytest.fixture(scope="module")
def run_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A real small run (synthetic market, validation window) with two candidates marked ready."""
    root = tmp_path_factory.mktemp("critic")
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
    start_run(config, runtime_root=root, run_id="c1", console=Console(quiet=True), quiet=True)
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id="c1", status=["promising", "rejected", "gate_pending"])
        results = store.results_for([r.id for r in rows])
        traded = [r for r in rows if search_range(results[r.id])[1] > search_range(results[r.id])[0] + 20]
        assert len(traded) >= 3
        store.set_candidate_status([traded[0].id, traded[1].id], CandidateStatus.READY, reason="test: accepted")
    return root, "c1"


def test_critic_reads_search_period_correlation_only(
    run_store: tuple[Path, str], llm_server: FakeLLMServer, prompts: PromptLibrary
) -> None:
    root, run_id = run_store
    with Store.open(root / "alphamine.sqlite3") as store:
        ready = store.candidates(run_id=run_id, status=CandidateStatus.READY)
        others = store.candidates(run_id=run_id, status=["promising", "rejected"])
        results = store.results_for([*(r.id for r in others), *(r.id for r in ready)])
        cand = next(r for r in others if search_range(results[r.id])[1] > search_range(results[r.id])[0] + 20)
        near = nearest_ready(store, run_id, cand, k=3)
        among = nearest_ready(store, run_id, ready[0], k=3)
    assert [n.candidate_id for n in among] == [ready[1].id]  # never its own neighbour
    assert {n.candidate_id for n in near} == {r.id for r in ready}
    own = results[cand.id]
    assert own.test_range[1] > own.test_range[0]  # the run has a validation window
    for n in near:
        other = results[n.candidate_id]
        (alo, ahi), (blo, bhi) = search_range(own), search_range(other)
        expected = aligned_correlation(own.dates[alo:ahi], own.pnl[alo:ahi], other.dates[blo:bhi], other.pnl[blo:bhi])
        whole = aligned_correlation(*own.pnl_series(), *other.pnl_series())
        assert n.correlation == pytest.approx(expected) and n.correlation != pytest.approx(whole)
        assert 0.0 <= n.similarity <= 1.0

    llm_server.script("Close to #1 by structure; not novel enough. Change the input field.")
    note = critic_note(make_client(llm_server), prompts, cand.expression, near)
    assert note is not None and note.startswith("Close to")
    text = user_text(llm_server.chat_requests[0].body)
    assert f"PnL correlation={near[0].correlation:.3g}" in text and near[0].expression in text
    assert critic_note(make_client(llm_server), prompts, cand.expression, []) is None
    assert len(llm_server.chat_requests) == 1


def test_structural_similarity_ignores_windows() -> None:
    from alphamine.llm.reviewers import similarity

    assert similarity("rank(ts_mean(close, 5))", "rank(ts_mean(close, 20))") == 1.0
    assert similarity("rank(ts_mean(close, 5))", "rank(ts_mean(volume, 5))") < 0.5
    assert Neighbour(1, "x", 0.5, None).view()["structure"] == 0.5


# ---- the key --------------------------------------------------------------------------------------------


def test_the_planted_key_never_leaves_the_header(
    ctx: GenerationContext, prompts: PromptLibrary, tmp_path: Path
) -> None:
    counts = PromptCounts()
    with fake_llm_server(key=PLANTED) as server:
        budget = Budget()
        client = make_client(server, budget)
        server.script(
            make_reply("rank(clos)", "rank(-returns)"),
            fix_reply("rank(close)"),
            json.dumps({"diagnosis": "d", "repairs": [{"expression": "rank(-ts_mean(returns, 3))"}]}),
            json.dumps({"verdict": "hold", "reasons": ["r"]}),
            "novel enough",
        )
        cands = LLMGenerator(client, prompts, counts=counts).generate(ctx, 2)
        kids = LLMEnhancer(client, prompts, counts=counts).propose(_parent(), None, {"sharpe": 1.0}, [], [], [], ctx, 2)
        verdict = llm_decide(client, prompts, _parent(), {"sharpe": 1.5}, [], "gate_pending", counts=counts)
        note = critic_note(client, prompts, "rank(-returns)", [(1, "rank(returns)", 0.9, 0.8)], counts=counts)
        bad = LLMGenerator(make_client(server, key="sk-wrong-key-000000"), prompts)
        assert bad.generate(ctx, 1) == [] and PLANTED not in str(bad.last_error)
        requests = server.requests
    assert len(cands) == 2 and len(kids) == 1 and verdict is not None and note == "novel enough"
    assert all(r.authorized for r in requests[:-1]) and not requests[-1].authorized
    for r in requests:
        assert PLANTED not in json.dumps(r.body) and PLANTED not in json.dumps(r.headers)
    for c in [*cands, *kids]:
        assert PLANTED not in json.dumps(dict(c.params)) and PLANTED not in repr(c)
    path = write_usage(tmp_path / "run", budget.summary(), counts.as_dict())
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert PLANTED not in f.read_text(encoding="utf-8")
    assert json.loads(path.read_text())["total"]["calls"] == 5

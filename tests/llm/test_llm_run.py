"""A mining run with `--llm` against the loopback OpenAI-compatible test server: LLM candidates carry
their prompt version and thesis, the token budget stops the calls, malformed and failing answers do not
stop the run, and the key is written nowhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alphamine.cli.main import app
from alphamine.pipeline.controller import open_store
from tests.llm.fake_server import Scripted

runner = CliRunner()
EXPRESSIONS = ["rank(-ts_delta(close, 3))", "-rank(ts_zscore(volume, 20))", "rank(ts_mean(returns, 10))",
               "group_rank(-ts_delta(close, 5), sector)", "rank(not_a_field)"]


def _responder(body: dict) -> str:
    system = body["messages"][0]["content"]
    if "fix" in system.lower() and "expression" in body["messages"][-1]["content"] and "UNKNOWN_FIELD" in str(body):
        return json.dumps({"expression": "rank(-ts_delta(open, 4))", "explanation": "known field"})
    if "repairs" in system:
        return json.dumps({"diagnosis": "turnover too high", "repairs": [
            {"expression": "ts_decay_linear(rank(-ts_delta(close, 3)), 5)", "settings": {"decay": 6},
             "why": "smooth"}]})
    return json.dumps({"thesis": {"type": "reversal", "rationale": "prices overshoot",
                                  "failure_mode": "trending markets"},
                       "expressions": EXPRESSIONS})


@pytest.fixture()
def llm_env(llm_server, monkeypatch, tmp_path) -> dict[str, str]:
    monkeypatch.delenv("ALPHAMINE_LLM", raising=False)
    return {"LLM_PROVIDER": "custom", "LLM_BASE_URL": llm_server.url, "LLM_MODEL": "fake-model",
            "LLM_API_KEY": llm_server.key, "HOME": str(tmp_path / "home"), "COLUMNS": "200"}


ARGS = ["run", "--synthetic", "60,500", "--seed", "2", "--universe", "TOP60", "--max-iterations", "2",
        "--candidates", "12", "--max-variant-alphas", "1", "--max-variants-per-alpha", "2", "--workers", "1",
        "--quiet"]


def _all_text(root: Path) -> str:
    parts = []
    for path in root.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_llm_run_records_prompt_versions_survives_failures_and_keeps_the_key(llm_server, llm_env,
                                                                             tmp_path) -> None:
    root = tmp_path / "rt"
    llm_server.script("this is not json", Scripted.fail(429, "slow down", retry_after="0"),
                      Scripted.fail(503, "busy", retry_after="0"))
    llm_server.responder = _responder
    res = runner.invoke(app, [*ARGS, "--llm", "--llm-share", "0.5", "--run-id", "l1", "--runtime-root", str(root)],
                        env=llm_env)
    assert res.exit_code == 0, res.output
    assert "LLM: on" in res.output
    store = open_store(root, None)
    try:
        rows = store.candidates(run_id="l1")
    finally:
        store.close()
    llm_rows = [r for r in rows if r.generator.startswith("llm:")]
    assert llm_rows, [r.generator for r in rows]
    made = [r for r in llm_rows if r.generator == "llm:make-v1"]
    assert made and all(r.params["prompt_version"].startswith("make-v1@") for r in made)
    assert all(r.thesis.type == "reversal" and r.thesis.failure_mode == "trending markets" for r in made)
    assert not any("not_a_field" in r.expression for r in rows)  # an unknown field is never simulated
    usage = json.loads((root / "runs" / "l1" / "artifacts" / "llm_usage.json").read_text())
    assert usage["total"]["calls"] >= 2
    report = (root / "runs" / "l1" / "run_report.md").read_text()
    calls = usage["total"]["calls"]
    assert f"| LLM calls | {calls:,} |" in report  # the cost per ready alpha section reads the usage file
    assert llm_server.key not in _all_text(root)  # store, logs, reports, artifacts
    for req in llm_server.chat_requests:
        assert llm_server.key not in json.dumps(req.body)


def test_token_budget_stops_the_calls(llm_server, llm_env, tmp_path) -> None:
    root = tmp_path / "rt"
    llm_server.responder = _responder
    res = runner.invoke(app, [*ARGS, "--llm", "--llm-token-budget", "1", "--run-id", "l2",
                              "--runtime-root", str(root)], env=llm_env)
    assert res.exit_code == 0, res.output
    assert len(llm_server.chat_requests) == 1  # the first answer spends the budget; nothing is asked again
    store = open_store(root, None)
    try:
        assert len(store.candidates(run_id="l2")) > 0  # the deterministic generators carried the run
    finally:
        store.close()


def test_llm_auto_is_off_without_configuration(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ALPHAMINE_LLM", raising=False)
    env = {"LLM_API_KEY": "", "LLM_PROVIDER": "", "HOME": str(tmp_path / "home")}
    res = runner.invoke(app, [*ARGS, "--max-iterations", "1", "--run-id", "l3", "--runtime-root", str(tmp_path)],
                        env=env)
    assert res.exit_code == 0, res.output
    assert "LLM: off (no LLM configured" in res.output

"""`alphamine doctor --check-llm` through the CLI against the real fake OpenAI-compatible server: each
setting with its source, the key masked, one tiny call."""

from __future__ import annotations

from typer.testing import CliRunner

from alphamine.cli.main import app
from tests.llm.fake_server import Scripted


def test_doctor_check_llm_calls_the_configured_endpoint(llm_server, tmp_path) -> None:
    llm_server.script(Scripted.ok("pong", usage=(3, 1)))
    env = {"LLM_PROVIDER": "custom", "LLM_BASE_URL": llm_server.url, "LLM_MODEL": "fake-model",
           "LLM_API_KEY": llm_server.key, "COLUMNS": "200", "HOME": str(tmp_path)}
    res = CliRunner().invoke(app, ["doctor", "--check-llm", "--runtime-root", str(tmp_path)], env=env)
    assert "LLM provider: custom  [env LLM_PROVIDER]" in res.output, res.output
    assert "ok  LLM: ok" in res.output
    assert llm_server.key not in res.output
    assert len(llm_server.chat_requests) == 1


def test_doctor_check_llm_reports_a_refused_key(llm_server, tmp_path) -> None:
    env = {"LLM_PROVIDER": "custom", "LLM_BASE_URL": llm_server.url, "LLM_MODEL": "fake-model",
           "LLM_API_KEY": "sk-wrong-key-123456789", "COLUMNS": "200", "HOME": str(tmp_path)}
    res = CliRunner().invoke(app, ["doctor", "--check-llm", "--runtime-root", str(tmp_path)], env=env)
    assert res.exit_code == 1
    assert "BAD LLM" in res.output and "sk-wrong-key-123456789" not in res.output

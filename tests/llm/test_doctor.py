"""`doctor --check-llm` lines: every setting with its source, the key masked, one tiny call's verdict."""

from __future__ import annotations

import json
from pathlib import Path

from alphamine.llm.client import LLMClient
from alphamine.llm.config import resolve_config
from alphamine.llm.doctor import check_llm
from tests.llm.fake_server import FakeLLMServer, Scripted

PLANTED = "sk-PLANTED-doctor-key-77aa99bb"


def test_configured_endpoint_answers(llm_server: FakeLLMServer, tmp_path: Path) -> None:
    secret = tmp_path / "s.json"
    secret.write_text(json.dumps({"llm": {"provider": "custom", "api_key": llm_server.key}}))
    env = {"LLM_BASE_URL": llm_server.url, "LLM_MODEL": "fake-model"}
    llm_server.script(Scripted.ok("pong", usage=(11, 1)))
    lines = check_llm(resolve_config(secret, env=env), LLMClient, detect=None)
    text = "\n".join(lines)
    assert f"LLM provider: custom  [file {secret}]" in lines
    assert f"LLM base_url: {llm_server.url}  [env LLM_BASE_URL]" in lines
    assert "LLM model: fake-model  [env LLM_MODEL]" in lines
    assert f"LLM api_key: sk-…{llm_server.key[-4:]}  [file {secret}]" in lines
    assert "LLM timeout: 60s  [default]" in lines and "instructions in the prompt" in text
    assert lines[-1].startswith("LLM call: ok — fake-model answered 'pong'") and "11 prompt + 1 completion" in lines[-1]
    assert llm_server.key not in text and len(llm_server.requests) == 1


def test_a_refused_key_is_reported_without_the_key(llm_server: FakeLLMServer, tmp_path: Path) -> None:
    env = {"LLM_PROVIDER": "custom", "LLM_BASE_URL": llm_server.url, "LLM_MODEL": "m", "LLM_API_KEY": PLANTED}
    lines = check_llm(resolve_config(tmp_path / "none.json", env=env), LLMClient, detect=None)
    assert lines[-1].startswith("LLM call: FAILED — LLMAuthError") and "HTTP 401" in lines[-1]
    assert PLANTED not in "\n".join(lines) and "sk-…99bb" in "\n".join(lines)


def test_not_configured_offers_a_local_ollama_without_selecting_it(tmp_path: Path) -> None:
    r = resolve_config(tmp_path / "none.json", env={"MOONSHOT_MODEL": "moonshot-v1-8k", "LLM_PROVIDER": "openai"})
    lines = check_llm(r, LLMClient, detect=lambda: True)
    assert any(line.startswith("LLM note: model from env MOONSHOT_MODEL ignored") for line in lines)
    assert any("LLM offer: a local Ollama" in line and "LLM_PROVIDER=ollama" in line for line in lines)
    assert lines[-1].startswith("LLM call: skipped — no API key for provider 'openai'")
    assert r.config.provider == "openai"

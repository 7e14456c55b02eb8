"""LLM settings: precedence and sources, legacy MOONSHOT_*, provider binding, presets, masking, errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from alphamine.llm.config import (
    PRESETS,
    LLMConfig,
    LLMConfigError,
    detect_ollama,
    mask_key,
    resolve_config,
)
from tests.llm.fake_server import FakeLLMServer

FILE_KEY = "sk-file-key-aaaaaaaa1111"
ENV_KEY = "sk-env-key-bbbbbbbbb2222"
MOON_KEY = "sk-moon-key-ccccccccc3333"


def secret(tmp_path: Path, llm: object, **extra: object) -> Path:
    path = tmp_path / "worldquant-brain.json"
    path.write_text(json.dumps({"brain": {"email": "a@b.c", "password": "pw"}, "llm": llm, **extra}))
    return path


def test_defaults_without_file_or_env(tmp_path: Path) -> None:
    r = resolve_config(tmp_path / "missing.json", env={})
    c = r.config
    assert (c.provider, c.base_url, c.model, c.timeout) == ("openai", "https://api.openai.com/v1", "gpt-4o-mini", 60)
    assert r.sources == {
        "provider": "default",
        "base_url": "preset openai",
        "model": "preset openai",
        "timeout": "default",
        "api_key": "not set",
    }
    assert not r.configured and not c.api_key
    assert c.problem is not None and "LLM_API_KEY" in c.problem and "worldquant-brain.json" in c.problem


def test_file_then_env_then_argument_precedence(tmp_path: Path) -> None:
    path = secret(tmp_path, {"provider": "deepseek", "api_key": FILE_KEY, "model": "deepseek-reasoner"})
    r = resolve_config(path, env={})
    assert (r.config.provider, r.config.model, r.config.api_key.reveal()) == ("deepseek", "deepseek-reasoner", FILE_KEY)
    assert r.config.base_url == "https://api.deepseek.com/v1"
    assert r.sources["api_key"] == f"file {path}" and r.sources["base_url"] == "preset deepseek"
    assert r.configured

    env = {"LLM_API_KEY": ENV_KEY, "LLM_MODEL": "deepseek-chat", "LLM_TIMEOUT": "12.5", "LLM_BASE_URL": ""}
    r = resolve_config(path, env=env)
    assert (r.config.api_key.reveal(), r.config.model, r.config.timeout) == (ENV_KEY, "deepseek-chat", 12.5)
    assert r.sources["api_key"] == "env LLM_API_KEY" and r.sources["model"] == "env LLM_MODEL"
    assert r.sources["provider"] == f"file {path}"  # the empty LLM_BASE_URL counts as unset
    assert r.sources["base_url"] == "preset deepseek"

    r = resolve_config(path, env=env, overrides={"model": "from-flag", "provider": None})
    assert r.config.model == "from-flag" and r.sources["model"] == "argument"


def test_legacy_moonshot_variables_imply_the_provider(tmp_path: Path) -> None:
    env = {"MOONSHOT_API_KEY": MOON_KEY, "MOONSHOT_MODEL": "moonshot-v1-32k"}
    r = resolve_config(tmp_path / "none.json", env=env)
    c = r.config
    assert (c.provider, c.model, c.base_url) == ("moonshot", "moonshot-v1-32k", "https://api.moonshot.cn/v1")
    assert c.api_key.reveal() == MOON_KEY and r.configured
    assert r.sources["provider"] == "env MOONSHOT_* (implies moonshot)"
    assert r.sources["api_key"] == "env MOONSHOT_API_KEY"
    # the new variables win over the legacy ones
    r = resolve_config(tmp_path / "none.json", env={**env, "LLM_API_KEY": ENV_KEY, "MOONSHOT_BASE_URL": "http://m/v1"})
    assert r.config.api_key.reveal() == ENV_KEY and r.sources["api_key"] == "env LLM_API_KEY"
    assert r.config.base_url == "http://m/v1" and r.sources["base_url"] == "env MOONSHOT_BASE_URL"


def test_a_key_bound_to_another_provider_is_not_carried_over(tmp_path: Path) -> None:
    path = secret(tmp_path, {"provider": "moonshot", "api_key": FILE_KEY})
    r = resolve_config(path, env={"LLM_PROVIDER": "OpenAI"})
    assert r.config.provider == "openai" and not r.config.api_key and not r.configured
    assert r.sources["provider"] == "env LLM_PROVIDER"
    assert any("api_key" in n and "'moonshot'" in n for n in r.notes)
    assert all(FILE_KEY not in n for n in r.notes)

    r = resolve_config(tmp_path / "none.json", env={"LLM_PROVIDER": "deepseek", "MOONSHOT_API_KEY": MOON_KEY})
    assert r.config.provider == "deepseek" and not r.config.api_key
    assert any("MOONSHOT_API_KEY" in n for n in r.notes)

    # a key given without a provider goes with whichever provider wins
    path = secret(tmp_path, {"api_key": FILE_KEY})
    r = resolve_config(path, env={"LLM_PROVIDER": "deepseek"})
    assert r.config.api_key.reveal() == FILE_KEY and r.configured


def test_provider_presets() -> None:
    assert set(PRESETS) == {"openai", "deepseek", "moonshot", "ollama", "custom"}
    assert PRESETS["deepseek"].base_url == "https://api.deepseek.com/v1"
    assert PRESETS["moonshot"].base_url == "https://api.moonshot.cn/v1"
    assert PRESETS["ollama"].base_url == "http://localhost:11434/v1" and not PRESETS["ollama"].needs_key
    assert all(p.default_model for n, p in PRESETS.items() if n != "custom")
    assert PRESETS["openai"].json_mode and not PRESETS["custom"].json_mode


def test_ollama_needs_no_key_and_custom_needs_url_and_model(tmp_path: Path) -> None:
    r = resolve_config(tmp_path / "none.json", env={"LLM_PROVIDER": "ollama"})
    assert r.configured and r.config.base_url == "http://localhost:11434/v1" and r.config.masked_key == "(not set)"

    with pytest.raises(LLMConfigError, match="LLM_BASE_URL"):
        resolve_config(tmp_path / "none.json", env={"LLM_PROVIDER": "custom", "LLM_MODEL": "m"})
    with pytest.raises(LLMConfigError, match="LLM_MODEL"):
        resolve_config(
            tmp_path / "none.json", env={"LLM_PROVIDER": "custom", "LLM_BASE_URL": "http://127.0.0.1:8000/v1"}
        )
    r = resolve_config(
        tmp_path / "none.json",
        env={"LLM_PROVIDER": "custom", "LLM_BASE_URL": "http://127.0.0.1:8000/v1/", "LLM_MODEL": "m"},
    )
    assert r.configured and r.config.base_url == "http://127.0.0.1:8000/v1" and not r.config.json_mode


def test_unknown_provider_names_the_setting_and_the_choices(tmp_path: Path) -> None:
    with pytest.raises(LLMConfigError, match=r"unknown LLM provider 'anthropic' \(from env LLM_PROVIDER\).*ollama"):
        resolve_config(tmp_path / "none.json", env={"LLM_PROVIDER": "anthropic"})
    path = secret(tmp_path, {"provider": "nope"})
    with pytest.raises(LLMConfigError, match="from file"):
        resolve_config(path, env={})


def test_secret_file_errors_name_the_file_and_never_quote_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"llm": {"api_key": "' + FILE_KEY + '",}')
    with pytest.raises(LLMConfigError) as info:
        resolve_config(path, env={})
    assert str(path) in str(info.value) and "not valid JSON" in str(info.value)
    assert FILE_KEY not in str(info.value) and info.value.__cause__ is None

    with pytest.raises(LLMConfigError, match=r"unknown key.*apikey"):
        resolve_config(secret(tmp_path, {"apikey": FILE_KEY}), env={})
    with pytest.raises(LLMConfigError, match='"llm" must be an object'):
        resolve_config(secret(tmp_path, "sk-x"), env={})
    with pytest.raises(LLMConfigError, match=r"llm\.timeout.*number"):
        resolve_config(secret(tmp_path, {"timeout": "slow"}), env={})
    # a file with only the BRAIN section is fine
    only_brain = tmp_path / "brain-only.json"
    only_brain.write_text(json.dumps({"brain": {"email": "a@b.c", "password": "pw"}}))
    assert resolve_config(only_brain, env={}).sources["provider"] == "default"


def test_bad_urls_and_timeouts(tmp_path: Path) -> None:
    none = tmp_path / "none.json"
    with pytest.raises(LLMConfigError, match=r"LLM_BASE_URL.*http"):
        resolve_config(none, env={"LLM_BASE_URL": "ftp://example.com"})
    with pytest.raises(LLMConfigError, match="credentials") as info:
        resolve_config(none, env={"LLM_BASE_URL": "https://user:hunter2@example.com/v1"})
    assert "hunter2" not in str(info.value)
    with pytest.raises(LLMConfigError, match="LLM_TIMEOUT"):
        resolve_config(none, env={"LLM_TIMEOUT": "-1"})


def test_masking_and_repr_never_show_the_key(tmp_path: Path) -> None:
    assert mask_key("sk-proj-abcdefghijklmnopqrstuvwxyz-abcd") == "sk-…abcd"
    assert mask_key("abcdefghijklmnop9876") == "…9876"
    assert mask_key("short-key") == "***" and mask_key("") == "(not set)"
    r = resolve_config(tmp_path / "none.json", env={"LLM_API_KEY": ENV_KEY})
    for text in (repr(r), str(r), repr(r.config), str(r.config), r.config.describe(), repr(r.config.api_key)):
        assert ENV_KEY not in text
    assert "sk-…2222" in r.config.describe()
    assert LLMConfig("openai", "https://x/v1", "m").masked_key == "(not set)"


def test_detect_ollama_only_reports(llm_server: FakeLLMServer) -> None:
    assert detect_ollama(root=llm_server.root, timeout=2.0)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert not detect_ollama(root=f"http://127.0.0.1:{port}", timeout=0.3)

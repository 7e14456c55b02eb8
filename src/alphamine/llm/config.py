"""Which LLM endpoint to call, with which model and key, resolved by precedence, with the key kept secret.

Why: the research agents run on a laptop (a secret file), in CI (environment variables) and against a
local model (Ollama), and users switch providers; each layer must be overridable without editing
another, and `alphamine doctor --check-llm` must say where every value came from. An API key that
reaches a log, a traceback or a report is leaked for good, so it lives in the BRAIN module's `Secret`
(masked repr/str, opened only by `reveal()` when the SDK client is built).

Contract:
- `resolve_config(secret_file=None, env=os.environ, overrides=None)` layers, per setting: built-in
  defaults (provider `openai`, timeout 60 s) < the secret file `~/secrets/worldquant-brain.json`
  section `{"llm": {"provider", "api_key", "base_url", "model", "timeout"}}` (a missing file or
  section is skipped) < legacy `MOONSHOT_API_KEY` / `MOONSHOT_BASE_URL` / `MOONSHOT_MODEL` (they
  imply provider `moonshot`) < `LLM_PROVIDER` / `LLM_API_KEY` / `LLM_BASE_URL` / `LLM_MODEL` /
  `LLM_TIMEOUT` < `overrides` (CLI flags, source "argument"). Empty values count as unset. A base
  URL or model nobody set comes from the provider's preset (source "preset").
- A layer that names a provider binds its key, base URL and model to it: when a higher layer picks
  another provider they are dropped (a Moonshot key is never sent to OpenAI) and a note says so.
- Errors are `LLMConfigError` (a ValueError) naming the setting or file and never quoting a key:
  unreadable or malformed secret file, unknown keys in its "llm" section, unknown provider, `custom`
  without a base URL or model, a non-http(s) URL or one carrying credentials, a bad timeout.
- A missing key is not an error here: `LLMConfig.configured` is False and `problem` says what to set
  (a run without a configured LLM uses the deterministic generators only).
- `detect_ollama()` only reports whether a local Ollama answers; it never selects it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from alphamine.brain.credentials import DEFAULT_SECRET_FILE, Secret

ENV_PROVIDER, ENV_KEY, ENV_URL, ENV_MODEL, ENV_TIMEOUT = (
    "LLM_PROVIDER",
    "LLM_API_KEY",
    "LLM_BASE_URL",
    "LLM_MODEL",
    "LLM_TIMEOUT",
)
LEGACY_ENV = {"api_key": "MOONSHOT_API_KEY", "base_url": "MOONSHOT_BASE_URL", "model": "MOONSHOT_MODEL"}
ENV = {"provider": ENV_PROVIDER, "api_key": ENV_KEY, "base_url": ENV_URL, "model": ENV_MODEL, "timeout": ENV_TIMEOUT}
SETTINGS = ("provider", "base_url", "model", "api_key", "timeout")
DEFAULT_PROVIDER = "openai"
DEFAULT_TIMEOUT = 60.0
OLLAMA_ROOT = "http://localhost:11434"


class LLMConfigError(ValueError):
    """The LLM settings are unusable; the text names the setting or file to fix, never a key."""


@dataclass(frozen=True)
class ProviderPreset:
    """What alphamine knows about a provider: its endpoint, a default model, whether it needs a key
    and whether it accepts `response_format={"type": "json_object"}`."""

    name: str
    base_url: str | None
    default_model: str | None
    needs_key: bool
    json_mode: bool


PRESETS: dict[str, ProviderPreset] = {
    p.name: p
    for p in (
        ProviderPreset("openai", "https://api.openai.com/v1", "gpt-4o-mini", True, True),
        ProviderPreset("deepseek", "https://api.deepseek.com/v1", "deepseek-chat", True, True),
        ProviderPreset("moonshot", "https://api.moonshot.cn/v1", "moonshot-v1-8k", True, True),
        ProviderPreset("ollama", f"{OLLAMA_ROOT}/v1", "llama3.1", False, True),
        # an unknown endpoint: the key is optional (vLLM, llama.cpp) and JSON mode is not assumed
        ProviderPreset("custom", None, None, False, False),
    )
}


def mask_key(key: str) -> str:
    """`sk-…abcd`: the key's prefix up to its first dash and its last 4 characters; `***` for keys too
    short to show anything safely, `(not set)` for none."""
    if not key:
        return "(not set)"
    if len(key) < 12:
        return "***"
    dash = key.find("-", 0, 8)
    return f"{key[: dash + 1] if dash >= 0 else ''}…{key[-4:]}"


@dataclass(frozen=True)
class LLMConfig:
    """One endpoint, model and key. `api_key` is a `Secret`: repr and str never show it."""

    provider: str
    base_url: str
    model: str
    api_key: Secret = field(default_factory=lambda: Secret(""))
    timeout: float = DEFAULT_TIMEOUT

    @property
    def preset(self) -> ProviderPreset:
        return PRESETS[self.provider]

    @property
    def json_mode(self) -> bool:
        """Whether calls may ask for `response_format={"type": "json_object"}`."""
        return self.preset.json_mode

    @property
    def problem(self) -> str | None:
        """Why this config cannot make calls (what to set), or None."""
        if self.preset.needs_key and not self.api_key:
            return (
                f"no API key for provider {self.provider!r}: set {ENV_KEY} or write "
                f'{DEFAULT_SECRET_FILE} as {{"llm": {{"provider": "{self.provider}", "api_key": ...}}}}'
            )
        if not self.base_url or not self.model:
            return f"provider {self.provider!r} needs {ENV_URL} and {ENV_MODEL}"
        return None

    @property
    def configured(self) -> bool:
        return self.problem is None

    @property
    def masked_key(self) -> str:
        return mask_key(self.api_key.reveal())

    def describe(self) -> str:
        """One line for logs and reports: provider, model, endpoint, masked key."""
        return f"{self.provider} model={self.model} at {self.base_url} key={self.masked_key}"

    def __repr__(self) -> str:
        return (
            f"LLMConfig(provider={self.provider!r}, base_url={self.base_url!r}, model={self.model!r}, "
            f"api_key={self.masked_key!r}, timeout={self.timeout:g})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class ResolvedConfig:
    """The config plus, per setting, the layer that gave it: 'default', 'preset <name>',
    'file <path>', 'env <VAR>' or 'argument'. `notes` explain values that were ignored."""

    config: LLMConfig
    sources: Mapping[str, str]
    secret_file: Path
    notes: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return self.config.configured


_Layer = tuple[str, dict[str, Any]]  # (source name, setting -> raw value); may name a "provider"


def _read_secret_file(path: Path) -> dict[str, Any]:
    """The "llm" section of the secret file ({} when the file or the section is absent)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise LLMConfigError(f"cannot read the secret file {path}: {e.strerror or type(e).__name__}") from None
    try:
        data = json.loads(text)
    except ValueError:  # the message would quote the text: it holds secrets
        raise LLMConfigError(
            f'the secret file {path} is not valid JSON; expected {{"llm": {{"provider": ..., "api_key": ...}}}}'
        ) from None
    if not isinstance(data, dict):
        raise LLMConfigError(f"the secret file {path} must hold a JSON object")
    llm = data.get("llm")
    if llm is None:
        return {}
    if not isinstance(llm, dict):
        raise LLMConfigError(
            f'the secret file {path}: "llm" must be an object like {{"provider": ..., "api_key": ...}}'
        )
    unknown = sorted(set(llm) - set(SETTINGS))
    if unknown:
        raise LLMConfigError(
            f'the secret file {path}: unknown key(s) {", ".join(unknown)} in "llm"; expected {", ".join(SETTINGS)}'
        )
    for key, value in llm.items():
        ok = (
            isinstance(value, int | float) and not isinstance(value, bool)
            if key == "timeout"
            else isinstance(value, str)
        )
        if value is not None and not ok:
            raise LLMConfigError(
                f'the secret file {path}: "llm.{key}" must be {"a number" if key == "timeout" else "a string"}'
            )
    return {k: v for k, v in llm.items() if v is not None and v != ""}


def _env_layers(environ: Mapping[str, str]) -> list[_Layer]:
    legacy = {k: environ[v] for k, v in LEGACY_ENV.items() if environ.get(v, "").strip()}
    layers: list[_Layer] = []
    if legacy:
        layers.append(("env (legacy MOONSHOT_*)", {"provider": "moonshot", **legacy}))
    layers.append(("env", {k: environ[v] for k, v in ENV.items() if environ.get(v, "").strip()}))
    return layers


def _source(layer: str, key: str, secret_file: Path) -> str:
    if layer == "file":
        return f"file {secret_file}"
    if layer == "env":
        return f"env {ENV[key]}"
    if layer.startswith("env (legacy"):
        return "env MOONSHOT_* (implies moonshot)" if key == "provider" else f"env {LEGACY_ENV[key]}"
    return layer


def _provider(value: Any, source: str) -> str:
    name = str(value).strip().lower()
    if name not in PRESETS:
        raise LLMConfigError(f"unknown LLM provider {str(value)!r} (from {source}); choose one of {', '.join(PRESETS)}")
    return name


def _url(value: str, source: str) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if "@" in parts.netloc:  # checked first: the next message quotes the URL
        raise LLMConfigError(f"the LLM base URL (from {source}) must not carry credentials; set {ENV_KEY} instead")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LLMConfigError(f"the LLM base URL (from {source}) must be http(s)://host[:port]/path (got {url!r})")
    return url


def _timeout(value: Any, source: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if not seconds > 0 or math.isinf(seconds):
        raise LLMConfigError(f"the LLM timeout (from {source}) must be a positive number of seconds (got {value!r})")
    return seconds


def resolve_config(
    secret_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ResolvedConfig:
    """The LLM config by precedence: defaults < secret file < env < overrides (module doc)."""
    environ = os.environ if env is None else env
    path = Path(secret_file if secret_file is not None else DEFAULT_SECRET_FILE).expanduser()
    given_overrides = {k: v for k, v in (overrides or {}).items() if v is not None and v != ""}
    unknown = sorted(set(given_overrides) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown LLM setting(s) {', '.join(unknown)}; expected {', '.join(SETTINGS)}")
    layers: list[_Layer] = [
        ("default", {"provider": DEFAULT_PROVIDER, "timeout": DEFAULT_TIMEOUT}),
        ("file", _read_secret_file(path)),
        *_env_layers(environ),
        ("argument", given_overrides),
    ]
    provider, provider_source = DEFAULT_PROVIDER, "default"
    for name, layer in layers:
        if "provider" in layer:
            provider_source = _source(name, "provider", path)
            provider = _provider(layer["provider"], provider_source)
    values: dict[str, Any] = {"provider": provider}
    sources: dict[str, str] = {"provider": provider_source}
    notes: list[str] = []
    for name, layer in layers:
        bound = _provider(layer["provider"], _source(name, "provider", path)) if "provider" in layer else None
        for key in ("base_url", "model", "api_key", "timeout"):
            if key not in layer:
                continue
            source = _source(name, key, path)
            if bound is not None and bound != provider and key != "timeout":
                notes.append(f"{key} from {source} ignored: it belongs to provider {bound!r}, not {provider!r}")
                continue
            values[key], sources[key] = layer[key], source
    preset = PRESETS[provider]
    for key, default in (("base_url", preset.base_url), ("model", preset.default_model)):
        if key not in values and default:
            values[key], sources[key] = default, f"preset {provider}"
    if provider == "custom":
        for key, var in (("base_url", ENV_URL), ("model", ENV_MODEL)):
            if key not in values:
                raise LLMConfigError(f"provider 'custom' needs a {key}: set {var} or \"llm.{key}\" in {path}")
    config = LLMConfig(
        provider=provider,
        base_url=_url(str(values.get("base_url", "")), sources.get("base_url", "default")),
        model=str(values.get("model", "")).strip(),
        api_key=Secret(str(values.get("api_key", "")).strip()),
        timeout=_timeout(values["timeout"], sources["timeout"]),
    )
    sources.setdefault("api_key", "not set")
    return ResolvedConfig(config, sources, path, tuple(notes))


def detect_ollama(timeout: float = 0.3, *, root: str = OLLAMA_ROOT) -> bool:
    """Whether an Ollama server answers at `root` (GET /api/tags). Used only to offer Ollama to the
    user; a run never switches to it without the user's flag."""
    try:
        response = httpx.get(f"{root.rstrip('/')}/api/tags", timeout=timeout)
        return response.status_code == 200 and isinstance(response.json().get("models"), list)
    except (httpx.HTTPError, ValueError, AttributeError):
        return False

"""`alphamine doctor --check-llm`: which LLM settings are in force, where each came from, and whether
one tiny call goes through.

Why: an LLM misconfiguration (a key in the wrong layer, a legacy variable shadowing the secret file,
a wrong base URL) is invisible until a run quietly falls back to the deterministic generators.
The doctor shows every setting with its source and the key masked, then makes one minimal call so
the user sees the provider's actual verdict.

Contract: `check_llm(resolved, client_factory, *, detect=detect_ollama) -> list[str]` returns the
lines to print, never raising for a configuration or call failure: one line per setting
(`provider`, `base_url`, `model`, `api_key` masked, `timeout`, JSON mode) with its source, the
notes of `resolve_config`, then exactly one final line starting with `LLM call: ok`, `LLM call:
FAILED` or `LLM call: skipped` (not configured; when `detect()` finds a local Ollama, a line offers
it — it is never selected without the user's flag). `client_factory(config)` builds the client
(`LLMClient` itself in production; its `tiny_call()` must return a `Ping`). No line holds the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from alphamine.llm.config import ENV_PROVIDER, OLLAMA_ROOT, ResolvedConfig, detect_ollama


class _PingResult(Protocol):
    @property
    def model(self) -> str: ...

    @property
    def reply(self) -> str: ...

    @property
    def latency_s(self) -> float: ...

    @property
    def usage(self) -> object: ...


class SupportsTinyCall(Protocol):
    def tiny_call(self) -> _PingResult: ...


def _usage_text(usage: object) -> str:
    prompt, completion = getattr(usage, "prompt_tokens", 0), getattr(usage, "completion_tokens", 0)
    cost = getattr(usage, "cost", None)
    return f"{prompt} prompt + {completion} completion tokens" + (f", ${cost:.6f}" if cost is not None else "")


def _scrub(text: str, key: str) -> str:
    return text.replace(key, "***") if key else text


def check_llm(
    resolved: ResolvedConfig,
    client_factory: Callable[..., SupportsTinyCall],
    *,
    detect: Callable[[], bool] | None = detect_ollama,
) -> list[str]:
    """The doctor's lines for the LLM (module doc)."""
    config, sources = resolved.config, resolved.sources
    key = config.api_key.reveal()
    lines = [
        f"LLM provider: {config.provider}  [{sources.get('provider', 'default')}]",
        f"LLM base_url: {config.base_url or '(not set)'}  [{sources.get('base_url', 'not set')}]",
        f"LLM model: {config.model or '(not set)'}  [{sources.get('model', 'not set')}]",
        f"LLM api_key: {config.masked_key}  [{sources.get('api_key', 'not set')}]"
        + ("" if key or config.preset.needs_key else " (not needed)"),
        f"LLM timeout: {config.timeout:g}s  [{sources.get('timeout', 'default')}]",
        "LLM JSON mode: "
        + ('response_format={"type": "json_object"}' if config.json_mode else "instructions in the prompt"),
        *(f"LLM note: {note}" for note in resolved.notes),
    ]
    if not config.configured:
        if detect is not None and config.provider != "ollama" and detect():
            lines.append(
                f"LLM offer: a local Ollama answers at {OLLAMA_ROOT}; to use it set {ENV_PROVIDER}=ollama "
                "(or pass the provider flag)"
            )
        lines.append(f"LLM call: skipped — {config.problem}; runs use the deterministic generators only")
        return lines
    try:
        ping = client_factory(config).tiny_call()
    except Exception as e:  # a doctor reports every failure instead of raising
        lines.append(f"LLM call: FAILED — {_scrub(f'{type(e).__name__}: {e}', key)}")
        return lines
    reply = _scrub(ping.reply, key)[:40]
    lines.append(f"LLM call: ok — {ping.model} answered {reply!r} in {ping.latency_s:.2f}s ({_usage_text(ping.usage)})")
    return lines

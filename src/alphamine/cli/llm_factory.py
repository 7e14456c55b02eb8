"""Builds a run's LLM agents from the run's `LLMRunConfig` (the CLI is the composition root).

`--llm/--no-llm` defaults to on when an LLM is configured (`alphamine doctor --check-llm` shows how it
resolves), off otherwise, with one line saying which. `ALPHAMINE_LLM=off` in the environment forces it
off (the test suite sets it, so a developer's own key never makes tests call a provider). A configured
but unreachable provider is not an error here: the budget's kill switch pauses the agents after
`max_consecutive_failures` failures and the run goes on with the deterministic generators.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

FORCE_OFF_ENV = "ALPHAMINE_LLM"


def decide_llm(flag: bool | None) -> tuple[bool, str]:
    """(use the LLM?, one line saying which and why). Raises ValueError when `--llm` is asked for and
    nothing is configured (the message says what to set)."""
    from alphamine.llm.config import LLMConfigError, detect_ollama, resolve_config

    if os.environ.get(FORCE_OFF_ENV, "").strip().lower() in ("off", "0", "no", "false"):
        if flag:
            raise ValueError(f"--llm: {FORCE_OFF_ENV}=off is set in the environment")
        return False, f"LLM: off ({FORCE_OFF_ENV}=off)"
    if flag is False:
        return False, "LLM: off (--no-llm)"
    try:
        resolved = resolve_config()
    except LLMConfigError as e:
        if flag:
            raise ValueError(f"--llm: {e}") from None
        return False, f"LLM: off (configuration error: {e})"
    cfg = resolved.config
    if not resolved.configured:
        if flag:
            raise ValueError(f"--llm: {cfg.problem}")
        offer = (" — a local Ollama answers on localhost:11434: LLM_PROVIDER=ollama with --llm uses it"
                 if detect_ollama() else "")
        return False, f"LLM: off (no LLM configured; `alphamine doctor --check-llm`){offer}"
    return True, f"LLM: on ({cfg.describe()})"


def build_agents(llm: Any, runtime_root: Path) -> Any:
    """The run's `LLMAgents` for an enabled `LLMRunConfig`, else None."""
    if not llm.enabled:
        return None
    from alphamine.llm.budget import Budget, daily_ledger_path
    from alphamine.llm.client import LLMClient
    from alphamine.llm.config import resolve_config
    from alphamine.llm.prompts import PromptLibrary
    from alphamine.llm.run_agents import LLMAgents

    resolved = resolve_config()
    budget = Budget(token_budget=llm.token_budget, max_calls=llm.max_calls, daily_limit=llm.daily_limit,
                    daily_ledger=daily_ledger_path(runtime_root) if llm.daily_limit else None,
                    max_consecutive_failures=llm.max_consecutive_failures)
    client = LLMClient(resolved.config, budget)
    return LLMAgents(client, budget, PromptLibrary(runtime_root), share=llm.share, use_decide=llm.use_decide,
                     describe=resolved.config.describe())


def llm_run_config(flag: bool | None, share: float, decide: bool, tokens: int | None, calls: int | None,
                daily: int | None) -> Any:
    """The run's `LLMRunConfig`: on/off resolved now (one line says which) and stored with the run."""
    from alphamine.cli.console import make_console
    from alphamine.cli.data_cmd import fail
    from alphamine.pipeline.config import LLMRunConfig

    try:
        enabled, line = decide_llm(flag)
    except ValueError as e:
        raise fail(str(e)) from None
    make_console().print(line)
    return LLMRunConfig(enabled=enabled, share=share, use_decide=decide, token_budget=tokens, max_calls=calls,
                        daily_limit=daily)


def stored_agents(run_id: str, runtime_root: Path, db: str | None) -> Any:
    """The LLM agents a stored run was started with (None: none, or an unreadable config)."""
    from alphamine.cli.run_cmd import open_records
    from alphamine.pipeline.config import RunConfig

    with open_records(runtime_root, db) as store:
        row = store.get_run(run_id)
    if row is None:
        return None
    try:
        return build_agents(RunConfig.model_validate(row.config).llm, runtime_root)
    except ValueError:
        return None

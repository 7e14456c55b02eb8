"""A run's LLM usage on disk, and what one ready alpha cost the run.

Why a file next to the reports: the `Budget` lives in the process that ran the agents; the report,
`alphamine prompt compare` and a person reading the run folder later need its totals and, per prompt
version, what the answers became (`agents.PromptCounts`). `artifacts/llm_usage.json` is that record.
Why cost per ready alpha: an alpha factory is judged by what an accepted alpha costs (LLM tokens and
dollars, simulations, wall time), not by how much it produced.

Contract:
- `write_usage(run_dir, summary, per_prompt_counts, *, session="run")` writes
  `<run_dir>/artifacts/llm_usage.json` atomically (temporary file, fsync, rename). A file holds one
  entry per `session` (a resumed run starts a new Budget: give it a new session name and its usage is
  added, not overwritten; writing the same session again replaces its entry, so writing after every
  stage is idempotent) and `total`: calls, failures, tokens and cost summed over sessions (cost None
  while no session had a priced call), per agent too, and `prompts`: the counters summed per version.
  Anything shaped like an API key is scrubbed from the text before it is written.
- `read_usage(run_dir)` -> that document, or None when the run recorded none; `UsageFileError`
  (a ValueError naming the file) when it is unreadable.
- `cost_per_ready(store, run_id, run_dir)` -> {"run_id", "ready", "llm_usage" ("recorded" | "none" |
  "unreadable: ..."), "totals": {...}, "per_ready": {...}}: LLM calls, tokens and cost (None when
  nothing was recorded or the model had no price), simulations (results of the run's candidates, by
  backend: `local` and `platform`), wall seconds (`pipeline.timings.stage_timings`); `per_ready` is
  each total divided by the ready count, None everywhere when nothing is ready.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from alphamine.store.clean import scrub

USAGE_FILENAME = "llm_usage.json"
VERSION = 1
TOTAL_KEYS = ("calls", "failures", "prompt_tokens", "completion_tokens", "tokens", "unpriced_calls")
LOCAL_BACKENDS = frozenset({"local"})
KNOWN_BACKENDS = ("local", "brain")


class UsageFileError(ValueError):
    """`llm_usage.json` exists but cannot be read; the message names the file."""


def usage_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "artifacts" / USAGE_FILENAME


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def _add_totals(into: dict[str, Any], part: Mapping[str, Any]) -> None:
    for key in TOTAL_KEYS:
        into[key] = int(into.get(key, 0)) + int(part.get(key) or 0)
    cost = part.get("cost")
    if cost is not None:
        into["cost"] = round(float(into.get("cost") or 0.0) + float(cost), 6)
    else:
        into.setdefault("cost", None)


def merge_sessions(sessions: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The `total` of a usage document: budget totals, per agent and per prompt version, summed."""
    total: dict[str, Any] = {"agents": {}, "paused": [], "prompts": {}}
    for name in sorted(sessions):
        s = sessions[name]
        budget = s.get("budget") or {}
        _add_totals(total, budget)
        for agent, t in (budget.get("agents") or {}).items():
            _add_totals(total["agents"].setdefault(agent, {}), t)
        if budget.get("paused"):
            total["paused"].append(f"{name}: {budget['paused']}")
        for version, counts in (s.get("prompts") or {}).items():
            into = total["prompts"].setdefault(version, {})
            for key, n in counts.items():
                into[key] = int(into.get(key, 0)) + int(n)
    total.setdefault("cost", None)
    for key in TOTAL_KEYS:
        total.setdefault(key, 0)
    return total


def read_usage(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's usage document (module doc), None when it has none."""
    path = usage_path(run_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise UsageFileError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None
    try:
        doc = json.loads(text)
    except ValueError:
        raise UsageFileError(f"{path} is not valid JSON; delete it or restore it from the run's backup") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("sessions"), dict):
        raise UsageFileError(f"{path} is not an alphamine LLM usage file (no 'sessions')")
    return doc


def write_usage(
    run_dir: str | Path,
    summary: Mapping[str, Any],
    per_prompt_counts: Mapping[str, Mapping[str, int]],
    *,
    session: str = "run",
) -> Path:
    """Record `summary` (`Budget.summary()`) and the per-prompt counters as `session` (module doc)."""
    try:
        doc = read_usage(run_dir) or {}
    except UsageFileError:
        doc = {}  # an unreadable record is replaced by what this process knows
    sessions = dict(doc.get("sessions") or {})
    sessions[session] = {
        "budget": dict(summary),
        "prompts": {v: {k: int(n) for k, n in c.items()} for v, c in per_prompt_counts.items()},
    }
    out = {"version": VERSION, "sessions": sessions, "total": merge_sessions(sessions)}
    path = usage_path(run_dir)
    _atomic_write(path, scrub(json.dumps(out, indent=2, sort_keys=True), "") + "\n")
    return path


def simulations_by_backend(store: Any, run_id: str) -> dict[str, int]:
    """{backend: results of the run's candidates on it} (distinct results: a result two candidates
    share, or one another run simulated first, counts once)."""
    ids = [r.id for r in store.candidates(run_id=run_id)]
    run = store.get_run(run_id)
    backends = dict.fromkeys([*KNOWN_BACKENDS, str((run.config if run else {}).get("backend") or "local")])
    out: dict[str, int] = {}
    for backend in backends:
        found = {res.id for res in store.results_for(ids, backend=backend).values()} if ids else set()
        if found:
            out[backend] = len(found)
    return out


def _per(value: float | int | None, ready: int) -> float | None:
    return None if value is None or ready == 0 else value / ready


def cost_per_ready(store: Any, run_id: str, run_dir: str | Path) -> dict[str, Any]:
    """What one ready alpha of the run cost (module doc)."""
    from alphamine.pipeline.timings import stage_timings
    from alphamine.store.status import CandidateStatus

    ready = len(store.candidates(run_id=run_id, status=CandidateStatus.READY))
    calls: int | None = None
    tokens: int | None = None
    cost: float | None = None
    try:
        doc = read_usage(run_dir)
        state = "none" if doc is None else "recorded"
    except UsageFileError as e:
        doc, state = None, f"unreadable: {e}"
    if doc is not None:
        total = doc.get("total") or merge_sessions(doc["sessions"])
        calls, tokens, cost = int(total.get("calls", 0)), int(total.get("tokens", 0)), total.get("cost")
    by_backend = simulations_by_backend(store, run_id)
    local = sum(n for b, n in by_backend.items() if b in LOCAL_BACKENDS)
    platform = sum(n for b, n in by_backend.items() if b not in LOCAL_BACKENDS)
    wall = round(sum(t.seconds for t in stage_timings(store, run_id)), 3)
    totals: dict[str, Any] = {
        "llm_calls": calls,
        "llm_tokens": tokens,
        "llm_cost": cost,
        "simulations": local + platform,
        "simulations_local": local,
        "simulations_platform": platform,
        "simulations_by_backend": by_backend,
        "wall_seconds": wall,
    }
    per_ready = {k: _per(v, ready) for k, v in totals.items() if k != "simulations_by_backend"}
    return {"run_id": run_id, "ready": ready, "llm_usage": state, "totals": totals, "per_ready": per_ready}

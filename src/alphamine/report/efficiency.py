"""What the run spent and what each ready alpha cost: LLM tokens and cost, simulations (local and
platform), wall time, each divided by the ready count; the simulation budget's decisions (the quota
allocator's `artifacts/quota_report.json`); and the critic's notes (`artifacts/critic_notes.json`).

Why in every report: a researcher judges a mining setup by its cost per accepted alpha as much as by
the alphas; an LLM that doubles the ready count at ten times the tokens is a choice to see, not guess.
The numbers come from `pipeline.run_usage.cost_per_ready`; this module only shapes them for display.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROWS = (
    ("llm_calls", "LLM calls"),
    ("llm_tokens", "LLM tokens"),
    ("llm_cost", "LLM cost (USD)"),
    ("simulations_local", "simulations (local)"),
    ("simulations_platform", "simulations (platform)"),
    ("wall_seconds", "wall time (s)"),
)


def _fmt(value: Any, key: str) -> str:
    if value is None:
        return "—"
    if key == "llm_cost":
        return f"{float(value):,.4f}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def cost_rows(cost: Mapping[str, Any]) -> list[list[str]]:
    """[what, total, per ready alpha] rows of `cost_per_ready`'s result."""
    totals, per = cost.get("totals") or {}, cost.get("per_ready") or {}
    return [[label, _fmt(totals.get(key), key), _fmt(per.get(key), key)] for key, label in ROWS]


def quota_rows(run_dir: Path) -> tuple[int | None, list[list[str]]]:
    """(budget, [iteration, stage, lane, budget, admitted, left queued] rows) of the quota report, or
    (None, []) without one."""
    try:
        doc = json.loads((run_dir / "artifacts" / "quota_report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, []
    rows = [
        [str(int(d.get("iteration", 0)) + 1), str(d.get("stage", "")), str(d.get("lane", "")), str(d.get("budget", "")),
         str(len(d.get("admitted") or [])), str(len(d.get("deferred") or []))]
        for d in doc.get("decisions") or []
    ]
    total = doc.get("total")
    return (int(total) if isinstance(total, int) else None), rows


def critic_notes(run_dir: Path) -> dict[int, str]:
    try:
        raw = json.loads((run_dir / "artifacts" / "critic_notes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {int(k): str(v) for k, v in raw.items() if str(k).isdigit()}


def efficiency(cost: Mapping[str, Any], run_dir: Path | None) -> dict[str, Any]:
    """The context both renderers read (and run_result.json keeps as `efficiency`)."""
    budget, quota = quota_rows(run_dir) if run_dir is not None else (None, [])
    return {
        "ready": cost.get("ready", 0),
        "llm_usage": cost.get("llm_usage", "none"),
        "cost_rows": cost_rows(cost),
        "totals": dict(cost.get("totals") or {}),
        "per_ready": dict(cost.get("per_ready") or {}),
        "quota_total": budget,
        "quota_rows": quota,
        "critic_notes": critic_notes(run_dir) if run_dir is not None else {},
    }


def markdown(eff: Mapping[str, Any]) -> list[str]:
    """`## Cost per ready alpha` (and `## Simulation budget` when the run had one)."""
    out = ["## Cost per ready alpha", "",
           f"{eff['ready']} ready alpha(s); LLM usage: {eff['llm_usage']}.", "",
           "| what | total | per ready alpha |", "|---|---:|---:|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in eff["cost_rows"]]
    out.append("")
    if eff["quota_rows"]:
        out += ["## Simulation budget", "",
                f"`--max-sim-alphas {eff['quota_total']}`: each iteration's part split across explore (SIMULATE), "
                "exploit (VARIANT_SEARCH) and repair (ENHANCE); what a lane cannot take stays queued "
                "(artifacts/quota_report.json has the reasons).", "",
                "| iteration | stage | lane | budget | admitted | left queued |", "|---:|---|---|---:|---:|---:|"]
        out += ["| " + " | ".join(r) + " |" for r in eff["quota_rows"]]
        out.append("")
    return out

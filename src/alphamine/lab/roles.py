"""The Critic and the Director: who rewrites `Critic_Feedback.md` and `Director_Notes.md`, and when.

Why deterministic versions: with a scripted worker there may be no LLM at all, yet the Worker prompt
still deserves feedback. The summary roles read only results.jsonl (and the experiment files, to spot
byte-identical copies) and always write the same text for the same ledger, so a run is reproducible:
- Critic (leanlab's four parts): a verdict on the latest experiment (value vs the prior best, inside
  or beyond the noise band), recurring flaws (judge failures, copies of earlier files, changes that
  do not move the objective), what the next experiment must prove, and a do-not-trust list (raw
  "best" flags inside the noise band).
- Director: state of research (best, trend of the last 5 scored vs the 5 before, experiments since
  the last best), 3-6 frontier directions drawn from the top records and the failure pattern, and
  what to avoid (only ideas the data disproved: failed and worst experiments).
Only the objective is quoted, never a `hidden_metrics` key. The LLM roles live in `llm_agents`.

Contract: `Role.compose(view) -> str` (the whole file); `write_notes(path, text)` replaces the file
atomically. Cadence (leanlab's): the Critic after experiment i when i % critic_every == 0 and that
experiment was scored; the Director when i % director_every == 0; i counts from 1 in each run.
"""

from __future__ import annotations

import hashlib
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from alphamine.lab.config import LabConfig

CRITIC_FILE = "Critic_Feedback.md"
DIRECTOR_FILE = "Director_Notes.md"
TREND_WINDOW = 5
SUMMARY_NOTE = "_Written by alphamine's summary {role} (deterministic: a summary of results.jsonl, no LLM)._"


@dataclass(frozen=True)
class LabView:
    """What a role reads: the lab, its records in ledger order, and the noise band (0 when none)."""

    cfg: LabConfig
    rows: list[dict[str, Any]]
    band: float = 0.0


class Role(Protocol):
    name: str
    file_name: str

    def compose(self, view: LabView) -> str: ...


def write_notes(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text.rstrip() + "\n", encoding="utf-8")
    os.replace(tmp, path)


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


def _name(row: dict[str, Any]) -> str:
    return str(row.get("experiment_file", "?"))


def _failed(view: LabView) -> list[dict[str, Any]]:
    return [r for r in view.rows if view.cfg.value(r) is None]


def _scored(view: LabView) -> list[dict[str, Any]]:
    return [r for r in view.rows if view.cfg.value(r) is not None]


def _ranked(view: LabView) -> list[dict[str, Any]]:
    return sorted(_scored(view), key=lambda r: view.cfg.value(r) or 0.0, reverse=view.cfg.direction == "max")


def _copies(view: LabView) -> list[tuple[str, str]]:
    """(file, earlier identical file) for experiment files whose bytes repeat an earlier one."""
    seen: dict[str, str] = {}
    out = []
    for row in view.rows:
        path = view.cfg.dir / _name(row)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue
        if digest in seen:
            out.append((_name(row), seen[digest]))
        else:
            seen[digest] = _name(row)
    return out


def _within_band(view: LabView) -> int:
    """How many scored experiments landed within the band of the best before them."""
    if view.band <= 0:
        return 0
    count, running = 0, None
    for row in view.rows:
        value = view.cfg.value(row)
        if value is None:
            continue
        if running is not None and abs(value - running) <= view.band:
            count += 1
        if running is None or view.cfg.better(value, running):
            running = value
    return count


def _reason(row: dict[str, Any]) -> str:
    return str(row.get("notes", "")).removeprefix("invalid: ")[-90:]


class SummaryCritic:
    name = "critic"
    file_name = CRITIC_FILE

    def compose(self, view: LabView) -> str:
        cfg, rows, band = view.cfg, view.rows, view.band
        out = ["# Critic Feedback", "", SUMMARY_NOTE.format(role="critic"), "", "## Verdict on the latest experiment"]
        if not rows:
            return "\n".join([*out, "- No experiments reviewed yet."])
        latest = rows[-1]
        value = cfg.value(latest)
        prior_rows = rows[:-1]
        prior = cfg.best_of([v for v in (cfg.value(r) for r in prior_rows) if v is not None])
        if value is None:
            out.append(f"- {_name(latest)} FAILED the judge: {_reason(latest)}")
        elif prior is None:
            out.append(f"- {_name(latest)}: {cfg.metric}={fmt(value)}, the first scored experiment.")
        else:
            delta = value - prior
            verdict = "a new best" if cfg.better(value, prior) else "not an improvement"
            if cfg.better(value, prior) and not cfg.better(value, prior, band):
                verdict = f"a raw new best, but inside the noise band (±{fmt(band)}): not significant"
            out.append(f"- {_name(latest)}: {cfg.metric}={fmt(value)} vs prior best {fmt(prior)} "
                       f"(change {delta:+.6g}): {verdict}.")
        out += ["", "## Recurring flaws"]
        flaws = []
        failed = _failed(view)
        if failed:
            flaws.append(f"- {len(failed)} of {len(rows)} experiments failed the judge; latest failure "
                         f"{_name(failed[-1])}: {_reason(failed[-1])}")
        for copy, original in _copies(view):
            flaws.append(f"- Fake novelty: {copy} is byte-identical to {original}.")
        flat = _within_band(view)
        if flat:
            flaws.append(f"- {flat} scored experiment(s) landed within the noise band of the best before them: "
                         "changes that do not move the objective.")
        out += flaws or ["- None found in the ledger yet."]
        best = cfg.best_of([v for v in (cfg.value(r) for r in rows) if v is not None])
        out += ["", "## What the next experiment must prove"]
        if best is None:
            out.append("- That the experiment runs: the judge must print a finite "
                       f"{cfg.metric!r}. Validate before replying.")
        else:
            margin = f" by more than the noise band ({fmt(band)})" if band > 0 else ""
            out.append(f"- Beat {cfg.metric}={fmt(best)} ({cfg.direction}){margin} with one new, named idea.")
        out += ["", "## Do not trust"]
        suspect = [r for r in rows if r.get("best_so_far") and r.get("significant_best") is False]
        out += [f"- {_name(r)}: flagged best_so_far inside the noise band." for r in suspect] or [
            "- Nothing flagged yet."
        ]
        return "\n".join(out)


class SummaryDirector:
    name = "director"
    file_name = DIRECTOR_FILE

    def compose(self, view: LabView) -> str:
        cfg, rows = view.cfg, view.rows
        out = ["# Director Notes", "", SUMMARY_NOTE.format(role="director"), "", "## State of research"]
        scored, failed, ranked = _scored(view), _failed(view), _ranked(view)
        if not rows:
            return "\n".join([*out, "- Neutral — no experiments yet."])
        out.append(f"- {len(rows)} experiments: {len(scored)} scored, {len(failed)} failed.")
        if ranked:
            top = ranked[0]
            out.append(f"- Winning: {_name(top)} with {cfg.metric}={fmt(cfg.value(top))} ({top.get('notes', '')}).")
        values = [cfg.value(r) or 0.0 for r in scored]
        if len(values) >= 2 * TREND_WINDOW:
            recent = statistics.fmean(values[-TREND_WINDOW:])
            before = statistics.fmean(values[-2 * TREND_WINDOW : -TREND_WINDOW])
            word = "improving" if cfg.better(recent, before) else "not improving"
            out.append(f"- Trend: mean of the last {TREND_WINDOW} scored {fmt(recent)} vs {fmt(before)} "
                       f"before: {word}.")
        last_best = max((i for i, r in enumerate(rows) if r.get("best_so_far")), default=None)
        since = len(rows) - 1 - last_best if last_best is not None else len(rows)
        if since:
            out.append(f"- {since} experiment(s) since the last new best.")
        out += ["", "## Frontier directions"]
        directions = [f"- Build on {_name(r)} ({r.get('notes', '')}): change one thing and say which."
                      for r in ranked[:3]]
        if len(ranked) >= 2:
            directions.append(f"- Combine the ideas of {_name(ranked[0])} and {_name(ranked[1])}.")
        if failed:
            directions.append(f"- Fix the failure pattern before new ideas: {_reason(failed[-1])}")
        if since >= 3:
            directions.append(f"- Stalled for {since} experiments: try a different family of ideas than the top ones.")
        if len(directions) < 3:
            directions.append("- Vary one thing at a time relative to the best so that gains can be attributed.")
            directions.append("- Prefer simpler experiments: equal results with less code count as a win.")
        out += directions[:6]
        out += ["", "## Avoid (disproved by the data)"]
        avoid = [f"- {_name(r)}: failed ({_reason(r)})" for r in failed[-3:]]
        avoid += [f"- {_name(r)}: worst {cfg.metric}={fmt(cfg.value(r))} ({r.get('notes', '')})" for r in ranked[-2:]
                  if len(ranked) > 3]
        out += avoid or ["- Nothing disproved yet."]
        return "\n".join(out)

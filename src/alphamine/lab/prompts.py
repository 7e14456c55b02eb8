"""The Worker's prompts, built the way leanlab builds them, so a worker written for one serves both.

Why leanlab's layout: a leanlab Worker expects a first line naming the role, the action, a MEMORY of
the best 5 scored experiments (every key but tag, experiment_file, best_so_far, notes and ts), then
the Director's guidance and the Critic's feedback when those files are non-empty. alphamine adds the
task (task.md) itself, because a scripted or LLM worker may not read files, and the experiment
number (so parallel workers name distinct files). Keys matching `hidden_metrics` (an alpha lab's
out-of-sample and validation numbers) never reach a prompt: the search must not read them.

Contract: `worker_prompt(cfg, rows, n)`, `fix_prompt(rel, output)` (leanlab's fix text) and
`memory(cfg, rows)` return plain text; the reply a worker must give is `REPLY_FORMAT`.
"""

from __future__ import annotations

from typing import Any

from alphamine.lab.config import LabConfig

MEMORY_TOP_N = 5
NOTES_FILES = ("Director_Notes.md", "Critic_Feedback.md")
REPLY_FORMAT = '{"experiment_file": "experiments/<file>.py", "valid": true, "notes": "one line"}'
WORKER_INTRO = (
    "You are the WORKER (experimenter) on this lab. Read the task below (task.md) and the rules, then follow them."
)
WORKER_RULES = """RULES
- Do EXACTLY ONE experiment: one new idea, written as ONE new file in the experiments folder
  (never overwrite sample.py or an earlier experiment). Start it with a one-line docstring
  (a `# comment` line in a .expr file) that names the idea.
- Check it with the lab's validate command until it prints VALID.
- Never read or run evaluation.py; never edit results.jsonl, Director_Notes.md or Critic_Feedback.md;
  write only inside the experiments folder. alphamine scores your file with the frozen judge.
- Do not repeat an idea from MEMORY; fix what the critics named; follow the Director."""
DIRECTOR_HEADER = "DIRECTOR'S GUIDANCE (your chief scientist — follow it):"
CRITIC_HEADER = "THE TEAM OF CRITICS SAID (fix these flaws — do not repeat them):"


def _read(cfg: LabConfig, name: str) -> str:
    try:
        return (cfg.dir / name).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def visible_metrics(cfg: LabConfig, record: dict[str, Any]) -> dict[str, Any]:
    """The record's keys a worker may see: not leanlab's five bookkeeping keys, not hidden ones."""
    skip = ("tag", "experiment_file", "best_so_far", "notes", "ts")
    return {k: v for k, v in record.items() if k not in skip and not cfg.is_hidden(k)}


def memory(cfg: LabConfig, rows: list[dict[str, Any]]) -> str:
    """leanlab's MEMORY block: the top 5 scored records by the objective."""
    scored = [r for r in rows if cfg.value(r) is not None]
    if not scored:
        return "MEMORY: no experiments scored yet. You are the first."
    scored.sort(key=lambda r: cfg.value(r) or 0.0, reverse=cfg.direction == "max")
    lines = [f"MEMORY — best experiments so far (objective: {cfg.direction} {cfg.metric}; do not repeat these):"]
    for r in scored[:MEMORY_TOP_N]:
        extras = " ".join(f"{k}={v}" for k, v in visible_metrics(cfg, r).items())
        lines.append(f"- {r.get('experiment_file', '?')} :: {extras} :: {r.get('notes', '')}")
    return "\n".join(lines)


def worker_prompt(cfg: LabConfig, rows: list[dict[str, Any]], n: int) -> str:
    experiments = cfg.experiments_dir
    action = (
        f"This is experiment number {n}. Write it as a NEW file in {experiments}/ (for example "
        f"{experiments}/exp_{n:03d}.py). Validate it with: {cfg.validate_cmd}. Your final message must be ONLY "
        f"this JSON object: {REPLY_FORMAT}"
    )
    parts = [WORKER_INTRO, f"TASK (task.md):\n{_read(cfg, 'task.md') or '(task.md is empty)'}", WORKER_RULES, action]
    parts.append(memory(cfg, rows))
    director, critic = _read(cfg, "Director_Notes.md"), _read(cfg, "Critic_Feedback.md")
    if director:
        parts.append(f"{DIRECTOR_HEADER}\n{director}")
    if critic:
        parts.append(f"{CRITIC_HEADER}\n{critic}")
    return "\n\n".join(parts)


def fix_prompt(rel: str, output: str) -> str:
    """leanlab's fix request, sent to the same worker for the same file."""
    return (
        f"You were working on {rel}. The judge ran on it and FAILED:\n\n{output}\n\n"
        "Fix the experiment file so it runs cleanly. Validate it. Do not run "
        "evaluation.py. Reply with the same JSON object, then stop."
    )

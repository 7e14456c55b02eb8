"""The LLM Worker, Critic and Director, on alphamine's LLM client (`alphamine.llm`).

Why not leanlab's agents: leanlab drives the `claude` CLI, which edits files with its own tools.
alphamine's client is a chat endpoint (OpenAI-compatible), so the LLM worker answers with the file's
name and full content and alphamine writes it, only ever inside the experiments folder, and then
validates and judges it like any other worker's file. The client is imported lazily: the lab works,
and `--worker scripted` needs nothing, where no LLM is configured.

Contract:
- `make_llm_client()` returns a client with `chat_json(agent, system, user, schema)` and
  `chat_text(agent, system, user)`, or raises `LabError` with one line saying what to configure.
- `LLMWorker.propose` writes `experiments/<safe name>` (a new name in "new" mode, the same file in
  "fix" mode; suffix `.py` or `.expr`, never `sample.*`) and replies leanlab's JSON. A failed call is
  a failed reply (the iteration is skipped), except a paused budget, which stops the run (`LabError`).
- `LLMRole` composes a Critic or Director file from task.md, the records (objective and visible
  metrics only) and the code of the best, worst and latest experiments.
"""

from __future__ import annotations

import inspect
import os
import re
from typing import Any

from pydantic import BaseModel

from alphamine.lab.config import EXPERIMENT_SUFFIXES, SAMPLE_STEM, LabConfig, LabError
from alphamine.lab.prompts import visible_metrics
from alphamine.lab.roles import CRITIC_FILE, DIRECTOR_FILE, LabView
from alphamine.lab.workers import WorkerReply, WorkerTask

MAX_CODE_CHARS = 6000
FORCE_OFF_ENV = "ALPHAMINE_LLM"
WORKER_MAX_TOKENS, ROLE_MAX_TOKENS = 4000, 1500
WORKER_SYSTEM = (
    "You are the WORKER of a research lab. You cannot run code or write files: reply with the experiment "
    "file's name and its full content, and alphamine writes it into the experiments folder, validates it "
    "and scores it with the lab's frozen judge. Follow the task's experiment contract exactly. One idea "
    "per file; the file starts with a one-line docstring (a '# ' comment line in a .expr file)."
)
CRITIC_SYSTEM = (
    "You are the CRITIC (a harsh red team) of a research lab. Judge results and code, not the choice of "
    "method. Hunt for overfitting and leakage, changes that do not move the objective, fragility, fake "
    "novelty (a renamed copy of an earlier experiment) and curve-fitting. Write the whole file "
    "Critic_Feedback.md in Markdown with four parts: a 2-4 line verdict on the latest experiment naming "
    "the file; recurring flaws; what the next experiment must prove; a do-not-trust list."
)
DIRECTOR_SYSTEM = (
    "You are the DIRECTOR (chief scientist) of a research lab. Write the whole file Director_Notes.md in "
    "Markdown: the state of research (what is winning, what is dead), 3-6 concrete frontier directions, "
    "and what to avoid (only ideas the data has disproved). Never ban a whole class of methods."
)


class _Proposal(BaseModel):
    file_name: str
    code: str
    notes: str = ""


def make_llm_client() -> Any:
    """The configured LLM client (module doc). `ALPHAMINE_LLM=off` (the runs' kill switch, set by the
    test suite) refuses it too."""
    if os.environ.get(FORCE_OFF_ENV, "").strip().lower() in ("off", "0", "no", "false"):
        raise LabError(f"--worker llm: {FORCE_OFF_ENV}=off is set in the environment")
    try:
        from alphamine.llm.client import LLMClient
        from alphamine.llm.config import resolve_config
    except ImportError as e:
        raise LabError(f"--worker llm needs alphamine's LLM client, which cannot be imported ({e})") from None
    try:
        resolved = resolve_config()
    except ValueError as e:
        raise LabError(f"the LLM settings are unusable: {e}") from None
    if not resolved.configured:
        raise LabError(
            f"no LLM is configured ({resolved.config.problem}); configure one, or run the lab with "
            "--worker scripted --worker-cmd \"python my_worker.py {lab} {n}\""
        )
    return LLMClient(resolved.config)


def _call(method: Any, *args: Any, max_tokens: int) -> Any:
    """`method(*args, max_tokens=...)` when the client's method takes `max_tokens`, else without it
    (the documented interface is `chat_json(agent, system, user, schema)` / `chat_text(agent, system, user)`)."""
    try:
        takes = "max_tokens" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        takes = False
    return method(*args, max_tokens=max_tokens) if takes else method(*args)


def _read(cfg: LabConfig, rel: str, limit: int = MAX_CODE_CHARS) -> str:
    try:
        return (cfg.dir / rel).read_text(encoding="utf-8")[:limit]
    except (OSError, UnicodeDecodeError):
        return ""


def _safe_name(name: str, n: int) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip("._-")
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix}" not in EXPERIMENT_SUFFIXES:
        stem, suffix = base or f"exp_{n:03d}", "py"
    if not stem or stem == SAMPLE_STEM:
        stem = f"exp_{n:03d}"
    return f"{stem}.{suffix}"


class LLMWorker:
    """Module doc."""

    name = "llm"

    def __init__(self, cfg: LabConfig, client: Any) -> None:
        self.cfg, self.client = cfg, client

    def reachable(self) -> str | None:
        return None

    def _target(self, proposal: _Proposal, task: WorkerTask) -> str:
        if task.mode == "fix" and task.file:
            return task.file
        name = _safe_name(proposal.file_name, task.n)
        folder = self.cfg.experiments_path
        stem, suffix = name.rsplit(".", 1)
        candidate, k = name, 1
        while (folder / candidate).exists():
            candidate = f"{stem}_{task.n}.{suffix}" if k == 1 else f"{stem}_{task.n}_{k}.{suffix}"
            k += 1
        return f"{self.cfg.experiments_dir}/{candidate}"

    def propose(self, task: WorkerTask) -> WorkerReply:
        user = task.prompt
        if task.mode == "fix" and task.file:
            user += f"\n\nCURRENT CONTENT of {task.file}:\n```\n{_read(self.cfg, task.file)}\n```\n"
            user += "Reply with the corrected full content of that same file."
        try:
            proposal = _call(self.client.chat_json, "lab_worker", WORKER_SYSTEM, user, _Proposal,
                             max_tokens=WORKER_MAX_TOKENS)
        except Exception as e:
            if type(e).__name__ == "LLMPaused":
                raise LabError(f"the LLM budget paused the lab: {e}") from None
            return WorkerReply({}, f"LLM error: {type(e).__name__}: {e}")
        rel = self._target(proposal, task)
        path = self.cfg.dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(proposal.code.rstrip() + "\n", encoding="utf-8")
        return WorkerReply({"experiment_file": rel, "valid": True, "notes": proposal.notes},
                           proposal.model_dump_json())


def records_text(view: LabView) -> str:
    """The ledger as the roles read it: one line per record, hidden metrics left out."""
    lines = []
    for i, row in enumerate(view.rows, 1):
        metrics = " ".join(f"{k}={v}" for k, v in visible_metrics(view.cfg, row).items())
        lines.append(f"{i}. {row.get('experiment_file', '?')} :: {metrics} :: {row.get('notes', '')}")
    return "\n".join(lines) or "(no records yet)"


class LLMRole:
    """The Critic or the Director on the LLM (module doc)."""

    def __init__(self, name: str, client: Any) -> None:
        if name not in ("critic", "director"):
            raise ValueError(name)
        self.name, self.client = name, client
        self.file_name = CRITIC_FILE if name == "critic" else DIRECTOR_FILE

    def compose(self, view: LabView) -> str:
        cfg = view.cfg
        scored = sorted((r for r in view.rows if cfg.value(r) is not None), key=lambda r: cfg.value(r) or 0.0,
                        reverse=cfg.direction == "max")
        picks = [("latest", view.rows[-1])] if view.rows else []
        if scored:
            picks += [("best", scored[0]), ("worst", scored[-1])]
        code = "\n\n".join(f"{label.upper()} EXPERIMENT {r.get('experiment_file')}:\n```\n"
                           f"{_read(cfg, str(r.get('experiment_file')))}\n```" for label, r in picks)
        band = f"\nNoise band of the objective: ±{view.band:.6g}." if view.band > 0 else ""
        user = (f"TASK (task.md):\n{_read(cfg, 'task.md')}\n\nObjective: {cfg.direction} {cfg.metric}.{band}\n\n"
                f"RESULTS (results.jsonl, in order):\n{records_text(view)}\n\n{code}")
        system = CRITIC_SYSTEM if self.name == "critic" else DIRECTOR_SYSTEM
        return str(_call(self.client.chat_text, f"lab_{self.name}", system, user, max_tokens=ROLE_MAX_TOKENS))

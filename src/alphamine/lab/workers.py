"""Workers: whatever writes the next experiment file and answers with leanlab's JSON reply.

Why a protocol: the loop must not care whether the experiment came from an LLM, a user's own program
or a test. leanlab's Worker ends its turn with `{"experiment_file": "experiments/<f>.py", "valid":
true, "notes": "..."}`; alphamine reads that reply the way leanlab's `extract_json` does (the whole
text, else the last brace-balanced `{...}` span that holds the required keys), so a program written
for one reads the same in the other.

Contract:
- `Worker.propose(task) -> WorkerReply`; `task.mode` is "new" (write a new file) or "fix" (repair
  `task.file` after the judge or validator failed). A reply with no usable JSON is `ok == False`.
- `ScriptedWorker(cfg, template)` runs `template` (shlex-split, `{lab}` = the lab folder, `{n}` = the
  experiment number, `{prompt}` = a file holding the prompt, `{mode}`, `{file}` = the file to fix or
  "") with cwd = the lab and the prompt on stdin. Its environment is the caller's plus
  ALPHAMINE_LAB_DIR, ALPHAMINE_LAB_N, ALPHAMINE_LAB_MODE, ALPHAMINE_LAB_FILE and
  ALPHAMINE_LAB_PROMPT_FILE (the user's program may need its own keys, unlike the judge). The reply
  is parsed from its stdout; a non-zero exit or timeout is a failed reply with the output as `raw`.
- `reachable()` -> None, or why the program cannot be started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from alphamine.lab.config import LabConfig, LabError
from alphamine.lab.process import expand, resolve_argv, run_process

REQUIRED_KEYS = ("experiment_file",)
DEFAULT_WORKER_TIMEOUT = 900.0


@dataclass(frozen=True)
class WorkerTask:
    n: int
    prompt: str
    mode: str = "new"
    file: str | None = None


@dataclass(frozen=True)
class WorkerReply:
    data: dict[str, Any] = field(default_factory=dict)
    raw: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.data)

    @property
    def experiment_file(self) -> str | None:
        value = self.data.get("experiment_file")
        return value if isinstance(value, str) and value else None


class Worker(Protocol):
    name: str

    def propose(self, task: WorkerTask) -> WorkerReply: ...

    def reachable(self) -> str | None: ...


def _balanced_objects(text: str) -> Iterator[str]:
    """Every top-level `{...}` span of `text`, brace-balanced and aware of JSON strings."""
    depth = start = 0
    in_str = escaped = False
    for i, ch in enumerate(text):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                yield text[start : i + 1]


def extract_json(text: str, required_keys: Sequence[str] = REQUIRED_KEYS) -> dict[str, Any] | None:
    """The last JSON object in `text` holding every required key (leanlab 0.2.4's `extract_json`)."""
    if not text:
        return None
    text = text.strip()
    candidates: list[Any] = []
    with contextlib.suppress(ValueError):
        candidates.append(json.loads(text))
    for span in _balanced_objects(text):
        try:
            candidates.append(json.loads(span))
        except ValueError:
            continue
    for obj in reversed(candidates):
        if isinstance(obj, dict) and all(k in obj for k in required_keys):
            return obj
    return None


class ScriptedWorker:
    """A user's program as the worker (module doc)."""

    name = "scripted"

    def __init__(self, cfg: LabConfig, template: str, *, timeout: float = DEFAULT_WORKER_TIMEOUT) -> None:
        if not template.strip():
            raise LabError("--worker scripted needs --worker-cmd, e.g. \"python my_worker.py {lab} {n}\"")
        try:
            shlex.split(template)
        except ValueError as e:
            raise LabError(f"--worker-cmd cannot be split into arguments: {e}") from None
        self.cfg, self.template, self.timeout = cfg, template, timeout

    def reachable(self) -> str | None:
        argv = resolve_argv(expand(self.template, {"lab": str(self.cfg.dir), "n": "0", "prompt": "", "mode": "new"}))
        if not argv:
            return "the worker command is empty"
        program = argv[0]
        if os.sep in program:
            path = Path(program) if os.path.isabs(program) else self.cfg.dir / program
            return None if path.exists() else f"worker program {program} not found"
        return None if shutil.which(program) else f"worker program {program!r} is not on PATH"

    def propose(self, task: WorkerTask) -> WorkerReply:
        with tempfile.TemporaryDirectory(prefix="alphamine-lab-") as tmp:
            prompt_file = Path(tmp) / f"prompt_{task.n}.md"
            prompt_file.write_text(task.prompt, encoding="utf-8")
            values = {
                "lab": str(self.cfg.dir),
                "n": str(task.n),
                "prompt": str(prompt_file),
                "mode": task.mode,
                "file": task.file or "",
            }
            env = dict(os.environ)
            env.update(
                ALPHAMINE_LAB_DIR=str(self.cfg.dir),
                ALPHAMINE_LAB_N=str(task.n),
                ALPHAMINE_LAB_MODE=task.mode,
                ALPHAMINE_LAB_FILE=task.file or "",
                ALPHAMINE_LAB_PROMPT_FILE=str(prompt_file),
            )
            argv = resolve_argv(expand(self.template, values))
            result = run_process(argv, self.cfg.dir, env=env, timeout=self.timeout, stdin_text=task.prompt)
        if result.problem is not None:
            return WorkerReply({}, f"worker {result.problem}: {result.output[-400:]}")
        return WorkerReply(extract_json(result.stdout) or {}, result.stdout)

"""Running a lab's commands (the judge, the validator, a scripted worker) as real subprocesses.

Why one module: leanlab runs `shlex.split(template)` with `{file}` replaced in each token, cwd set to
the lab, no timeout and the caller's whole environment. alphamine keeps the first two (so a leanlab
lab's commands mean the same thing) and adds what a frozen judge needs: a wall-clock timeout that
kills the whole process group, and a clean environment (no API keys, no PYTHONPATH, no alphamine
settings leak into the judge; the same seed for Python's hashing every run).

Contract:
- `expand(template, values)` splits with shlex, then replaces every `{key}` in every token.
- `resolve_argv(argv)`: a leading `python`/`python3` becomes this interpreter (`sys.executable`), so a
  lab's judge sees the packages alphamine runs with; a leading `uv run` (leanlab's default commands)
  is kept when `uv` is on PATH and dropped otherwise (then `python` is this interpreter too).
- `clean_env(extra)`: only PATH, HOME, USER, LOGNAME, LANG, LC_*, TZ, TMPDIR/TEMP/TMP and SYSTEMROOT
  from the caller, plus PYTHONHASHSEED=0, PYTHONDONTWRITEBYTECODE=1, PYTHONUNBUFFERED=1 and `extra`.
- `run_process(...)` never raises for the child's sake: a program that cannot start, exits non-zero
  or runs past `timeout` (its process group is killed) comes back as a `ProcessResult` that says so.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

KEPT_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT")
FIXED_ENV = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
PYTHONS = ("python", "python3")


@dataclass(frozen=True)
class ProcessResult:
    """What one command did. `output` is stdout, then stderr (leanlab's order), stripped."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    start_error: str | None = None

    @property
    def output(self) -> str:
        return (self.stdout + ("\n" + self.stderr if self.stderr else "")).strip()

    @property
    def problem(self) -> str | None:
        """Why the command did not finish normally (None when it exited 0)."""
        if self.start_error is not None:
            return self.start_error
        if self.timed_out:
            return f"timed out after {self.seconds:.0f}s (killed)"
        if self.returncode != 0:
            return f"exit status {self.returncode}"
        return None


def expand(template: str, values: Mapping[str, str]) -> list[str]:
    """shlex-split `template`, then replace each `{key}` inside every token (module doc)."""
    parts = shlex.split(template)
    out = []
    for part in parts:
        for key, value in values.items():
            part = part.replace("{" + key + "}", value)
        out.append(part)
    return out


def resolve_argv(argv: Sequence[str]) -> list[str]:
    """`python` -> this interpreter; `uv run` dropped when uv is not installed (module doc)."""
    args = list(argv)
    if len(args) >= 2 and args[0] == "uv" and args[1] == "run" and shutil.which("uv") is None:
        args = args[2:]
    if args and args[0] in PYTHONS:
        args[0] = sys.executable
    return args


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The judge's environment (module doc)."""
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENV or k.startswith("LC_")}
    env.update(FIXED_ENV)
    env.update(extra or {})
    return env


def run_process(
    argv: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str],
    timeout: float,
    stdin_text: str | None = None,
) -> ProcessResult:
    """Run `argv` in `cwd` in its own process group; kill the group after `timeout` s (module doc)."""
    args = tuple(argv)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
    except OSError as e:
        return ProcessResult(args, None, "", "", 0.0, start_error=f"could not run {shlex.join(args)}: {e}")
    try:
        out, err = proc.communicate(stdin_text, timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        timed_out = True
    except BaseException:  # KeyboardInterrupt: do not leave the child behind
        _kill_group(proc)
        proc.wait()
        raise
    return ProcessResult(args, proc.returncode, out or "", err or "", time.monotonic() - start, timed_out)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()

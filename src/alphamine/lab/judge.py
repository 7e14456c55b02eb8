"""The frozen judge: `evaluation.py` scores, `validate.py` checks, and neither may change mid-study.

Why frozen: every record in results.jsonl is comparable only if the same judge produced it. leanlab
relies on a chmod (a speed bump) and runs the judge with no timeout in the caller's environment;
alphamine records the SHA-256 of both files when the lab first starts (in `.alphamine_lab.json`) and
refuses to score once either differs, and runs them through `alphamine.lab.process` (timeout, clean
environment, cwd = the lab, `{file}` = the experiment path relative to the lab, as in leanlab).

Contract:
- `judge_hashes(cfg)` -> {"evaluation.py": sha, "validate.py": sha} (a missing file hashes as "").
- `Judge(cfg, frozen).verify()` raises `JudgeTampered` naming the changed files; nothing is scored.
- `evaluate(rel)` -> `Verdict`: metrics are the last line of stdout+stderr that parses as a JSON
  object (leanlab's rule). The experiment scored only when that object holds a finite number under
  the objective key; anything else (no JSON, a null or missing objective, a timeout) is a judge
  error with `error` saying which, and the loop asks the worker to fix the file.
- `validate(rel)` -> `Validation`: valid when the output has a line starting `VALID` and no `INVALID...`
  line after it; the reason is the INVALID line's text, or why the command failed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from alphamine.lab.config import LabConfig, LabError
from alphamine.lab.process import ProcessResult, clean_env, expand, resolve_argv, run_process

JUDGE_FILES = ("evaluation.py", "validate.py")


class JudgeTampered(LabError):
    """evaluation.py or validate.py changed since the lab was frozen."""


def judge_hashes(cfg: LabConfig) -> dict[str, str]:
    out = {}
    for name in JUDGE_FILES:
        try:
            out[name] = hashlib.sha256((cfg.dir / name).read_bytes()).hexdigest()
        except FileNotFoundError:
            out[name] = ""
    return out


def last_json_object(output: str) -> dict[str, Any] | None:
    """The last line of `output` that parses as a JSON object (leanlab's `Evaluator.evaluate`)."""
    for line in reversed(output.splitlines()):
        try:
            obj = json.loads(line.strip())
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


@dataclass(frozen=True)
class Verdict:
    """One judge run. `value` is the objective (None when the experiment was not scored)."""

    metrics: dict[str, Any] | None
    value: float | None
    output: str
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Validation:
    valid: bool
    reason: str
    output: str


class Judge:
    """Runs the lab's frozen commands (module doc)."""

    def __init__(self, cfg: LabConfig, frozen: dict[str, str]) -> None:
        self.cfg = cfg
        self.frozen = dict(frozen)

    def verify(self) -> None:
        current = judge_hashes(self.cfg)
        changed = [name for name in JUDGE_FILES if current.get(name) != self.frozen.get(name)]
        if changed:
            raise JudgeTampered(
                f"the frozen judge changed ({', '.join(changed)} in {self.cfg.dir}); refusing to score. "
                "Restore the file(s), or run `alphamine lab freeze` to start a new study with the new judge"
            )

    def run_command(self, template: str, rel: str) -> ProcessResult:
        argv = resolve_argv(expand(template, {"file": rel}))
        return run_process(argv, self.cfg.dir, env=clean_env(), timeout=self.cfg.eval_timeout)

    def evaluate(self, rel: str) -> Verdict:
        result = self.run_command(self.cfg.eval_cmd, rel)
        output = result.output
        metrics = last_json_object(output)
        if result.timed_out:
            return Verdict(None, None, output, f"the judge {result.problem}", result.seconds)
        if metrics is None:
            why = result.problem or "exit status 0"
            return Verdict(None, None, output, f"the judge printed no JSON metrics ({why})", result.seconds)
        value = self.cfg.value(metrics)
        if value is None:
            error = f"the judge's metrics have no finite {self.cfg.metric!r} ({metrics.get(self.cfg.metric)!r})"
            return Verdict(metrics, None, output, error, result.seconds)
        return Verdict(metrics, value, output, None, result.seconds)

    def validate(self, rel: str) -> Validation:
        result = self.run_command(self.cfg.validate_cmd, rel)
        verdict: bool | None = None
        reason = ""
        for line in result.output.splitlines():
            text = line.strip()
            if text.startswith("VALID"):
                verdict, reason = True, ""
            elif text.startswith("INVALID"):
                verdict, reason = False, text.partition(":")[2].strip() or text
        if verdict is None:
            why = result.problem or "it printed neither VALID nor INVALID"
            return Validation(False, f"validate command failed: {why}", result.output)
        return Validation(verdict, reason, result.output)

"""`alphamine lab check LAB`: is the folder a lab, is the judge wired and frozen, can the worker start?

Why: a mis-wired lab fails silently and expensively (the judge prints "score" while lab.json wants
"rmse"; a script reads a positional argument while the command passes `--experiment`). leanlab's
doctor catches these by probing the commands with a missing sentinel file; alphamine does the same
probes (same sentinel, same verdicts) and then really runs the baseline through validate and the
judge, which is what "the judge runs" means.

Contract: `check_lab(cfg, worker)` -> list of `Check(name, status, message)`, status "ok", "warn" or
"fail"; `passed(checks)` is True without a "fail". It never raises for the lab's sake and changes
nothing in the lab (it does not freeze the judge).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from alphamine.lab.config import LabConfig
from alphamine.lab.judge import Judge, judge_hashes, last_json_object
from alphamine.lab.ledger import Fingerprint, Ledger
from alphamine.lab.roles import CRITIC_FILE, DIRECTOR_FILE
from alphamine.lab.state import load_state
from alphamine.lab.workers import Worker

OK, WARN, FAIL = "ok", "warn", "fail"
SENTINEL = "experiments/__leanlab_preflight__.py"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    message: str


def passed(checks: list[Check]) -> bool:
    return not any(c.status == FAIL for c in checks)


def _files(cfg: LabConfig) -> list[Check]:
    out = [Check("lab.json", OK, f"{cfg.name}: objective {cfg.direction} {cfg.metric}")]
    for name in ("task.md", "evaluation.py", "validate.py"):
        present = (cfg.dir / name).is_file()
        out.append(Check(name, OK if present else FAIL, "present" if present else "missing"))
    folder = cfg.experiments_path.is_dir()
    out.append(Check(f"{cfg.experiments_dir}/", OK if folder else FAIL, "present" if folder else "missing"))
    sample = cfg.sample_file()
    found = cfg.rel(sample) if sample else "experiments/sample.py missing"
    out.append(Check("baseline", OK if sample else FAIL, found))
    for name in (DIRECTOR_FILE, CRITIC_FILE):
        present = (cfg.dir / name).is_file()
        out.append(Check(name, OK if present else WARN, "present" if present else "missing (written on first review)"))
    for key in ("eval_cmd", "validate_cmd"):
        command = str(cfg.raw.get(key) or "")
        if not command:
            out.append(Check(key, WARN, "not set: leanlab's default command is used"))
        elif command.startswith("uv run") and shutil.which("uv") is None:
            out.append(Check(key, OK, "uv is not installed: run without `uv run`, with this Python"))
    return out


def _frozen(cfg: LabConfig) -> list[Check]:
    try:
        state = load_state(cfg)
    except Exception as e:
        return [Check("lab state", FAIL, str(e))]
    out = []
    if state is None or not state.judge:
        out.append(Check("frozen judge", OK, "not frozen yet: the first `lab run` or `lab noise` freezes it"))
    elif state.judge != judge_hashes(cfg):
        out.append(Check("frozen judge", FAIL, "evaluation.py or validate.py changed since the judge was frozen"))
    else:
        out.append(Check("frozen judge", OK, f"unchanged since {state.frozen_at}"))
    ledger = Ledger(cfg)
    rows = ledger.read()
    message = f"{len(rows)} record(s)"
    known = None
    if state is not None and state.ledger_size is not None and state.ledger_sha256 is not None:
        known = Fingerprint(state.ledger_size, state.ledger_sha256)
    if known is not None and not ledger.prefix_matches(known):
        out.append(Check("results.jsonl", FAIL, f"{message}; history changed outside alphamine"))
        return out
    bad = ledger.malformed_lines()
    out.append(Check("results.jsonl", WARN if bad else OK, message + (f", {bad} malformed line(s)" if bad else "")))
    recorded = ledger.recorded_files(rows)
    missing = [cfg.rel(p) for p in cfg.experiment_files() if cfg.rel(p) not in recorded]
    if missing:
        out.append(Check("unscored files", WARN, f"{len(missing)} experiment file(s) without a record "
                                                 f"(the next run scores them): {', '.join(missing[:5])}"))
    if state is not None and state.run is not None:
        out.append(Check("unfinished run", WARN, f"{max(0, state.run.remaining(len(rows)))} of {state.run.n} "
                                                 "experiment(s) to go: `lab run` resumes it"))
    return out


def _probes(cfg: LabConfig, judge: Judge) -> list[Check]:
    """leanlab's wiring probes: both commands on a missing sentinel file."""
    out = []
    for name, template in (("eval args", cfg.eval_cmd), ("validate args", cfg.validate_cmd)):
        result = judge.run_command(template, SENTINEL)
        text = result.output
        if result.start_error:
            out.append(Check(name, FAIL, result.start_error))
        elif "--experiment" in text and SENTINEL not in text and "__leanlab_preflight__" not in text:
            out.append(Check(name, FAIL, "the script is not reading the file argument (it got the flag instead)"))
        else:
            out.append(Check(name, OK, "the file argument reaches the script"))
        if name == "eval args" and not result.start_error:
            verdict = last_json_object(text)
            if verdict is None:
                out.append(Check("eval metric", WARN, "no JSON for a missing file: cannot verify the metric key"))
            elif cfg.metric not in verdict:
                keys = list(verdict)[:6]
                out.append(Check("eval metric", FAIL, f"the judge's JSON has no {cfg.metric!r} key ({keys})"))
            else:
                out.append(Check("eval metric", OK, f"emits the objective key {cfg.metric!r}"))
    return out


def _baseline(cfg: LabConfig, judge: Judge) -> list[Check]:
    sample = cfg.sample_file()
    if sample is None:
        return []
    rel = cfg.rel(sample)
    validation = judge.validate(rel)
    out = [Check("validate baseline", OK if validation.valid else FAIL,
                 "VALID" if validation.valid else f"INVALID: {validation.reason}")]
    verdict = judge.evaluate(rel)
    if verdict.ok:
        out.append(Check("judge baseline", OK, f"{cfg.metric}={verdict.value:.6g} in {verdict.seconds:.1f}s"))
    else:
        tail = " ".join(verdict.output.split())[-160:]
        out.append(Check("judge baseline", FAIL, f"{verdict.error}: {tail}"))
    return out


def check_lab(cfg: LabConfig, worker: Worker | None = None) -> list[Check]:
    """All checks (module doc)."""
    checks = _files(cfg)
    checks += _frozen(cfg)
    if (cfg.dir / "evaluation.py").is_file() and (cfg.dir / "validate.py").is_file():
        judge = Judge(cfg, judge_hashes(cfg))
        checks += _probes(cfg, judge)
        checks += _baseline(cfg, judge)
    if worker is None:
        checks.append(Check("worker", WARN, "no worker given (--worker llm, or --worker-cmd for a scripted one)"))
    else:
        problem = worker.reachable()
        checks.append(Check("worker", FAIL if problem else OK, problem or f"{worker.name} worker reachable"))
    return checks

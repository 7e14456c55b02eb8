"""`.alphamine_lab.json`: what alphamine remembers about a lab, and the locks that serialise writers.

Why a file of its own: leanlab's folder has no place for the frozen judge's hashes, the ledger's
fingerprint, the measured noise bands or an unfinished run, and leanlab must keep reading the lab
unchanged; a hidden JSON file beside `lab.json` (which leanlab never opens) holds them.

Contract:
- `LabState` fields: `judge` (file name -> SHA-256 of evaluation.py / validate.py, frozen when the lab
  first starts), `ledger_size` / `ledger_sha256` (results.jsonl as alphamine last wrote it),
  `next_n` (the next experiment number handed to a worker), `noise` (workers as text -> the band's
  dict, see `alphamine.lab.noise`), `run` (the unfinished run, or None) and `last_worker`.
- `load_state` returns None when the file is absent; a corrupt file is a `LabError`.
  `save_state` writes a temporary file and renames it (never half a file).
- `lab_lock(cfg)`: an exclusive `flock` on `.alphamine_lab.lock`, held around every read-modify-write
  of results.jsonl, the state file and the set of claimed experiment files. `flock` locks are per
  open file, so threads of one process exclude each other exactly like separate processes do.
- `run_lock(cfg)`: taken without waiting for a whole `lab run` (and `lab noise`); a second one on the
  same lab gets `LabBusy`. The kernel drops both locks when a killed process's files close.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alphamine.lab.config import LabConfig, LabError

STATE_FILE = ".alphamine_lab.json"
LOCK_FILE = ".alphamine_lab.lock"
RUN_LOCK_FILE = ".alphamine_lab.run.lock"
STATE_VERSION = 1


class LabBusy(LabError):
    """Another alphamine process is running this lab."""


@dataclass
class RunProgress:
    """An unfinished `lab run`: `n` experiments asked for, `start_records` records in the ledger when
    it began, `skipped` iterations that produced no record (the worker wrote nothing usable)."""

    n: int
    start_records: int
    skipped: int = 0
    workers: int = 1
    worker: str = "scripted"
    worker_cmd: str | None = None

    def remaining(self, records: int) -> int:
        return self.n - (records - self.start_records) - self.skipped


@dataclass
class LabState:
    """The state file's content (module doc)."""

    judge: dict[str, str] = field(default_factory=dict)
    frozen_at: str | None = None
    ledger_size: int | None = None
    ledger_sha256: str | None = None
    next_n: int = 1
    noise: dict[str, dict[str, Any]] = field(default_factory=dict)
    run: RunProgress | None = None
    last_worker: dict[str, Any] = field(default_factory=dict)
    version: int = STATE_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabState:
        run = data.get("run")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "run"}
        return cls(**known, run=RunProgress(**run) if isinstance(run, dict) else None)


def state_path(cfg: LabConfig) -> Path:
    return cfg.dir / STATE_FILE


def load_state(cfg: LabConfig) -> LabState | None:
    path = state_path(cfg)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise LabError(f"{path} is damaged ({e}); delete it to re-freeze the judge and adopt the ledger") from None
    try:
        return LabState.from_json(data)
    except TypeError as e:
        raise LabError(f"{path} has an unexpected shape ({e}); delete it to start over") from None


def save_state(cfg: LabConfig, state: LabState) -> None:
    path = state_path(cfg)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


@contextlib.contextmanager
def lab_lock(cfg: LabConfig) -> Iterator[None]:
    """Exclusive lock for the ledger, the state file and claims (module doc); waits for it."""
    with open(cfg.dir / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def run_lock(cfg: LabConfig, what: str = "lab run") -> Iterator[None]:
    """One runner per lab (module doc); `LabBusy` at once when another holds it."""
    with open(cfg.dir / RUN_LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabBusy(f"another alphamine process is running {cfg.dir} (wait for it, or stop it)") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def update_state(cfg: LabConfig, change: Callable[[LabState], object]) -> LabState:
    """Load (or create), apply `change(state)`, save; the caller holds `lab_lock`."""
    state = load_state(cfg) or LabState()
    change(state)
    save_state(cfg, state)
    return state

"""Opening a lab for scoring: freeze (or verify) the judge, adopt the ledger, find the run to do.

Why separate from the loop: `lab run`, `lab noise`, `lab check` and `lab freeze` all need the same
answer to "is this lab still the study it was?", and the rules are the heart of the frozen judge:
- The judge is frozen the first time alphamine opens the lab (`lab init` does it at once; a lab
  made by leanlab is frozen by its first `lab run`/`lab noise`). After that a different
  evaluation.py or validate.py refuses to start (`JudgeTampered`); only `alphamine lab freeze`
  (a person's decision) records new hashes, and it drops the noise bands measured with the old judge.
- results.jsonl: the bytes alphamine last wrote must still be its prefix (history is never
  rewritten: otherwise `LedgerTampered`). Lines appended after them between runs (leanlab's own
  loop on the same lab) are adopted; during a run nothing but alphamine may append (see `loop`).
- A torn last line (a crash mid-write) is repaired first (`Ledger.repair_torn_tail`).

Contract: `open_study(cfg, echo)` -> `Study` (state, frozen hashes, ledger fingerprint), holding
`lab_lock` only while it reads and writes; `freeze(cfg, accept_ledger)` re-records the hashes (and,
with `accept_ledger`, the ledger as it is now).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from alphamine.lab.config import LabConfig
from alphamine.lab.judge import Judge, JudgeTampered, judge_hashes
from alphamine.lab.ledger import Fingerprint, Ledger, LedgerTampered, timestamp
from alphamine.lab.state import LabState, lab_lock, load_state, save_state

Echo = Callable[[str], None]


@dataclass
class Study:
    cfg: LabConfig
    state: LabState
    judge: Judge
    fingerprint: Fingerprint


def _freeze_into(cfg: LabConfig, state: LabState) -> None:
    state.judge = judge_hashes(cfg)
    state.frozen_at = timestamp()


def open_study(cfg: LabConfig, echo: Echo = print) -> Study:
    """Freeze or verify the judge and adopt the ledger (module doc)."""
    ledger = Ledger(cfg)
    with lab_lock(cfg):
        state = load_state(cfg) or LabState()
        if not state.judge:
            _freeze_into(cfg, state)
            echo(f"froze the judge: sha256 of evaluation.py and validate.py recorded in {cfg.dir.name}/")
        judge = Judge(cfg, state.judge)
        try:
            judge.verify()
        except JudgeTampered as e:
            raise JudgeTampered(str(e).replace("refusing to score", "refusing to start")) from None
        if ledger.repair_torn_tail():
            echo("repaired a torn last line in results.jsonl (its experiment will be scored again)")
        if state.ledger_size is not None and state.ledger_sha256 is not None:
            known = Fingerprint(state.ledger_size, state.ledger_sha256)
            if not ledger.prefix_matches(known):
                raise LedgerTampered(
                    f"{cfg.results_path} no longer starts with the records alphamine wrote (history was edited "
                    "or truncated); restore it, or accept it as it is with `alphamine lab freeze --accept-ledger`"
                )
            extra = len(ledger.read()) - _records_in_prefix(ledger, known.size)
            if extra > 0:
                echo(f"adopted {extra} record(s) appended outside alphamine since its last run (e.g. by leanlab)")
        fingerprint = ledger.fingerprint()
        state.ledger_size, state.ledger_sha256 = fingerprint.size, fingerprint.sha256
        state.next_n = max(state.next_n, len(ledger.read()) + 1)
        save_state(cfg, state)
    return Study(cfg, state, judge, fingerprint)


def _records_in_prefix(ledger: Ledger, size: int) -> int:
    data = ledger.path.read_bytes()[:size].decode("utf-8", errors="replace")
    count = 0
    for line in data.splitlines():
        try:
            count += isinstance(json.loads(line), dict)
        except ValueError:
            continue
    return count


def freeze(cfg: LabConfig, *, accept_ledger: bool = False) -> LabState:
    """Record the judge as it is now (a new study); drops noise bands measured with the old judge."""
    ledger = Ledger(cfg)
    with lab_lock(cfg):
        state = load_state(cfg) or LabState()
        changed = state.judge != judge_hashes(cfg)
        _freeze_into(cfg, state)
        if changed:
            state.noise = {}
        if accept_ledger or state.ledger_size is None:
            ledger.repair_torn_tail()
            fp = ledger.fingerprint()
            state.ledger_size, state.ledger_sha256 = fp.size, fp.sha256
        save_state(cfg, state)
    return state

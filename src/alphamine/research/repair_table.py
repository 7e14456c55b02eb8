"""The repair success table: per failing check, how often a check-matched repair fixed it.

Why: the ENHANCE stage spends simulations on repairs chosen by the check a promising candidate failed
(`alphamine.generate.repairs`). Whether a move is worth its simulations is an empirical question per
check (a larger decay may fix HIGH_TURNOVER on one dataset and never on another), so the report
shows, per check, attempts, judged children and the fix rate — the evidence for reordering or
dropping moves.

Contract: `repair_success` is pure; rows sorted by check (then move with `by_move`), counts only.
A `RepairOutcome.fixed` is True when the child passes (PASS or WARNING) the check its parent failed,
False when it fails it, None when there is no verdict (not simulated yet, or the check was not
judged: PENDING). `outcomes_from_store` reads the store and never writes it: children are the run's
candidates with `generator="repair:<CHECK>"`; the verdict is the check in the child's stored
simulation, else (SELF_CORRELATION is PENDING in a simulation) the latest gate record that judged it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alphamine.store import Store
    from alphamine.store.rows import CandidateRow

REPAIR_PREFIX = "repair:"
PASSING = frozenset({"PASS", "WARNING"})  # a WARNING does not block submission
FAILING = frozenset({"FAIL"})


@dataclass(frozen=True)
class RepairOutcome:
    """One repair child: the check it repaired, the move, and whether it fixed it (None: no verdict)."""

    check: str
    move: str
    fixed: bool | None


@dataclass(frozen=True)
class RepairRow:
    """Per check (and move, when grouped by move): children proposed, judged, fixed, and the rate
    fixed / judged (None when nothing was judged)."""

    check: str
    attempts: int
    simulated: int
    fixed: int
    rate: float | None
    move: str | None = None


def repair_success(children: Iterable[RepairOutcome], *, by_move: bool = False) -> list[RepairRow]:
    """Count outcomes per check (per (check, move) with `by_move`), sorted by those keys."""
    counts: dict[tuple[str, str | None], list[int]] = {}
    for c in children:
        n = counts.setdefault((c.check, c.move if by_move else None), [0, 0, 0])
        n[0] += 1
        n[1] += c.fixed is not None
        n[2] += c.fixed is True
    return [
        RepairRow(check, a, s, f, f / s if s else None, move)
        for (check, move), (a, s, f) in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]


def to_markdown(rows: Sequence[RepairRow]) -> str:
    """A small Markdown table (a Move column when the rows are per move); "—" for an unknown rate."""
    with_move = any(r.move is not None for r in rows)
    head = ["Check", *(["Move"] if with_move else []), "Attempts", "Simulated", "Fixed", "Fix rate"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * (len(head) - 4) + ["---:"] * 4) + "|"]
    for r in rows:
        rate = "—" if r.rate is None else f"{r.rate:.0%}"
        cells = [r.check, *([r.move or ""] if with_move else []), str(r.attempts), str(r.simulated), str(r.fixed), rate]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ from the store
def outcomes_from_store(store: Store, run_id: str) -> list[RepairOutcome]:
    """The repair children of `run_id` with their verdicts, in id order (see the module docstring)."""
    children = sorted(
        (c for c in store.candidates(run_id=run_id) if c.generator.startswith(REPAIR_PREFIX)), key=lambda c: c.id
    )
    results = store.results_for([c.id for c in children])
    out = []
    for child in children:
        check, move = repaired(child)
        res = results.get(child.id)
        verdict = None if res is None else _verdict(check, res.checks)
        if res is not None and verdict is None:
            verdict = _gate_verdict(store, child.id, check)
        out.append(RepairOutcome(check, move, verdict))
    return out


def repaired(child: CandidateRow) -> tuple[str, str]:
    """(check, move) of a repair child: from `params`, else from `generator` / `strategy`."""
    params: Mapping[str, Any] = child.params
    check = str(params.get("repairs") or child.generator[len(REPAIR_PREFIX) :])
    strategy = child.strategy or ""
    move = str(params.get("move") or strategy.partition(":")[2] or strategy)
    return check, move


def _verdict(check: str, checks: Iterable[Mapping[str, Any]]) -> bool | None:
    for c in checks:
        if c.get("name") == check:
            result = str(c.get("result", "")).upper()
            return True if result in PASSING else False if result in FAILING else None
    return None


def _gate_verdict(store: Store, candidate_id: int, check: str) -> bool | None:
    for gate in reversed(store.gate_history(candidate_id)):
        verdict = _verdict(check, gate.checks)
        if verdict is not None:
            return verdict
    return None

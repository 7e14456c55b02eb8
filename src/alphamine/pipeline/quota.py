"""The quota allocator: how a run spends a scarce simulation budget (`--max-sim-alphas N`).

Why: on the platform every simulation counts against a daily quota, and a run that simulates whatever
its generators proposed first spends it on near-duplicates. With a budget, each iteration gets an equal
part of what is left (`remaining / iterations left`), split across three lanes, each read by one stage:

- explore (GENERATE's new candidates: new field families and structures) -> SIMULATE,
- exploit (variants of the iteration's best parents: the patterns the evidence backs) -> VARIANT_SEARCH,
- repair (ENHANCE's check-matched repairs and optimizers: a clear repair objective) -> ENHANCE.

A lane's unspent share flows to the next stage of the iteration. Within a lane candidates are taken by
priority, round-robin over structural clusters (the operator skeleton: the canonical expression with
fields and constants blanked), so the k-th member of a cluster comes after the first member of every
other cluster (the duplicate-cluster penalty; PnL clusters are pruned before, by VARIANT_SEARCH's
correlation rule on parents). What is not admitted stays `queued` (a worker can drain it later). Every
decision is appended to `artifacts/quota_report.json` with its reasons; the report shows it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alphamine.store import CandidateRow

LANES = ("explore", "exploit", "repair")
STAGE_LANE = {"SIMULATE": "explore", "VARIANT_SEARCH": "exploit", "ENHANCE": "repair"}
REPORT_NAME = "quota_report.json"


class QuotaConfig(BaseModel):
    """Lane shares of each iteration's budget (normalized to sum 1)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    explore: float = Field(default=0.5, ge=0.0)
    exploit: float = Field(default=0.3, ge=0.0)
    repair: float = Field(default=0.2, ge=0.0)

    def share(self, lane: str) -> float:
        total = self.explore + self.exploit + self.repair
        return (getattr(self, lane) / total) if total > 0 else 1.0 / len(LANES)


def skeleton(expression: str) -> str:
    """The operator skeleton (`store.memory_schema.operator_skeleton`: fields `x`, constants `1`); an
    unparsable expression is its own cluster."""
    from alphamine.store.memory_schema import operator_skeleton

    return operator_skeleton(expression) or expression


@dataclass(frozen=True)
class Admission:
    """One lane's decision: the ids admitted and the ids deferred (left queued), with reasons."""

    stage: str
    lane: str
    iteration: int
    budget: int
    admitted: tuple[int, ...]
    deferred: tuple[int, ...]
    clusters: int
    reasons: tuple[str, ...] = field(default=())


def round_robin(rows: Sequence[CandidateRow], keys: Mapping[int, str]) -> list[CandidateRow]:
    """Rows by priority (then id), interleaved across clusters: every cluster's best before any
    cluster's second."""
    ordered = sorted(rows, key=lambda r: (-r.priority, r.id))
    rank: dict[str, int] = {}
    tagged = []
    for r in ordered:
        k = keys[r.id]
        tagged.append((rank.get(k, 0), r))
        rank[k] = rank.get(k, 0) + 1
    return [r for _, r in sorted(tagged, key=lambda t: t[0])]  # stable: priority order within a round


def admit(rows: Sequence[CandidateRow], budget: int, *, stage: str, iteration: int) -> Admission:
    """The first `budget` rows in cluster round-robin order (pure)."""
    lane = STAGE_LANE.get(stage, "explore")
    keys = {r.id: skeleton(r.expression) for r in rows}
    order = round_robin(rows, keys)
    take, rest = order[: max(0, budget)], order[max(0, budget):]
    reasons = []
    if rest:
        reasons.append(f"{len(rest)} deferred: the {lane} lane's budget is {budget}")
        seen = {keys[r.id] for r in take}
        repeats = sum(1 for r in rest if keys[r.id] in seen)
        if repeats:
            reasons.append(f"{repeats} of them repeat a structure already admitted (duplicate-cluster penalty)")
    return Admission(stage, lane, iteration, budget, tuple(r.id for r in take), tuple(r.id for r in rest),
                     len(set(keys.values())), tuple(reasons))


@dataclass
class QuotaLedger:
    """The run's budget bookkeeping; state is derived from the store's counts and the report file, so a
    resumed run continues with the same arithmetic."""

    total: int
    config: QuotaConfig
    max_iterations: int
    path: Path

    def iteration_budget(self, iteration: int, spent: int) -> int:
        left = max(0, self.total - spent)
        iterations_left = max(1, self.max_iterations - iteration)  # iterations are numbered from 0
        return math.ceil(left / iterations_left)

    def lane_budget(self, stage: str, iteration: int, spent_run: int, spent_iteration: int) -> int:
        """This stage's budget: its lane's share of the iteration budget plus what earlier lanes left."""
        start_of_iteration = spent_run - spent_iteration
        budget = self.iteration_budget(iteration, start_of_iteration)
        lanes_so_far = LANES[: LANES.index(STAGE_LANE[stage]) + 1]
        allowed = math.floor(budget * sum(self.config.share(lane) for lane in lanes_so_far) + 1e-9)
        if stage == "ENHANCE":  # the last lane takes whatever the iteration has left
            allowed = budget
        return max(0, min(allowed - spent_iteration, self.total - spent_run))

    def record(self, admission: Admission, spent_run: int) -> None:
        entries = [e for e in self.read() if (e.get("stage"), e.get("iteration")) != (admission.stage,
                                                                                        admission.iteration)]
        entries.append({**asdict(admission), "admitted": list(admission.admitted),
                        "deferred": list(admission.deferred), "reasons": list(admission.reasons),
                        "spent_before": spent_run, "total": self.total})
        body = {"total": self.total, "shares": self.config.model_dump(), "decisions": entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(body, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)

    def read(self) -> list[dict[str, Any]]:
        try:
            return list(json.loads(self.path.read_text(encoding="utf-8")).get("decisions", []))
        except (OSError, ValueError):
            return []

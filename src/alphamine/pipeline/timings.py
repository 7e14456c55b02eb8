"""Wall time per stage of a run, from the store's stage rows (printed after `alphamine run` and by
`alphamine status --run-id`, so a user sees where a run's time goes).

A stage's time is finished_at - started_at of each (iteration, stage) row that finished; a resumed
stage counts from its restart. Rows still running (or interrupted) are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alphamine.pipeline.config import STAGES


@dataclass(frozen=True)
class StageTiming:
    stage: str
    seconds: float  # summed over iterations
    count: int  # finished (iteration, stage) rows
    share: float  # of all finished stages' seconds (0 when none took time)


def _seconds(started: str, finished: str) -> float:
    return max(0.0, (dt.datetime.fromisoformat(finished) - dt.datetime.fromisoformat(started)).total_seconds())


def stage_timings_of(rows: Sequence[Any]) -> list[StageTiming]:
    """Per-stage totals of stage rows (`store.stages(run_id)`), in pipeline order; pure."""
    totals: dict[str, list[float]] = {}
    for r in rows:
        if r.finished_at and r.started_at and r.status == "finished":
            totals.setdefault(r.stage, []).append(_seconds(r.started_at, r.finished_at))
    grand = sum(sum(v) for v in totals.values())
    order = {s: i for i, s in enumerate(STAGES)}
    return [
        StageTiming(stage, sum(v), len(v), (sum(v) / grand) if grand > 0 else 0.0)
        for stage, v in sorted(totals.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
    ]


def stage_timings(store: Any, run_id: str) -> list[StageTiming]:
    """`stage_timings_of` the run's stage rows."""
    return stage_timings_of(store.stages(run_id))

"""Wall time per stage: the sums behind "where did the run spend its time".

Why here: the run controller records every stage's start and finish in the store; the CLI prints a
per-stage summary after `alphamine run` and in `alphamine status`, and the reports show the same table.
One pure function over stage rows serves all three, so they always agree
(`alphamine.pipeline.reporting.stage_timings(store, run_id)` feeds it the store's rows).

Contract: a row is anything with `stage`, `started_at` and `finished_at` (a `store.StageRow`, or the
dicts of `ReportData.stages`); timestamps are ISO-8601 text (naive means UTC) or datetimes. Only rows
with both timestamps count (a stage still running, or one a crash interrupted, has no duration yet); a
negative span (clock stepped back) counts as zero. Stages come out in the order they first appear in
the rows, which the store gives in execution order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["StageTiming", "parse_time", "stage_times"]


@dataclass(frozen=True)
class StageTiming:
    """One stage's wall time summed over the run's iterations: `seconds` in all, `count` finished
    executions, `share` of the total over every stage (0..1; 0 when nothing took measurable time)."""

    stage: str
    seconds: float
    count: int
    share: float

    @property
    def mean(self) -> float:
        """Seconds per execution."""
        return self.seconds / self.count if self.count else 0.0


def parse_time(value: Any) -> dt.datetime | None:
    """An aware datetime from ISO text or a datetime (naive means UTC); None when missing or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def stage_times(rows: Iterable[Any]) -> list[StageTiming]:
    """Sum each stage's finished executions (see the module contract)."""
    seconds: dict[str, float] = {}
    counts: dict[str, int] = {}
    for row in rows:
        start, end = parse_time(_field(row, "started_at")), parse_time(_field(row, "finished_at"))
        if start is None or end is None:
            continue
        stage = str(_field(row, "stage"))
        seconds[stage] = seconds.get(stage, 0.0) + max((end - start).total_seconds(), 0.0)
        counts[stage] = counts.get(stage, 0) + 1
    total = sum(seconds.values())
    return [
        StageTiming(stage=s, seconds=float(v), count=counts[s], share=float(v / total) if total > 0 else 0.0)
        for s, v in seconds.items()
    ]

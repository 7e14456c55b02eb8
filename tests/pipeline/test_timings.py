"""Stage timings from stage rows."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from alphamine.pipeline.timings import stage_timings_of


@dataclass
class Row:
    stage: str
    status: str
    started_at: str
    finished_at: str | None


def test_sums_per_stage_in_pipeline_order() -> None:
    t = "2026-12-04T10:00:{:02d}.000000+00:00"
    rows = [
        Row("REPORT", "finished", t.format(0), t.format(3)),
        Row("SIMULATE", "finished", t.format(0), t.format(5)),
        Row("SIMULATE", "finished", t.format(10), t.format(12)),
        Row("GENERATE", "finished", t.format(0), t.format(0)),
        Row("DECIDE", "running", t.format(0), None),
    ]
    out = stage_timings_of(rows)
    assert [x.stage for x in out] == ["GENERATE", "SIMULATE", "REPORT"]
    sim = out[1]
    assert sim.seconds == pytest.approx(7.0) and sim.count == 2 and sim.share == pytest.approx(0.7)
    assert sum(x.share for x in out) == pytest.approx(1.0)


def test_empty() -> None:
    assert stage_timings_of([]) == []

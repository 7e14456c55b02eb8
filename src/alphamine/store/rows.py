"""Typed, immutable views of stored rows (what every read method returns).

Why dataclasses and not ORM objects: rows are plain values the pipeline, reports and dashboard pass
around and compare; they carry no session and cannot lazily hit the database. JSON columns come back as
plain dicts/lists, settings as a validated `Settings`, arrays as NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alphamine.generate.candidate import Candidate, Thesis
from alphamine.sim.settings import Settings, make_settings
from alphamine.store.codec import unpack_array, unpack_dates


@dataclass(frozen=True)
class RunRow:
    run_id: str
    status: str  # running | interrupted | failed | finished
    config: dict[str, Any]  # secrets redacted
    seed: int
    data_fingerprint: str
    runtime_root: str
    created_at: str
    updated_at: str
    finished_at: str | None
    iteration: int
    notes: str | None = None


@dataclass(frozen=True)
class StageRow:
    id: int
    run_id: str
    iteration: int
    stage: str
    status: str  # running | finished
    started_at: str
    finished_at: str | None
    summary: dict[str, Any] | None


@dataclass(frozen=True)
class TaskRow:
    id: int
    run_id: str
    stage: str
    kind: str
    status: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    log_path: str | None
    created_at: str
    finished_at: str | None


@dataclass(frozen=True)
class ArtifactRow:
    id: int
    run_id: str
    kind: str
    path: str
    meta: dict[str, Any]
    created_at: str


@dataclass(frozen=True)
class CandidateRow:
    """A stored candidate. `expression` is the canonical text, `source` what the generator wrote;
    `reasons` is the status history, one {at, status, reason} per change; `root_id`/`depth` place it in
    its lineage tree."""

    id: int
    run_id: str
    iteration: int
    expression: str
    expr_hash: str
    settings: Settings
    settings_key: str
    generator: str
    thesis: Thesis
    parent_id: int | None
    strategy: str | None
    params: dict[str, Any]
    tags: tuple[str, ...]
    priority: float
    status: str
    reasons: list[dict[str, Any]]
    fields: tuple[str, ...]
    operators: tuple[str, ...]
    created_at: str
    updated_at: str
    source: str = ""
    region: str = ""
    root_id: int | None = None
    depth: int = 0

    def to_candidate(self) -> Candidate:
        """The `Candidate` this row stores (canonical expression)."""
        return Candidate(
            expression=self.expression,
            settings=self.settings,
            generator=self.generator,
            thesis=self.thesis,
            parent_id=self.parent_id,
            strategy=self.strategy,
            params=dict(self.params),
            tags=self.tags,
            priority=self.priority,
        )


@dataclass(frozen=True, eq=False)  # arrays inside: compare fields explicitly
class ResultRow:
    """A stored simulation. `dates`/`pnl` are the full panel-length series the `SimResult` had
    (`daily_pnl` on `dates`); days before `first` carry no position. Non-finite metric values are `None`
    (JSON has no NaN)."""

    id: int
    expr_hash: str
    settings_key: str
    data_fingerprint: str
    backend: str
    expression: str
    settings: dict[str, Any]
    metrics: dict[str, Any]
    yearly: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    dates: np.ndarray = field(repr=False)
    pnl: np.ndarray = field(repr=False)
    first: int = 0
    is_range: tuple[int, int] = (0, 0)
    os_range: tuple[int, int] = (0, 0)
    truncation_rounds: int = 0
    created_at: str = ""
    train_range: tuple[int, int] = (0, 0)
    test_range: tuple[int, int] = (0, 0)

    @property
    def sharpe(self) -> float:
        """IS Sharpe (NaN when it was not finite)."""
        value = self.metrics.get("is", {}).get("sharpe")
        return float("nan") if value is None else float(value)

    def metric(self, name: str, period: str = "is") -> float:
        value = self.metrics.get(period, {}).get(name)
        return float("nan") if value is None else float(value)

    def pnl_series(self) -> tuple[np.ndarray, np.ndarray]:
        """(dates, daily pnl) from the first position day to the end (IS and OS)."""
        return self.dates[self.first :], self.pnl[self.first :]

    def failed_checks(self) -> list[str]:
        return [c["name"] for c in self.checks if c.get("result") == "FAIL"]


@dataclass(frozen=True)
class GateRow:
    id: int
    candidate_id: int
    run_id: str
    checks: list[dict[str, Any]]
    verdict: str
    reasons: tuple[str, ...]
    created_at: str


# ---------------------------------------------------------------- from database rows
def run_row(m: Mapping[Any, Any]) -> RunRow:
    return RunRow(
        run_id=m["run_id"],
        status=m["status"],
        config=dict(m["config"] or {}),
        seed=int(m["seed"]),
        data_fingerprint=m["data_fingerprint"],
        runtime_root=m["runtime_root"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        finished_at=m["finished_at"],
        iteration=int(m["iteration"]),
        notes=m.get("notes"),
    )


def stage_row(m: Mapping[Any, Any]) -> StageRow:
    return StageRow(
        id=int(m["id"]),
        run_id=m["run_id"],
        iteration=int(m["iteration"]),
        stage=m["stage"],
        status=m["status"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        summary=m["summary"],
    )


def task_row(m: Mapping[Any, Any]) -> TaskRow:
    return TaskRow(
        id=int(m["id"]),
        run_id=m["run_id"],
        stage=m["stage"],
        kind=m["kind"],
        status=m["status"],
        payload=dict(m["payload"] or {}),
        result=m["result"],
        log_path=m["log_path"],
        created_at=m["created_at"],
        finished_at=m["finished_at"],
    )


def artifact_row(m: Mapping[Any, Any]) -> ArtifactRow:
    return ArtifactRow(
        id=int(m["id"]),
        run_id=m["run_id"],
        kind=m["kind"],
        path=m["path"],
        meta=dict(m["meta"] or {}),
        created_at=m["created_at"],
    )


def candidate_row(m: Mapping[Any, Any]) -> CandidateRow:
    return CandidateRow(
        id=int(m["id"]),
        run_id=m["run_id"],
        iteration=int(m["iteration"]),
        expression=m["expression"],
        expr_hash=m["expr_hash"],
        settings=make_settings(dict(m["settings"])),
        settings_key=m["settings_key"],
        generator=m["generator"],
        thesis=Thesis(m["thesis_type"], m["thesis_rationale"], m["thesis_failure_mode"]),
        parent_id=m["parent_id"],
        strategy=m["strategy"],
        params=dict(m["params"] or {}),
        tags=tuple(m["tags"] or ()),
        priority=float(m["priority"]),
        status=m["status"],
        reasons=list(m["reasons"] or []),
        fields=tuple(m["fields"] or ()),
        operators=tuple(m["operators"] or ()),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        source=m["source"],
        region=m["region"],
        root_id=m["root_id"],
        depth=int(m["depth"]),
    )


def _range(periods: Mapping[Any, Any], name: str) -> tuple[int, int]:
    lo, hi = periods.get(name, (0, 0))
    return int(lo), int(hi)


def result_row(m: Mapping[Any, Any]) -> ResultRow:
    periods = dict(m["periods"] or {})
    return ResultRow(
        id=int(m["id"]),
        expr_hash=m["expr_hash"],
        settings_key=m["settings_key"],
        data_fingerprint=m["data_fingerprint"],
        backend=m["backend"],
        expression=m["expression"],
        settings=dict(m["settings"] or {}),
        metrics=dict(m["metrics"] or {}),
        yearly=list(m["yearly"] or []),
        checks=list(m["checks"] or []),
        dates=unpack_dates(m["dates"]),
        pnl=unpack_array(m["pnl"]),
        first=int(periods.get("first", 0)),
        is_range=_range(periods, "is"),
        os_range=_range(periods, "os"),
        train_range=_range(periods, "train"),
        test_range=_range(periods, "test"),
        truncation_rounds=int(m["truncation_rounds"]),
        created_at=m["created_at"],
    )


def gate_row(m: Mapping[Any, Any]) -> GateRow:
    return GateRow(
        id=int(m["id"]),
        candidate_id=int(m["candidate_id"]),
        run_id=m["run_id"],
        checks=list(m["checks"] or []),
        verdict=m["verdict"],
        reasons=tuple(m["reasons"] or ()),
        created_at=m["created_at"],
    )

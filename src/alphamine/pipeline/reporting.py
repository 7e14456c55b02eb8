"""REPORT: turn the store's record of a run into the report model and write the run folder's files.

Why incremental: the controller writes the reports at every iteration, and decoding every stored
result (metrics JSON plus two compressed arrays) again each time made REPORT grow with the run (180 ms
for 858 results, once per iteration). Stored results never change (they are keyed by content and the
store never updates or deletes them), so what a report needs of a result (metrics, checks, OS start)
is kept per store object and run, and each report decodes only the results new since the last one.
Daily PnL series are decoded only for the candidates the report draws (best and ready): those keep
`dates`/`pnl`, the others carry metrics only. Gate records are append-only too: each report reads only
the records of the run's candidates newer than the last one it read (one query; the store has no
per-run gate query, hence `_new_gate_records`), and the repair success table is counted from these
cached checks and gate records rather than by `repair_table.outcomes_from_store`, which would decode
every repair child's result again (it gives the same rows; tests/report/test_research_sections.py).

Contract of the files: run_report.md / .html / run_result.json (`alphamine.report.write_reports`),
artifacts/ready_pnl.csv (date, one `#id` column per ready candidate: its daily PnL in dollars, written
with Python's shortest round-trip repr, so reading it back gives the stored float64 exactly; empty where
a candidate has no position yet) and artifacts/candidates.csv (one row per simulated candidate with
its IS and OS metrics, exact likewise; ids and decay as integers; empty for missing). Every number is a
plain Python int or float before it is written.
"""

from __future__ import annotations

import csv
import io
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from alphamine.pipeline.config import RunConfig
from alphamine.pipeline.run_usage import cost_per_ready
from alphamine.pipeline.timings import StageTiming, stage_timings, stage_timings_of
from alphamine.pipeline.validation import has_validation
from alphamine.report import CandidateReport, ReportData, write_reports
from alphamine.report.build import atomic_write_text
from alphamine.report.efficiency import efficiency
from alphamine.report.model import GateRecord, num
from alphamine.research.repair_table import (
    FAILING,
    PASSING,
    REPAIR_PREFIX,
    RepairOutcome,
    RepairRow,
    repair_success,
    repaired,
)
from alphamine.sim.correlation import correlation_matrix
from alphamine.store import CandidateRow, GateRow, ResultRow, Store
from alphamine.store.rows import gate_row
from alphamine.store.schema import CANDIDATES, GATE_CHECKS
from alphamine.store.status import LINTED_STATUSES, PROMISING_STATUSES, SIMULATED_STATUSES, CandidateStatus

__all__ = [
    "BEST_COUNT",
    "StageTiming",
    "build_report_data",
    "funnel",
    "stage_timings",
    "write_artifacts",
    "write_run_reports",
]

LINTED = LINTED_STATUSES  # the funnel's sets (store.status is their one definition)
SIMULATED = SIMULATED_STATUSES
PROMISING = PROMISING_STATUSES
BEST_COUNT = 5
RISK_NOTE = (
    "FAST / SLOW / SLOW_AND_FAST neutralization is alphamine's approximation of BRAIN's proprietary risk "
    "model (industry dummies plus style exposures; see docs/simulation.md)."
)
ARTIFACTS = {"ready_pnl": "artifacts/ready_pnl.csv", "candidates_csv": "artifacts/candidates.csv"}
CSV_METRICS = ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin")


def funnel(rows: Sequence[CandidateRow]) -> dict[str, int]:
    return {
        "generated": len(rows),
        "linted": sum(r.status in LINTED for r in rows),
        "simulated": sum(r.status in SIMULATED for r in rows),
        "promising": sum(r.status in PROMISING for r in rows),
        "ready": sum(r.status == CandidateStatus.READY for r in rows),
    }


# ---------------------------------------------------------------- what is kept between reports
@dataclass(frozen=True)
class _Stored:
    """The part of a stored result that every report shows (no arrays)."""

    is_metrics: dict[str, Any]
    os_metrics: dict[str, Any]
    checks: list[dict[str, Any]]
    os_start: str | None
    train_metrics: dict[str, Any]  # the search and validation blocks; empty without a validation window
    test_metrics: dict[str, Any]


@dataclass
class _RunCache:
    results: dict[int, _Stored] = field(default_factory=dict)  # candidate id -> its result's light part
    pnl: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # drawn last time
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # settings key -> BRAIN spelling
    gate_seen: int = 0  # the highest gate record id read
    gate_ids: set[int] = field(default_factory=set)  # ids read (a re-read window never counts one twice)
    gates: dict[int, list[GateRow]] = field(default_factory=dict)  # candidate id -> its records, oldest first
    decisions: dict[int, GateRecord] = field(default_factory=dict)  # candidate id -> latest, as reports show it
    other_checks: dict[int, list[dict[str, Any]] | None] = field(default_factory=dict)  # duplicate repair children


GATE_LOOKBACK = 1000
_CACHES: weakref.WeakKeyDictionary[Store, dict[str, _RunCache]] = weakref.WeakKeyDictionary()


def _run_cache(store: Store, run_id: str) -> _RunCache:
    return _CACHES.setdefault(store, {}).setdefault(run_id, _RunCache())


def _stored(res: ResultRow) -> _Stored:
    os_lo = res.os_range[0]
    split = has_validation(res.test_range)
    return _Stored(
        is_metrics=dict(res.metrics["is"]),
        os_metrics=dict(res.metrics["os"]),
        checks=list(res.checks),
        os_start=str(res.dates[os_lo]) if os_lo < res.dates.size else None,
        train_metrics=dict(res.metrics.get("train") or {}) if split else {},
        test_metrics=dict(res.metrics.get("test") or {}) if split else {},
    )


def _new_gate_records(store: Store, run_id: str, cache: _RunCache) -> None:
    """Read the gate records of the run's candidates added since the last report (any run's gate may
    judge them: a later run revokes readiness) and refresh their latest decisions. The last
    `GATE_LOOKBACK` ids are read again: on PostgreSQL concurrent writers commit ids out of order, so a
    record with a lower id than one already read may appear later."""
    q = (
        select(GATE_CHECKS)
        .join(CANDIDATES, CANDIDATES.c.id == GATE_CHECKS.c.candidate_id)
        .where(CANDIDATES.c.run_id == run_id, GATE_CHECKS.c.id > max(0, cache.gate_seen - GATE_LOOKBACK))
        .order_by(GATE_CHECKS.c.id)
    )
    with store.engine.connect() as conn, conn.begin():
        fresh = [g for m in conn.execute(q).mappings() if (g := gate_row(m)).id not in cache.gate_ids]
    for g in fresh:
        cache.gates.setdefault(g.candidate_id, []).append(g)
        cache.gate_ids.add(g.id)
        cache.gate_seen = max(cache.gate_seen, g.id)
    for cid in {g.candidate_id for g in fresh}:
        history = cache.gates[cid]
        history.sort(key=lambda g: g.id)
        latest, judged = history[-1], next((g for g in reversed(history) if g.checks), None)
        cache.decisions[cid] = GateRecord(
            verdict=str(latest.verdict),
            reasons=tuple(latest.reasons),
            checks=tuple(judged.checks) if judged is not None else (),
            capped=not latest.checks and latest.verdict == CandidateStatus.PROMISING,  # gate._cap_families
        )


def _fixed(check: str, checks: Sequence[dict[str, Any]]) -> bool | None:
    for c in checks:
        if c.get("name") == check:
            result = str(c.get("result", "")).upper()
            return True if result in PASSING else False if result in FAILING else None
    return None


def _repairs(store: Store, rows: Sequence[CandidateRow], cache: _RunCache) -> list[RepairRow]:
    """The repair success table of the run (`repair_table` rules) from the cached checks and gate
    records; a duplicate repair child (no simulation of its own, a stored result by its key) is read
    once."""
    children = sorted((r for r in rows if r.generator.startswith(REPAIR_PREFIX)), key=lambda r: r.id)
    missing = [r.id for r in children if r.status == CandidateStatus.DUPLICATE and r.id not in cache.other_checks]
    if missing:
        found = store.results_for(missing)
        cache.other_checks.update({i: list(found[i].checks) if i in found else None for i in missing})
    outcomes = []
    for child in children:
        check, move = repaired(child)
        stored = cache.results.get(child.id)
        checks = stored.checks if stored is not None else cache.other_checks.get(child.id)
        fixed = None if checks is None else _fixed(check, checks)
        if checks is not None and fixed is None:  # not judged by the simulation: the latest gate that did
            fixed = next((v for g in reversed(cache.gates.get(child.id, [])) if (v := _fixed(check, g.checks))
                          is not None), None)  # fmt: skip
        outcomes.append(RepairOutcome(check, move, fixed))
    return repair_success(outcomes)


def _report(row: CandidateRow, res: _Stored, brain: dict[str, Any], gate: GateRecord | None) -> CandidateReport:
    return CandidateReport(
        id=row.id,
        expression=row.expression,
        settings=dict(brain),
        generator=row.generator,
        thesis=row.thesis.to_json(),
        status=row.status,
        reasons=[str(r.get("reason", "")) for r in row.reasons if r.get("reason")],
        parent_id=row.parent_id,
        strategy=row.strategy,
        params=dict(row.params),
        is_metrics=dict(res.is_metrics),
        os_metrics=dict(res.os_metrics),
        checks=list(res.checks),
        os_start=res.os_start,
        train_metrics=dict(res.train_metrics),
        test_metrics=dict(res.test_metrics),
        gate=gate,
    )


def _fitness_key(c: CandidateReport) -> tuple[float, int]:
    f = num(c.is_metrics.get("fitness"))
    return (-f if f is not None else math.inf, c.id)  # a non-finite (None) fitness sorts last


def _improvements(reports: list[CandidateReport]) -> list[dict[str, Any]]:
    by_id = {c.id: c for c in reports}
    keys = ("sharpe", "fitness", "turnover", "returns")
    return [
        {
            "optimizer": c.generator.split(":", 1)[1],
            "strategy": c.strategy,
            "parent_id": c.parent_id,
            "child_id": c.id,
            "before": {k: by_id[c.parent_id].is_metrics.get(k) for k in keys},
            "after": {k: c.is_metrics.get(k) for k in keys},
        }
        for c in reports
        if c.parent_id is not None and c.parent_id in by_id and c.generator.startswith("optimizer:")
    ]


def build_report_data(store: Store, run_id: str, run_dir: Path | None = None) -> ReportData:
    """The run's `ReportData` from the store (see the module doc for what is decoded when)."""
    run = store.get_run(run_id)
    if run is None:
        raise KeyError(f"no run {run_id!r} in the store")
    config = RunConfig.model_validate(run.config)
    cache = _run_cache(store, run_id)
    rows = store.candidates(run_id=run_id)
    simulated = [r for r in rows if r.status in SIMULATED]
    fresh = store.results_for([r.id for r in simulated if r.id not in cache.results])
    for cid, res in fresh.items():
        cache.results[cid] = _stored(res)
    _new_gate_records(store, run_id, cache)
    reports = []
    for r in simulated:
        if r.id in cache.results:
            brain = cache.settings.get(r.settings_key)
            if brain is None:
                brain = cache.settings[r.settings_key] = r.settings.to_brain()
            reports.append(_report(r, cache.results[r.id], brain, cache.decisions.get(r.id)))
    by_fitness = sorted(reports, key=_fitness_key)
    ready = [c.id for c in by_fitness if c.status == CandidateStatus.READY]
    best = [c.id for c in by_fitness[:BEST_COUNT]]
    drawn = list(dict.fromkeys([*best, *ready]))
    series = {i: fresh[i].pnl_series() for i in drawn if i in fresh}
    series.update({i: cache.pnl[i] for i in drawn if i not in series and i in cache.pnl})
    older = store.results_for([i for i in drawn if i not in series])
    series.update({i: res.pnl_series() for i, res in older.items()})
    cache.pnl = series
    for c in reports:
        if c.id in series:
            c.dates, c.pnl = series[c.id]
    corr = correlation_matrix([series[i] for i in ready]) if ready else None
    notes = [
        "IS drives every decision; OS is shown beside it so decay and overfitting are visible.",
        "Nothing is ever submitted: the gate only marks candidates ready.",
    ]
    if any(c.settings.get("neutralization") in ("FAST", "SLOW", "SLOW_AND_FAST") for c in reports):
        notes.append(RISK_NOTE)
    stage_rows = store.stages(run_id)
    stages = [
        {
            "iteration": s.iteration,
            "stage": s.stage,
            "status": s.status,
            "started_at": str(s.started_at),
            "finished_at": str(s.finished_at) if s.finished_at else None,
            "summary": s.summary,
        }
        for s in stage_rows
    ]
    times = [
        {"stage": t.stage, "seconds": t.seconds, "count": t.count, "share": t.share}
        for t in stage_timings_of(stage_rows)
    ]
    return ReportData(
        run_id=run_id,
        status=run.status,
        created_at=str(run.created_at),
        finished_at=str(run.finished_at) if run.finished_at else None,
        seed=run.seed,
        config=run.config,
        data_description=config.data.describe(),
        data_fingerprint=run.data_fingerprint,
        funnel=funnel(rows),
        candidates=reports,
        ready_ids=ready,
        best_ids=best,
        correlation_ids=ready,
        correlation=corr,
        improvements=_improvements(reports),
        stages=stages,
        notes=notes,
        stage_times=times,
        artifacts=dict(ARTIFACTS),
        gate_config=config.gate.model_dump(mode="json"),
        repairs=_repairs(store, rows, cache),
        efficiency=efficiency(cost_per_ready(store, run_id, run_dir), run_dir) if run_dir is not None else {},
    )


def write_run_reports(store: Store, run_id: str, run_dir: Path) -> dict[str, Path]:
    """The three report files plus two artifacts a researcher can load directly: the daily PnL of
    the ready candidates (artifacts/ready_pnl.csv) and every simulated candidate with its IS and OS
    metrics (artifacts/candidates.csv)."""
    data = build_report_data(store, run_id, run_dir)
    paths = write_reports(run_dir, data)
    paths.update(write_artifacts(run_dir / "artifacts", data))
    return paths


# ---------------------------------------------------------------- CSV artifacts
def plain(value: Any) -> str:
    """One CSV cell: '' for None and non-finite numbers, ints as ints, floats by Python's shortest
    round-trip repr (never a numpy repr), anything else as text."""
    if type(value) is float:  # the common case first: a metric read back from the store
        return repr(value) if math.isfinite(value) else ""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        return repr(v) if math.isfinite(v) else ""
    return str(value)


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def ready_pnl_csv(data: ReportData) -> str:
    """artifacts/ready_pnl.csv's text (module contract): the dates every ready candidate's PnL covers,
    in order, one column per candidate."""
    by_id = data.by_id()
    drawn = [by_id[i] for i in data.ready_ids if by_id[i].dates is not None and by_id[i].pnl is not None]
    if not drawn:
        return "date\n"  # no ready candidate yet: the header only
    days = [np.asarray(c.dates).astype("datetime64[D]") for c in drawn]
    dates = np.unique(np.concatenate(days))
    table = np.full((dates.size, len(drawn)), np.nan)
    for k, (c, d) in enumerate(zip(drawn, days, strict=True)):
        table[np.searchsorted(dates, d), k] = np.asarray(c.pnl, dtype=float)
    isfinite = math.isfinite
    cells = [[repr(v) if isfinite(v) else "" for v in row] for row in table.tolist()]  # Python floats
    labels = [str(d) for d in dates]
    return _csv_text(["date", *[f"#{c.id}" for c in drawn]], [[d, *r] for d, r in zip(labels, cells, strict=True)])


def candidates_csv(data: ReportData) -> str:
    """artifacts/candidates.csv's text (module contract)."""
    header = ["id", "status", "expression", "generator", "parent_id", "strategy", "neutralization", "decay"]
    header += [f"{period}_{k}" for period in ("is", "os") for k in CSV_METRICS]
    rows = []
    for c in data.candidates:
        row = [c.id, c.status, c.expression, c.generator, c.parent_id, c.strategy,
               c.settings.get("neutralization"), c.settings.get("decay")]  # fmt: skip
        row += [m.get(k) for m in (c.is_metrics, c.os_metrics) for k in CSV_METRICS]
        rows.append([plain(v) for v in row])
    return _csv_text(header, rows)


def write_artifacts(folder: Path, data: ReportData) -> dict[str, Path]:
    """Write ready_pnl.csv and candidates.csv into `folder` (atomically, like the reports)."""
    ready, table = folder / "ready_pnl.csv", folder / "candidates.csv"
    atomic_write_text(ready, ready_pnl_csv(data))
    atomic_write_text(table, candidates_csv(data))
    return {"ready_pnl": ready, "candidates_csv": table}

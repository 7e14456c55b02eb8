"""REPORT: turn the store's record of a run into the report model and write the run folder's files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alphamine.pipeline.config import RunConfig
from alphamine.report import CandidateReport, ReportData, write_reports
from alphamine.report.timing import StageTiming, stage_times
from alphamine.sim.correlation import correlation_matrix
from alphamine.store import CandidateRow, ResultRow, Store

LINTED = {"queued", "simulated", "failed", "promising", "gate_pending", "ready", "rejected", "duplicate"}
SIMULATED = {"simulated", "promising", "gate_pending", "ready", "rejected"}
PROMISING = {"promising", "gate_pending", "ready"}
BEST_COUNT = 5
RISK_NOTE = (
    "FAST / SLOW / SLOW_AND_FAST neutralization is alphamine's approximation of BRAIN's proprietary risk "
    "model (industry dummies plus style exposures; see docs/simulation.md)."
)


def funnel(rows: Sequence[CandidateRow]) -> dict[str, int]:
    return {
        "generated": len(rows),
        "linted": sum(r.status in LINTED for r in rows),
        "simulated": sum(r.status in SIMULATED for r in rows),
        "promising": sum(r.status in PROMISING for r in rows),
        "ready": sum(r.status == "ready" for r in rows),
    }


def candidate_report(row: CandidateRow, res: ResultRow) -> CandidateReport:
    dates, pnl = res.pnl_series()
    os_lo = res.os_range[0]
    return CandidateReport(
        id=row.id,
        expression=row.expression,
        settings=row.settings.to_brain(),
        generator=row.generator,
        thesis=row.thesis.to_json(),
        status=row.status,
        reasons=[str(r.get("reason", "")) for r in row.reasons if r.get("reason")],
        parent_id=row.parent_id,
        strategy=row.strategy,
        params=dict(row.params),
        is_metrics=dict(res.metrics["is"]),
        os_metrics=dict(res.metrics["os"]),
        checks=list(res.checks),
        dates=dates,
        pnl=pnl,
        os_start=str(res.dates[os_lo]) if os_lo < res.dates.size else None,
    )


def build_report_data(store: Store, run_id: str) -> ReportData:
    run = store.get_run(run_id)
    if run is None:
        raise KeyError(f"no run {run_id!r} in the store")
    config = RunConfig.model_validate(run.config)
    rows = store.candidates(run_id=run_id)
    results = store.results_for([r.id for r in rows if r.status in SIMULATED])
    reports = [candidate_report(r, results[r.id]) for r in rows if r.id in results]
    by_fitness = sorted(reports, key=lambda c: (-c.is_metrics["fitness"], c.id))
    ready = [c.id for c in by_fitness if c.status == "ready"]
    best = [c.id for c in by_fitness[:BEST_COUNT]]
    corr = None
    if ready:
        series = {c.id: (c.dates, c.pnl) for c in reports if c.id in ready}
        corr = correlation_matrix([series[i] for i in ready])  # type: ignore[misc]
    by_id = {c.id: c for c in reports}
    improvements: list[dict[str, Any]] = []
    for c in reports:
        if c.parent_id is not None and c.parent_id in by_id and c.generator.startswith("optimizer:"):
            p = by_id[c.parent_id]
            keys = ("sharpe", "fitness", "turnover", "returns")
            improvements.append(
                {
                    "optimizer": c.generator.split(":", 1)[1],
                    "strategy": c.strategy,
                    "parent_id": p.id,
                    "child_id": c.id,
                    "before": {k: p.is_metrics[k] for k in keys},
                    "after": {k: c.is_metrics[k] for k in keys},
                }
            )
    notes = [
        "IS drives every decision; OS is shown beside it so decay and overfitting are visible.",
        "Nothing is ever submitted: the gate only marks candidates ready.",
    ]
    if any(c.settings.get("neutralization") in ("FAST", "SLOW", "SLOW_AND_FAST") for c in reports):
        notes.append(RISK_NOTE)
    stages = [
        {
            "iteration": s.iteration,
            "stage": s.stage,
            "status": s.status,
            "started_at": str(s.started_at),
            "finished_at": str(s.finished_at) if s.finished_at else None,
            "summary": s.summary,
        }
        for s in store.stages(run_id)
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
        improvements=improvements,
        stages=stages,
        notes=notes,
    )


def stage_timings(store: Store, run_id: str) -> list[StageTiming]:
    """Wall time per stage over the run's finished stage rows (`report.timing.stage_times`)."""
    return stage_times(store.stages(run_id))


def write_run_reports(store: Store, run_id: str, run_dir: Path) -> dict[str, Path]:
    """The three report files plus two artifacts a researcher can load directly: the daily PnL of
    the ready candidates (artifacts/ready_pnl.csv) and every simulated candidate with its IS and OS
    metrics (artifacts/candidates.csv)."""
    data = build_report_data(store, run_id)
    paths = write_reports(run_dir, data)
    paths.update(write_artifacts(run_dir / "artifacts", data))
    return paths


def write_artifacts(folder: Path, data: ReportData) -> dict[str, Path]:
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    by_id = {c.id: c for c in data.candidates}
    columns = {}
    for cid in data.ready_ids:
        c = by_id[cid]
        if c.dates is not None and c.pnl is not None:
            columns[f"#{cid}"] = pd.Series(c.pnl, index=pd.DatetimeIndex(c.dates, name="date"))
    ready = folder / "ready_pnl.csv"
    if columns:
        pd.DataFrame(columns).to_csv(ready, float_format="%.6f")
    else:
        ready.write_text("date\n", encoding="utf-8")  # no ready candidate yet: the header only
    rows = []
    for c in data.candidates:
        row: dict[str, Any] = {
            "id": c.id,
            "status": c.status,
            "expression": c.expression,
            "generator": c.generator,
            "parent_id": c.parent_id,
            "strategy": c.strategy,
            "neutralization": c.settings.get("neutralization"),
            "decay": c.settings.get("decay"),
        }
        for period, metrics in (("is", c.is_metrics), ("os", c.os_metrics)):
            for k in ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin"):
                row[f"{period}_{k}"] = metrics.get(k)
        rows.append(row)
    table = folder / "candidates.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return {"ready_pnl": ready, "candidates_csv": table}

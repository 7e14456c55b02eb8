"""`alphamine status` / `export`: what the store holds about runs, for people and for machines."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from alphamine.cli.console import make_console, print_table
from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, open_records, require_run


def status(
    run_id: Annotated[str | None, typer.Option("--run-id", help="Details of one run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines instead of tables.")] = False,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """List runs, or show one run's stages, funnel and time per stage."""
    from alphamine.pipeline.reporting import funnel
    from alphamine.store.status import CandidateStatus

    console = make_console()
    with open_records(runtime_root, db) as store:
        if run_id is None:
            runs = []
            for r in store.list_runs():
                rows = store.candidates(run_id=r.run_id)
                runs.append(
                    {
                        "run_id": r.run_id,
                        "status": str(r.status),
                        "created_at": str(r.created_at)[:19],
                        "iteration": (r.iteration or 0) + 1,
                        "candidates": len(rows),
                        "ready": sum(x.status == CandidateStatus.READY for x in rows),
                    }
                )
            if as_json:
                typer.echo(json.dumps({"store": store.url, "runs": runs}, indent=2))
                return
            table = Table(title=f"runs in {store.url}")
            for col in ("run", "status", "created", "iteration", "candidates", "ready"):
                table.add_column(col)
            for d in runs:
                table.add_row(*(str(v) for v in d.values()))
            print_table(console, table)
            return
        run_row = require_run(store, run_id)
        f = funnel(store.candidates(run_id=run_id))
        stages = store.stages(run_id)
        timings = stage_time_rows(store, run_id)
    if as_json:
        doc = {
            "run_id": run_id,
            "status": str(run_row.status),
            "seed": run_row.seed,
            "data_fingerprint": run_row.data_fingerprint,
            "funnel": dict(f),
            "stages": [
                {
                    "iteration": st.iteration + 1,
                    "stage": st.stage,
                    "status": str(st.status),
                    "finished_at": str(st.finished_at or "")[:19] or None,
                    "summary": st.summary,
                }
                for st in stages
            ],
            "stage_times": timings,
        }
        typer.echo(json.dumps(doc, indent=2, default=str))
        return
    console.print(
        f"run [bold]{run_id}[/bold]: {run_row.status}, seed {run_row.seed}, data {run_row.data_fingerprint[:12]}"
    )
    console.print("funnel: " + " -> ".join(f"{k} {v}" for k, v in f.items()))
    table = Table(title="stages")
    for col in ("iteration", "stage", "status", "finished"):
        table.add_column(col)
    table.add_column("summary", overflow="fold")
    for st in stages:
        table.add_row(
            str(st.iteration + 1), st.stage, st.status, str(st.finished_at or "")[:19], json.dumps(st.summary)
        )
    print_table(console, table)
    print_stage_times(console, timings)


def stage_time_rows(store: Any, run_id: str) -> list[dict[str, Any]]:
    """Wall time per stage over the run's iterations (from the store's stage rows), as plain dicts."""
    from alphamine.pipeline.timings import stage_timings

    return [
        {"stage": t.stage, "seconds": round(t.seconds, 3), "count": t.count, "share": round(t.share, 4)}
        for t in stage_timings(store, run_id)
    ]


def print_stage_times(console: Console, timings: list[dict[str, Any]]) -> None:
    """The per-stage time summary printed after a run and by `status --run-id`."""
    if not timings:
        return
    total = sum(t["seconds"] for t in timings)
    table = Table(title=f"time per stage ({total:.1f} s in all)", title_justify="left")
    for col in ("stage", "seconds", "runs", "share"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for t in timings:
        table.add_row(t["stage"], f"{t['seconds']:.2f}", str(t["count"]), f"{t['share']:.1%}")
    print_table(console, table)


EXPORT_METRICS = ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin")


def export(
    out: Annotated[Path, typer.Option("--out", help="File to write (.csv or .json).")],
    run_id: Annotated[str | None, typer.Option("--run-id", help="Only this run (default: all runs).")] = None,
    status_filter: Annotated[str | None, typer.Option("--status", help="Only this status, e.g. ready.")] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Export candidates with settings, thesis, lineage and IS/OS metrics (CSV or JSON)."""
    if out.suffix.lower() not in (".csv", ".json"):
        raise fail(f"--out must end in .csv or .json, got {out.name}")
    with open_records(runtime_root, db) as store:
        rows = store.candidates(run_id=run_id, status=status_filter)
        results = store.results_for([r.id for r in rows])
    records = []
    for r in rows:
        res = results.get(r.id)
        rec: dict[str, Any] = {
            "id": r.id,
            "run_id": r.run_id,
            "expression": r.expression,
            "status": r.status,
            "generator": r.generator,
            "parent_id": r.parent_id,
            "strategy": r.strategy,
            "thesis": r.thesis.type,
            "settings": json.dumps(r.settings.to_brain(), sort_keys=True),
        }
        for period in ("is", "os"):
            for k in EXPORT_METRICS:
                rec[f"{period}_{k}"] = res.metrics[period][k] if res else None
        records.append(rec)
    try:
        if out.suffix.lower() == ".json":
            out.write_text(json.dumps(records, indent=2), encoding="utf-8")
        else:
            with out.open("w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=list(records[0]) if records else ["id"])
                w.writeheader()
                w.writerows(records)
    except OSError as e:
        raise fail(f"cannot write {out}: {e}") from None
    typer.echo(f"wrote {len(records)} candidates to {out}")



"""`alphamine run` / `resume` / `status` / `report` / `export` / `gate`: the mining run and its record."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from alphamine.cli.data_cmd import DataOpt, MetaOpt, SampleOpt, SeedOpt, SyntheticOpt, fail, parse_synthetic

RootOpt = Annotated[Path, typer.Option("--runtime-root", help="Folder for the store, runs and presets.")]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL of the store (default: SQLite in the runtime root).")
]
DEFAULT_ROOT = Path(".alphamine")


@contextmanager
def open_records(runtime_root: Path, db: str | None) -> Iterator[Any]:
    """The store of a runtime root (or --db URL), closed afterwards."""
    from alphamine.pipeline.controller import open_store

    store = open_store(runtime_root, db)
    try:
        yield store
    finally:
        store.close()


def require_run(store: Any, run_id: str) -> Any:
    """The run's row, or one red error line (exit 2) naming the store."""
    row = store.get_run(run_id)
    if row is None:
        raise fail(f"no run {run_id!r} in {store.url}")
    return row


def _data_source(data: Path | None, meta: Path | None, sample: bool, synthetic: str | None, seed: int) -> Any:
    from alphamine.pipeline.config import DataSource

    chosen = [n for n, on in (("--data", data is not None), ("--sample", sample), ("--synthetic", synthetic)) if on]
    if len(chosen) > 1:
        raise fail(f"choose one data source; got {' and '.join(chosen)}")
    if meta is not None and data is None:
        raise fail("--meta needs --data")
    if synthetic is not None:
        try:
            n, t = parse_synthetic(synthetic)
        except ValueError as e:
            raise fail(str(e)) from None
        return DataSource(kind="synthetic", n_instruments=n, n_days=t, seed=seed)
    if data is not None:
        return DataSource(kind="file", path=str(data.resolve()), meta=str(meta.resolve()) if meta else None)
    return DataSource(kind="sample")


def print_best(console: Console, store: Any, run_id: str, limit: int = 10) -> None:
    from alphamine.pipeline.reporting import SIMULATED

    rows = [r for r in store.candidates(run_id=run_id) if r.status in SIMULATED]
    results = store.results_for([r.id for r in rows])
    rows = sorted((r for r in rows if r.id in results), key=lambda r: -results[r.id].metrics["is"]["fitness"])[:limit]
    table = Table(title=f"best candidates of run {run_id} (by IS fitness)", title_justify="left")
    for col in ("id", "expression", "settings", "IS Sharpe", "OS Sharpe", "fitness", "turnover", "status"):
        table.add_column(
            col,
            overflow="fold",
            justify="right" if col in ("id", "IS Sharpe", "OS Sharpe", "fitness", "turnover") else "left",
        )
    for r in rows:
        m, o = results[r.id].metrics["is"], results[r.id].metrics["os"]
        s = r.settings
        style = {"ready": "green", "gate_pending": "green", "promising": "yellow"}.get(r.status, "white")
        collapse = "[yellow]*[/yellow]" if m["sharpe"] > 1 and o["sharpe"] < 0.5 * m["sharpe"] else ""
        table.add_row(
            str(r.id),
            r.expression,
            f"{s.universe} {s.neutralization.value} d{s.decay}",
            f"{m['sharpe']:.2f}",
            f"{o['sharpe']:.2f}{collapse}",
            f"{m['fitness']:.2f}",
            f"{m['turnover']:.1%}",
            f"[{style}]{r.status}[/{style}]",
        )
    console.print(table)


def run(
    data: DataOpt = None,
    meta: MetaOpt = None,
    sample: SampleOpt = False,
    synthetic: SyntheticOpt = None,
    seed_data: SeedOpt = 0,
    preset: Annotated[str | None, typer.Option(help="Settings preset (see `alphamine settings list`).")] = None,
    universe: Annotated[str | None, typer.Option(help="Override the preset's universe.")] = None,
    delay: Annotated[int | None, typer.Option(help="Override the preset's delay.")] = None,
    decay: Annotated[int | None, typer.Option(help="Override the preset's decay.")] = None,
    neutralization: Annotated[str | None, typer.Option(help="Override the preset's neutralization.")] = None,
    truncation: Annotated[float | None, typer.Option(help="Override the preset's truncation.")] = None,
    seed: Annotated[int, typer.Option("--run-seed", help="Seed of the generators (same seed, same run).")] = 0,
    max_iterations: Annotated[int, typer.Option(help="Stop after this many iterations.")] = 2,
    target_ready: Annotated[int, typer.Option(help="Stop once this many candidates are ready.")] = 5,
    candidates: Annotated[int, typer.Option("--candidates", help="New candidates generated per iteration.")] = 40,
    max_variant_alphas: Annotated[int, typer.Option(help="Parents varied per iteration.")] = 6,
    max_variants_per_alpha: Annotated[int, typer.Option(help="Variants per parent.")] = 6,
    max_enhance_alphas: Annotated[
        int, typer.Option(help="Promising candidates handed to the optimizers per iteration.")
    ] = 6,
    workers: Annotated[int | None, typer.Option(help="Simulation worker processes (default: all cores).")] = None,
    batch_size: Annotated[int, typer.Option(help="Simulations per committed batch.")] = 32,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run (default: timestamp).")] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
    quiet: Annotated[bool, typer.Option(help="Only the final table.")] = False,
) -> None:
    """Mine alphas: generate, check, simulate, vary, decide, enhance, gate and report (never submits)."""
    from alphamine.data.errors import DataError
    from alphamine.pipeline.config import RunConfig
    from alphamine.pipeline.controller import RunError, start_run
    from alphamine.pipeline.presets import PresetError, resolve_settings
    from alphamine.sim.settings import SettingsError

    source = _data_source(data, meta, sample, synthetic, seed_data)
    try:
        settings = resolve_settings(
            runtime_root,
            preset,
            {
                "universe": universe,
                "delay": delay,
                "decay": decay,
                "neutralization": neutralization,
                "truncation": truncation,
            },
        )
        config = RunConfig(
            seed=seed,
            preset=preset,
            settings=settings.to_brain(),
            data=source,
            max_iterations=max_iterations,
            target_ready=target_ready,
            candidates_per_iteration=candidates,
            max_variant_alphas=max_variant_alphas,
            max_variants_per_alpha=max_variants_per_alpha,
            max_enhance_alphas=max_enhance_alphas,
            workers=workers,
            batch_size=batch_size,
        )
    except (PresetError, SettingsError, ValueError) as e:
        raise fail(str(e)) from None
    from alphamine.sim.memory import retain_freed_memory

    retain_freed_memory()  # a batch process: reuse freed pages instead of page-faulting fresh ones
    console = Console()
    try:
        outcome = start_run(config, runtime_root=runtime_root, db=db, run_id=run_id, console=console, quiet=quiet)
    except KeyboardInterrupt:
        console.print(
            "[yellow]interrupted[/yellow]: everything committed so far is kept; continue with "
            "`alphamine resume --run-id <id>` (see `alphamine status`)"
        )
        raise typer.Exit(130) from None
    except (RunError, DataError, SettingsError) as e:
        raise fail(str(e)) from None
    except Exception as e:  # an internal error: keep the record, say where the details are
        _crashed(console, e, runtime_root)
    _finish(console, runtime_root, db, outcome)


def _crashed(console: Console, e: Exception, runtime_root: Path) -> None:
    console.print(f"[red]error:[/red] {type(e).__name__}: {e}")
    console.print(
        f"the run is marked failed and everything committed is kept; the traceback is in "
        f"{runtime_root}/runs/<run id>/logs/error.log; fix the cause, then `alphamine resume --run-id <run id>`"
    )
    raise typer.Exit(1) from None


def _finish(console: Console, runtime_root: Path, db: str | None, outcome: Any) -> None:
    with open_records(runtime_root, db) as store:
        print_best(console, store, outcome.run_id)
    console.print(f"{outcome.ready} ready after {outcome.iterations} iteration(s). Nothing was submitted.")
    html = outcome.reports.get("html")
    if html is not None:
        console.print(f"report: [bold]{Path(html).resolve()}[/bold]")


def resume(
    run_id: Annotated[str, typer.Option("--run-id", help="The run to continue.")],
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
    quiet: Annotated[bool, typer.Option(help="Only the final table.")] = False,
) -> None:
    """Continue a run after a crash or Ctrl-C without repeating finished work."""
    from alphamine.data.errors import DataError
    from alphamine.pipeline.controller import RunError, resume_run
    from alphamine.sim.memory import retain_freed_memory

    retain_freed_memory()
    console = Console()
    try:
        outcome = resume_run(run_id, runtime_root=runtime_root, db=db, console=console, quiet=quiet)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/yellow]: continue with `alphamine resume --run-id {run_id}`")
        raise typer.Exit(130) from None
    except (RunError, DataError) as e:
        raise fail(str(e)) from None
    except Exception as e:
        _crashed(console, e, runtime_root)
    _finish(console, runtime_root, db, outcome)


def status(
    run_id: Annotated[str | None, typer.Option("--run-id", help="Details of one run.")] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """List runs, or show one run's stages and funnel."""
    from alphamine.pipeline.reporting import funnel

    console = Console()
    with open_records(runtime_root, db) as store:
        if run_id is None:
            table = Table(title=f"runs in {store.url}")
            for col in ("run", "status", "created", "iteration", "candidates", "ready"):
                table.add_column(col)
            for r in store.list_runs():
                rows = store.candidates(run_id=r.run_id)
                ready = sum(x.status == "ready" for x in rows)
                table.add_row(
                    r.run_id, r.status, str(r.created_at)[:19], str((r.iteration or 0) + 1), str(len(rows)), str(ready)
                )
            console.print(table)
            return
        run_row = require_run(store, run_id)
        console.print(
            f"run [bold]{run_id}[/bold]: {run_row.status}, seed {run_row.seed}, data {run_row.data_fingerprint[:12]}"
        )
        f = funnel(store.candidates(run_id=run_id))
        console.print("funnel: " + " -> ".join(f"{k} {v}" for k, v in f.items()))
        table = Table(title="stages")
        for col in ("iteration", "stage", "status", "finished", "summary"):
            table.add_column(col, overflow="fold")
        for st in store.stages(run_id):
            table.add_row(
                str(st.iteration + 1), st.stage, st.status, str(st.finished_at or "")[:19], json.dumps(st.summary)
            )
        console.print(table)


def _run_dir(run_row: Any, runtime_root: Path) -> Path:
    return Path(run_row.runtime_root or runtime_root) / "runs" / run_row.run_id


def report(
    run_id: Annotated[str, typer.Option("--run-id", help="The run to report on.")],
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Write run_report.md, run_report.html and run_result.json again from the store."""
    from alphamine.pipeline.reporting import write_run_reports

    with open_records(runtime_root, db) as store:
        paths = write_run_reports(store, run_id, _run_dir(require_run(store, run_id), runtime_root))
    for kind, path in paths.items():
        typer.echo(f"{kind}: {path}")


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


def gate(
    run_id: Annotated[str, typer.Option("--run-id", help="Re-run the submit gate for this run.")],
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Re-check this run's candidates against the accepted pool and show the ready set. Never submits."""
    from alphamine.pipeline.config import RunConfig
    from alphamine.pipeline.context import RunContext
    from alphamine.pipeline.controller import load_panel
    from alphamine.pipeline.stages import run_gate
    from alphamine.sim.settings import make_settings

    console = Console()
    with open_records(runtime_root, db) as store:
        run_row = require_run(store, run_id)
        config = RunConfig.model_validate(run_row.config)
        rc = RunContext(
            store,
            load_panel(config.data),
            config,
            run_id,
            _run_dir(run_row, runtime_root),
            make_settings(config.settings),
            console,
        )
        with store.transaction() as conn:
            counts = run_gate(rc, conn)
        console.print(
            f"gate: {counts['ready']} newly ready, {counts['not_ready']} held back, "
            f"{counts['revoked']} revoked. Nothing was submitted."
        )
        print_best(console, store, run_id)

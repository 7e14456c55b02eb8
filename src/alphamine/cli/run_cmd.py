"""`alphamine run` / `resume` / `report` / `gate`: the mining run (status and export: `status_cmd`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from alphamine.cli.backend_factory import backend_options
from alphamine.cli.console import expression_column, make_console, print_table
from alphamine.cli.dask_options import DaskLocalOpt, SchedulerOpt, dask_backend_options, wants_dask
from alphamine.cli.data_cmd import DataOpt, MetaOpt, SampleOpt, SeedOpt, SyntheticOpt, fail
from alphamine.cli.llm_factory import build_agents, llm_run_config, stored_agents
from alphamine.runtime import DEFAULT_RUNTIME_ROOT

RootOpt = Annotated[Path, typer.Option("--runtime-root", help="Folder for the store, runs and presets.")]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL of the store (default: SQLite in the runtime root).")
]
DEFAULT_ROOT = DEFAULT_RUNTIME_ROOT


@contextmanager
def open_records(runtime_root: Path, db: str | None) -> Iterator[Any]:
    """The store of a runtime root (or --db URL), closed afterwards. A store problem, on opening or
    in any store call inside the block (a damaged file, a schema too new), is one red error line and
    exit code 2 (`alphamine.cli.errors.store_errors`), never a traceback."""
    from alphamine.cli.errors import store_errors
    from alphamine.pipeline.controller import open_store

    with store_errors():
        store = open_store(runtime_root, db)
        try:
            yield store
        finally:
            store.close()


def require_run(store: Any, run_id: str) -> Any:
    """The run's row, or one red error line (exit 2) naming the store."""
    from rich.markup import escape

    row = store.get_run(run_id)
    if row is None:
        raise fail(escape(f"no run {run_id!r} in {store.url}"))
    return row


def _data_source(data: Path | None, meta: Path | None, sample: bool, synthetic: str | None, seed: int) -> Any:
    """The run's `DataSource` (validated once, `alphamine.data.sources`); one red line when invalid."""
    from alphamine.data.errors import DataError
    from alphamine.data.sources import DataSource

    try:
        return DataSource.from_options(data, meta, sample, synthetic, seed)
    except DataError as e:
        raise fail(str(e)) from None


def print_best(console: Console, store: Any, run_id: str, limit: int = 10) -> None:
    from rich.markup import escape

    from alphamine.pipeline.reporting import SIMULATED

    rows = [r for r in store.candidates(run_id=run_id) if r.status in SIMULATED]
    results = store.results_for([r.id for r in rows])
    rows = sorted((r for r in rows if r.id in results), key=lambda r: -results[r.id].metrics["is"]["fitness"])[:limit]
    table = Table(title=f"best candidates of run {run_id} (by IS fitness)", title_justify="left")
    table.add_column("id", justify="right")
    expression_column(table)
    table.add_column("settings", overflow="fold")
    for col in ("IS Sharpe", "OS Sharpe", "fitness", "turnover"):
        table.add_column(col, justify="right")
    table.add_column("status")
    for r in rows:
        m, o = results[r.id].metrics["is"], results[r.id].metrics["os"]
        s = r.settings
        style = {"ready": "green", "gate_pending": "green", "promising": "yellow"}.get(r.status, "white")
        collapse = "[yellow]*[/yellow]" if m["sharpe"] > 1 and o["sharpe"] < 0.5 * m["sharpe"] else ""
        table.add_row(
            str(r.id),
            escape(r.expression),
            f"{s.universe} {s.neutralization.value} d{s.decay}",
            f"{m['sharpe']:.2f}",
            f"{o['sharpe']:.2f}{collapse}",
            f"{m['fitness']:.2f}",
            f"{m['turnover']:.1%}",
            f"[{style}]{r.status}[/{style}]",
        )
    print_table(console, table)


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
    batch_size: Annotated[
        int | None,
        typer.Option(
            help="Local: simulations per committed batch (32). Brain: alphas per multi-simulation (10; 4 in GLB)."
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="Where to simulate: local (this machine), brain (the platform) or dask (a cluster).")
    ] = "local",
    scheduler: SchedulerOpt = None,
    dask_local: DaskLocalOpt = None,
    brain_url: Annotated[
        str | None, typer.Option("--brain-url", help="BRAIN API base URL (default: BRAIN_API_URL or the platform).")
    ] = None,
    dataset: Annotated[str | None, typer.Option(help="Brain: the platform dataset to mine (recorded).")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Brain: multi-simulations in flight at once (8; 4 in GLB).")
    ] = None,
    max_sim_alphas: Annotated[
        int | None, typer.Option("--max-sim-alphas", help="The run's simulation budget, split per iteration across "
                     "explore / exploit / repair (artifacts/quota_report.json); on the platform also a hard cap.")
    ] = None,
    reconcile_wait: Annotated[
        float, typer.Option(help="Brain, on resume: seconds to look for the alphas of POSTs a killed process "
                            "never recorded before posting them again.")
    ] = 600.0,
    gate: Annotated[
        str, typer.Option("--gate", help="trial-aware (platform checks + DSR, validation, stability, "
                          "freshness, family cap) or classic (the platform's checks only).")
    ] = "trial-aware",
    validation_period: Annotated[
        str, typer.Option(help="Validation window at the end of IS: auto (last 20 %, >= 6 months), none, "
                          "or an ISO duration (P1Y).")
    ] = "auto",
    min_dsr: Annotated[float, typer.Option(help="Trial-aware gate: least deflated Sharpe ratio.")] = 0.95,
    generators: Annotated[
        str, typer.Option(help="GENERATE's mix: templates,factory,evolve[,llm], each optionally name:share.")
    ] = "templates,factory",
    llm: Annotated[
        bool | None, typer.Option("--llm/--no-llm", help="LLM agents (default: on when an LLM is configured).")
    ] = None,
    llm_share: Annotated[float, typer.Option(help="Share of each iteration's candidates from the LLM.")] = 0.5,
    use_llm_decide: Annotated[
        bool, typer.Option("--use-llm-decide", help="Let the LLM hold back candidates the rules pass (never promote).")
    ] = False,
    llm_token_budget: Annotated[int | None, typer.Option(help="Stop calling the LLM after this many tokens.")] = None,
    llm_max_calls: Annotated[int | None, typer.Option(help="Stop calling the LLM after this many calls.")] = None,
    llm_daily_limit: Annotated[
        int | None, typer.Option(help="LLM calls per day across processes (ledger in the runtime root).")
    ] = None,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Name the run (default: timestamp).")] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
    quiet: Annotated[bool, typer.Option(help="Only the final table.")] = False,
) -> None:
    """Mine alphas: generate, check, simulate, vary, decide, enhance, gate and report (never submits)."""
    from alphamine.data.errors import DataError
    from alphamine.pipeline.config import GateConfig, RunConfig
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
            gate=GateConfig(mode=gate, validation_period=validation_period, min_dsr=min_dsr),  # type: ignore[arg-type]
            generators=generators,
            llm=llm_run_config(llm, llm_share, use_llm_decide, llm_token_budget, llm_max_calls, llm_daily_limit),
            **(dask_backend_options(backend, scheduler, dask_local, batch_size, max_sim_alphas,
                                    platform_options=(brain_url, dataset, concurrency))
               if wants_dask(backend, scheduler, dask_local) else
               backend_options(backend, batch_size, brain_url, dataset, concurrency, max_sim_alphas, settings.region,
                               reconcile_wait)),
        )
    except (PresetError, SettingsError, ValueError) as e:
        raise fail(str(e)) from None
    from alphamine.sim.memory import retain_freed_memory

    retain_freed_memory()  # a batch process: reuse freed pages instead of page-faulting fresh ones
    console = make_console()
    from alphamine.cli.backend_factory import build_backend
    from alphamine.pipeline.controller import new_run_id

    run_id = run_id or new_run_id()  # known before the backend: a platform budget is the run's
    sim_backend = build_backend(config, runtime_root, run_id=run_id)
    try:
        outcome = start_run(
            config,
            runtime_root=runtime_root,
            db=db,
            run_id=run_id,
            console=console,
            quiet=quiet,
            backend=sim_backend,
            agents=build_agents(config.llm, runtime_root),
        )
    except KeyboardInterrupt as e:
        rid = getattr(e, "run_id", None) or run_id or "<id>"
        if not getattr(e, "marked", True):
            console.print(f"the run could not be marked interrupted ({getattr(e, 'mark_error', '')})")
        console.print(
            "[yellow]interrupted[/yellow]: everything committed so far is kept; continue with "
            f"`alphamine resume --run-id {rid}` (see `alphamine status`)"
        )
        raise typer.Exit(130) from None
    except (RunError, DataError, SettingsError) as e:
        raise fail(str(e)) from None
    except Exception as e:  # an internal error: keep the record, say where the details are
        _crashed(console, e, runtime_root)
    _finish(console, runtime_root, db, outcome)


def _crashed(console: Console, e: Exception, runtime_root: Path) -> None:
    """An unexpected error of `run` / `resume`, reported on stderr as it truly is: a store problem is
    one line (exit 2); a crashed run says whether it is marked failed and where its traceback is, with
    the real run id and path (exit 1). See `alphamine.cli.errors.crashed`. (`console` and
    `runtime_root` are kept for the callers: the facts now travel in the exception.)"""
    from alphamine.cli.errors import crashed

    console.file.flush()  # what the run printed so far comes before the error lines
    raise crashed(e) from None


def _finish(console: Console, runtime_root: Path, db: str | None, outcome: Any) -> None:
    from alphamine.cli.status_cmd import print_stage_times, stage_time_rows

    with open_records(runtime_root, db) as store:
        print_best(console, store, outcome.run_id)
        timings = stage_time_rows(store, outcome.run_id)
    print_stage_times(console, timings)
    console.print(f"{outcome.ready} ready after {outcome.iterations} iteration(s). Nothing was submitted.")
    html = outcome.reports.get("html")
    if html is not None:
        console.print(f"report: [bold]{Path(html).resolve()}[/bold]")


def _stored_backend(run_id: str, runtime_root: Path, db: str | None) -> Any:
    """The backend a stored run was started with (None: local, or a run the controller will report)."""
    from alphamine.cli.backend_factory import build_backend, platform_simulations_of
    from alphamine.pipeline.config import RunConfig

    with open_records(runtime_root, db) as store:
        row = store.get_run(run_id)
        spent = platform_simulations_of(store, run_id) if row is not None else 0
    if row is None:
        return None
    try:
        config = RunConfig.model_validate(row.config)
    except ValueError:
        return None  # resume_run reports the unreadable config
    return build_backend(config, runtime_root, already_simulated=spent, run_id=run_id)


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
    console = make_console()
    sim_backend = _stored_backend(run_id, runtime_root, db)
    try:
        outcome = resume_run(
            run_id, runtime_root=runtime_root, db=db, console=console, quiet=quiet, backend=sim_backend,
            agents=stored_agents(run_id, runtime_root, db),
        )
    except KeyboardInterrupt as e:
        if not getattr(e, "marked", True):
            console.print(f"the run could not be marked interrupted ({getattr(e, 'mark_error', '')})")
        console.print(f"[yellow]interrupted[/yellow]: continue with `alphamine resume --run-id {run_id}`")
        raise typer.Exit(130) from None
    except (RunError, DataError) as e:
        raise fail(str(e)) from None
    except Exception as e:
        _crashed(console, e, runtime_root)
    _finish(console, runtime_root, db, outcome)


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

    console = make_console()
    with open_records(runtime_root, db) as store:
        run_row = require_run(store, run_id)
        try:
            config = RunConfig.model_validate(run_row.config)
        except ValueError as e:  # pydantic's ValidationError is a ValueError
            raise fail(f"run {run_id}: its stored config cannot be read ({str(e).splitlines()[0]})") from None
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

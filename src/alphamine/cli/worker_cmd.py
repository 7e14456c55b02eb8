"""`alphamine worker` and `alphamine optimize-candidates`: drain a run's queue from any number of
processes (`alphamine.pipeline.worker`), and one optimization pass on demand.

Exit codes: 0 when the worker stopped on its own or on SIGTERM (after finishing its batch in flight),
130 on Ctrl-C (the batch in flight is abandoned, its claims released), 2 for a problem the user can fix
(unknown run, changed data, bad option, a broken store), 1 for an unexpected error.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from alphamine.cli.console import make_console
from alphamine.cli.dask_options import DaskLocalOpt, SchedulerOpt, wants_dask
from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, open_records

RunIdOpt = Annotated[str, typer.Option("--run-id", help="The run whose queue to work on.")]
MaxParentsOpt = Annotated[int, typer.Option("--optimize-max-parents", "--max-parents", min=0,
                                            help="Parents tagged per optimization pass.")]  # fmt: skip
MaxVariantsOpt = Annotated[int, typer.Option("--optimize-max-variants", "--max-variants", min=0,
                                             help="Children queued per tagged parent.")]  # fmt: skip


def _platform_backend(store: Any, run_id: str, runtime_root: Path, wants_cluster: bool = False) -> Any:
    """A platform run's backend, with the simulations the run already spent charged to its budget;
    None for a local or Dask run (`_engine` builds that one over the panel `worker_context` loads).
    `wants_cluster`: the worker's options ask for Dask, which a platform run cannot use."""
    from alphamine.cli.backend_factory import build_backend, platform_simulations_of
    from alphamine.pipeline.config import RunConfig

    row = store.get_run(run_id)
    if row is None:
        raise fail(f"no run {run_id!r} in {store.url}")
    try:
        config = RunConfig.model_validate(row.config)
    except ValueError as e:
        raise fail(f"run {run_id}: its stored config cannot be read ({str(e).splitlines()[0]})") from None
    if config.backend != "brain":
        return None
    if wants_cluster:
        raise fail(f"run {run_id} simulates on the platform: --backend dask, --scheduler and --dask-local "
                   "apply to local and Dask runs")  # fmt: skip
    return build_backend(config, runtime_root, already_simulated=platform_simulations_of(store, run_id), run_id=run_id)


def _engine(rc: Any, runtime_root: Path, backend: str | None, scheduler: str | None, dask_local: int | None,
            workers: int | None) -> Any:  # fmt: skip
    """A local or Dask run's backend for this worker: a Dask cluster when the worker's options ask for one
    (or the run is a Dask run and `--backend local` does not say otherwise), else a `LocalBackend` with
    `--workers` (default: the run's). Results are the local engine's either way."""
    from alphamine.cli.dask_options import worker_dask_backend

    if (backend or "").strip().lower() not in ("", "local", "dask"):
        raise fail(f"--backend must be local or dask for a worker (a platform run keeps its own), got {backend!r}")
    if (backend or "").strip().lower() != "local":
        cluster = worker_dask_backend(rc.config, runtime_root, backend, scheduler, dask_local, panel=rc.panel)
        if cluster is not None:
            return cluster
    elif scheduler is not None or dask_local is not None:
        raise fail("--scheduler and --dask-local need --backend dask")
    from alphamine.backends.local import LocalBackend

    return LocalBackend(rc.panel, workers=workers or rc.config.workers)


def worker_context(store: Any, run_id: str, runtime_root: Path, backend: Any, console: Any, quiet: bool) -> Any:
    """The `RunContext` of stored run `run_id` (its config, panel and folder), or one red error line
    (exit 2) when the run is unknown, its config unreadable or its data changed since it started."""
    from alphamine.data.errors import DataError
    from alphamine.pipeline.config import RunConfig
    from alphamine.pipeline.context import RunContext
    from alphamine.pipeline.controller import load_panel
    from alphamine.sim.settings import make_settings

    run = store.get_run(run_id)
    if run is None:
        raise fail(f"no run {run_id!r} in {store.url}")
    try:
        config = RunConfig.model_validate(run.config)
    except ValueError as e:
        raise fail(f"run {run_id}: its stored config cannot be read ({str(e).splitlines()[0]})") from None
    try:
        panel = load_panel(config.data)
    except DataError as e:
        raise fail(str(e)) from None
    if panel.fingerprint() != run.data_fingerprint:
        raise fail(f"the data changed since run {run_id} started; start a new run instead")
    run_dir = Path(run.runtime_root or runtime_root) / "runs" / run_id
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    settings = make_settings(config.settings)
    return RunContext(store, panel, config, run_id, run_dir, settings, console, quiet, backend)


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB (Linux; elsewhere the peak twice)."""
    import os
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20, peak
    except (OSError, ValueError, IndexError):
        return peak, peak


def worker(
    run_id: RunIdOpt,
    mode: Annotated[str, typer.Option(help="drain: until the queue is empty; once: one batch.")] = "drain",
    max_total_alphas: Annotated[int | None, typer.Option(
        "--max-total-alphas", min=1, help="Take at most this many queued candidates (simulated, reused or failed)."
    )] = None,
    refill_on_empty: Annotated[bool, typer.Option(
        "--refill-on-empty", help="An empty queue gets a new iteration: GENERATE + INSPECT (+ field factory)."
    )] = False,
    max_empty_refills: Annotated[int, typer.Option(min=0, help="Refills at most (with --refill-on-empty).")] = 3,
    optimize_every_alphas: Annotated[int, typer.Option(
        min=0, help="An optimization checkpoint after this many candidates (0: never)."
    )] = 500,
    optimize_max_parents: MaxParentsOpt = 10,
    optimize_max_variants: MaxVariantsOpt = 4,
    batch_size: Annotated[int | None, typer.Option(
        min=1, help="Candidates claimed per batch (default: the run's; capped by free platform leases)."
    )] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Local simulation processes (default: the run's).")] = None,
    backend: Annotated[str | None, typer.Option(
        help="local or dask: where this worker simulates a local or Dask run (default: the run's backend)."
    )] = None,
    scheduler: SchedulerOpt = None,
    dask_local: DaskLocalOpt = None,
    claim_ttl: Annotated[float, typer.Option(
        min=1.0, help="Seconds a dead worker's claims stay held before others take them over."
    )] = 120.0,
    batch_log: Annotated[Path | None, typer.Option(
        "--batch-log", help="Append one JSON line per committed batch (time, RSS) to this file."
    )] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The final report as JSON on stdout.")] = False,
    quiet: Annotated[bool, typer.Option(help="Only the final line.")] = False,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Drain a run's queued candidates in claimed batches; any number of workers may share a store."""
    from alphamine.pipeline.worker import WorkerReport, run_worker
    from alphamine.sim.memory import retain_freed_memory

    if mode not in ("drain", "once"):
        raise fail(f"--mode must be drain or once, got {mode!r}")
    retain_freed_memory()
    console = make_console(stderr=as_json)
    with open_records(runtime_root, db) as store:
        engine = _platform_backend(store, run_id, runtime_root, wants_dask(backend, scheduler, dask_local))
        try:
            rc = worker_context(store, run_id, runtime_root, engine, console, quiet)
            if engine is None:
                engine = rc.backend = _engine(rc, runtime_root, backend, scheduler, dask_local, workers)
            log = batch_log.open("a", encoding="utf-8") if batch_log is not None else None

            def on_batch(report: WorkerReport, claimed: int, seconds: float) -> None:
                if log is not None:
                    rss, peak = _rss_mb()
                    line = {"batch": report.batches, "claimed": claimed, "seconds": round(seconds, 4),
                            "taken": report.taken, "rss_mb": round(rss, 1), "peak_rss_mb": round(peak, 1)}
                    log.write(json.dumps(line) + "\n")
                    log.flush()

            try:
                report = run_worker(
                    rc, mode=mode, max_total=max_total_alphas, refill_on_empty=refill_on_empty,
                    max_empty_refills=max_empty_refills, optimize_every=optimize_every_alphas,
                    optimize_max_parents=optimize_max_parents, optimize_max_variants=optimize_max_variants,
                    batch_size=batch_size, claim_ttl=claim_ttl, on_batch=on_batch,
                )  # fmt: skip
            except KeyboardInterrupt:
                console.print("[yellow]interrupted[/yellow]: the batch in flight was dropped and its claims released")
                raise typer.Exit(130) from None
            finally:
                if log is not None:
                    log.close()
        finally:
            if engine is not None:
                engine.close()
    if as_json:
        typer.echo(json.dumps(asdict(report)))
        return
    console.print(
        f"worker {report.worker}: {report.taken} taken in {report.batches} batches ({report.simulated} simulated, "
        f"{report.reused} reused, {report.failed} failed), {report.refills} refills, {report.checkpoints} "
        f"checkpoints ({report.enqueued} children queued); stopped: {report.stopped}; {report.seconds:.1f} s"
    )


def optimize_candidates(
    run_id: RunIdOpt,
    max_parents: MaxParentsOpt = 10,
    max_variants: MaxVariantsOpt = 4,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan; change nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The plan as JSON on stdout.")] = False,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Tag the run's repairable parents and queue their repairs above everything queued (one pass)."""
    from rich.markup import escape

    from alphamine.pipeline.worker import optimize_pass

    console = make_console(stderr=as_json)
    with open_records(runtime_root, db) as store:
        rc = worker_context(store, run_id, runtime_root, None, console, as_json)
        out = optimize_pass(rc, max_parents=max_parents, max_variants=max_variants, dry_run=dry_run)
    plans: list[dict[str, Any]] = [
        {"parent_id": p.parent_id, "expression": p.expression, "tags": p.tags,
         "children": [c.expression for c in p.children]}
        for p in out.plans
    ]  # fmt: skip
    if as_json:
        summary = {k: getattr(out, k) for k in ("examined", "tagged", "queued", "dry_run")}
        typer.echo(json.dumps({**summary, "plans": plans}))
        return
    for p in plans:
        console.print(f"#{p['parent_id']} {escape(p['expression'])}: {', '.join(p['tags'])} -> {len(p['children'])}")
    verb = "would tag" if dry_run else "tagged"
    tagged = len(plans) if dry_run else out.tagged
    console.print(f"{out.examined} examined; {verb} {tagged} parents; {out.queued} children queued")


def standalone_app() -> typer.Typer:
    """Both commands without the full tree: `python -m alphamine.cli.worker_cmd worker ...` (the full
    tree registers them as `alphamine worker` and `alphamine optimize-candidates`)."""
    from alphamine.cli.root import root_app

    app = root_app()
    app.command()(worker)
    app.command("optimize-candidates")(optimize_candidates)
    return app


if __name__ == "__main__":
    standalone_app()()

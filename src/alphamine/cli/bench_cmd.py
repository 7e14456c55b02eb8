"""`alphamine bench`: measure simulation throughput (see alphamine.sim.bench)."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Annotated

import typer
from rich.table import Table

from alphamine.cli.console import make_console


def bench(
    sizes: Annotated[str, typer.Option(help="Comma-separated panel sizes: S (500x1260), L (3000x2520).")] = "S,L",
    workers: Annotated[int | None, typer.Option(help="Workers for the all-cores run (default: all cores).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic panels.")] = 0,
    repeats: Annotated[
        int, typer.Option(help="Steady passes on one core and on all cores; the fastest of each is reported.")
    ] = 5,
    retain_memory: Annotated[
        bool,
        typer.Option(
            help="Call alphamine.sim.memory.retain_freed_memory() first, as `alphamine run` and "
            "`simulate --file` do (glibc: freed memory is reused instead of page-faulting fresh pages). "
            "--no-retain-memory: the plain process behaviour of a library user."
        ),
    ] = True,
) -> None:
    """Simulate a fixed list of 30 alphas on synthetic panels; print alphas/s and a Markdown block for
    docs/benchmarks.md. One core runs the batch once cold, then `--repeats` times (the fastest steady
    pass is the headline); all cores `--repeats` times (the fastest is reported)."""
    from alphamine.cli.data_cmd import fail
    from alphamine.data.synthetic import synthetic
    from alphamine.sim.bench import BENCH_EXPRESSIONS, SIZES, markdown, run_size, stage_line, warm_up

    wanted = [s.strip().upper() for s in sizes.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SIZES]
    if unknown or not wanted:
        raise fail(f"unknown size {', '.join(unknown) or sizes!r}; choose from {', '.join(SIZES)}")
    if repeats < 1:
        raise fail(f"--repeats must be at least 1, got {repeats}")
    console = make_console()
    if retain_memory:
        from alphamine.sim.memory import retain_freed_memory

        console.print(f"retain_freed_memory(): {'on' if retain_freed_memory() else 'not available here'}")
    n_workers = workers or os.cpu_count() or 1
    with console.status("compiling kernels (warm-up on a small panel)"):
        warm_up(BENCH_EXPRESSIONS)
    runs = []
    for label in wanted:
        n, t = SIZES[label]
        with console.status(f"building synthetic panel {label} ({n} x {t})"):
            t0 = time.perf_counter()
            panel = synthetic(n, t, seed=seed)
            build = time.perf_counter() - t0
        with console.status(f"simulating {len(BENCH_EXPRESSIONS)} alphas on {label}"):
            run = run_size(panel, BENCH_EXPRESSIONS, n_workers, label, build, repeats=repeats)
        runs.append(run)
        del panel
        table = Table(title=f"{label}: {n} instruments x {t} days (panel built in {build:.1f} s)")
        for col in (
            "alphas",
            "1 core s (steady)",
            "1 core alphas/s (steady)",
            "1 core alphas/s (cold)",
            f"{n_workers} workers alphas/s",
            "kernels s",
            "peak RSS MB",
        ):
            table.add_column(col, justify="right")
        table.add_row(
            str(run.n_alphas),
            f"{run.one_core_seconds:.2f}",
            f"{run.one_core_rate:.1f}",
            f"{run.cold_rate:.1f}",
            f"{run.all_cores_rate:.1f}",
            f"{run.eval_seconds:.2f}",
            f"{run.peak_rss_mb:.0f}",
        )
        console.print(table)
        console.print(f"one core, ms per alpha (steady pass): {stage_line(run)}")
        console.print(
            f"minor page faults: {run.steady_faults:,} in the steady pass, {run.worker_faults:,} in the workers"
        )
    console.print("\nMarkdown for docs/benchmarks.md:\n")
    console.print(markdown(runs, dt.date.today().isoformat()), markup=False, highlight=False)

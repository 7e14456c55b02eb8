"""`alphamine demo`: the main job until the mining pipeline lands.

It shows what exists end to end on the bundled real data: the panel, the checker, the evaluator with
its shared sub-expression cache, and a first read of each alpha (daily rank IC against the next day's
return, i.e. delay-1 timing), so a researcher sees real numbers within seconds.
"""

from __future__ import annotations

import time

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

DEMO_ALPHAS: tuple[str, ...] = (
    "rank(-ts_delta(close, 5))",
    "group_neutralize(rank(-ts_delta(close, 5)), industry)",
    "-ts_corr(rank(open), rank(volume), 10)",
    "group_rank(-ts_mean(returns, 5), sector)",
    "-rank(ts_std_dev(returns, 60))",
    "rank(ts_mean(returns, 250) - ts_mean(returns, 20))",
    "ts_rank(volume / adv20, 10) * rank(-returns)",
    "zscore(-(close - ts_mean(close, 20)) / ts_std_dev(close, 20))",
    "-ts_decay_linear(rank(returns), 10)",
    "a = ts_mean(close, 5); b = ts_mean(close, 60); rank(b / a - 1)",
)


def demo(
    universe: str = typer.Option("TOP200", help="Universe to pasteurize and measure in."),
    expression: list[str] = typer.Option(None, "--expr", "-e", help="Evaluate these instead of the built-in set."),
) -> None:
    """Inspect the bundled S&P 500 sample, then check and evaluate a set of classic alphas on it."""
    from alphamine.cli.data_cmd import print_panel_info
    from alphamine.data import load_sample
    from alphamine.expr import check
    from alphamine.sim.evaluate import EvaluationError, Evaluator
    from alphamine.sim.ic import forward_returns, rank_ic, summarize_ic

    console = Console()
    t0 = time.perf_counter()
    panel = load_sample()
    console.print(f"[bold]Loaded[/bold] {panel} in {time.perf_counter() - t0:.2f} s")
    print_panel_info(panel, console)
    if universe not in panel.universes:
        typer.secho(f"error: unknown universe {universe!r}; one of {', '.join(panel.universes)}", fg="red", err=True)
        raise typer.Exit(2)
    mask = panel.universe(universe)
    fwd = forward_returns(np.where(mask, panel["returns"], np.nan))
    ev = Evaluator(panel, universe=mask)
    table = Table(title=f"Alphas on the S&P 500 sample, {universe}, delay 1 (rank IC vs next-day return)")
    for col in ("expression", "coverage", "mean IC", "IC IR (ann.)", "t-stat", "IC > 0", "ms"):
        table.add_column(col, justify="left" if col == "expression" else "right")
    exprs = list(expression) if expression else list(DEMO_ALPHAS)
    t_all = time.perf_counter()
    for src in exprs:
        diags = check(src, panel.catalogue, n_days=panel.n_days)
        errors = [d for d in diags if d.severity == "error"]
        if errors:
            table.add_row(src, f"[red]{errors[0].code}: {errors[0].message}[/red]", "", "", "", "", "")
            continue
        t1 = time.perf_counter()
        try:
            values = ev.evaluate(src)
        except EvaluationError as e:
            table.add_row(src, f"[red]{e}[/red]", "", "", "", "", "")
            continue
        ms = (time.perf_counter() - t1) * 1e3
        values[~mask] = np.nan
        cov = float((~np.isnan(values)).sum() / max(mask.sum(), 1))
        s = summarize_ic(rank_ic(values, fwd))
        colour = "green" if s.t_stat > 2 else ("red" if s.t_stat < -2 else "white")
        table.add_row(
            src,
            f"{cov:.0%}",
            f"[{colour}]{s.mean:+.4f}[/{colour}]",
            f"{s.ir:+.2f}",
            f"{s.t_stat:+.1f}",
            f"{s.hit_rate:.0%}",
            f"{ms:.0f}",
        )
    console.print(table)
    c = ev.cache
    console.print(
        f"{len(exprs)} expressions in {time.perf_counter() - t_all:.2f} s; shared sub-expression cache: "
        f"{len(c)} entries, {c.hits} hits, {c.misses} misses, {c.bytes / 1e6:.0f} MB"
    )

"""`alphamine demo`: the main job until the mining pipeline lands.

It shows what exists end to end on the bundled real data: the panel, the checker, and a batch
simulation with the shared sub-expression cache on all cores, IS and OS side by side, so a researcher
sees real numbers within seconds.
"""

from __future__ import annotations

import time

import typer
from rich.table import Table

from alphamine.cli.console import make_console

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
    "rank(ts_backfill(net_income, 252) / cap)",
    "group_neutralize(-rank(ts_backfill(total_liabilities, 252) / ts_backfill(total_assets, 252)), sector)",
)


SHORT_CHECK = {
    "LOW_SHARPE": "sharpe",
    "LOW_FITNESS": "fitness",
    "LOW_TURNOVER": "tvr<1%",
    "HIGH_TURNOVER": "tvr>70%",
    "CONCENTRATED_WEIGHT": "weight",
    "LOW_SUB_UNIVERSE_SHARPE": "sub-univ",
    "SELF_CORRELATION": "self-corr",
    "DATA_LENGTH": "length",
}


def demo(
    universe: str = typer.Option("TOP500", help="Universe to simulate in (TOP500, TOP200, TOP100)."),
    neutralization: str = typer.Option("INDUSTRY", help="Settings neutralization."),
    decay: int = typer.Option(4, help="Linear decay of the alpha in days."),
    expression: list[str] = typer.Option(None, "--expr", "-e", help="Simulate these instead of the built-in set."),
    workers: int = typer.Option(None, help="Worker processes (default: all cores)."),
) -> None:
    """Inspect the bundled S&P 500 sample, then check and simulate a set of classic alphas on it."""
    from alphamine.cli.data_cmd import fail, print_panel_info
    from alphamine.data import load_sample
    from alphamine.sim.batch import SimFailure, simulate_many
    from alphamine.sim.memory import retain_freed_memory
    from alphamine.sim.settings import SettingsError, make_settings

    retain_freed_memory()  # a batch process: reuse freed pages instead of page-faulting fresh ones
    console = make_console()
    t0 = time.perf_counter()
    panel = load_sample()
    console.print(f"[bold]Loaded[/bold] {panel} in {time.perf_counter() - t0:.2f} s")
    print_panel_info(panel, console)
    try:
        settings = make_settings(universe=universe, neutralization=neutralization, decay=decay)
    except SettingsError as e:
        raise fail(str(e)) from None
    if settings.universe not in panel.universes:
        raise fail(f"unknown universe {universe!r}; one of {', '.join(panel.universes)}")
    exprs = list(expression) if expression else list(DEMO_ALPHAS)
    t1 = time.perf_counter()
    results = simulate_many(exprs, panel, settings, workers=workers)
    elapsed = time.perf_counter() - t1
    s = settings
    table = Table(
        title=f"S&P 500 sample, {s.universe}, delay {s.delay}, decay {s.decay}, {s.neutralization.value}, "
        f"truncation {s.truncation}",
        title_justify="left",
    )
    table.add_column("expression", overflow="fold", min_width=30)
    for col in ("IS Sharpe", "OS Sharpe", "fitness", "turnover", "fails"):
        table.add_column(col, justify="right" if col != "fails" else "left", overflow="fold")
    for r in results:
        if isinstance(r, SimFailure):
            table.add_row(r.expression, "", "", "", "", f"[red]{r.error}[/red]")
            continue
        m, o = r.metrics["is"], r.metrics["os"]
        colour = "green" if m["sharpe"] >= 1.25 else ("red" if m["sharpe"] < 0 else "white")
        collapse = "[yellow]*[/yellow]" if m["sharpe"] > 1 and o["sharpe"] < 0.5 * m["sharpe"] else ""
        table.add_row(
            r.expression,
            f"[{colour}]{m['sharpe']:.2f}[/{colour}]",
            f"{o['sharpe']:.2f}{collapse}",
            f"{m['fitness']:.2f}",
            f"{m['turnover']:.1%}",
            " ".join(SHORT_CHECK.get(c, c) for c in r.failed_checks()) or "[green]-[/green]",
        )
    console.print(table)
    console.print("* OS Sharpe below half the IS Sharpe (decay or overfitting). fails: checks that did not pass.")
    console.print(f"{len(exprs)} simulations in {elapsed:.2f} s.")
    console.print("Next: alphamine simulate 'rank(-returns)' --plot pnl.png   |   alphamine ops list")

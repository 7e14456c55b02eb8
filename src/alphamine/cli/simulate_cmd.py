"""`alphamine simulate`: one expression (readable IS | OS summary, checks) or a file of them (JSONL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alphamine.cli.console import expression_column, make_console, print_table
from alphamine.cli.data_cmd import (
    DataOpt,
    MetaOpt,
    SampleOpt,
    SeedOpt,
    SyntheticOpt,
    fail,
    resolve_panel,
    source_errors,
)

if TYPE_CHECKING:
    from alphamine.sim.result import SimResult


def json_default(o: Any) -> Any:
    """numpy scalars and arrays as plain JSON numbers and lists (`alphamine.sim.result.json_default`)."""
    from alphamine.sim.result import json_default as plain

    return plain(o)

CHECK_STYLE = {"PASS": "green", "FAIL": "red", "WARNING": "yellow", "PENDING": "dim"}
SUMMARY_ROWS = [
    ("sharpe", "Sharpe", "{:.2f}"),
    ("fitness", "Fitness", "{:.2f}"),
    ("returns", "Returns", "{:.2%}"),
    ("turnover", "Turnover", "{:.2%}"),
    ("drawdown", "Drawdown", "{:.2%}"),
    ("margin", "Margin (bps)", "{:.2f}"),
    ("longCount", "Long count", "{:.0f}"),
    ("shortCount", "Short count", "{:.0f}"),
    ("pnl", "PnL ($)", "{:,.0f}"),
]


def _fmt(key: str, spec: str, value: float) -> str:
    return spec.format(value * 1e4 if key == "margin" else value)


def print_result(res: SimResult, console: Console) -> None:
    table = Table(title=res.expression, title_justify="left")
    table.add_column("")
    table.add_column("IS", justify="right")
    table.add_column("OS", justify="right")
    for key, label, spec in SUMMARY_ROWS:
        table.add_row(label, _fmt(key, spec, res.metrics["is"][key]), _fmt(key, spec, res.metrics["os"][key]))
    console.print(table)
    s = res.settings
    d = res.dates
    lo, hi = res.periods.is_range
    first = res.periods.first
    span = f"IS {d[max(lo, first)]}..{d[hi - 1]}" if hi > max(lo, first) else "IS empty"
    if res.periods.os_range[1] > res.periods.os_range[0]:
        span += f", OS {d[res.periods.os_range[0]]}..{d[-1]}"
    console.print(
        f"[dim]{s.universe} delay {s.delay} decay {s.decay} {s.neutralization.value} truncation {s.truncation} "
        f"pasteurization {s.pasteurization.value}; {span}; truncation rounds {res.truncation_rounds}[/dim]"
    )
    if s.neutralization.value in ("FAST", "SLOW", "SLOW_AND_FAST"):
        console.print("[dim]risk neutralization is alphamine's approximation of a proprietary model[/dim]")
    checks = Table(title="checks", title_justify="left")
    for col in ("check", "result", "limit", "value", ""):
        checks.add_column(col)
    for c in res.checks:
        style = CHECK_STYLE.get(c["result"], "white")
        extra = ", ".join(f"{k}={v}" for k, v in c.items() if k not in ("name", "result", "limit", "value"))
        checks.add_row(
            c["name"],
            f"[{style}]{c['result']}[/{style}]",
            f"{c['limit']:.4g}" if "limit" in c else "",
            f"{c['value']:.4g}" if "value" in c else "",
            extra,
        )
    console.print(checks)
    for warning in getattr(res, "warnings", []):
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    os_sharpe, is_sharpe = res.metrics["os"]["sharpe"], res.metrics["is"]["sharpe"]
    if is_sharpe > 1 and os_sharpe < 0.5 * is_sharpe:
        console.print(f"[yellow]OS Sharpe {os_sharpe:.2f} collapsed against IS {is_sharpe:.2f}[/yellow]")


def simulate_command(
    expression: Annotated[str | None, typer.Argument(help="A FASTEXPR expression (or use --file).")] = None,
    data: DataOpt = None,
    meta: MetaOpt = None,
    sample: SampleOpt = False,
    synthetic: SyntheticOpt = None,
    seed: SeedOpt = 0,
    universe: Annotated[str, typer.Option(help="TOP<N> universe of the panel.")] = "TOP500",
    delay: Annotated[int, typer.Option(help="1: trade on yesterday's data; 0: same-day data.")] = 1,
    decay: Annotated[int, typer.Option(help="Linear decay of the alpha over n days (0 = none).")] = 0,
    neutralization: Annotated[
        str, typer.Option(help="NONE, MARKET, SECTOR, INDUSTRY, SUBINDUSTRY, FAST, SLOW, SLOW_AND_FAST.")
    ] = "INDUSTRY",
    truncation: Annotated[
        float, typer.Option(help="Max weight per instrument as a fraction of the book (0 = off).")
    ] = 0.08,
    pasteurization: Annotated[str, typer.Option(help="on|off: NaN inputs outside the universe.")] = "on",
    max_trade: Annotated[str, typer.Option("--max-trade", help="on|off: cap daily trades at 10% of ADV20.")] = "off",
    test_period: Annotated[
        str, typer.Option("--test-period", help="ISO duration of IS shown as 'test', e.g. P1Y.")
    ] = "P0Y0M0D",
    profile: Annotated[str, typer.Option("--profile", help="Check thresholds: user or consultant.")] = "user",
    json_out: Annotated[
        Path | None, typer.Option("--json-out", help="Write the BRAIN-shaped result JSON here.")
    ] = None,
    pnl_out: Annotated[Path | None, typer.Option("--pnl-out", help="Write daily PnL as CSV (date,pnl).")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a cumulative PnL PNG (IS/OS marked).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Simulate every expression in this file (one per line).")
    ] = None,
    jsonl_out: Annotated[
        Path | None, typer.Option("--jsonl-out", help="With --file: one JSON result per line.")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes for --file (default: all cores).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="For machines: the result JSON (with --file: one JSON line each) on stdout.")
    ] = False,
) -> None:
    """Simulate alphas on local data with BRAIN's settings pipeline and metrics."""
    from alphamine.sim.settings import SettingsError, make_settings

    if expression is not None and file is not None:
        raise fail("give one expression or --file FILE, not both")
    if expression is None and file is None:
        from alphamine.cli.expression_args import missing_expression_hint

        raise fail(f"give one expression or --file FILE{missing_expression_hint()}")
    try:
        settings = make_settings(
            universe=universe,
            delay=delay,
            decay=decay,
            neutralization=neutralization,
            truncation=truncation,
            pasteurization=pasteurization,
            maxTrade=max_trade,
            testPeriod=test_period,
            checkProfile=profile,
        )
    except SettingsError as e:
        raise fail(str(e)) from None
    with source_errors():
        panel = resolve_panel(data, meta, sample, synthetic, seed)
    console = make_console(stderr=as_json)  # with --json, stdout holds only JSON
    if file is not None:
        from alphamine.sim.memory import retain_freed_memory

        retain_freed_memory()  # a batch process: reuse freed pages instead of page-faulting fresh ones
        _batch(file, jsonl_out, panel, settings, workers, console, as_json)
        return
    assert expression is not None
    from alphamine.backends.local import LocalBackend
    from alphamine.sim.batch import SimFailure, SimSpec

    res = LocalBackend(panel, workers=1).simulate_many([SimSpec(expression, settings)])[0]
    if isinstance(res, SimFailure):
        raise fail(res.error.replace("[", r"\["))
    if as_json:
        typer.echo(res.to_json_text())
    else:
        print_result(res, console)
    try:
        if json_out is not None:
            json_out.write_text(res.to_json_text(), encoding="utf-8")
        if pnl_out is not None:
            res.write_pnl_csv(pnl_out)
        if plot is not None:
            res.plot(plot)
    except OSError as e:
        raise fail(f"cannot write output: {e}") from None


def _batch(
    file: Path,
    jsonl_out: Path | None,
    panel: Any,
    settings: Any,
    workers: int | None,
    console: Console,
    as_json: bool = False,
) -> None:
    from alphamine.backends.local import LocalBackend
    from alphamine.sim.batch import SimFailure, SimSpec

    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise fail(f"cannot read {file}: {e}") from None
    exprs = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not exprs:
        raise fail(f"{file} has no expressions (one per line; # starts a comment)")
    counts = {"ok": 0, "failed": 0}
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("completed {task.fields[ok]} failed {task.fields[failed]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=as_json and not console.is_terminal,
    ) as bar:
        task = bar.add_task("sim", total=len(exprs), ok=0, failed=0)

        def tick(done: int, total: int, r: Any) -> None:
            counts["failed" if isinstance(r, SimFailure) else "ok"] += 1
            bar.update(task, completed=done, ok=counts["ok"], failed=counts["failed"])

        backend = LocalBackend(panel, workers=workers)  # the CLI is the composition root
        results = backend.simulate_many([SimSpec(e, settings) for e in exprs], progress=tick)
    docs = [
        {"regular": {"code": r.expression}, "status": "ERROR", "message": r.error}
        if isinstance(r, SimFailure)
        else {**r.to_json(), "status": "COMPLETE"}
        for r in results
    ]
    lines_out = [json.dumps(doc, default=json_default) for doc in docs]
    if as_json:
        typer.echo("\n".join(lines_out))
    else:
        _print_batch_table(results, console)
    if jsonl_out is not None:
        try:
            jsonl_out.write_text("".join(line + "\n" for line in lines_out), encoding="utf-8")
        except OSError as e:
            raise fail(f"cannot write {jsonl_out}: {e}") from None
        console.print(f"wrote {jsonl_out}")


def _print_batch_table(results: list[Any], console: Console) -> None:
    from rich.markup import escape

    from alphamine.sim.batch import SimFailure

    table = Table(title=f"{len(results)} expressions")
    expression_column(table)
    for col in ("IS sharpe", "OS sharpe", "fitness", "turnover"):
        table.add_column(col, justify="right")
    table.add_column("failed checks / error", overflow="fold")
    for r in results:
        if isinstance(r, SimFailure):
            table.add_row(escape(r.expression), "", "", "", "", f"[red]{escape(r.error)}[/red]")
        else:
            m, o = r.metrics["is"], r.metrics["os"]
            table.add_row(
                escape(r.expression),
                f"{m['sharpe']:.2f}",
                f"{o['sharpe']:.2f}",
                f"{m['fitness']:.2f}",
                f"{m['turnover']:.1%}",
                ", ".join(r.failed_checks()),
            )
    print_table(console, table)

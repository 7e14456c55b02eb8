"""`alphamine lint EXPR`: check a FASTEXPR expression or program against a field catalogue.

Why a command: it is the quickest way to see what the checker (and so the generators' filter) thinks
of an idea, with BRAIN-like messages and a caret under the problem. Exit status: 0 when there are no
errors (warnings allowed), 2 when there are errors, 1 when the input or the data could not be read.
Never prints a traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from alphamine.data.fields import FieldInfo, FieldType, Unit

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def builtin_catalogue() -> dict[str, FieldInfo]:
    """A pv1-like catalogue used when no data is available (and by `--builtin`)."""
    units = {
        "open": Unit.PRICE,
        "high": Unit.PRICE,
        "low": Unit.PRICE,
        "close": Unit.PRICE,
        "vwap": Unit.PRICE,
        "volume": Unit.VOLUME,
        "adv20": Unit.VOLUME,
        "returns": Unit.RATIO,
        "cap": Unit.DOLLARS,
        "dollar_volume": Unit.DOLLARS,
    }
    out = {n: FieldInfo(n, FieldType.MATRIX, unit=u, description="built-in pv1-like field") for n, u in units.items()}
    for g in ("sector", "industry", "subindustry", "market"):
        out[g] = FieldInfo(g, FieldType.GROUP, dataset="pv13", description="built-in grouping")
    return out


class _InputError(Exception):
    """The expression, file or data could not be read (exit status 1)."""


def _read_source(expr: str | None, file: Path | None) -> tuple[str, str]:
    if file is not None:
        if expr is not None:
            raise _InputError("give either EXPR or --file, not both")
        try:
            return file.read_text(encoding="utf-8"), str(file)
        except (OSError, UnicodeDecodeError) as e:
            raise _InputError(f"cannot read {file}: {e}") from None
    if expr is None:
        from alphamine.cli.expression_args import missing_expression_hint

        raise _InputError(f"no expression: give EXPR, '-' for standard input, or --file F{missing_expression_hint()}")
    if expr == "-":
        return sys.stdin.read(), "<stdin>"
    return expr, "<expr>"


def _catalogue(
    data: Path | None, meta: Path | None, sample: bool, synthetic: str | None, builtin: bool
) -> tuple[Mapping[str, FieldInfo], int | None, str]:
    """(catalogue, days of history or None, description of the source)."""
    chosen = sum([data is not None, sample, synthetic is not None, builtin])
    if chosen > 1:
        raise _InputError("choose one of --data, --sample, --synthetic, --builtin")
    if meta is not None and data is None:
        raise _InputError("--meta needs --data")
    if builtin:
        return builtin_catalogue(), None, "built-in pv1-like catalogue"
    if data is not None:
        try:
            from alphamine.data.loaders import load_long

            panel = load_long(data, meta)
        except Exception as e:
            raise _InputError(f"cannot load {data}: {e}") from None
        return panel.catalogue, panel.n_days, str(data)
    if synthetic is not None:
        try:
            n, t = (int(v) for v in synthetic.split(","))
        except ValueError:
            raise _InputError("--synthetic expects N,T (instruments,days), e.g. 100,500") from None
        try:
            from alphamine.data.synthetic import synthetic as make_synthetic

            panel = make_synthetic(n, t)
        except Exception as e:
            raise _InputError(f"cannot build the synthetic market: {e}") from None
        return panel.catalogue, panel.n_days, f"synthetic {n}x{t}"
    from alphamine.data.sample_paths import sample_catalogue

    cached = sample_catalogue()  # the manifest of the sample's disk cache: no arrays opened
    if cached is not None:
        return cached[0], cached[1], "bundled sample"
    try:
        from alphamine.data.sample import load_sample

        panel = load_sample()
    except Exception as e:
        if sample:
            raise _InputError(f"cannot load the bundled sample: {e}") from None
        return builtin_catalogue(), None, "built-in pv1-like catalogue (bundled sample unavailable)"
    return panel.catalogue, panel.n_days, "bundled sample"


def lint(
    expr: Annotated[str | None, typer.Argument(help="The expression or program; '-' reads standard input.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the expression from a file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diagnostics as a JSON list.")] = False,
    data: Annotated[Path | None, typer.Option("--data", help="Long-format parquet/CSV panel.")] = None,
    meta: Annotated[Path | None, typer.Option("--meta", help="Ticker -> groups table for --data.")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="The bundled S&P 500 sample (default).")] = False,
    synthetic: Annotated[
        str | None, typer.Option("--synthetic", metavar="N,T", help="A synthetic market of N instruments x T days.")
    ] = None,
    builtin: Annotated[bool, typer.Option("--builtin", help="A built-in pv1-like catalogue (no data).")] = False,
    history: Annotated[bool, typer.Option(help="Check the cumulative lookback against the data's days.")] = True,
) -> None:
    """Check a FASTEXPR expression: syntax, fields, operators, arguments, look-ahead, units."""
    console = Console(highlight=False, soft_wrap=True)
    try:
        source, origin = _read_source(expr, file)
        catalogue, n_days, described = _catalogue(data, meta, sample, synthetic, builtin)
        from alphamine.expr import canonical, check

        diagnostics = check(source, catalogue, n_days=n_days if history else None)
    except _InputError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    except Exception as e:  # never a traceback
        typer.echo(f"error: {type(e).__name__}: {e}", err=True)
        raise typer.Exit(1) from None
    errors = sum(d.is_error for d in diagnostics)
    if as_json:
        typer.echo(json.dumps([d.to_json() for d in diagnostics], indent=2))
        raise typer.Exit(2 if errors else 0)
    for d in diagnostics:
        where = f"{origin}:{d.span.line}:{d.span.column}: " if d.span else f"{origin}: "
        line = Text(where)
        line.append(d.severity, style=_STYLE[d.severity])
        line.append(f" {d.code}", style="bold")
        line.append(f": {d.message}")
        console.print(line)
        if d.span is not None:
            from alphamine.expr.diagnostics import caret

            console.print(Text(caret(source, d.span), style=_STYLE[d.severity]))
        if d.hint:
            console.print(Text(f"  hint: {d.hint}", style="dim"))
    warnings = sum(d.severity == "warning" for d in diagnostics)
    summary = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} ({described})"
    if not errors:
        with contextlib.suppress(Exception):  # canonical of a checked program should not fail
            console.print(Text(f"canonical: {canonical(source)}", style="green"))
    console.print(Text(summary, style="bold red" if errors else "bold green"))
    raise typer.Exit(2 if errors else 0)


def register_lint(app: typer.Typer) -> None:
    """Attach the lint command to the root app."""
    from alphamine.cli.expression_args import ExpressionCommand

    app.command("lint", cls=ExpressionCommand)(lint)

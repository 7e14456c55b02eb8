"""`alphamine ops ...`: browse the operator library."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from alphamine.cli.console import make_console, print_table

ops_app = typer.Typer(help="Browse the FASTEXPR operator library.", no_args_is_help=True)


@ops_app.command("list")
def list_ops(
    category: str = typer.Option(None, "--category", "-c", help="Only this category (e.g. time_series)."),
) -> None:
    """List every operator with its signature."""
    from alphamine.ops.reference import first_line
    from alphamine.ops.registry import Category, all_operators

    ops = all_operators()
    if category is not None:
        allowed = [c.value for c in Category]
        if category not in allowed:
            typer.secho(f"error: unknown category {category!r}; one of {', '.join(allowed)}", fg="red", err=True)
            raise typer.Exit(2)
        ops = [o for o in ops if o.category.value == category]
    table = Table(title=f"{len(ops)} operators", show_lines=False)
    table.add_column("category", style="cyan")
    table.add_column("signature", style="bold")
    table.add_column("description")
    for o in ops:
        table.add_row(o.category.value, o.signature, first_line(o.doc))
    print_table(make_console(), table)


@ops_app.command("show")
def show(name: str = typer.Argument(..., help="Operator name, e.g. ts_rank.")) -> None:
    """Show one operator: signature, exact semantics, parameters and assumptions."""
    from alphamine.ops.reference import describe
    from alphamine.ops.registry import get

    try:
        op = get(name)
    except KeyError as e:
        typer.secho(f"error: {e.args[0]}", fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(describe(op))


@ops_app.command("docs")
def docs(out: Path = typer.Option(None, "--out", help="Write to this file instead of stdout.")) -> None:
    """Render the operator reference (docs/operators.md) from the registry."""
    from alphamine.ops.reference import render_markdown

    text = render_markdown()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")

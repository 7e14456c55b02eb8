"""`alphamine data ...`: inspect market data (the bundled sample, your files, synthetic markets).

`resolve_panel` turns the shared source options into a Panel; every command that needs data should
use it (and `source_errors` for the one-red-line error contract: message on stderr, exit code 2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldType

if TYPE_CHECKING:
    from alphamine.data.panel import Panel

__all__ = ["DataOpt", "MetaOpt", "SampleOpt", "SeedOpt", "SyntheticOpt", "fail", "parse_synthetic", "resolve_panel"]

data_app = typer.Typer(
    help="Inspect market data: the bundled sample, your files, synthetic markets.", no_args_is_help=True
)

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Long parquet/CSV file (date, ticker, values), a directory of wide files (one per field), "
        "or a panel cache directory (with panel.json).",
    ),
]
MetaOpt = Annotated[Path | None, typer.Option("--meta", help="Ticker -> group table (parquet/CSV) for --data.")]
SampleOpt = Annotated[bool, typer.Option("--sample", help="The bundled S&P 500 sample (the default).")]
SyntheticOpt = Annotated[
    str | None, typer.Option("--synthetic", help="A synthetic market of N instruments and T days: 'N,T'.")
]
INFO_MAX_NAMES = 16
"""`data info` lists at most this many fields per (type, category); `data fields` lists them all."""

SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the synthetic market.")]


def fail(message: str) -> typer.Exit:
    """Print one red error line on stderr; return the Exit(2) to raise."""
    Console(stderr=True, highlight=False).print(f"[red]error:[/red] {message}", soft_wrap=True, markup=True)
    return typer.Exit(2)


@contextmanager
def source_errors() -> Iterator[None]:
    """Turn data-layer errors into the CLI contract: one red line on stderr, exit code 2."""
    try:
        yield
    except DataError as e:
        raise fail(str(e).replace("[", r"\[")) from None
    except KeyError as e:
        raise fail(str(e.args[0] if e.args else e).replace("[", r"\[")) from None
    except (ValueError, OSError) as e:
        raise fail(f"{type(e).__name__}: {e}".replace("[", r"\[")) from None


def parse_synthetic(spec: str) -> tuple[int, int]:
    """'N,T' -> (N, T); see `alphamine.data.sources.parse_synthetic` (imported here on use: pydantic
    is not needed to print --help)."""
    from alphamine.data.sources import parse_synthetic as parse

    return parse(spec)


def resolve_panel(
    data: Path | str | None = None,
    meta: Path | str | None = None,
    sample: bool = False,
    synthetic: str | None = None,
    seed: int = 0,
) -> Panel:
    """The Panel the source options name (no source at all -> the bundled sample); DataError for
    conflicting options. See `alphamine.data.sources`."""
    from alphamine.data.sources import DataSource, open_source

    return open_source(DataSource.from_options(data, meta, sample, synthetic, seed))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


@data_app.command("info")
def info(
    data: DataOpt = None,
    meta: MetaOpt = None,
    sample: SampleOpt = False,
    synthetic: SyntheticOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Summarise a panel: dates, instruments, fields by type and category, universes."""
    with source_errors():
        panel = resolve_panel(data, meta, sample, synthetic, seed)
    print_panel_info(panel, Console(highlight=False))


def print_panel_info(panel: Panel, con: Console) -> None:
    """The `data info` summary of a panel (also printed by `alphamine demo`)."""
    con.print(f"[bold]{panel.name or 'panel'}[/bold]  fingerprint {panel.fingerprint()}")
    if panel.n_days:
        con.print(f"dates        {panel.dates[0]} .. {panel.dates[-1]}  ({panel.n_days} days)")
    else:
        con.print("dates        none")
    shown = ", ".join(panel.instruments[:8].tolist()) + (" ..." if panel.n_instruments > 8 else "")
    con.print(f"instruments  {panel.n_instruments}  ({shown})")
    table = Table(title="fields", show_lines=False)
    for col in ("type", "category", "n", "fields (coverage)"):
        table.add_column(col, overflow="fold")
    groups: dict[tuple[str, str], list[str]] = {}
    for name, fi in panel.catalogue.items():
        if fi.type == FieldType.UNIVERSE:
            continue
        label = f"{name}{'~' if fi.approximate else ''} {_pct(fi.coverage)}"
        groups.setdefault((fi.type.value, fi.category), []).append(label)
    for (ftype, cat), names in sorted(groups.items()):
        more = f", ... +{len(names) - INFO_MAX_NAMES} more" if len(names) > INFO_MAX_NAMES else ""
        table.add_row(ftype, cat, str(len(names)), ", ".join(names[:INFO_MAX_NAMES]) + more)
    con.print(table)
    if any(fi.approximate for fi in panel.catalogue.values()):
        con.print("~ = approximate (a stand-in for the real field; see `alphamine data fields`)")
    if panel.universes:
        ut = Table(title="universes")
        for col in ("universe", "average size", "days non-empty", "average size when non-empty"):
            ut.add_column(col)
        for name, mask in panel.universes.items():
            import numpy as np

            per_day = np.asarray(mask).sum(axis=1)
            live = per_day > 0
            avg_live = f"{per_day[live].mean():.1f}" if live.any() else "-"
            ut.add_row(name, f"{per_day.mean():.1f}", f"{int(live.sum())}/{panel.n_days}", avg_live)
        con.print(ut)
    else:
        con.print("universes    none")


@data_app.command("fields")
def fields(
    data: DataOpt = None,
    meta: MetaOpt = None,
    sample: SampleOpt = False,
    synthetic: SyntheticOpt = None,
    seed: SeedOpt = 0,
    type_: Annotated[
        str | None, typer.Option("--type", help="Only fields of this type: MATRIX, VECTOR, GROUP, UNIVERSE.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON with BRAIN's spelling (dateCoverage).")] = False,
) -> None:
    """The field catalogue as a table (or JSON)."""
    with source_errors():
        wanted: FieldType | None = None
        if type_ is not None:
            try:
                wanted = FieldType(type_.upper())
            except ValueError:
                allowed = ", ".join(t.value for t in FieldType)
                raise DataError(f"--type must be one of {allowed}; got {type_!r}") from None
        panel = resolve_panel(data, meta, sample, synthetic, seed)
    infos = [fi for fi in panel.catalogue.values() if wanted is None or fi.type == wanted]
    if as_json:
        typer.echo(json.dumps([fi.to_json() for fi in infos], indent=2))
        return
    con = Console(highlight=False)
    cols = {
        "id": [fi.name for fi in infos],
        "type": [fi.type.value for fi in infos],
        "dataset": [fi.dataset for fi in infos],
        "category": [fi.category for fi in infos],
        "unit": [fi.unit.value for fi in infos],
        "cov": [_pct(fi.coverage) for fi in infos],
        "dateCov": [_pct(fi.date_coverage) for fi in infos],
    }
    used = sum(max([len(k), *map(len, v)]) + 3 for k, v in cols.items()) + 4
    width = max(40, con.width - used)  # the description takes what is left of the terminal
    if used + width > con.width:  # never squeeze columns to nothing: let a narrow terminal wrap lines
        con = Console(highlight=False, width=used + width)
    cols["description"] = [
        ("[approximate] " if fi.approximate else "") + fi.description.replace("\n", " ") for fi in infos
    ]
    table = Table(title=f"{len(infos)} fields of {panel.name or 'panel'} (full descriptions: --json)")
    for k in cols:
        table.add_column(k, no_wrap=True, justify="right" if k in ("cov", "dateCov") else "left")
    for row in zip(*cols.values(), strict=True):
        *head, desc = row
        short = desc if len(desc) <= width else desc[: width - 1] + "…"
        table.add_row(*head, short.replace("[", r"\["))
    con.print(table)

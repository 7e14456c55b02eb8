"""`alphamine parse-artifact`: import another tool's alphas into a run as candidates.

Why a command: alphas found elsewhere (brain_agent alpha lists, final-expression lists, a platform
simulation-status CSV) join a run's queue so `resume` lints, simulates, varies and gates them like the
run's own, deduplicated against everything the store already holds. Formats and rules:
`alphamine.pipeline.import_formats` and `alphamine.pipeline.importing`.

Contract: a bad file (bad JSON, a row without an expression, a setting BRAIN would reject, a metric
that is not a number) is ONE red error line naming the file and each bad row's line (CSV) or item
(JSON index), exit code 2, and nothing is imported; so is an unknown run or `--kind`. Otherwise a
summary line, a table of the rows (added / duplicate with the existing candidate id / invalid with the
syntax error) and what happens next. `--dry-run` reads and checks everything and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from alphamine.cli.console import expression_column, make_console, print_table
from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, open_records, require_run

KINDS = ("final_expressions", "alpha_list", "simulation_status")  # `ImportKind`'s values (kept light for --help)
SHOWN_ROWS = 50
STYLES = {"added": "green", "duplicate": "yellow", "invalid": "red"}


def parse_artifact(
    run_id: Annotated[str, typer.Option("--run-id", help="The run that receives the candidates.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="final_expressions (JSON list of expressions), alpha_list (brain_agent alphas with settings) "
            "or simulation_status (CSV with an expression column, alpha ids, metrics, settings).",
        ),
    ],
    path: Annotated[Path, typer.Option("--path", help="The file to import.")],
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only check the file and show what would be imported; write nothing.")
    ] = False,
) -> None:
    """Import another tool's alphas into a run as candidates (deduplicated; `resume` simulates them)."""
    from rich.markup import escape

    from alphamine.pipeline.importing import ArtifactError, ImportKind, import_iteration, import_rows
    from alphamine.pipeline.importing import parse_artifact as read_artifact

    try:
        import_kind = ImportKind(kind.strip().lower())
    except ValueError:
        raise fail(escape(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")) from None
    with open_records(runtime_root, db) as store:
        require_run(store, run_id)
        try:
            rows = read_artifact(import_kind, path)
            iteration, note = import_iteration(store, run_id)
            report = import_rows(store, run_id, rows, iteration=iteration, dry_run=dry_run)
        except ArtifactError as e:
            raise fail(escape(str(e))) from None
    _print_report(report, path, import_kind.value, note)


def _print_report(report: Any, path: Path, kind: str, note: str | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    added, dups, bad = len(report.added), len(report.duplicates), len(report.invalid)
    verb = "would import" if report.dry_run else "imported"
    console.print(
        f"{verb} {escape(path.name)} ({kind}) into run [bold]{escape(report.run_id)}[/bold], iteration "
        f"{report.iteration + 1}: {added} new, {dups} duplicate(s), {bad} invalid"
    )
    if report.rows:
        table = Table(title=f"rows of {escape(path.name)}", title_justify="left")
        for col in ("row", "outcome", "candidate"):
            table.add_column(col, justify="right" if col == "candidate" else "left")
        expression_column(table)
        table.add_column("detail", overflow="fold")
        for r in report.rows[:SHOWN_ROWS]:
            style = STYLES.get(str(r.outcome), "white")
            shown = "would add" if report.dry_run and str(r.outcome) == "added" else str(r.outcome)
            table.add_row(
                r.where,
                f"[{style}]{shown}[/{style}]",
                "" if r.candidate_id is None else f"#{r.candidate_id}",
                escape(r.expression),
                escape(r.detail),
            )
        print_table(console, table)
        if len(report.rows) > SHOWN_ROWS:
            console.print(f"... and {len(report.rows) - SHOWN_ROWS} more rows")
    if report.dry_run:
        console.print("dry run: nothing was written.")
    if note is not None and added:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    elif added and not report.dry_run:
        console.print(f"`alphamine resume --run-id {escape(report.run_id)}` lints and simulates them.")

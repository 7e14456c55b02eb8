"""`alphamine research ...`: research-quality views of what the store holds (`research summary`).

Why a sub-app: the research questions (is the search overfitting, what produces ready alphas, what
to change next) read several runs at once and grow their own commands; they stay out of `status`,
which describes one run's progress. Heavy modules (the store, the pipeline, NumPy) are imported inside
the command so `alphamine --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, open_records, require_run

research_app = typer.Typer(
    help="Research quality: what the runs produced, where candidates were lost, what to change.",
    no_args_is_help=True,
)
FORMATS = ("markdown", "json")


@research_app.command("summary")
def summary(
    run_id: Annotated[
        list[str] | None, typer.Option("--run-id", help="A run to summarize; repeat for several.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Without --run-id: the N most recent runs (default 1).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown (for people) or json (for machines).")] = "markdown",
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file instead of printing.")] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """The funnel, failure tags, what produces ready alphas, their OS/IS and validation/search ratios,
    trials, Sharpe by market regime, and plain-language recommendations."""
    from rich.markup import escape

    from alphamine.research.summary import dumps, summarize

    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {escape(fmt)!r}")
    if run_id and limit is not None:
        raise fail("choose --run-id or --limit, not both")
    with open_records(runtime_root, db) as store:
        if run_id:
            ids = [require_run(store, r).run_id for r in run_id]
        else:
            ids = [r.run_id for r in store.list_runs()[: limit or 1]]
            if not ids:
                raise fail(escape(f"no run in {store.url}; start one with `alphamine run`"))
        result = summarize(store, ids)
    text = dumps(result) + "\n" if fmt == "json" else result.to_markdown()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise fail(escape(f"cannot write {output}: {e}")) from None
    typer.echo(f"wrote the research summary of {len(ids)} run(s) to {output}")

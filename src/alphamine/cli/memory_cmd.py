"""`alphamine memory ...`: the alpha memory across runs (`memory ingest`, `memory summary`).

Why a sub-app: the memory is its own file (`<runtime-root>/alpha_memory.sqlite3`, `store.memory`),
filled from the store run by run and read by people (the summary) and by the next run's generators.
`ingest` reads the store (the runtime root's, or `--db`) and writes only the memory; `summary` reads
only the memory. Heavy modules are imported inside the commands so `alphamine --help` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, open_records, require_run

if TYPE_CHECKING:
    from alphamine.store.memory import AlphaMemory

memory_app = typer.Typer(
    help="Alpha memory across runs: what worked and what kept failing, by field family, operator, template, "
    "thesis and failure mode.",
    no_args_is_help=True,
)
FORMATS = ("markdown", "json")
HalfLifeOpt = Annotated[
    float | None,
    typer.Option("--half-life-days", min=0.0, help="Evidence half-life in days (default 90; 0: no decay)."),
]


@contextmanager
def open_memory(runtime_root: Path, half_life_days: float | None = None) -> Iterator[AlphaMemory]:
    """The memory of `runtime_root`, closed afterwards; a memory problem (a damaged file, a newer
    version) is one red error line and exit code 2, like the store's."""
    from alphamine.cli.errors import store_errors
    from alphamine.store.memory import DEFAULT_HALF_LIFE_DAYS, AlphaMemory

    with store_errors():
        half_life = DEFAULT_HALF_LIFE_DAYS if half_life_days is None else half_life_days
        memory = AlphaMemory.at_root(runtime_root, half_life_days=half_life)
        try:
            yield memory
        finally:
            memory.close()


@memory_app.command("ingest")
def ingest(
    run_id: Annotated[list[str], typer.Option("--run-id", help="A run to learn from; repeat for several.")],
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Record what the runs' candidates were and how they ended (re-ingesting a run replaces its evidence)."""
    from rich.markup import escape

    with open_records(runtime_root, db) as store, open_memory(runtime_root) as memory:
        for rid in run_id:
            require_run(store, rid)
            n = memory.ingest(store, rid)
            run = next((r for r in memory.runs() if r.run_id == rid), None)
            detail = (f" ({run.learnable} simulated and decided, {run.invalid} invalid, "
                      f"{run.undecided + run.untested} not judged)") if run else ""
            typer.echo(escape(f"ingested {n} candidates of run {rid}{detail} into {memory.where}"))


@memory_app.command("summary")
def summary(
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Only this dataset (sample, synthetic, file:<name>, brain:<id>).")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only this region, e.g. USA.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown (for people) or json (for machines).")] = "markdown",
    limit: Annotated[int, typer.Option("--limit", min=1, help="Rows per section.")] = 20,
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file instead of printing.")] = None,
    half_life_days: HalfLifeOpt = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Field families, operators, skeletons, templates, thesis types and prompts with their success and
    hard-failure rates, failure modes, learned repairs and recent runs."""
    from rich.markup import escape

    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, got {escape(fmt)!r}")
    from alphamine.store.memory_schema import MEMORY_FILENAME

    if not (runtime_root / MEMORY_FILENAME).is_file():
        raise fail(escape(f"no alpha memory in {runtime_root} yet; fill it with `alphamine memory ingest --run-id ID`"))
    with open_memory(runtime_root, half_life_days) as memory:
        result = memory.summary(dataset, region, limit=limit)
    text = json.dumps(result.to_json(), indent=2) + "\n" if fmt == "json" else result.to_markdown() + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise fail(escape(f"cannot write {output}: {e}")) from None
    typer.echo(escape(f"wrote the alpha memory summary to {output}"))

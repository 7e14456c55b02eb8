"""`alphamine prompt ...`: which prompt versions the research agents use, and their text.

Why a sub-app: a candidate an agent proposed records the prompt version behind it (`make-v1@3fa2c1`,
`+k2,k5` for the approved lessons rendered in); these commands show what such a version is, whether it
is the built-in template or a personal override in `<runtime-root>/prompts/<name>.j2`, and which
approved lessons the next render would add. `alphamine.llm.prompts` is imported inside each command.

`prompt compare --run-id BASE --run-id EXP` judges a prompt change by its runs: the logic, the figures
and the promotion rule live in `alphamine.llm.compare`; this command only opens the store and prints
(or writes) the markdown or JSON. Runs that are not comparable are one red line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from alphamine.cli.console import make_console, print_table
from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt, open_records

prompt_app = typer.Typer(
    help="Versioned prompts of the research agents: list them, show one, compare two runs.",
    no_args_is_help=True,
)


def _library(runtime_root: Path) -> Any:
    from alphamine.llm.prompts import PromptLibrary

    return PromptLibrary(runtime_root)


def _knowledge_ids(library: Any) -> list[str]:
    """The approved lessons the next render of a knowledge-reading prompt would include."""
    from alphamine.llm.knowledge import KnowledgeError

    try:
        return list(library.knowledge.compact(max_chars=library.knowledge_chars)[1])
    except KnowledgeError as e:
        raise fail(escape(str(e))) from None


@prompt_app.command("list")
def list_(runtime_root: RootOpt = DEFAULT_ROOT) -> None:
    """Every prompt with its version and where its template comes from."""
    from alphamine.llm.prompts import PromptError

    library = _library(runtime_root)
    try:
        infos = library.list()
    except PromptError as e:
        raise fail(escape(str(e))) from None
    console = make_console()
    table = Table(title="prompts", title_justify="left")
    for col in ("name", "version", "source", "path"):
        table.add_column(col, overflow="fold" if col == "path" else "ellipsis")
    for info in infos:
        style = "yellow" if info.source == "override" else "white"
        table.add_row(info.name, info.version, f"[{style}]{info.source}[/{style}]", escape(str(info.path)))
    print_table(console, table)
    ids = _knowledge_ids(library)
    console.print("approved knowledge rendered into prompts that read it: " + (",".join(ids) if ids else "none"))


@prompt_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Prompt name, e.g. make-v1 (see `alphamine prompt list`).")],
    runtime_root: RootOpt = DEFAULT_ROOT,
) -> None:
    """A prompt's version, source and template text (as the agents would render it now)."""
    from alphamine.llm.knowledge import KnowledgeError
    from alphamine.llm.prompts import PromptError

    library = _library(runtime_root)
    try:
        tmpl = library.get(name)
        recorded = library.recorded_version(name)
    except (PromptError, KnowledgeError) as e:
        raise fail(escape(str(e))) from None
    info = tmpl.info
    typer.echo(f"{info.name}: {info.version}")
    typer.echo(f"source: {info.source} ({info.path})")
    if recorded != info.version:
        typer.echo(f"recorded as: {recorded} (with the approved lessons rendered into it)")
    typer.echo("")
    typer.echo(tmpl.text.rstrip("\n"))


@prompt_app.command("compare")
def compare(
    run_ids: Annotated[
        list[str],
        typer.Option("--run-id", help="Give it twice: the base run first, then the experiment run."),
    ],
    fmt: Annotated[str, typer.Option("--format", help="markdown or json.")] = "markdown",
    output: Annotated[Path | None, typer.Option("--output", help="Write the comparison to this file.")] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
) -> None:
    """Compare an experiment run with a base run on the same data and settings: valid-expression,
    promising and hard-failure rates, mean fitness, ready count, LLM tokens and cost per ready alpha;
    says whether the experiment is eligible for promotion."""
    from alphamine.llm.compare import CompareError, compare_runs, render

    if len(run_ids) != 2:
        raise fail(f"give --run-id exactly twice (BASE, then EXP); got {len(run_ids)}")
    if fmt not in ("markdown", "json"):
        raise fail(escape(f"--format must be markdown or json (got {fmt!r})"))
    with open_records(runtime_root, db) as store:
        try:
            comparison = compare_runs(store, run_ids[0], run_ids[1], runtime_root=runtime_root)
        except CompareError as e:
            raise fail(escape(str(e))) from None
    text = render(comparison, fmt)
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise fail(escape(f"cannot write {output}: {e.strerror or type(e).__name__}")) from None
    typer.echo(f"{comparison.verdict}; written to {output}")

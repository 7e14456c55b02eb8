"""`alphamine knowledge ...`: the lessons agents may read, and the person who approves them.

Why a sub-app: a lesson changes every prompt it is rendered into, so its whole life is explicit and
on the command line: `add` (or `starter`) proposes, `approve` makes it count, `revoke` takes it back,
`list` / `show` review, and `learn` drafts candidates from saved posts for a person to turn into
lessons (it never adds anything). The knowledge base is files under `<runtime-root>/knowledge/`
(`alphamine.llm.knowledge`), imported inside each command so `alphamine --help` stays fast. A problem
(unknown id, malformed machine-readable block, unreadable file) is one red line and exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from alphamine.cli.console import make_console, print_table
from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, RootOpt

knowledge_app = typer.Typer(
    help="Lessons for the research agents: add, review, approve, revoke; draft candidates from notes.",
    no_args_is_help=True,
)
IdArg = Annotated[str, typer.Argument(help="Lesson id, e.g. k3 (see `alphamine knowledge list`).")]
STATUSES = ("proposed", "approved", "revoked")


@contextmanager
def knowledge_errors() -> Iterator[None]:
    """`KnowledgeError` (and file errors) as the CLI contract: one red line, exit code 2."""
    from alphamine.llm.knowledge import KnowledgeError

    try:
        yield
    except (KnowledgeError, OSError) as e:
        raise fail(escape(str(e))) from None


def _base(runtime_root: Path) -> Any:
    from alphamine.llm.knowledge import KnowledgeBase

    return KnowledgeBase(runtime_root)


@knowledge_app.command("add")
def add(
    file: Annotated[Path, typer.Argument(help="A markdown lesson (optionally with a '## Machine Readable (JSON)' "
                                              "section holding a ```json block).")],
    title: Annotated[
        str | None, typer.Option("--title", help="Title (default: the file's first '# ' heading).")
    ] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
) -> None:
    """Add a lesson as proposed: it reaches no prompt until approved."""
    with knowledge_errors():
        lesson = _base(runtime_root).add(file, title)
    typer.echo(f"added {lesson.id} (proposed): {lesson.title}")
    typer.echo(f"approve it with `alphamine knowledge approve {lesson.id}` once reviewed")


@knowledge_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", help="Only proposed, approved or revoked.")] = None,
    runtime_root: RootOpt = DEFAULT_ROOT,
) -> None:
    """The lessons with their status, source and timestamps."""
    if status is not None and status.strip().lower() not in STATUSES:
        raise fail(f"--status must be one of {', '.join(STATUSES)}, got {escape(status)!r}")
    with knowledge_errors():
        lessons = _base(runtime_root).list(status.strip().lower() if status else None)
    console = make_console()
    if not lessons:
        console.print(f"no lessons in {escape(str(Path(runtime_root) / 'knowledge'))}; add one with "
                      "`alphamine knowledge add FILE` or the starter set with `alphamine knowledge starter`")
        return
    table = Table(title="knowledge", title_justify="left")
    for col in ("id", "status", "title", "source", "created", "approved"):
        table.add_column(col, overflow="fold" if col in ("title", "source") else "ellipsis")
    style = {"approved": "green", "revoked": "red"}
    for x in lessons:
        s = style.get(x.status, "yellow")
        table.add_row(x.id, f"[{s}]{x.status}[/{s}]", escape(x.title), escape(x.source), x.created[:19],
                      (x.approved or "")[:19])
    print_table(console, table)


@knowledge_app.command("show")
def show(lesson_id: IdArg, runtime_root: RootOpt = DEFAULT_ROOT) -> None:
    """A lesson's metadata and its markdown text, as stored."""
    with knowledge_errors():
        x = _base(runtime_root).show(lesson_id)
    typer.echo(f"{x.id}: {x.title}")
    typer.echo(f"status: {x.status}  created: {x.created}" + (f"  approved: {x.approved}" if x.approved else "")
               + (f"  revoked: {x.revoked}" if x.revoked else ""))
    typer.echo(f"source: {x.source}")
    typer.echo(f"file: {x.path}")
    typer.echo("")
    typer.echo(x.text.rstrip("\n"))


@knowledge_app.command("approve")
def approve(lesson_id: IdArg, runtime_root: RootOpt = DEFAULT_ROOT) -> None:
    """Approve a lesson: from now on it is rendered into prompts (and into their recorded versions)."""
    with knowledge_errors():
        x = _base(runtime_root).approve(lesson_id)
    typer.echo(f"approved {x.id}: {x.title}")


@knowledge_app.command("revoke")
def revoke(lesson_id: IdArg, runtime_root: RootOpt = DEFAULT_ROOT) -> None:
    """Revoke a lesson: it no longer reaches any prompt (its file is kept)."""
    with knowledge_errors():
        x = _base(runtime_root).revoke(lesson_id)
    typer.echo(f"revoked {x.id}: {x.title}")


@knowledge_app.command("starter")
def starter(runtime_root: RootOpt = DEFAULT_ROOT) -> None:
    """Install alphamine's starter lessons as proposed (review and approve the ones you agree with)."""
    from alphamine.llm.knowledge import starter_lessons

    with knowledge_errors():
        added = _base(runtime_root).install_starter()
    for x in added:
        typer.echo(f"added {x.id} (proposed): {x.title}")
    kept = len(starter_lessons()) - len(added)
    typer.echo(f"{len(added)} starter lesson(s) installed as proposed" + (f", {kept} already there" if kept else ""))


@knowledge_app.command("learn")
def learn(
    folder: Annotated[Path, typer.Argument(help="Folder of saved posts or notes (.md, .html, .txt).")],
    topic: Annotated[str, typer.Option("--topic", help="What to look for, e.g. 'turnover control'.")],
    output: Annotated[Path | None, typer.Option("--output", help="Write the report here instead of printing.")] = (
        None
    ),
    runtime_root: RootOpt = DEFAULT_ROOT,
    llm: Annotated[
        bool | None, typer.Option("--llm/--no-llm", help="Draft with the LLM (default: when one is configured).")
    ] = None,
) -> None:
    """Draft candidate lessons about a topic from saved notes, with their sources, for review: with the
    LLM when one is configured, a deterministic keyword extractor otherwise; nothing is added or approved."""
    from alphamine.cli.llm_factory import decide_llm
    from alphamine.llm.knowledge import learn as draft

    if not topic.strip():
        raise fail("--topic must name what to look for")
    try:
        use, line = decide_llm(llm)
    except ValueError as e:
        raise fail(escape(str(e))) from None
    typer.echo(line, err=True)
    client = None
    if use:
        from alphamine.llm.budget import Budget
        from alphamine.llm.client import LLMClient
        from alphamine.llm.config import resolve_config

        client = LLMClient(resolve_config().config, Budget())
    with knowledge_errors():
        report = draft(folder, topic.strip(), client, runtime_root=runtime_root)
    text = report.to_markdown()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise fail(escape(f"cannot write {output}: {e}")) from None
    typer.echo(f"wrote {len(report.candidates)} candidate lesson(s) about {topic.strip()!r} to {output}")

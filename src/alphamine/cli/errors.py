"""How the run-record commands report a broken store or a crashed run: in words, never a traceback
when the words suffice.

Why a module: `status`, `candidates`, `report`, `gate`, `export`, `run` and `resume` all open the
store; a damaged file used to surface as a SQLAlchemy traceback in each of them, and a crashed run was
reported with a fixed sentence ("the run is marked failed ... runs/<run id>/logs/error.log") whether
or not any of that had happened. The store and the controller now raise errors that carry the facts
(`StoreError` messages name the store; `RunFailed` says whether the run was marked and where the
traceback went); this module turns them into the CLI's contract:

- a store problem: ONE red ``error:`` line on stderr naming the store and the remedy, exit code 2
  (`store_errors`, `store_exit`);
- a crashed run (`crashed`): what failed, whether the run is marked failed (or why it could not be),
  where the traceback is (or, when it could not be written, the traceback itself on stderr), and how
  to resume; exit code 1.

Heavy modules (SQLAlchemy, the pipeline) are imported only when an error is being reported, so
`--help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from alphamine.cli.data_cmd import fail


def store_exit(error: BaseException) -> typer.Exit | None:
    """If `error` is a store problem (any `StoreError`, or a database `OperationalError` such as
    "database is locked" or "disk I/O error"), print its one line on stderr and return Exit(2);
    otherwise return None (the caller re-raises)."""
    from sqlalchemy.exc import OperationalError

    from alphamine.store.errors import StoreError

    if isinstance(error, StoreError):
        return fail(escape(_one_line(str(error))))
    if isinstance(error, OperationalError):
        from alphamine.pipeline.controller import describe_error

        return fail(escape(f"the store failed: {describe_error(error)}"))
    return None


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn store problems raised inside the block into one error line and exit code 2 (`store_exit`);
    everything else (including `typer.Exit`) passes through unchanged."""
    try:
        yield
    except Exception as e:
        exit_ = store_exit(e)
        if exit_ is None:
            raise
        raise exit_ from None


def crashed(error: BaseException) -> typer.Exit:
    """Report an unexpected error of `alphamine run` / `resume` truthfully and return the Exit to raise.

    A store problem before the run began: one line, exit 2. A `RunFailed`: the facts it carries (module
    doc), exit 1. Anything else happened outside a started run: nothing was marked and no error.log
    exists, so the traceback goes to stderr; exit 1."""
    from alphamine.pipeline.controller import RunFailed, describe_error

    exit_ = store_exit(error)
    if exit_ is not None:
        return exit_
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not isinstance(error, RunFailed):
        err.print(f"[red]error:[/red] {escape(describe_error(error))}")
        err.print("no run was marked failed and no error.log was written; the traceback follows:")
        _print_traceback(error)
        return typer.Exit(1)
    err.print(f"[red]error:[/red] {escape(_one_line(str(error)))}")
    if error.mark_error is None:
        err.print("the run is marked failed; everything committed is kept.")
    else:
        err.print(
            f"the run could not be marked failed ({escape(describe_error(error.mark_error))}); "
            "everything committed before the error is kept."
        )
    if error.log_error is None:
        err.print(f"the traceback is in {escape(str(error.error_log))}")
    else:
        why = escape(describe_error(error.log_error))
        err.print(f"the traceback could not be written to {escape(str(error.error_log))} ({why}); here it is:")
        typer.echo(error.traceback_text.rstrip("\n"), err=True)
    err.print(f"fix the cause, then `alphamine resume --run-id {escape(error.run_id)}`")
    return typer.Exit(1)


def _print_traceback(error: BaseException) -> None:
    import traceback

    typer.echo("".join(traceback.format_exception(error)).rstrip("\n"), err=True)


def _one_line(text: str) -> str:
    """`text` with its line breaks folded, so an error is always one line."""
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())

"""The root Typer app's options, shared by the full command tree and the single-command fast path."""

from __future__ import annotations

import typer

APP_HELP = "Mine, check, simulate and report formulaic (FASTEXPR) alphas on local data."


def root_app() -> typer.Typer:
    return typer.Typer(
        name="alphamine",
        help=APP_HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

"""`alphamine` command line: the only composition root (ARCHITECTURE.md).

Why two ways in: building the full command tree imports every command module and has Typer inspect
some 60 function signatures (~0.1 s) before any command runs. `alphamine lint EXPR` is a command users
run in loops and editors, so `main` serves it from a tree holding only `lint` (same function, same
options, same help); every other invocation gets the full tree (`alphamine.cli.app`).
"""

from __future__ import annotations

import sys
from typing import Any

FAST_COMMANDS = ("lint",)


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] in FAST_COMMANDS:
        _single("lint")()
        return
    from alphamine.cli.app import app

    app()


def _single(name: str) -> Any:
    from alphamine.cli.lint_cmd import register_lint
    from alphamine.cli.root import root_app

    only = root_app()

    @only.callback()
    def _root() -> None:
        """Mine, check, simulate and report formulaic (FASTEXPR) alphas on local data."""

    register_lint(only)
    return only


def __getattr__(name: str) -> Any:
    if name == "app":  # `from alphamine.cli.main import app` (tests, embedding) gets the full tree
        from alphamine.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

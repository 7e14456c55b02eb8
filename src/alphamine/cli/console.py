"""Consoles and tables for terminals and for logs.

Why: without a TTY (`make run > log`, CI, a pipe) rich assumes 80 columns and wraps an expression
column one word per line. Without a TTY, tables are printed at their natural width but never
narrower than `LOG_WIDTH`, and expression columns never wrap (`no_wrap`), so a log holds each
expression on one line. A terminal keeps rich's behaviour (fit the window). `COLUMNS`, when set, is
honoured as a user's explicit choice in both cases.
"""

from __future__ import annotations

import io
import os
from typing import Any

from rich.console import Console
from rich.table import Table

LOG_WIDTH = 160
"""Minimum table width when stdout is not a terminal."""


def make_console(*, stderr: bool = False) -> Console:
    """The command's console: rich's defaults on a terminal, `LOG_WIDTH` columns otherwise."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, highlight=False, width=LOG_WIDTH)
    return console


def expression_column(table: Table, header: str = "expression", **kwargs: Any) -> None:
    """Add a column of expressions: on a terminal it folds to fit; in a log it never wraps."""
    table.add_column(header, overflow="fold", **kwargs)


def print_table(console: Console, table: Table) -> None:
    """Print `table`; without a terminal at max(natural width, LOG_WIDTH) with no wrapped cells."""
    if console.is_terminal or "COLUMNS" in os.environ:
        console.print(table)
        return
    for column in table.columns:
        column.no_wrap = True
        column.overflow = "ignore"
    natural = Console(width=100_000, file=io.StringIO()).measure(table).maximum
    width = max(LOG_WIDTH, natural)
    Console(file=console.file, width=width, highlight=False).print(table)

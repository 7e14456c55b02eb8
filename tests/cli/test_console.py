"""Tables in logs: without a terminal, expressions are never split across lines."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from alphamine.cli.console import LOG_WIDTH, expression_column, make_console, print_table
from alphamine.cli.main import app

LONG = " + ".join(f"ts_mean(close, {d})" for d in range(2, 14))  # ~200 characters


def test_print_table_keeps_long_cells_on_one_line(monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    console = Console(file=out, width=80)  # what rich assumes for a pipe
    table = Table(title="t")
    table.add_column("id")
    expression_column(table)
    table.add_column("status")
    table.add_row("1", LONG, "ready")
    table.add_row("2", "rank(close)", "rejected")
    print_table(console, table)
    lines = out.getvalue().splitlines()
    assert any(LONG in line for line in lines)
    assert sum("ts_mean" in line for line in lines) == 1
    assert max(len(line) for line in lines) > len(LONG)


def test_short_tables_use_the_log_width(monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    console = make_console()
    assert console.width == LOG_WIDTH  # pytest's stdout is not a terminal


def test_simulate_batch_table_in_a_log(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    f = tmp_path / "e.txt"
    f.write_text(f"{LONG}\n-rank(returns)\n")
    res = CliRunner().invoke(
        app, ["simulate", "--file", str(f), "--workers", "1", "--synthetic", "40,300", "--universe", "TOP40"]
    )
    assert res.exit_code == 0, res.output
    assert any(LONG in line for line in res.stdout.splitlines())

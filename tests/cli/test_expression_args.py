"""Expressions that start with '-' are positional arguments of every command that takes one."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alphamine.cli.expression_args import option_arities, split_expression_args
from alphamine.cli.main import app

runner = CliRunner()
SYN = ["--synthetic", "60,320", "--universe", "TOP60"]

LEADING_MINUS = [
    "-rank(close)",
    "-ts_zscore(close, 20)",
    "-1 * close",
    "-(close)",
    "-(close - open) / open",
    "--close",
    "-ts_corr(close, volume, 10)",
    "-returns",
    "-ts_delta(close, 5) + -rank(volume)",
    "- rank(close)",
    "-5 + close",
    "-abs(returns)",
]


@pytest.mark.parametrize("expr", LEADING_MINUS)
@pytest.mark.parametrize("where", ["first", "last", "middle"])
def test_lint_takes_leading_minus_expressions_anywhere(expr: str, where: str) -> None:
    args = {
        "first": ["lint", expr, "--builtin", "--json"],
        "last": ["lint", "--builtin", "--json", expr],
        "middle": ["lint", "--builtin", expr, "--json"],
    }[where]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == []  # --json still read as the option, wherever it stands


def test_lint_reports_the_expression_it_was_given() -> None:
    res = runner.invoke(app, ["lint", "-rank(close)", "--builtin"])
    assert res.exit_code == 0, res.output
    assert "canonical: -rank(close)" in res.stdout


@pytest.mark.parametrize("expr", ["-rank(close)", "-ts_zscore(close, 20)", "-(close - open) / open", "--close"])
def test_simulate_takes_leading_minus_expressions(expr: str) -> None:
    res = runner.invoke(app, ["simulate", expr, *SYN, "--decay", "2", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["regular"]["code"] == expr and doc["settings"]["decay"] == 2


def test_simulate_option_values_may_start_with_minus_too() -> None:
    # the value of a value-taking option is taken as is: --delay -1 is a (bad) delay, not an expression
    res = runner.invoke(app, ["simulate", "-rank(close)", *SYN, "--delay", "-1"])
    assert res.exit_code == 2
    assert "delay" in res.output.lower()


def test_leading_minus_expression_and_its_negation_differ() -> None:
    a = json.loads(runner.invoke(app, ["simulate", "rank(close)", *SYN, "--json"]).stdout)
    b = json.loads(runner.invoke(app, ["simulate", "-rank(close)", *SYN, "--json"]).stdout)
    assert a["is"]["sharpe"] == pytest.approx(-b["is"]["sharpe"], abs=0.02)


def test_an_expression_spelled_like_an_option_gets_a_clear_message() -> None:
    res = runner.invoke(app, ["lint", "--json"])
    assert res.exit_code == 1
    assert "'--json' was read as an option" in res.output and "after '--'" in res.output
    res = runner.invoke(app, ["simulate", *SYN, "--json"])
    assert res.exit_code == 2
    assert "'--json' was read as an option" in res.output


def test_double_dash_still_ends_options() -> None:
    res = runner.invoke(app, ["lint", "--builtin", "--json", "--", "--close"])
    assert res.exit_code == 0 and json.loads(res.stdout) == []
    res = runner.invoke(app, ["lint", "--builtin", "--", "--json"])
    assert res.exit_code == 2 and "UNKNOWN_FIELD" in res.output  # 'json' is not a field: an expression


def test_unknown_dashed_word_is_an_expression_not_an_invented_option() -> None:
    res = runner.invoke(app, ["lint", "--builtin", "--x"])
    assert res.exit_code == 2 and "unknown field or variable 'x'" in res.output


def test_split_rules() -> None:
    arities = {"--json": False, "--file": True, "-f": True, "--delay": True}
    assert split_expression_args(["-rank(x)", "--json"], arities) == (["--json"], ["-rank(x)"])
    assert split_expression_args(["--delay", "-1", "-x"], arities) == (["--delay", "-1"], ["-x"])
    assert split_expression_args(["--delay=2", "-x"], arities) == (["--delay=2"], ["-x"])
    assert split_expression_args(["-f", "a.txt"], arities) == (["-f", "a.txt"], [])
    assert split_expression_args(["--json", "--", "--json"], arities) == (["--json"], ["--json"])
    assert split_expression_args(["-"], arities) == ([], ["-"])


def test_option_arities_reads_flags_and_values() -> None:
    import typer.main

    lint = typer.main.get_command(app).commands["lint"]  # type: ignore[attr-defined]
    arities = option_arities(lint.params)
    assert arities["--json"] is False and arities["--file"] is True and arities["-f"] is True
    assert arities["--history"] is False and arities["--no-history"] is False

"""`alphamine lint`: exit codes, JSON, stdin/file input, catalogue sources, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from alphamine.cli.main import app

runner = CliRunner()


def lint(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["lint", *args], input=input)


def test_clean_expression_exits_zero() -> None:
    result = lint("--builtin", "rank(close - ts_mean(close, 20))")
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.output
    assert "canonical:" in result.output


def test_errors_exit_two_with_position_and_caret() -> None:
    result = lint("--builtin", "rank(clse)")
    assert result.exit_code == 2
    assert "<expr>:1:6: error UNKNOWN_FIELD" in result.output
    assert "  rank(clse)\n       ^~~~" in result.output
    assert "did you mean close" in result.output


def test_syntax_error_column() -> None:
    result = lint("--builtin", "rank(close))")
    assert result.exit_code == 2
    assert "1:12: error SYNTAX" in result.output
    assert "Traceback" not in result.output


def test_warnings_still_exit_zero() -> None:
    result = lint("--builtin", "close + volume")
    assert result.exit_code == 0
    assert "warning UNITS" in result.output


def test_json_output() -> None:
    result = lint("--builtin", "--json", "a = 1; rank(clse)")
    assert result.exit_code == 2
    payload = json.loads(result.output)
    assert isinstance(payload, list)
    assert [p["code"] for p in payload] == ["UNUSED_VARIABLE", "UNKNOWN_FIELD"]
    assert payload[1]["line"] == 1 and payload[1]["column"] == 13
    ok = lint("--builtin", "--json", "rank(close)")
    assert ok.exit_code == 0 and json.loads(ok.output) == []


def test_stdin_and_file(tmp_path: Path) -> None:
    result = lint("--builtin", "-", input="rank(close)\n")
    assert result.exit_code == 0, result.output
    program = tmp_path / "alpha.txt"
    program.write_text("/* idea */\na = ts_mean(close, 20);\nrank(a - vlume);\n")
    result = lint("--builtin", "--file", str(program))
    assert result.exit_code == 2
    assert f"{program}:3:10: error UNKNOWN_FIELD" in result.output


def test_input_errors_exit_one_without_traceback(tmp_path: Path) -> None:
    for args in (
        ["--builtin"],
        ["--builtin", "--file", str(tmp_path / "missing.txt")],
        ["--synthetic", "abc", "rank(close)"],
        ["--builtin", "--sample", "rank(close)"],
        ["--meta", "m.csv", "rank(close)"],
        ["--data", str(tmp_path / "nope.parquet"), "rank(close)"],
    ):
        result = lint(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
        assert "error:" in result.output


def test_odd_input_never_tracebacks() -> None:
    for source in ["\x00", "(" * 3000, '"', "-" * 5000 + "x", "a = ;;;"]:
        result = lint("--builtin", source)
        assert result.exit_code in (0, 2)
        assert "Traceback" not in result.output


def test_synthetic_catalogue_checks_history() -> None:
    result = lint("--synthetic", "20,60", "--json", "ts_mean(close, 100)")
    assert result.exit_code == 2, result.output
    assert [p["code"] for p in json.loads(result.output)] == ["LOOKBACK_TOO_LONG"]
    result = lint("--synthetic", "20,60", "--no-history", "ts_mean(close, 100)")
    assert result.exit_code == 0, result.output


def test_default_catalogue() -> None:
    """Default: the bundled sample (or the built-in catalogue when it is unavailable)."""
    result = lint("group_neutralize(rank(-ts_delta(close, 5)), industry)")
    assert result.exit_code == 0, result.output

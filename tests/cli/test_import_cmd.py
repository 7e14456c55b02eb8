"""`alphamine parse-artifact` through a real command line: each kind imports, a re-import is all
duplicates, a bad row is one red line naming the file and its line (exit 2, nothing imported),
`--dry-run` writes nothing. Real SQLite stores and files; the command is mounted on a small Typer app
the way `app.py` registers it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alphamine.cli.import_cmd import KINDS, parse_artifact
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.importing import ImportKind
from alphamine.pipeline.presets import resolve_settings
from alphamine.store import Store

DB = "alphamine.sqlite3"
runner = CliRunner()
app = typer.Typer(add_completion=False)
app.command("parse-artifact")(parse_artifact)


@app.command()
def other() -> None:
    """A second command, so `parse-artifact` stays a subcommand as in the real app."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A runtime root whose store holds run r1, as `start_run` records it before its first stage."""
    settings = resolve_settings(tmp_path, None, {"universe": "TOP50"})
    config = RunConfig(settings=settings.to_brain(), data=DataSource(kind="synthetic", n_instruments=50, n_days=300))
    with Store.open(tmp_path / DB) as store:
        store.create_run("r1", config=config.model_dump(mode="json"), seed=0, data_fingerprint="fp",
                         runtime_root=str(tmp_path))
    return tmp_path


def _import(root: Path, kind: str, path: Path, *extra: str):
    args = ["parse-artifact", "--run-id", "r1", "--kind", kind, "--path", str(path), "--runtime-root", str(root)]
    return runner.invoke(app, [*args, *extra], env={"COLUMNS": "200"})


def _candidates(root: Path) -> list:
    with Store.open(root / DB) as store:
        return store.candidates(run_id="r1")


FILES = {
    "final_expressions": ("f.json", json.dumps(["-ts_rank(close, 20)", "rank(-returns)"])),
    "alpha_list": ("a.json", json.dumps([
        {"type": "REGULAR", "settings": {"universe": "TOP20", "decay": 4}, "regular": "-ts_rank(close, 20)"},
        {"regular": {"code": "rank(-returns)"}, "id": "B7"},
    ])),
    "simulation_status": ("s.csv", 'alpha_id,expression,sharpe\nA1,"-ts_rank(close, 20)",1.1\nA2,rank(-returns),\n'),
}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_imports_then_reimports_as_duplicates(root: Path, kind: str) -> None:
    name, text = FILES[kind]
    path = root / name
    path.write_text(text, encoding="utf-8")
    res = _import(root, kind, path)
    assert res.exit_code == 0, res.output
    assert f"imported {name} ({kind}) into run r1, iteration 1: 2 new, 0 duplicate(s), 0 invalid" in res.output
    assert "-ts_rank(close, 20)" in res.output and "alphamine resume --run-id r1" in res.output
    rows = _candidates(root)
    assert len(rows) == 2 and {r.generator for r in rows} == {f"import:{kind}"}
    assert all(r.status == "generated" for r in rows)
    again = _import(root, kind, path)
    assert again.exit_code == 0, again.output
    assert "0 new, 2 duplicate(s), 0 invalid" in again.output and "of this run" in again.output
    assert len(_candidates(root)) == 2


@pytest.mark.parametrize(
    ("kind", "name", "text", "expected"),
    [
        ("alpha_list", "a.json", '[\n{"regular": "rank(close)"},\n{"regular": }\n]', "line 3, column 13: bad JSON"),
        ("final_expressions", "f.json", '["rank(close)", null]', "item 1: expected an expression string, got null"),
        ("simulation_status", "s.csv", "alpha_id,expression\nA1,rank(close)\nA2,\n", "line 3, expression: empty"),
        ("simulation_status", "s.csv", "expression,neutralization\nrank(close),SECTOR\nrank(open),COUNTRY\n",
         "line 3: invalid settings: neutralization must be one of"),
        ("simulation_status", "s.csv", "expression,sharpe\nrank(close),1\nrank(open),n/a\nrank(low),1.2.3\n",
         "line 4, sharpe: '1.2.3' is not a number"),
    ],
)
def test_a_bad_row_is_one_red_line_and_nothing_is_imported(
    root: Path, kind: str, name: str, text: str, expected: str
) -> None:
    path = root / name
    path.write_text(text, encoding="utf-8")
    res = _import(root, kind, path)
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith(f"error: {path}: ") and expected in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in res.output
    assert _candidates(root) == []


def test_dry_run_checks_and_writes_nothing(root: Path) -> None:
    path = root / "s.csv"
    path.write_text('expression\nrank(close)\n"rank(close"\nrank( close )\n', encoding="utf-8")
    res = _import(root, "simulation_status", path, "--dry-run")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "would import s.csv (simulation_status) into run r1, iteration 1: 1 new, 1 duplicate(s), 1 invalid" in out
    assert "would add" in out and "syntax error" in out and "repeats line 2" in out
    assert "dry run: nothing was written." in out and _candidates(root) == []


def test_unknown_run_kind_or_file_is_one_red_line(root: Path) -> None:
    path = root / "f.json"
    path.write_text('["rank(close)"]', encoding="utf-8")
    res = runner.invoke(app, ["parse-artifact", "--run-id", "nope", "--kind", "final_expressions", "--path",
                              str(path), "--runtime-root", str(root)])
    assert res.exit_code == 2 and res.stderr.startswith("error: no run 'nope' in "), res.output
    res = _import(root, "json", path)
    assert res.exit_code == 2 and "--kind must be one of final_expressions, alpha_list, simulation_status" in res.stderr
    res = _import(root, "alpha_list", root / "missing.json")
    assert res.exit_code == 2 and "missing.json: cannot read it" in res.stderr
    assert _candidates(root) == []


def test_a_finished_run_gets_a_note(root: Path) -> None:
    from alphamine.pipeline.config import STAGES

    with Store.open(root / DB) as store:
        for i in range(3):  # RunConfig's default max_iterations
            for stage in STAGES:
                store.finish_stage("r1", i, stage, {})
    path = root / "f.json"
    path.write_text('["rank(close)"]', encoding="utf-8")
    res = _import(root, "final_expressions", path)
    assert res.exit_code == 0, res.output
    assert "iteration 3: 1 new" in res.output and "has inspected all 3 of its iterations" in res.output


def test_kinds_match_the_pipeline() -> None:
    assert tuple(k.value for k in ImportKind) == KINDS

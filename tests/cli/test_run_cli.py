"""The pipeline commands end to end through the CLI on a small synthetic market."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alphamine.cli.main import app

runner = CliRunner()
DATA = ["--synthetic", "70,520", "--seed", "2"]
SMALL = [
    "--universe",
    "TOP70",
    "--max-iterations",
    "1",
    "--candidates",
    "10",
    "--max-variant-alphas",
    "1",
    "--max-variants-per-alpha",
    "2",
    "--workers",
    "1",
]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    res = runner.invoke(app, ["run", *DATA, *SMALL, "--run-id", "cli1", "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    assert "best candidates of run cli1" in res.output and "run_report.html" in res.output
    assert "Nothing was submitted" in res.output
    return root


def test_status_lists_and_details(root) -> None:
    res = runner.invoke(app, ["status", "--runtime-root", str(root)])
    assert res.exit_code == 0 and "cli1" in res.output and "finished" in res.output
    res = runner.invoke(app, ["status", "--run-id", "cli1", "--runtime-root", str(root)])
    assert res.exit_code == 0 and "GENERATE" in res.output and "funnel" in res.output


def test_candidates_list_show_and_export(root, tmp_path) -> None:
    res = runner.invoke(app, ["candidates", "list", "--run-id", "cli1", "--runtime-root", str(root)])
    assert res.exit_code == 0 and "candidates" in res.output
    out = tmp_path / "c.json"
    res = runner.invoke(app, ["export", "--run-id", "cli1", "--out", str(out), "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    records = json.loads(out.read_text())
    assert records and {"expression", "is_sharpe", "os_sharpe", "status", "parent_id"} <= set(records[0])
    child = next((r for r in records if r["parent_id"] is not None), records[0])
    res = runner.invoke(app, ["candidates", "show", str(child["id"]), "--runtime-root", str(root)])
    assert res.exit_code == 0 and "lineage" in res.output and "thesis" in res.output
    csv_out = tmp_path / "c.csv"
    assert runner.invoke(app, ["export", "--out", str(csv_out), "--runtime-root", str(root)]).exit_code == 0
    assert csv_out.read_text().startswith("id,")


def test_report_gate_and_resume_of_a_finished_run(root) -> None:
    res = runner.invoke(app, ["report", "--run-id", "cli1", "--runtime-root", str(root)])
    assert res.exit_code == 0 and "run_report.html" in res.output
    res = runner.invoke(app, ["gate", "--run-id", "cli1", "--runtime-root", str(root)])
    assert res.exit_code == 0 and "Nothing was submitted" in res.output
    res = runner.invoke(app, ["resume", "--run-id", "cli1", "--runtime-root", str(root), "--quiet"])
    assert res.exit_code == 0, res.output


def test_settings_presets_commands(tmp_path) -> None:
    res = runner.invoke(app, ["settings", "list", "--runtime-root", str(tmp_path)])
    assert res.exit_code == 0 and "sample_top500_industry" in res.output
    res = runner.invoke(
        app,
        [
            "settings",
            "save",
            "mine",
            "--from",
            "sample_top200_subindustry",
            "--decay",
            "9",
            "--runtime-root",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["settings", "show", "mine", "--runtime-root", str(tmp_path)])
    assert res.exit_code == 0 and json.loads(res.output)["decay"] == 9


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--synthetic", "50,400", "--universe", "TOP9999"],
        ["run", "--preset", "nope"],
        ["run", "--neutralization", "BOGUS"],
        ["resume", "--run-id", "nosuchrun"],
        ["candidates", "show", "999999"],
        ["status", "--run-id", "nosuchrun"],
        ["export", "--out", "x.txt"],
        ["settings", "show", "nope"],
    ],
)
def test_errors_are_one_line_exit_2(args, tmp_path) -> None:
    res = runner.invoke(app, [*args, "--runtime-root", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "error" in res.output.lower()


def test_doctor(tmp_path) -> None:
    res = runner.invoke(app, ["doctor", "--runtime-root", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "bundled sample" in res.output and "store" in res.output and "simulator" in res.output

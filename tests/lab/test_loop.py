"""The loop on a lab made by leanlab, with a scripted worker: N experiments give N well-formed
records; a judge error triggers the fix loop; a tampered judge or a worker writing the ledger stops
the run with nothing appended for that experiment; a reply with no JSON is a skipped iteration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alphamine.cli.lab_cmd import lab_app
from alphamine.lab.config import LabConfig
from alphamine.lab.judge import JudgeTampered
from alphamine.lab.ledger import LedgerTampered
from alphamine.lab.state import load_state
from tests.lab.conftest import make_leanlab_lab, read_records, runner_for, worker_cmd

LEANLAB_KEYS = ["tag", "experiment_file", "rmse", "mae", "best_so_far", "notes", "ts", "significant_best"]


def test_cli_runs_n_experiments_into_n_well_formed_records(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path, critic_every=3, director_every=3)
    result = CliRunner().invoke(lab_app, ["run", str(lab), "--n", "6", "--worker-cmd", worker_cmd()])
    assert result.exit_code == 0, result.output
    records = read_records(lab)
    assert len(records) == 6
    assert [r["experiment_file"] for r in records] == [f"experiments/exp_{i:03d}.py" for i in range(1, 7)]
    best = None
    for record in records:
        assert list(record) == LEANLAB_KEYS
        assert isinstance(record["rmse"], float) and record["tag"] == record["tag"].lower()
        assert record["notes"].startswith("Ridge regression, lambda=")
        is_best = best is None or record["rmse"] < best
        assert record["best_so_far"] is is_best and record["significant_best"] is is_best  # no noise band yet
        best = record["rmse"] if is_best else best
    critic, director = (lab / "Critic_Feedback.md").read_text(), (lab / "Director_Notes.md").read_text()
    assert "summary critic" in critic and "experiments/exp_006.py" in critic
    assert "summary director" in director and "## Frontier directions" in director
    state = load_state(LabConfig.load(lab))
    assert state is not None and state.run is None and state.next_n == 7
    assert state.ledger_size == (lab / "results.jsonl").stat().st_size


def test_summary_roles_are_deterministic(tmp_path: Path) -> None:
    texts = []
    for name in ("a", "b"):
        lab = make_leanlab_lab(tmp_path / name, critic_every=2, director_every=2)
        runner_for(lab, worker_cmd()).run(4)  # type: ignore[attr-defined]
        texts.append(((lab / "Critic_Feedback.md").read_text(), (lab / "Director_Notes.md").read_text()))
    assert texts[0] == texts[1]


def test_judge_error_asks_the_worker_to_fix_then_scores(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path, max_fix_calls=2)
    log = tmp_path / "calls.jsonl"
    lines: list[str] = []
    runner = runner_for(lab, worker_cmd("--broken", "2", "--hopeless", "3", "--log", str(log)), lines)
    runner.run(3)  # type: ignore[attr-defined]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(c["n"], c["mode"]) for c in calls] == [(1, "new"), (2, "new"), (2, "fix"), (3, "new"), (3, "fix"),
                                                     (3, "fix")]
    assert calls[2]["file"] == "experiments/exp_002.py"
    records = read_records(lab)
    assert len(records) == 3
    assert isinstance(records[1]["rmse"], float)  # fixed, then scored
    failed = records[2]
    assert failed["rmse"] is None and failed["best_so_far"] is False and failed["significant_best"] is False
    assert failed["notes"].startswith("invalid: ") and "broken on purpose" in failed["notes"]
    assert len(failed["notes"]) <= len("invalid: ") + 160
    assert any("asking the worker to fix it (1/2)" in line for line in lines)


def test_a_tampered_judge_stops_the_loop_and_refuses_to_restart(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path)
    result = CliRunner().invoke(lab_app, ["run", str(lab), "--n", "5", "--worker-cmd", worker_cmd("--tamper", "3")])
    assert result.exit_code == 2
    assert "the frozen judge changed (evaluation.py" in result.output
    assert "Traceback" not in result.output
    records = read_records(lab)
    assert [r["experiment_file"] for r in records] == ["experiments/exp_001.py", "experiments/exp_002.py"]
    with pytest.raises(JudgeTampered, match="refusing to start"):
        runner_for(lab, worker_cmd()).run(1)  # type: ignore[attr-defined]
    assert len(read_records(lab)) == 2
    # a person restores the judge: the unfinished run resumes and scores the written experiment 3 first
    text = (lab / "evaluation.py").read_text().replace("# a worker was here\n", "")
    (lab / "evaluation.py").write_text(text)
    result = CliRunner().invoke(lab_app, ["run", str(lab)])
    assert result.exit_code == 0, result.output
    assert [r["experiment_file"] for r in read_records(lab)][2] == "experiments/exp_003.py"
    assert len(read_records(lab)) == 5


def test_a_worker_writing_the_ledger_stops_the_run(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path)
    with pytest.raises(LedgerTampered, match="changed outside alphamine during the run"):
        runner_for(lab, worker_cmd("--ledger", "2")).run(4)  # type: ignore[attr-defined]
    lines = (lab / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["experiment_file"] == "experiments/fake.py"
    assert not (lab / "experiments" / "exp_003.py").exists()


def test_a_reply_without_json_is_a_skipped_iteration(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path)
    lines: list[str] = []
    result = runner_for(lab, worker_cmd("--garbage", "2"), lines).run(3)  # type: ignore[attr-defined]
    assert result.complete and result.new_records == 2
    assert any(line.startswith("skipped: the worker gave no JSON reply") for line in lines)
    assert load_state(LabConfig.load(lab)).run is None  # type: ignore[union-attr]


def test_worker_llm_without_an_llm_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = make_leanlab_lab(tmp_path)
    monkeypatch.setenv("ALPHAMINE_LLM", "off")  # the suite's kill switch is honoured
    result = CliRunner().invoke(lab_app, ["run", str(lab), "--n", "1", "--worker", "llm"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --worker llm: ALPHAMINE_LLM=off is set in the environment"
    for var in ("LLM_PROVIDER", "LLM_API_KEY", "LLM_BASE_URL", "LLM_MODEL", "MOONSHOT_API_KEY", "ALPHAMINE_LLM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no secret file
    result = CliRunner().invoke(lab_app, ["run", str(lab), "--n", "1", "--worker", "llm"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no LLM is configured")
    assert read_records(lab) == [] and not (lab / ".alphamine_lab.json").exists()


def test_lab_init_check_and_status(tmp_path: Path) -> None:
    lab = tmp_path / "mylab"
    cli = CliRunner()
    assert cli.invoke(lab_app, ["init", str(lab)]).exit_code == 0
    assert cli.invoke(lab_app, ["init", str(lab)]).exit_code == 2  # not empty
    checked = cli.invoke(lab_app, ["check", str(lab), "--worker-cmd", worker_cmd()])
    assert checked.exit_code == 0, checked.output
    assert "judge baseline — rmse=" in checked.output and "0 fail" in checked.output
    result = cli.invoke(lab_app, ["run", str(lab), "--n", "2", "--worker-cmd", worker_cmd()])
    assert result.exit_code == 0, result.output
    status = cli.invoke(lab_app, ["status", str(lab), "--json"])
    facts = json.loads(status.output)
    assert facts["metric"] == "rmse" and len(facts["results"]) == 2 and facts["judge_frozen"] is True
    assert facts["best"] == min(r["rmse"] for r in facts["results"])
    table = cli.invoke(lab_app, ["status", str(lab)])
    assert "best rmse: " in table.output and "judge: frozen, unchanged" in table.output
    (lab / "validate.py").write_text((lab / "validate.py").read_text() + "\n# edited\n")
    broken = cli.invoke(lab_app, ["check", str(lab)])
    assert broken.exit_code == 1 and "changed since the judge was frozen" in broken.output

"""Noise-aware progress: `lab noise` records the baseline's band; `significant_best` needs an
improvement beyond it (while `best_so_far` stays leanlab's raw flag); `--workers K` re-measures
the baseline under K-way load. The judge's noise is faked, deterministically, by offsets added in
turn to the baseline's rmse (see conftest)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alphamine.cli.lab_cmd import lab_app
from alphamine.lab.config import LabConfig
from alphamine.lab.state import load_state
from tests.lab.conftest import make_leanlab_lab, read_records, runner_for, worker_cmd

S = 0.1565
OFFSETS = [0.0, S, -S, S / 2, -S / 2]  # band = 2 * stdev = 0.2475: between the two improvements below


def test_noise_band_makes_best_so_far_significant_only_beyond_it(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path)
    (lab / "judge_jitter.json").write_text(json.dumps(OFFSETS))
    measured = CliRunner().invoke(lab_app, ["noise", str(lab), "--repeats", "5"])
    assert measured.exit_code == 0, measured.output
    state = load_state(LabConfig.load(lab))
    assert state is not None and state.judge  # `lab noise` froze the judge
    band = state.noise["1"]
    assert band["repeats"] == 5 and band["workers"] == 1
    assert band["band"] == pytest.approx(2 * statistics.stdev(OFFSETS), abs=1e-6)
    assert "band ±0.247" in measured.output

    runner_for(lab, worker_cmd()).run(6)  # type: ignore[attr-defined]
    records = read_records(lab)
    flags = [(r["experiment_file"][-7:-3], r["best_so_far"], r["significant_best"]) for r in records]
    # exp 2 beats exp 1 by 0.2556 (> band): significant; exp 6 beats exp 2 by 0.2393 (< band): raw best only
    assert flags == [("_001", True, True), ("_002", True, True), ("_003", False, False), ("_004", False, False),
                     ("_005", False, False), ("_006", True, False)]
    critic = (lab / "Critic_Feedback.md").read_text()  # written after experiment 5, before 6 started
    assert "experiments/exp_005.py" in critic and "exp_006" not in critic

    lines: list[str] = []
    runner_for(lab, worker_cmd(), lines).run(2, workers=2)  # type: ignore[attr-defined]
    assert any("re-measuring the baseline under 2-way load (5 repeats" in line for line in lines)
    state = load_state(LabConfig.load(lab))
    assert state is not None and set(state.noise) == {"1", "2"} and state.noise["2"]["workers"] == 2
    assert len(read_records(lab)) == 8


def test_the_critic_names_raw_bests_inside_the_band(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path, critic_every=6, director_every=6)
    (lab / "judge_jitter.json").write_text(json.dumps(OFFSETS))
    assert CliRunner().invoke(lab_app, ["noise", str(lab), "--repeats", "5"]).exit_code == 0
    runner_for(lab, worker_cmd()).run(6)  # type: ignore[attr-defined]
    critic = (lab / "Critic_Feedback.md").read_text()
    assert "inside the noise band (±0.247" in critic
    assert "- experiments/exp_006.py: flagged best_so_far inside the noise band." in critic
    assert "by more than the noise band (0.247" in critic


def test_freeze_with_a_new_judge_drops_old_bands(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path)
    (lab / "judge_jitter.json").write_text(json.dumps(OFFSETS))
    assert CliRunner().invoke(lab_app, ["noise", str(lab), "--repeats", "3"]).exit_code == 0
    (lab / "validate.py").write_text((lab / "validate.py").read_text() + "# v2\n")
    assert CliRunner().invoke(lab_app, ["noise", str(lab)]).exit_code == 2  # the judge changed
    assert CliRunner().invoke(lab_app, ["freeze", str(lab)]).exit_code == 0
    assert load_state(LabConfig.load(lab)).noise == {}  # type: ignore[union-attr]

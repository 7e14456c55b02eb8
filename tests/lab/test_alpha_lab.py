"""The alpha lab: FASTEXPR experiments (`.expr` or `.py`) judged by `alphamine simulate` on the bundled
sample with fixed settings; the objective is the search period's fitness (the `train` block of a
simulation with a one-year test period), OS and validation are recorded but hidden from the worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from alphamine.cli.lab_cmd import lab_app
from alphamine.lab.config import LabConfig
from alphamine.lab.ledger import Ledger
from alphamine.lab.prompts import worker_prompt
from tests.lab.conftest import read_records

ALPHA_WORKER = '''import json, os, sys
lab, n = sys.argv[1], int(sys.argv[2])
mode, target = os.environ["ALPHAMINE_LAB_MODE"], os.environ["ALPHAMINE_LAB_FILE"]
if mode == "fix":
    with open(os.path.join(lab, target), "w") as f:
        f.write('"""Reversal over 3 days, fixed."""\\nEXPRESSION = "rank(-ts_delta(close, 3))"\\n')
elif n == 1:
    target = "experiments/exp_001.expr"
    with open(os.path.join(lab, target), "w") as f:
        f.write("# Volume-confirmed reversal\\n-rank(returns) * rank(volume / adv20)\\n")
else:
    target = f"experiments/exp_{n:03d}.py"
    with open(os.path.join(lab, target), "w") as f:
        f.write('"""A typo: a field that does not exist."""\\nEXPRESSION = "rank(-ts_delta(closing, 3))"\\n')
print(json.dumps({"experiment_file": target, "valid": True, "notes": "alpha"}))
'''
SETTINGS = ["--sample", "--universe", "TOP500", "--delay", "1", "--decay", "0", "--neutralization", "INDUSTRY",
            "--truncation", "0.08", "--test-period", "P1Y"]


def test_alpha_lab_scores_search_period_fitness_and_hides_os(tmp_path: Path) -> None:
    lab = tmp_path / "alphas"
    worker = tmp_path / "alpha_worker.py"
    worker.write_text(ALPHA_WORKER)
    command = f'"{sys.executable}" "{worker}" {{lab}} {{n}}'
    cli = CliRunner()
    assert cli.invoke(lab_app, ["init", str(lab), "--template", "alpha"]).exit_code == 0
    checked = cli.invoke(lab_app, ["check", str(lab), "--worker-cmd", command])
    assert checked.exit_code == 0, checked.output
    assert "judge baseline — fitness=" in checked.output and "eval metric — emits the objective key" in checked.output
    result = cli.invoke(lab_app, ["run", str(lab), "--n", "2", "--worker-cmd", command])
    assert result.exit_code == 0, result.output
    assert "experiments/exp_002.py: INVALID: UNKNOWN_FIELD" in result.output  # validate -> fix loop
    records = read_records(lab)
    assert [r["experiment_file"] for r in records] == ["experiments/exp_001.expr", "experiments/exp_002.py"]
    assert records[0]["notes"] == "Volume-confirmed reversal"
    for record in records:
        for key in ("fitness", "sharpe", "turnover", "validation_fitness", "os_fitness", "os_sharpe"):
            assert isinstance(record[key], float), key

    # the objective is the train block (search period), not IS and not OS
    sim = subprocess.run([sys.executable, "-m", "alphamine", "simulate", *SETTINGS, "--json", "--",
                          "-rank(returns) * rank(volume / adv20)"], capture_output=True, text=True, check=True)
    blocks = json.loads(sim.stdout)
    assert records[0]["fitness"] == blocks["train"]["fitness"] != blocks["is"]["fitness"]
    assert records[0]["os_fitness"] == blocks["os"]["fitness"]
    assert records[0]["validation_fitness"] == blocks["test"]["fitness"]

    cfg = LabConfig.load(lab)
    prompt = worker_prompt(cfg, Ledger(cfg).read(), 3)
    assert "fitness=" in prompt and "sharpe=" in prompt
    memory = prompt[prompt.index("MEMORY"):]
    assert "os_fitness=" not in memory and "validation_fitness=" not in memory and "os_sharpe" not in memory

"""leanlab (the PyPI package, 0.2.4) and alphamine on the same lab folder, both ways.

- leanlab's own readers (`Lab.load`, `ResultsStore`, its dashboard's `Dashboard.build_state`, its
  Worker prompt's MEMORY) read a results.jsonl that alphamine wrote and agree on the best value
  and on every `best_so_far` flag.
- leanlab's doctor passes an alphamine-made lab (every check but the `claude` CLI it needs).
- leanlab's own loop (`ExperimentLoop`, with a stand-in for its Claude runner) appends to a lab, and
  alphamine continues the same ledger: it adopts leanlab's records and both still agree.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from alphamine.lab.config import LabConfig
from alphamine.lab.ledger import Ledger
from tests.lab.conftest import SAMPLE, make_leanlab_lab, read_records, runner_for, worker_cmd

leanlab_loop = pytest.importorskip("leanlab.core.loop", reason="leanlab (dev extra) is not installed")
from leanlab.core.agents.port import AgentResult, AgentRunner  # noqa: E402
from leanlab.core.doctor import LabDoctor  # noqa: E402
from leanlab.core.monitor import Dashboard  # noqa: E402


def _leanlab_flags(rows: list[dict[str, object]], metric: str, direction: str) -> list[bool]:
    flags, best = [], None
    for row in rows:
        value = leanlab_loop.ResultsStore.metric_val(row, metric)
        better = value is not None and leanlab_loop.ResultsStore.is_better(value, best, direction)
        flags.append(better)
        best = value if better else best
    return flags


def test_leanlab_reads_alphamine_results_and_agrees_on_the_best(tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path, max_fix_calls=1)
    runner_for(lab, worker_cmd("--hopeless", "3")).run(6)  # type: ignore[attr-defined]
    ours = LabConfig.load(lab)
    theirs = leanlab_loop.Lab.load(lab)
    rows = leanlab_loop.ResultsStore(theirs).read()
    assert rows == read_records(lab) and len(rows) == 6 and rows[2]["rmse"] is None
    best = Ledger(ours).best()
    assert leanlab_loop.ResultsStore(theirs).best_value() == best
    assert Dashboard(lab).build_state()["best"] == best
    assert Dashboard(lab).build_state()["latest"] == rows[-1]["rmse"]
    assert [r["best_so_far"] for r in rows] == _leanlab_flags(rows, "rmse", "min")
    memory = leanlab_loop.Prompts.memory(rows, theirs.metric, theirs.direction)
    top = min((r for r in rows if r["rmse"] is not None), key=lambda r: r["rmse"])
    assert memory.splitlines()[1].startswith(f"- {top['experiment_file']} :: rmse={top['rmse']}")


def test_leanlab_doctor_passes_an_alphamine_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from alphamine.lab.scaffold import init_lab

    lab = init_lab(tmp_path / "fromalphamine", "regression").dir
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    checks = {c.name: c for c in LabDoctor(lab).check()}
    failed = {name for name, c in checks.items() if c.status == "fail"}
    assert failed <= {"claude CLI"}
    assert checks["eval metric"].status == "ok" and checks["eval args"].status == "ok"


class _FakeClaude(AgentRunner):
    """Stands in for leanlab's Claude runner: writes one experiment file per turn."""

    def __init__(self, lab: Path) -> None:
        self.lab, self.count = lab, 0

    def run_structured(self, prompt: str, required_keys: object, *, session: str | None = None) -> AgentResult:
        self.count += 1
        rel = f"experiments/leanlab_{self.count:02d}.py"
        text = SAMPLE.replace("Baseline: predict the training mean.", f"leanlab's experiment {self.count}.")
        if self.count == 2:
            text = text.replace("sum(ys) / len(ys)", "sorted(ys)[len(ys) // 2]")  # the median
        (self.lab / rel).write_text(text)
        return AgentResult({"experiment_file": rel, "valid": True, "notes": "x"}, session_id="s1", raw="")

    def run_plain(self, prompt: str) -> None:
        pass


def test_leanlab_and_alphamine_share_one_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = make_leanlab_lab(tmp_path)
    # leanlab's commands are `uv run python ...`; without uv, point them at this interpreter
    cfg = json.loads((lab / "lab.json").read_text())
    for key in ("eval_cmd", "validate_cmd"):
        cfg[key] = cfg[key].replace("uv run python", sys.executable)
    (lab / "lab.json").write_text(json.dumps(cfg))
    monkeypatch.chdir(lab)
    theirs = leanlab_loop.Lab.load(lab)
    leanlab_loop.ExperimentLoop(theirs, runner=_FakeClaude(lab)).run(2)
    assert [r["experiment_file"] for r in read_records(lab)] == ["experiments/leanlab_01.py",
                                                                 "experiments/leanlab_02.py"]
    lines: list[str] = []
    runner_for(lab, worker_cmd(), lines).run(3)  # type: ignore[attr-defined]
    assert any(line.startswith("froze the judge") for line in lines)  # alphamine's first look: adopts all
    rows = read_records(lab)
    assert len(rows) == 5 and {"significant_best"} <= set(rows[-1]) and "significant_best" not in rows[0]
    assert leanlab_loop.ResultsStore(theirs).best_value() == Ledger(LabConfig.load(lab)).best()
    assert [r["best_so_far"] for r in rows] == _leanlab_flags(rows, "rmse", "min")
    leanlab_loop.ExperimentLoop(theirs, runner=_FakeClaude(lab)).run(1)  # leanlab again, after alphamine
    lines.clear()
    runner_for(lab, worker_cmd(), lines).run(1)  # type: ignore[attr-defined]
    assert any("adopted 1 record(s) appended outside alphamine" in line for line in lines)
    assert len(read_records(lab)) == 7

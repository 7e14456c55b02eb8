"""Shared fixtures for the lab tests: a lab folder made with leanlab's own scaffold, and helpers.

`leanlab_lab` is "a lab made by leanlab": leanlab 0.2.4's `LabScaffold.create` writes lab.json (with
leanlab's `uv run python ... --experiment {file}` commands), results.jsonl and the notes files; the
test then writes what leanlab's init architect would have drafted: task.md, a frozen judge for a
small seeded regression (stdlib only, so it runs with or without uv), validate.py and the baseline.
The judge has two test hooks that live outside the hashed files: `judge_delay` (seconds to sleep)
and `judge_jitter.json` (offsets added, in turn, to the baseline's rmse, to fake a noisy judge).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("scripted_worker.py")

EVALUATION = '''"""Frozen judge: a seeded 240-row regression, 75/25 split; prints one JSON line."""
import argparse
import json
import os
import sys

p = argparse.ArgumentParser()
p.add_argument("--experiment", required=True)
a = p.parse_args()
if not os.path.isfile(a.experiment):
    print(json.dumps({"rmse": None, "error": "experiment file not found: " + a.experiment}))
    sys.exit(2)

import fcntl, importlib.util, math, random, time

if os.path.exists("judge_delay"):
    time.sleep(float(open("judge_delay").read()))
rng = random.Random(0)
X = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(240)]
Y = [1.5 * x[0] - 2.0 * x[1] + 0.5 * x[2] + math.sin(2.0 * x[0]) + 0.3 * rng.gauss(0, 1) for x in X]
spec = importlib.util.spec_from_file_location("experiment", a.experiment)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
model = mod.build_model()
model.fit(X[:180], Y[:180])
pred = model.predict(X[180:])
err = [p - y for p, y in zip(pred, Y[180:])]
rmse = math.sqrt(sum(e * e for e in err) / len(err))
if a.experiment.endswith("sample.py") and os.path.exists("judge_jitter.json"):
    with open("judge_jitter.count", "a+") as c:
        fcntl.flock(c, fcntl.LOCK_EX)
        c.seek(0)
        k = len(c.read())
        c.write("x")
    offsets = json.load(open("judge_jitter.json"))
    rmse += offsets[k % len(offsets)]
print(json.dumps({"rmse": round(rmse, 6), "mae": round(sum(abs(e) for e in err) / len(err), 6)}))
'''

VALIDATE = '''"""Cheap check: build_model() fits 30 rows and predicts 5."""
import argparse
import os
import sys

p = argparse.ArgumentParser()
p.add_argument("--experiment", required=True)
a = p.parse_args()
if not os.path.isfile(a.experiment):
    print("INVALID: experiment file not found: " + a.experiment)
    sys.exit(2)
import importlib.util, random

try:
    spec = importlib.util.spec_from_file_location("experiment", a.experiment)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rng = random.Random(1)
    xs = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(30)]
    model = mod.build_model()
    model.fit(xs, [sum(x) for x in xs])
    out = model.predict(xs[:5])
    assert len(out) == 5, "predict must return one number per row"
except Exception as e:
    print(f"INVALID: {type(e).__name__}: {e}")
    sys.exit(1)
print("VALID")
'''

SAMPLE = '''"""Baseline: predict the training mean."""


class Mean:
    def fit(self, xs, ys):
        self.m = sum(ys) / len(ys)
        return self

    def predict(self, xs):
        return [self.m for _ in xs]


def build_model():
    return Mean()
'''

TASK = """# Task: seeded regression

Minimise rmse on the held-out quarter of a seeded 240-row data set (3 features).
Experiment contract: experiments/<name>.py defines build_model() -> object with fit(X, y), predict(X)
on lists of floats. Validate: uv run python validate.py --experiment experiments/<name>.py
"""


def make_leanlab_lab(root: Path, name: str = "regress", **overrides: object) -> Path:
    """A lab made by leanlab's own scaffold (module doc); `overrides` go into lab.json."""
    from leanlab.core.init import LabScaffold

    lab = root / ".leanlab" / name
    LabScaffold.create(lab, name)
    cfg = json.loads((lab / "lab.json").read_text())
    cfg["objective"] = {"metric": "rmse", "direction": "min"}
    cfg["description"] = "seeded regression"
    cfg.update(overrides)
    (lab / "lab.json").write_text(json.dumps(cfg, indent=2) + "\n")
    (lab / "task.md").write_text(TASK)
    (lab / "evaluation.py").write_text(EVALUATION)
    (lab / "validate.py").write_text(VALIDATE)
    (lab / "experiments" / "sample.py").write_text(SAMPLE)
    return lab


@pytest.fixture
def leanlab_lab(tmp_path: Path) -> Path:
    return make_leanlab_lab(tmp_path)


def worker_cmd(*extra: str) -> str:
    """A `--worker-cmd` template running the test worker with `extra` arguments."""
    return " ".join([f'"{sys.executable}"', f'"{WORKER}"', "{lab}", "{n}", *extra])


def read_records(lab: Path) -> list[dict[str, object]]:
    lines = [ln for ln in (lab / "results.jsonl").read_text().splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines]  # every line must parse: json.loads raises otherwise


Runner = Callable[..., object]


def runner_for(lab: Path, template: str, lines: list[str] | None = None) -> object:
    """A `LabRunner` on `lab` with the scripted test worker and the summary roles."""
    from alphamine.lab.config import LabConfig
    from alphamine.lab.loop import LabRunner
    from alphamine.lab.roles import SummaryCritic, SummaryDirector
    from alphamine.lab.workers import ScriptedWorker

    cfg = LabConfig.load(lab)
    sink = lines if lines is not None else []
    return LabRunner(cfg, ScriptedWorker(cfg, template), critic=SummaryCritic(), director=SummaryDirector(),
                     echo=sink.append, worker_cmd=template)

"""`alphamine prompt compare`: two real small runs in one store (synthetic market), the experiment's LLM
usage recorded from a real generator call against the fake server, the promotion rule, and runs that
differ in data or settings refused with the difference named."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner, Result

from alphamine.brain.credentials import Secret
from alphamine.brain.retry import RetryPolicy
from alphamine.cli.prompt_cmd import prompt_app
from alphamine.generate import GenerationContext
from alphamine.llm.budget import Budget
from alphamine.llm.client import LLMClient
from alphamine.llm.compare import CompareError, RunFigures, compare_runs, judge, render
from alphamine.llm.config import LLMConfig
from alphamine.llm.generator import LLMGenerator
from alphamine.llm.prompts import PromptLibrary
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import load_panel, start_run
from alphamine.pipeline.presets import resolve_settings
from alphamine.pipeline.run_usage import write_usage
from alphamine.pipeline.validation import search_metrics
from alphamine.store import Store
from tests.llm.fake_server import FakeLLMServer, Scripted

runner = CliRunner()
app = typer.Typer()
app.add_typer(prompt_app, name="prompt")
THESIS = {"type": "reversal", "rationale": "overreaction reverts", "failure_mode": "trends"}


@app.callback()
def _root() -> None:
    """A bare root, as `alphamine` has."""


def _config(root: Path, seed: int, **settings: object) -> RunConfig:
    resolved = resolve_settings(root, None, {"universe": "TOP50", "decay": 2, **settings})
    return RunConfig(
        seed=seed,
        settings=resolved.to_brain(),
        data=DataSource(kind="synthetic", n_instruments=50, n_days=400, seed=5),
        max_iterations=1,
        target_ready=50,
        candidates_per_iteration=8,
        max_variant_alphas=1,
        max_variants_per_alpha=2,
        max_enhance_alphas=1,
        workers=1,
        batch_size=4,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    for run_id, seed in (("base", 3), ("exp", 4)):
        start_run(_config(root, seed), runtime_root=root, run_id=run_id, console=Console(quiet=True), quiet=True)
    return root


def _cli(root: Path, *args: str) -> Result:
    return runner.invoke(app, ["prompt", "compare", *args, "--runtime-root", str(root)])


def test_compare_two_real_runs_with_recorded_llm_usage(runs: Path, llm_server: FakeLLMServer) -> None:
    # the experiment's LLM usage: a real make-v1 call (one expression dropped at the lint gate)
    panel = load_panel(DataSource(kind="synthetic", n_instruments=50, n_days=400, seed=5))
    ctx = GenerationContext(
        panel.catalogue, panel.n_days, resolve_settings(runs, None, {"universe": "TOP50"}), np.random.default_rng(0)
    )
    budget = Budget()
    client = LLMClient(
        LLMConfig("custom", llm_server.url, "fake-model", Secret(llm_server.key), 5.0),
        budget,
        retry=RetryPolicy(max_attempts=2, base=0.0, cap=0.0, jitter=0.0),
        rng=random.Random(0),
    )
    llm_server.script(
        Scripted.ok(
            json.dumps({"thesis": THESIS, "expressions": ["rank(-returns)", "rank(nope_field)"]}), usage=(800, 200)
        ),
        Scripted.ok(json.dumps({"expression": "rank(still_nope)"}), usage=(300, 50)),
    )
    gen = LLMGenerator(client, PromptLibrary(None))
    assert len(gen.generate(ctx, 2)) == 1
    write_usage(runs / "runs" / "exp", budget.summary(), gen.counts.as_dict())

    with Store.open(runs / "alphamine.sqlite3") as store:
        c = compare_runs(store, "base", "exp")
        rows = {rid: store.candidates(run_id=rid) for rid in ("base", "exp")}
        fitness = {}
        for rid, rs in rows.items():
            sims = [r for r in rs if r.status in ("promising", "rejected", "gate_pending", "ready", "simulated")]
            found = store.results_for([r.id for r in sims])
            fitness[rid] = float(
                np.mean([search_metrics(found[r.id].metrics, found[r.id].test_range)["fitness"] for r in sims])
            )
    base, exp = c.base, c.exp
    assert base.generated == len(rows["base"]) and base.dropped == 0 and base.llm_usage == "none"
    assert exp.dropped == 1 and exp.generated == len(rows["exp"]) + 1 and exp.llm_usage == "recorded"
    assert exp.llm_tokens == 1350 and base.llm_tokens is None
    assert exp.tokens_per_ready is None  # nothing ready: no per-ready figure
    assert base.mean_fitness == pytest.approx(fitness["base"]) and exp.mean_fitness == pytest.approx(fitness["exp"])
    assert base.valid_rate == sum(r.status != "invalid" for r in rows["base"]) / len(rows["base"])
    assert exp.hard_failure_rate == pytest.approx(
        (sum(r.status in ("invalid", "failed") for r in rows["exp"]) + 1) / exp.generated
    )
    assert c.shared["universe"] == "TOP50" and c.shared["decay"] == 2
    assert c.eligible == (bool(c.improved) and "hard_failure_rate" not in c.regressed)

    md = render(c, "markdown")
    assert "| valid-expression rate" in md and "**Verdict:**" in md and "exp: LLM usage recorded" in md
    doc = json.loads(render(c, "json"))
    assert doc["exp"]["dropped"] == 1 and doc["eligible"] == c.eligible

    out = runs / "cmp" / "result.json"
    res = _cli(runs, "--run-id", "base", "--run-id", "exp", "--format", "json", "--output", str(out))
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["verdict"] == c.verdict and c.verdict in res.stdout
    res = _cli(runs, "--run-id", "base", "--run-id", "exp")
    assert res.exit_code == 0 and res.stdout.startswith("# Prompt compare: base (base) vs exp (experiment)")


def test_runs_with_other_settings_or_data_are_refused(runs: Path) -> None:
    with Store.open(runs / "alphamine.sqlite3") as store:
        base = store.get_run("base")
        assert base is not None
        other = {**base.config, "settings": {**base.config["settings"], "decay": 4, "neutralization": "SECTOR"}}
        store.create_run("decay4", config=other, seed=1, data_fingerprint=base.data_fingerprint, runtime_root=str(runs))
        moved = {**base.config, "data": {**base.config["data"], "seed": 6}}
        store.create_run("data6", config=moved, seed=1, data_fingerprint="0" * 32, runtime_root=str(runs))
        with pytest.raises(CompareError, match=r"differ in decay, neutralization \(decay: base=2, decay4=4"):
            compare_runs(store, "base", "decay4")
        with pytest.raises(CompareError, match="differ in dataset"):
            compare_runs(store, "base", "data6")
        with pytest.raises(CompareError, match="no run 'missing'"):
            compare_runs(store, "base", "missing")
        with pytest.raises(CompareError, match="two different runs"):
            compare_runs(store, "base", "base")
    res = _cli(runs, "--run-id", "base", "--run-id", "decay4")
    assert res.exit_code == 2 and "decay" in res.stderr and "Traceback" not in res.output
    res = _cli(runs, "--run-id", "base")
    assert res.exit_code == 2 and "exactly twice" in res.stderr
    res = _cli(runs, "--run-id", "base", "--run-id", "exp", "--format", "yaml")
    assert res.exit_code == 2 and "markdown or json" in res.stderr


def _figures(**kw: object) -> RunFigures:
    base = dict(
        run_id="b",
        generated=100,
        valid=80,
        invalid=20,
        dropped=0,
        failed=5,
        simulated=70,
        promising=14,
        ready=2,
        mean_fitness=0.5,
        llm_tokens=None,
        llm_cost=None,
        tokens_per_ready=None,
        cost_per_ready=None,
        llm_usage="none",
    )
    base.update(kw)
    return RunFigures(**base)  # type: ignore[arg-type]


def test_promotion_rule() -> None:
    base = _figures()
    better_valid = replace(base, run_id="e", valid=90, invalid=10)  # also fewer hard failures
    assert judge(base, better_valid) == (("valid_rate", "hard_failure_rate"), (), True)
    fitter_but_fragile = replace(base, run_id="e", mean_fitness=0.9, failed=15)
    improved, regressed, eligible = judge(base, fitter_but_fragile)
    assert improved == ("mean_fitness",) and "hard_failure_rate" in regressed and not eligible
    same = replace(base, run_id="e")
    assert judge(base, same) == ((), (), False)
    more_promising = replace(base, run_id="e", promising=20, valid=75, invalid=20, dropped=0)
    improved, regressed, eligible = judge(base, more_promising)
    assert improved == ("promising_rate",) and regressed == ("valid_rate",) and eligible

"""`alphamine memory ingest / summary` through Typer's CliRunner: on a hand-built store (exact counts), on
a real small synthetic run (ingest agrees with the store), the JSON and Markdown outputs, --output,
the scope filters and the one-line errors (exit code 2).

The command tree is built here (`memory_app` under a bare Typer), so the tests do not depend on how
`alphamine.cli.app` wires it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from alphamine.cli.memory_cmd import memory_app
from alphamine.expr import canonical, fields_used, operators_used, parse, structural_hash
from alphamine.generate.candidate import Candidate, Thesis
from alphamine.sim.periods import Periods
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from alphamine.store import Store
from alphamine.store.memory import AlphaMemory
from alphamine.store.memory_schema import MEMORY_FILENAME

runner = CliRunner()
app = typer.Typer()
app.add_typer(memory_app, name="memory")
SETTINGS = make_settings({"universe": "TOP40"})
THESIS = Thesis("reversal", "overreaction mean-reverts", "fails in trends")


@app.callback()
def _root() -> None:
    """A bare root, as `alphamine` has."""


def _invoke(*args: str) -> Result:
    return runner.invoke(app, ["memory", *args])


def _add(store: Store, run_id: str, expression: str, status: str, checks: list[dict[str, str]] | None) -> None:
    tree = parse(expression)
    cid = store.add_candidate(run_id, 0, Candidate(expression, SETTINGS, "template:test", THESIS),
                              canonical=canonical(expression), expr_hash=structural_hash(expression),
                              fields=fields_used(tree), operators=operators_used(tree))
    store.set_candidate_status([cid], status)
    if checks is not None:
        z = np.zeros(20)
        sim = SimResult(expression, SETTINGS, np.datetime64("2015-01-01") + np.arange(20), z, z, z, z,
                        Periods(0, (0, 15), (15, 20), (0, 15), (15, 15)),
                        {k: {} for k in ("is", "os", "train", "test")}, [], checks, data_fingerprint="fp")
        store.put_result(sim, expr_hash=structural_hash(expression))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """One run "r1" on synthetic data: 2 decided (1 ready), 1 rejected with a hard failure, 2 queued."""
    root = tmp_path / "rt"
    with Store.open(root / "alphamine.sqlite3") as store:
        store.create_run("r1", config={"data": {"kind": "synthetic"}, "settings": {"region": "USA"}}, seed=1,
                         data_fingerprint="fp", runtime_root=str(root))
        _add(store, "r1", "rank(fnd6_a)", "ready", [{"name": "LOW_SHARPE", "result": "PASS"}])
        _add(store, "r1", "rank(-close)", "rejected", [{"name": "CONCENTRATED_WEIGHT", "result": "FAIL"}])
        _add(store, "r1", "ts_mean(close, 5)", "queued", None)
        _add(store, "r1", "ts_mean(close, 6)", "generated", None)
    return root


def test_ingest_then_summary(root: Path) -> None:
    res = _invoke("ingest", "--run-id", "r1", "--runtime-root", str(root))
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("ingested 4 candidates of run r1 (2 simulated and decided, 0 invalid, 2 not judged)")
    assert (root / MEMORY_FILENAME).is_file()
    again = _invoke("ingest", "--run-id", "r1", "--runtime-root", str(root))  # idempotent
    assert again.exit_code == 0 and again.stdout == res.stdout

    js = _invoke("summary", "--format", "json", "--runtime-root", str(root))
    assert js.exit_code == 0, js.output
    doc = json.loads(js.stdout)
    assert doc["counts"] == {"learnable": 2, "untested": 2}
    families = {r["value"]: (r["n"], r["ready"], r["untested"]) for r in doc["field_families"]}
    assert families == {"pv": (1, 0, 2), "fnd6": (1, 1, 0)}
    assert doc["failure_modes"] == [{"mode": "CONCENTRATED_WEIGHT", "count": 1, "share": 0.5}]
    assert [r["run_id"] for r in doc["recent_runs"]] == ["r1"]

    md = _invoke("summary", "--runtime-root", str(root))
    assert md.exit_code == 0, md.output
    assert md.stdout.startswith("# Alpha memory (all)\n")
    for heading in ("## Field families", "## Operators", "## Thesis types", "## Failure modes",
                    "## Learned repairs", "## Recent runs"):
        assert f"\n{heading}\n" in md.stdout


def test_summary_scope_output_and_half_life(root: Path, tmp_path: Path) -> None:
    assert _invoke("ingest", "--run-id", "r1", "--runtime-root", str(root)).exit_code == 0
    def doc(*args: str) -> dict[str, Any]:
        res = _invoke("summary", *args, "--format", "json", "--runtime-root", str(root))
        assert res.exit_code == 0, res.output
        return dict(json.loads(res.stdout))

    empty = doc("--dataset", "sample")
    assert empty["counts"] == {} and empty["field_families"] == [] and empty["dataset"] == "sample"
    usa = doc("--region", "usa")
    assert usa["region"] == "USA" and usa["counts"]["learnable"] == 2
    flat = doc("--half-life-days", "0")
    assert flat["half_life_days"] == 0.0 and flat["prior"] == 0.5
    out = tmp_path / "memory.md"
    res = _invoke("summary", "--output", str(out), "--limit", "1", "--runtime-root", str(root))
    assert res.exit_code == 0 and res.stdout.strip() == f"wrote the alpha memory summary to {out}"
    assert out.read_text(encoding="utf-8").startswith("# Alpha memory (all)")


def test_errors_are_one_line(root: Path, tmp_path: Path) -> None:
    res = _invoke("summary", "--runtime-root", str(root))
    assert res.exit_code == 2 and "no alpha memory in" in res.stderr and "memory ingest" in res.stderr
    res = _invoke("ingest", "--run-id", "nope", "--runtime-root", str(root))
    assert res.exit_code == 2 and "no run 'nope'" in res.stderr
    assert _invoke("ingest", "--run-id", "r1", "--runtime-root", str(root)).exit_code == 0
    res = _invoke("summary", "--format", "xml", "--runtime-root", str(root))
    assert res.exit_code == 2 and "--format must be one of markdown, json" in res.stderr
    (root / MEMORY_FILENAME).unlink()
    (root / MEMORY_FILENAME).write_bytes(b"not a database at all" * 100)
    res = _invoke("summary", "--runtime-root", str(root))
    assert res.exit_code == 2 and "not a readable alphamine database" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_real_run_is_ingested_whole(tmp_path: Path) -> None:
    from alphamine.pipeline.config import DataSource, RunConfig
    from alphamine.pipeline.controller import start_run
    from alphamine.pipeline.presets import resolve_settings

    root = tmp_path / "real"
    settings = resolve_settings(root, None, {"universe": "TOP80", "decay": 2})
    config = RunConfig(
        seed=3, settings=settings.to_brain(), data=DataSource(kind="synthetic", n_instruments=80, n_days=520),
        max_iterations=1, candidates_per_iteration=10, max_variant_alphas=1, max_variants_per_alpha=2,
        max_enhance_alphas=1, workers=1, batch_size=8,
    )
    out = start_run(config, runtime_root=root, run_id="real", console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    res = _invoke("ingest", "--run-id", "real", "--runtime-root", str(root))
    assert res.exit_code == 0, res.output
    with Store.open(root / "alphamine.sqlite3") as store, AlphaMemory.at_root(root) as memory:
        rows = store.candidates(run_id="real")
        run = memory.runs()[0]
        assert (run.dataset, run.region) == ("synthetic", "USA")
        assert run.learnable + run.invalid + run.undecided + run.untested == len(rows)
        decided = {"ready", "gate_pending", "promising", "rejected", "failed"}
        assert run.learnable == sum(r.status in decided for r in rows)
        summary = memory.summary()
        families = {r.value for r in summary.field_families}
        assert families and families <= {"pv", "fundamental", "sentiment"}  # the synthetic catalogue's categories
        assert sum(r.n for r in summary.thesis_types) == run.learnable

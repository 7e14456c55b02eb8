"""`alphamine research summary` through Typer's CliRunner, on two real small synthetic runs: Markdown
and JSON output, --output, --run-id / --limit selection, and the one-line errors (exit code 2).

The command tree is built here (`research_app` under a bare Typer), so the tests do not depend on how
`alphamine.cli.app` wires it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from alphamine.cli.research_cmd import research_app
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.pipeline.presets import resolve_settings
from alphamine.store import Store

runner = CliRunner()
app = typer.Typer()
app.add_typer(research_app, name="research")


@app.callback()
def _root() -> None:
    """A bare root, as `alphamine` has."""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two finished runs, "first" then "second" (the most recent)."""
    root = tmp_path_factory.mktemp("research")
    settings = resolve_settings(root, None, {"universe": "TOP80", "decay": 2})
    for seed, run_id in ((3, "first"), (4, "second")):
        config = RunConfig(
            seed=seed, settings=settings.to_brain(), data=DataSource(kind="synthetic", n_instruments=80, n_days=520),
            max_iterations=1, candidates_per_iteration=10, max_variant_alphas=1, max_variants_per_alpha=2,
            max_enhance_alphas=1, workers=1, batch_size=8,
        )
        out = start_run(config, runtime_root=root, run_id=run_id, console=Console(quiet=True), quiet=True)
        assert out.status == "finished"
    return root


def _summary(root: Path, *args: str) -> Result:
    return runner.invoke(app, ["research", "summary", "--runtime-root", str(root), *args])


def test_markdown_of_the_most_recent_run(root: Path) -> None:
    res = _summary(root)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("# Research summary: second\n")
    for heading in ("## Funnel", "## Failure tags", "## Ready alphas", "## Recommendations"):
        assert f"\n{heading}\n" in res.stdout


def test_json_matches_the_store(root: Path) -> None:
    res = _summary(root, "--format", "json", "--run-id", "first")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id="first")
    assert doc["run_ids"] == ["first"]
    assert doc["funnel"]["generated"] == len(rows)
    assert doc["funnel"]["ready"] == sum(r.status == "ready" for r in rows)
    assert doc["recommendations"] and doc["regime_notes"] == {}


def test_run_selection(root: Path) -> None:
    two = json.loads(_summary(root, "--format", "json", "--limit", "2").stdout)
    assert two["run_ids"] == ["second", "first"]
    picked = json.loads(_summary(root, "--format", "JSON", "--run-id", "first", "--run-id", "second").stdout)
    assert picked["run_ids"] == ["first", "second"] and picked["funnel"] == two["funnel"]
    assert json.loads(_summary(root, "--format", "json", "--limit", "9").stdout)["run_ids"] == ["second", "first"]


def test_output_file(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "summary.md"
    res = _summary(root, "--output", str(out))
    assert res.exit_code == 0, res.output
    assert f"to {out}" in res.stdout and "# Research summary" not in res.stdout
    assert out.read_text(encoding="utf-8").startswith("# Research summary: second\n")
    out_json = tmp_path / "summary.json"
    assert _summary(root, "--format", "json", "--output", str(out_json)).exit_code == 0
    assert json.loads(out_json.read_text(encoding="utf-8"))["run_ids"] == ["second"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run-id", "nope"], "no run 'nope'"),
        (["--format", "html"], "--format must be one of markdown, json"),
        (["--run-id", "first", "--limit", "2"], "choose --run-id or --limit, not both"),
    ],
)
def test_errors_are_one_line(root: Path, args: list[str], message: str) -> None:
    res = _summary(root, *args)
    assert res.exit_code == 2 and message in res.stderr and "Traceback" not in res.output


def test_empty_store_and_unwritable_output(tmp_path: Path, root: Path) -> None:
    res = _summary(tmp_path / "empty")
    assert res.exit_code == 2 and "no run in" in res.stderr
    res = _summary(root, "--output", str(tmp_path / "missing" / "dir" / "s.md"))
    assert res.exit_code == 2 and "cannot write" in res.stderr

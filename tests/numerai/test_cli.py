"""`alphamine numerai ...` end to end: synth -> run -> sweep -> list/show/compare -> score -> export ->
validate-pickle, through a Typer app that mounts `numerai_app` as `alphamine` does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alphamine.cli.numerai_cmd import numerai_app, table

app = typer.Typer()
app.add_typer(numerai_app, name="numerai")
runner = CliRunner()


def invoke(*args: str) -> str:
    res = runner.invoke(app, ["numerai", *args])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder with a small synthetic dataset and one recorded run named `first`."""
    work = tmp_path_factory.mktemp("numerai_cli")
    out = invoke("synth", "--out", str(work / "data"), "--eras", "50", "--rows-per-era", "60", "--features", "20")
    assert "wrote a synthetic Numerai dataset" in out and "experiment.yaml" in out
    out = invoke("run", "--config", str(work / "data" / "experiment.yaml"), "--runtime-root", str(work / "rt"),
                 "--run-id", "first")  # fmt: skip
    assert out.startswith("run first (experiment): lgbm") and "corr_mean" in out and "baseline" in out
    return work


def test_synth_writes_the_numerai_layout_and_a_config(session: Path) -> None:
    names = {p.name for p in (session / "data").iterdir()}
    assert {"train.parquet", "validation.parquet", "live.parquet", "features.json", "experiment.yaml",
            "live_benchmark_models.parquet", "train_benchmark_models.parquet"} <= names  # fmt: skip


def test_run_list_show_and_compare(session: Path) -> None:
    rt = str(session / "rt")
    listing = invoke("list", "--runtime-root", rt)
    assert listing.splitlines()[0].split()[:4] == ["run", "name", "model", "eras"] and "first" in listing
    runs = json.loads(invoke("list", "--runtime-root", rt, "--json"))
    assert [r["run_id"] for r in runs][-1] == "first" and runs[-1]["corr_mean"] > 0.05  # the planted signal

    shown = invoke("show", "first", "--runtime-root", rt)
    assert "run first (experiment)" in shown and "avg corr with benchmark" in shown
    assert "files in" in shown and "report.html" in shown and "oof.parquet" in shown and "model.pkl" in shown
    doc = json.loads(invoke("show", "fir", "--runtime-root", rt, "--json"))
    assert doc["run_id"] == "first" and doc["baseline"]["corr_mean"] is not None

    out = invoke("sweep", "--config", str(session / "data" / "experiment.yaml"), "--param",
                 "model.params.num_leaves=3,7", "--runtime-root", rt)  # fmt: skip
    progress = [line for line in out.splitlines() if line.startswith("  nm-")]
    assert "wrote 2 configs" in out and len(progress) == 2 and "baseline (benchmark)" in out
    assert "num_leaves=3.json" in progress[0] and "num_leaves=7.json" in progress[1]
    ids = [r["run_id"] for r in json.loads(invoke("list", "--runtime-root", rt, "--json"))]
    assert len(ids) == 3
    report = session / "compare.html"
    out = invoke("compare", *ids, "--runtime-root", rt, "--out", str(report))
    assert "baseline (benchmark)" in out and f"wrote {report}" in out
    assert report.read_text().count("<svg") == 2
    rows = json.loads(invoke("compare", "first", ids[0], "--runtime-root", rt, "--json"))
    assert [r["run_id"] for r in rows] == ["first", ids[0], "-"]


def test_score_a_prediction_file(session: Path) -> None:
    oof = session / "rt" / "numerai" / "first" / "oof.parquet"
    out_json = session / "scores.json"
    out = invoke("score", str(oof), "--benchmark-col", "benchmark", "--out", str(out_json))
    doc = json.loads(out_json.read_text())
    shown = json.loads(invoke("show", "first", "--runtime-root", str(session / "rt"), "--json"))
    assert doc["corr_mean"] == pytest.approx(shown["metrics"]["corr_mean"])
    assert doc["bmc_mean"] == pytest.approx(shown["metrics"]["bmc_mean"]) and "details" in doc
    assert "bmc_sharpe" in out and f"wrote {out_json}" in out
    res = runner.invoke(app, ["numerai", "score", str(oof), "--pred-col", "nope"])
    assert res.exit_code == 2 and "missing column" in res.output


def test_export_and_validate_the_pickle_without_alphamine(session: Path) -> None:
    pkl = session / "model.pkl"
    out = invoke("export", "--run-id", "first", "--out", str(pkl), "--runtime-root", str(session / "rt"))
    assert f"wrote {pkl}" in out and "needs Python 3." in out and "references no alphamine module" in out
    assert b"alphamine" not in pkl.read_bytes()
    out = invoke("validate-pickle", str(pkl), "--live", str(session / "data" / "live.parquet"))
    assert "alphamine importable: False" in out and "columns ['prediction']" in out
    assert "ok: the pickle loads and predicts without alphamine" in out
    out = invoke("validate-pickle", str(pkl), "--rows", "25")
    assert "-> 25 rows" in out

    import cloudpickle

    from alphamine.numerai.models import rank_per_era

    bad = session / "bad.pkl"
    bad.write_bytes(cloudpickle.dumps(rank_per_era))
    res = runner.invoke(app, ["numerai", "validate-pickle", str(bad)])
    assert res.exit_code == 1 and "No module named 'alphamine" in res.output


def test_errors_are_one_line_exit_2(session: Path, tmp_path: Path) -> None:
    rt = str(session / "rt")
    for args in (["show", "nope", "--runtime-root", rt], ["export", "--run-id", "nope", "--out", "x.pkl",
                                                          "--runtime-root", rt],
                 ["run", "--config", str(tmp_path / "missing.yaml")],
                 ["validate-pickle", str(tmp_path / "missing.pkl")]):  # fmt: skip
        res = runner.invoke(app, ["numerai", *args])
        assert res.exit_code == 2 and res.output.startswith("error:") and len(res.output.strip().splitlines()) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {path: train.parquet}\nmodel: {type: nope}\n")
    res = runner.invoke(app, ["numerai", "run", "--config", str(bad)])
    assert res.exit_code == 2 and "model.type" in res.output and "unknown model type" in res.output
    assert "no Numerai runs" in invoke("list", "--runtime-root", str(tmp_path))


def test_table_aligns_columns() -> None:
    assert table(["a", "bb"], [["xyz", 1], ["q", 22]]).splitlines() == ["a    bb", "xyz   1", "q    22"]

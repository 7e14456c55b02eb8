"""The Numerai run registry and its HTML reports, on real experiment runs over a small synthetic dataset."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphamine.numerai.config import config_from_dict
from alphamine.numerai.experiment import ExperimentResult, run_experiment
from alphamine.numerai.registry import ARTIFACTS, REGISTRY_FILENAME, SUMMARY_KEYS, Registry, RegistryError
from alphamine.numerai.report import compare_report_html, compare_rows, run_report_html
from alphamine.numerai.synth import SyntheticNumerai, SynthSpec, write_synthetic

SMALL = SynthSpec(n_eras=60, rows_per_era=60, n_features=20, n_validation_eras=10, seed=3)


def experiment(data: SyntheticNumerai, model: dict, name: str) -> ExperimentResult:
    cfg = config_from_dict({
        "data": {"path": str(data.train), "feature_set": "all", "benchmark_col": data.benchmark_col},
        "model": model, "cv": {"folds": 3, "embargo": 2}, "output": {"name": name},
    })  # fmt: skip
    return run_experiment(cfg)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SyntheticNumerai:
    return write_synthetic(tmp_path_factory.mktemp("registry_synth"), SMALL)


@pytest.fixture(scope="module")
def results(small: SyntheticNumerai) -> list[ExperimentResult]:
    strong = {"type": "ridge", "params": {"alpha": 1e4}}
    return [experiment(small, {"type": "ridge"}, "ridge"), experiment(small, strong, "ridge_strong")]


def test_record_writes_every_artifact_and_one_row(results: list[ExperimentResult], tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    rec = reg.record(results[0], run_id="nm-first")
    assert (tmp_path / REGISTRY_FILENAME).is_file()
    assert rec.folder == tmp_path / "numerai" / "nm-first"
    assert sorted(p.name for p in rec.folder.iterdir()) == sorted(ARTIFACTS)
    assert not list((tmp_path / "numerai").glob("*.partial"))
    assert set(rec.metrics) == set(SUMMARY_KEYS)
    assert rec.metrics["corr_mean"] == results[0].scores.to_json()["corr_mean"]
    assert rec.baseline is not None and rec.baseline["corr_mean"] == results[0].baseline_scores.to_json()["corr_mean"]
    assert rec.name == "ridge" and rec.model_type == "ridge" and rec.data_fingerprint == results[0].data_fingerprint
    assert rec.n_rows == len(results[0].oof) and rec.n_features == len(results[0].feature_names)

    again = Registry(tmp_path).get("nm-first")
    assert again == rec
    doc = reg.scores("nm-first")
    assert set(doc) == {"scores", "baseline_scores", "details"}
    assert doc["scores"]["per_era_corr"] == results[0].scores.to_json()["per_era_corr"]
    config = json.loads((rec.folder / "config.json").read_text())
    assert config["feature_names"] == results[0].feature_names and config["config"]["model"]["type"] == "ridge"
    pd.testing.assert_frame_equal(reg.oof("nm-first"), results[0].oof, check_index_type=False, check_dtype=False)
    model = reg.model("nm-first")
    X = pd.read_parquet(Path(results[0].config.data.path))[results[0].feature_names].head(50)
    np.testing.assert_allclose(model.predict(X), results[0].final_model.predict(X))
    assert reg.feature_names("nm-first") == results[0].feature_names


def test_listing_prefixes_and_errors(results: list[ExperimentResult], tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    assert reg.runs() == []
    with pytest.raises(RegistryError, match="no Numerai run"):
        reg.get("nm-x")
    auto = reg.record(results[0])
    assert auto.run_id.startswith("nm-") and len(auto.run_id) == len("nm-20260101-000000-abcd")
    a = reg.record(results[0], run_id="nm-aaa1")
    b = reg.record(results[1], run_id="nm-bbb2")
    assert {r.run_id for r in reg.runs()} == {auto.run_id, a.run_id, b.run_id}
    assert reg.get("nm-bb").run_id == "nm-bbb2" and reg.get("nm-aaa1").name == "ridge"
    with pytest.raises(RegistryError, match="ambiguous"):
        reg.get("nm-")
    with pytest.raises(RegistryError, match="exists already"):
        reg.record(results[0], run_id=a.run_id)
    with pytest.raises(RegistryError, match="invalid run id"):
        reg.record(results[0], run_id="../escape")


def test_sqlite_file_is_wal_with_a_schema_version(results: list[ExperimentResult], tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    reg.record(results[0], run_id="r1")
    with sqlite3.connect(tmp_path / REGISTRY_FILENAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 1
        conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(RegistryError, match="schema 99"):
        reg.runs()


class _Unpicklable:
    def __reduce__(self) -> tuple:
        raise RuntimeError("cannot pickle this model")


def test_a_failed_write_leaves_no_folder_and_no_row(results: list[ExperimentResult], tmp_path: Path) -> None:
    broken = ExperimentResult(**{**results[0].__dict__, "final_model": _Unpicklable()})
    reg = Registry(tmp_path)
    with pytest.raises(RuntimeError, match="cannot pickle"):
        reg.record(broken, run_id="broken")
    assert not (tmp_path / "numerai" / "broken").exists()
    assert not (tmp_path / "numerai" / "broken.partial").exists()
    assert reg.runs() == []


def test_run_report_is_self_contained_with_charts_and_baseline(results: list[ExperimentResult], tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    rec = reg.record(results[0], run_id="rep")
    html = (rec.folder / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 2  # cumulative CORR and BMC
    assert "<script" not in html and "src=" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "baseline (benchmark)" in html and "model − baseline" in html
    assert html.count("<tr><td>0") == rec.n_eras  # one per-era table row per OOF era ("00xx")
    same = run_report_html(rec, reg.scores("rep"), reg.oof("rep"))
    assert same == html  # deterministic


def test_compare_rows_and_report(results: list[ExperimentResult], tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    recs = [reg.record(r) for r in results]
    rows = compare_rows(recs)
    assert [r["label"] for r in rows] == ["ridge", "ridge_strong", "baseline (benchmark)"]
    assert rows[2]["corr_mean"] == recs[0].baseline["corr_mean"]
    html = compare_report_html(recs, [reg.scores(r.run_id) for r in recs])
    assert html.count("<svg") == 2 and "ridge_strong" in html and "different data" not in html


def test_report_without_benchmark_has_no_bmc_chart(small: SyntheticNumerai, tmp_path: Path) -> None:
    cfg = config_from_dict({"data": {"path": str(small.train), "feature_set": "small"}, "model": {"type": "ridge"},
                            "cv": {"folds": 3, "embargo": 2}})  # fmt: skip
    rec = Registry(tmp_path).record(run_experiment(cfg))
    html = (rec.folder / "report.html").read_text()
    assert rec.baseline is None and rec.metrics["bmc_mean"] is None
    assert html.count("<svg") == 1 and "baseline (benchmark)" not in html

"""A full experiment on the synthetic data: it finds the planted signal, honestly (OOF only), reproducibly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from alphamine.numerai.config import ExperimentConfig, config_from_dict
from alphamine.numerai.data import load_numerai
from alphamine.numerai.experiment import ExperimentResult, fingerprint, run_experiment
from alphamine.numerai.scoring import fast_numerai_corr, score_frame
from alphamine.numerai.synth import BENCHMARK_COL, SyntheticNumerai

LGBM = {"n_estimators": 80, "learning_rate": 0.05, "num_leaves": 15, "max_depth": 4, "colsample_bytree": 0.5,
        "min_child_samples": 50, "num_threads": 1}
# The planted signal allows a per-era corr of ~0.25 (sharpe ~1.7 on these 160 OOF eras); a pipeline that
# learned nothing scores corr_mean ~0 and |sharpe| well below 0.5. The bound leaves room for both.
MIN_OOF_SHARPE = 1.0


def _config(synth: SyntheticNumerai, **over: object) -> ExperimentConfig:
    raw: dict[str, object] = {
        "data": {"path": str(synth.train), "feature_set": "medium", "benchmark_col": BENCHMARK_COL},
        "model": {"type": "lgbm", "params": LGBM},
        "cv": {"scheme": "walkforward", "folds": 5, "embargo": 13},
        "seed": 0,
    }
    raw.update(over)
    return config_from_dict(raw)


@pytest.fixture(scope="module")
def result(synth: SyntheticNumerai) -> ExperimentResult:
    return run_experiment(_config(synth))


def test_recovers_the_planted_signal(result: ExperimentResult) -> None:
    s = result.scores
    assert s.corr_mean > 0 and s.corr_sharpe > MIN_OOF_SHARPE
    assert s.bmc is not None and s.bmc.n_eras == 160
    assert result.baseline_scores is not None and result.baseline_scores.bmc is None
    assert result.baseline_scores.corr.n_eras == 160
    doc = result.to_json()
    json.dumps(doc, allow_nan=False)
    assert doc["scores"]["corr_sharpe"] == s.corr_sharpe and doc["n_oof_eras"] == 160


def test_oof_frame_contract(result: ExperimentResult, synth: SyntheticNumerai) -> None:
    oof = result.oof
    assert list(oof.columns) == ["era", "target", "prediction", "cv_fold", "benchmark"]
    assert oof.index.name == "id" and oof.index.is_unique
    assert len(oof) == 160 * 100 and oof["prediction"].notna().all()
    raw = pd.read_parquet(synth.train)
    np.testing.assert_array_equal(oof["target"].to_numpy(), raw.loc[oof.index, "target"].to_numpy())
    assert (oof["era"].to_numpy() == raw.loc[oof.index, "era"].to_numpy()).all()
    bench = pd.read_parquet(synth.benchmarks["train"])[BENCHMARK_COL]
    np.testing.assert_allclose(oof["benchmark"].to_numpy(), bench.loc[oof.index].to_numpy(), rtol=1e-6)
    rescored = score_frame(oof, benchmark_col="benchmark")
    assert rescored.to_json() == result.scores.to_json()


def test_oof_rows_come_from_folds_that_never_trained_on_their_era(result: ExperimentResult) -> None:
    position = {era: i for i, era in enumerate(result.eras)}
    by_fold = {f.index: f for f in result.folds}
    assert sorted(result.oof["cv_fold"].unique()) == [1, 2, 3, 4]  # walk-forward: block 0 has no past
    for fold_index, rows in result.oof.groupby("cv_fold"):
        fold = by_fold[int(fold_index)]
        eras = {position[e] for e in rows["era"]}
        assert eras == set(fold.validation)
        assert min(abs(t - v) for t in fold.train for v in eras) > 13


def test_final_model_is_fitted_on_all_eras_and_generalizes(result: ExperimentResult, synth: SyntheticNumerai) -> None:
    model = result.final_model
    assert model.feature_names == result.feature_names == synth.feature_sets["medium"]
    val = load_numerai(synth.validation, feature_set="medium")
    pred = model.predict(val.features)
    per_era = [fast_numerai_corr(pred[(val.era == e).to_numpy()], val.target[val.era == e].to_numpy())
               for e in val.eras]
    assert np.mean(per_era) > 0.1  # held-out validation eras, never used by the run


def test_runs_are_reproducible_and_fingerprinted(synth: SyntheticNumerai, tmp_path: Path) -> None:
    cfg = _config(synth, model={"type": "ridge", "params": {"alpha": 10.0}}, cv={"scheme": "kfold", "folds": 4})
    a, b = run_experiment(cfg), run_experiment(cfg)
    pd.testing.assert_frame_equal(a.oof, b.oof)
    assert a.data_fingerprint == b.data_fingerprint and len(a.data_fingerprint) == 32
    assert len(a.oof) == 200 * 100  # k-fold validates every era once
    other = run_experiment(_config(synth, data={"path": str(synth.train), "feature_set": "small"},
                                   model={"type": "ridge", "params": {}}))
    assert other.data_fingerprint != a.data_fingerprint
    assert "benchmark" not in other.oof.columns and other.baseline_scores is None
    assert other.scores.bmc is None and other.scores.to_json()["bmc_mean"] is None
    changed = tmp_path / "features.json"
    changed.write_text(synth.features_json.read_text() + "\n")
    assert fingerprint([synth.train, changed], a.feature_names) != fingerprint(
        [synth.train, synth.features_json], a.feature_names)


def test_run_from_a_yaml_file(synth: SyntheticNumerai, tmp_path: Path) -> None:
    path = tmp_path / "scout.yaml"
    path.write_text(yaml.safe_dump({
        "data": {"path": str(synth.train), "feature_set": "medium", "scouting": True},
        "model": {"type": "ensemble", "params": {"members": [
            {"type": "ridge", "params": {"alpha": 5.0}}, {"type": "lgbm", "params": LGBM, "weight": 2}]}},
        "cv": {"scheme": "kfold", "folds": 5, "embargo": 2},
    }))
    res = run_experiment(path)
    assert res.config.name == "scout" and len(res.eras) == 50
    assert res.oof["era"].nunique() == 50 and res.scores.corr_mean > 0
    assert [w for w, _ in res.final_model.estimators()] == pytest.approx([1 / 3, 2 / 3])

"""The model registry: built-in models, determinism, ensembles, and the export contract of estimators()."""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from alphamine.numerai.data import load_numerai
from alphamine.numerai.models import (
    EstimatorModel,
    ModelError,
    NumeraiModel,
    as_matrix,
    build_model,
    model_types,
    rank_per_era,
    register_model,
)
from alphamine.numerai.synth import SyntheticNumerai

SMALL_LGBM = {"n_estimators": 30, "learning_rate": 0.1, "num_leaves": 7, "colsample_bytree": 0.5, "num_threads": 1}


@pytest.fixture(scope="module")
def xy(synth: SyntheticNumerai) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    data = load_numerai(synth.train, feature_set="medium")
    eras = data.era.to_numpy()
    keep = np.isin(eras, data.eras[:60])
    return data.features[keep], data.target.to_numpy()[keep], eras[keep]


def test_builtins_are_registered() -> None:
    assert {"lgbm", "ridge", "linear", "ensemble"} <= set(model_types())


@pytest.mark.parametrize("kind,params", [("lgbm", SMALL_LGBM), ("ridge", {"alpha": 5.0}), ("linear", {})])
def test_fit_predict_and_estimators(kind: str, params: dict[str, Any], xy: Any) -> None:
    X, y, _ = xy
    model = build_model(kind, params, seed=1).fit(X, y)
    pred = model.predict(X.iloc[:50])
    assert pred.shape == (50,) and pred.dtype == np.float64 and np.isfinite(pred).all()
    assert model.feature_names == list(X.columns)
    (weight, est), = model.estimators()
    assert weight == 1.0
    # the estimator alone reproduces predict from the float32 matrix (what an exported bundle does)
    np.testing.assert_array_equal(est.predict(X.iloc[:50][model.feature_names].to_numpy(np.float32)), pred)
    blob = cloudpickle.dumps(est)
    assert b"alphamine" not in blob
    np.testing.assert_array_equal(pickle.loads(blob).predict(as_matrix(X.iloc[:50], model.feature_names)), pred)


def test_predict_uses_feature_names_in_order(xy: Any) -> None:
    X, y, _ = xy
    model = build_model("ridge").fit(X, y)
    shuffled = X.iloc[:20, ::-1].assign(extra=1.0)
    np.testing.assert_allclose(model.predict(shuffled), model.predict(X.iloc[:20]))
    with pytest.raises(KeyError, match="missing feature column"):
        model.predict(X.iloc[:20, 1:])


def test_lgbm_is_deterministic_and_seeded(xy: Any) -> None:
    X, y, _ = xy
    a = build_model("lgbm", SMALL_LGBM, seed=3).fit(X, y).predict(X)
    b = build_model("lgbm", SMALL_LGBM, seed=3).fit(X, y).predict(X)
    c = build_model("lgbm", {**SMALL_LGBM, "subsample": 0.5, "subsample_freq": 1}, seed=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    est = build_model("lgbm", {**SMALL_LGBM, "num_threads": 3}).estimators()[0][1]
    assert est.get_params()["deterministic"] is True and est.get_params()["n_jobs"] == 3


def test_ridge_and_linear_accept_missing_features(xy: Any) -> None:
    X, y, _ = xy
    Xn = X.astype(np.float32)
    Xn.iloc[:10, 0] = np.nan
    for kind in ("ridge", "linear"):
        assert np.isfinite(build_model(kind).fit(Xn, y).predict(Xn)).all()


def test_ensemble_rank_averages_per_era_like_the_export_formula(xy: Any) -> None:
    X, y, eras = xy
    params = {"members": [{"type": "ridge", "weight": 1}, {"type": "lgbm", "params": SMALL_LGBM, "weight": 3}]}
    model = build_model("ensemble", params).fit(X, y)
    pred = model.predict(X, eras=eras)
    pairs = model.estimators()
    assert [w for w, _ in pairs] == [0.25, 0.75]
    matrix = X[model.feature_names].to_numpy(np.float32)
    export = sum(w * rank_per_era(est.predict(matrix), eras) for w, est in pairs)
    np.testing.assert_allclose(pred, export, atol=1e-12)
    assert pred.min() > 0 and pred.max() < 1
    one_era = model.predict(X.iloc[:100])  # no eras: the rows are one era (live)
    assert one_era.shape == (100,)


def test_rank_per_era_matches_numerai_tools_rank() -> None:
    from numerai_tools.scoring import rank

    values = np.array([3.0, 1.0, 1.0, 2.0, 5.0, 5.0])
    eras = np.array(["a", "a", "a", "b", "b", "b"])
    got = rank_per_era(values, eras)
    for e in ("a", "b"):
        s = pd.Series(values[eras == e])
        np.testing.assert_allclose(got[eras == e], rank(s).to_numpy())


def test_errors_name_the_problem() -> None:
    with pytest.raises(ModelError, match="unknown model type 'xgb'"):
        build_model("xgb")
    with pytest.raises(ModelError, match="bad params"):
        build_model("ridge", {"alhpa": 1.0})
    with pytest.raises(ModelError, match="members must be a non-empty list"):
        build_model("ensemble", {"members": []})
    with pytest.raises(ModelError, match=r"members\[0\] is an ensemble"):
        build_model("ensemble", {"members": [{"type": "ensemble"}]})
    with pytest.raises(ModelError, match=r"members\[1\].weight must be > 0"):
        build_model("ensemble", {"members": [{"type": "ridge"}, {"type": "ridge", "weight": 0}]})
    with pytest.raises(ModelError, match=r"members\[0\] has unknown keys"):
        build_model("ensemble", {"members": [{"type": "ridge", "parmas": {}}]})


def test_register_a_model() -> None:
    class Mean(NumeraiModel):
        def __init__(self, shift: float) -> None:
            self.shift, self.feature_names, self.mean = shift, [], 0.0

        def fit(self, X: pd.DataFrame, y: Any) -> Mean:
            self.feature_names, self.mean = list(X.columns), float(np.mean(y))
            return self

        def predict(self, X: Any, eras: Any = None) -> np.ndarray:
            return np.full(len(X), self.mean + self.shift)

    @register_model("test_mean")
    def _factory(params: dict[str, Any], seed: int) -> NumeraiModel:
        return Mean(**params)

    try:
        model = build_model("test_mean", {"shift": 1.0}).fit(pd.DataFrame({"f": [1, 2]}), np.array([0.0, 1.0]))
        assert model.predict(pd.DataFrame({"f": [3]})).tolist() == [1.5]
        assert "test_mean" in model_types()
    finally:
        from alphamine.numerai import models

        models._REGISTRY.pop("test_mean", None)
    assert isinstance(build_model("ridge"), EstimatorModel)

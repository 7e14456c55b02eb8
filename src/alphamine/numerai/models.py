"""The model registry: `lgbm`, `ridge`, `linear`, `ensemble`, and `register_model` for more.

Why a registry: configs name a model type and its params; one table maps names to factories, so
adding a model is one decorated function and a config can never reach an unregistered class
(example-scripts' `build_model` is an if-chain that has to be edited for each model).

Contract:
- A factory is `factory(params: dict, seed: int) -> NumeraiModel` (unfitted). `build_model(type,
  params, seed=...)` looks it up; unknown types and bad params raise `ModelError` naming them.
- `NumeraiModel.fit(X: DataFrame, y)` remembers `feature_names = list(X.columns)` and fits on
  `X[feature_names].to_numpy(np.float32)`; `predict(X, eras=None) -> np.ndarray` (float64) reads the
  same columns in the same order, so extra columns in X are ignored and missing ones raise.
- Export (self-contained pickles): `estimators() -> list[(weight, fitted estimator)]`, weights summing
  to 1, each estimator a plain scikit-learn or LightGBM object that predicts from the float32 matrix
  above. The exported prediction of one era is Σ weight · rank(estimator.predict(matrix)), with
  rank = (tie-kept rank − 0.5) / n within the era (numerai-tools' `rank`); live data is one era.
  That is exactly `EnsembleModel.predict`; for a single estimator it is a monotone map of
  `predict`, so per-era scores are the same. Nothing from alphamine is needed at load time.
- `lgbm`: `lightgbm.LGBMRegressor` with params from the config on top of the example-scripts
  "small" defaults (2000 trees, lr 0.01, depth 5, 31 leaves, colsample 0.1); always
  `deterministic=True` and `force_col_wise=True`; `num_threads` (default 1) becomes `n_jobs`; the
  config seed is `random_state` unless params give `seed`/`random_state`.
- `ridge` / `linear`: scikit-learn `Ridge` / `LinearRegression` behind a `SimpleImputer` that fills
  missing features with 2 (the middle bin, Numerai's own fill), so NaN-bearing data works.
- `ensemble`: params `{"members": [{"type", "params", "weight"=1}, ...]}`; members are built through
  the registry with seeds seed, seed+1, …; weights must be > 0 and are normalized; members may not be
  ensembles (rank-averaging does not flatten).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

MIDDLE_BIN = 2.0
LGBM_DEFAULTS: dict[str, Any] = {
    "n_estimators": 2000, "learning_rate": 0.01, "max_depth": 5, "num_leaves": 31, "colsample_bytree": 0.1,
}


class ModelError(ValueError):
    """A model type or parameter the registry cannot build; the message names it."""


def as_matrix(X: pd.DataFrame | np.ndarray, feature_names: list[str]) -> np.ndarray:
    """The float32 matrix estimators see: `X[feature_names]`, in that order."""
    if isinstance(X, np.ndarray):
        if X.ndim != 2 or X.shape[1] != len(feature_names):
            raise ValueError(f"expected a 2-D array with {len(feature_names)} columns, got shape {X.shape}")
        return X.astype(np.float32, copy=False)
    missing = [c for c in feature_names if c not in X.columns]
    if missing:
        raise KeyError(f"missing feature column(s): {', '.join(missing[:5])}" + (" …" if len(missing) > 5 else ""))
    return X[feature_names].to_numpy(dtype=np.float32)


def rank_per_era(values: np.ndarray, eras: np.ndarray | pd.Series | None = None) -> np.ndarray:
    """(tie-kept rank − 0.5) / count within each era (one era when `eras` is None): values in (0, 1)."""
    s = pd.Series(np.asarray(values, dtype=np.float64))
    if eras is None:
        return ((s.rank(method="average") - 0.5) / s.count()).to_numpy()
    groups = s.groupby(np.asarray(eras), sort=False)
    return ((groups.rank(method="average") - 0.5) / groups.transform("count")).to_numpy()


class NumeraiModel:
    """The model interface experiments, CV and export use (module doc)."""

    feature_names: list[str]

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series) -> NumeraiModel:
        raise NotImplementedError

    def predict(self, X: pd.DataFrame | np.ndarray, eras: np.ndarray | pd.Series | None = None) -> np.ndarray:
        raise NotImplementedError

    def estimators(self) -> list[tuple[float, Any]]:
        raise NotImplementedError


class EstimatorModel(NumeraiModel):
    """One scikit-learn-API estimator over the float32 feature matrix; `predict` returns raw values."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self.feature_names = []

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series) -> EstimatorModel:
        self.feature_names = [str(c) for c in X.columns]
        self.estimator.fit(as_matrix(X, self.feature_names), np.asarray(y, dtype=np.float64))
        return self

    def predict(self, X: pd.DataFrame | np.ndarray, eras: np.ndarray | pd.Series | None = None) -> np.ndarray:
        if not self.feature_names:
            raise RuntimeError("predict before fit")
        return np.asarray(self.estimator.predict(as_matrix(X, self.feature_names)), dtype=np.float64)

    def estimators(self) -> list[tuple[float, Any]]:
        return [(1.0, self.estimator)]


class EnsembleModel(NumeraiModel):
    """Weighted average of the members' per-era ranks."""

    def __init__(self, members: list[tuple[float, NumeraiModel]]) -> None:
        total = sum(w for w, _ in members)
        self.members = [(w / total, m) for w, m in members]
        self.feature_names = []

    def fit(self, X: pd.DataFrame, y: np.ndarray | pd.Series) -> EnsembleModel:
        for _, member in self.members:
            member.fit(X, y)
        self.feature_names = [str(c) for c in X.columns]
        return self

    def predict(self, X: pd.DataFrame | np.ndarray, eras: np.ndarray | pd.Series | None = None) -> np.ndarray:
        out = np.zeros(len(X))
        for weight, member in self.members:
            out += weight * rank_per_era(member.predict(X, eras), eras)
        return out

    def estimators(self) -> list[tuple[float, Any]]:
        return [(w * w2, est) for w, m in self.members for w2, est in m.estimators()]


ModelFactory = Callable[[dict[str, Any], int], NumeraiModel]
_REGISTRY: dict[str, ModelFactory] = {}


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator: register `factory(params, seed) -> NumeraiModel` under `name` (re-registering replaces)."""

    def deco(factory: ModelFactory) -> ModelFactory:
        _REGISTRY[name] = factory
        return factory

    return deco


def model_types() -> list[str]:
    return sorted(_REGISTRY)


def build_model(model_type: str, params: Mapping[str, Any] | None = None, *, seed: int = 0) -> NumeraiModel:
    """An unfitted model of a registered type (module doc)."""
    factory = _REGISTRY.get(model_type)
    if factory is None:
        raise ModelError(f"unknown model type {model_type!r} (known: {', '.join(model_types())})")
    try:
        return factory(dict(params or {}), seed)
    except ModelError:
        raise
    except (TypeError, ValueError) as e:
        raise ModelError(f"model {model_type!r}: bad params: {e}") from None


def _sklearn_pipeline(estimator: Any) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(strategy="constant", fill_value=MIDDLE_BIN, keep_empty_features=True), estimator)


@register_model("lgbm")
def _lgbm(params: dict[str, Any], seed: int) -> NumeraiModel:
    import lightgbm

    p = {**LGBM_DEFAULTS, "verbose": -1, **params}
    threads = p.pop("num_threads", p.pop("n_jobs", 1))
    random_state = p.pop("seed", p.pop("random_state", seed))
    p.pop("deterministic", None)
    if "force_row_wise" not in p:
        p["force_col_wise"] = True
    return EstimatorModel(
        lightgbm.LGBMRegressor(**p, n_jobs=threads, random_state=random_state, deterministic=True)
    )


@register_model("ridge")
def _ridge(params: dict[str, Any], seed: int) -> NumeraiModel:
    from sklearn.linear_model import Ridge

    return EstimatorModel(_sklearn_pipeline(Ridge(**{"alpha": 1.0, **params})))


@register_model("linear")
def _linear(params: dict[str, Any], seed: int) -> NumeraiModel:
    from sklearn.linear_model import LinearRegression

    return EstimatorModel(_sklearn_pipeline(LinearRegression(**params)))


@register_model("ensemble")
def _ensemble(params: dict[str, Any], seed: int) -> NumeraiModel:
    unknown = set(params) - {"members"}
    if unknown:
        raise ModelError(f"model 'ensemble': unknown params {sorted(unknown)} (expected 'members')")
    members = params.get("members")
    if not isinstance(members, list) or not members:
        raise ModelError("model 'ensemble': params.members must be a non-empty list of {type, params, weight}")
    built: list[tuple[float, NumeraiModel]] = []
    for i, spec in enumerate(members):
        if not isinstance(spec, Mapping) or "type" not in spec:
            raise ModelError(f"model 'ensemble': members[{i}] needs a 'type'")
        if spec["type"] == "ensemble":
            raise ModelError(f"model 'ensemble': members[{i}] is an ensemble (nesting is not supported)")
        extra = set(spec) - {"type", "params", "weight"}
        if extra:
            raise ModelError(f"model 'ensemble': members[{i}] has unknown keys {sorted(extra)}")
        weight = float(spec.get("weight", 1.0))
        if not weight > 0:
            raise ModelError(f"model 'ensemble': members[{i}].weight must be > 0, got {weight}")
        built.append((weight, build_model(str(spec["type"]), spec.get("params") or {}, seed=seed + i)))
    return EnsembleModel(built)

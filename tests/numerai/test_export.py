"""The predict bundle: no alphamine inside, Numerai's output contract, and the fresh-interpreter check
(a real `python -I -S` subprocess in which `import alphamine` fails)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from alphamine.numerai.config import config_from_dict
from alphamine.numerai.experiment import ExperimentResult, run_experiment
from alphamine.numerai.export import (
    CONTAINER_PINS,
    FORBIDDEN,
    BundleFacts,
    ExportError,
    allowed_modules,
    build_bundle,
    bundle_bytes,
    container_warnings,
    read_bundle_facts,
    validate_pickle,
)
from alphamine.numerai.models import rank_per_era
from alphamine.numerai.synth import SyntheticNumerai, SynthSpec, write_synthetic

ENSEMBLE = {"type": "ensemble", "params": {"members": [
    {"type": "ridge", "weight": 1},
    {"type": "lgbm", "weight": 2, "params": {"n_estimators": 20, "num_leaves": 7, "colsample_bytree": 0.5}},
]}}  # fmt: skip


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SyntheticNumerai:
    spec = SynthSpec(n_eras=40, rows_per_era=60, n_features=16, n_validation_eras=8, seed=5)
    return write_synthetic(tmp_path_factory.mktemp("export_synth"), spec)


@pytest.fixture(scope="module")
def result(small: SyntheticNumerai) -> ExperimentResult:
    cfg = config_from_dict({"data": {"path": str(small.train), "feature_set": "all"}, "model": ENSEMBLE,
                            "cv": {"folds": 2, "embargo": 1}})  # fmt: skip
    return run_experiment(cfg)


@pytest.fixture(scope="module")
def bundle(result: ExperimentResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(result.final_model, tmp_path_factory.mktemp("bundle") / "model.pkl")


def test_the_bundle_references_nothing_from_alphamine(bundle: Path) -> None:
    data = bundle.read_bytes()
    assert FORBIDDEN.encode() not in data
    facts = read_bundle_facts(data)
    assert not facts.mentions_forbidden
    assert not [m for m in facts.modules if m.startswith(FORBIDDEN)]
    assert {"lightgbm.sklearn", "sklearn.pipeline"} <= set(facts.modules)
    assert facts.python == "{}.{}".format(*__import__("sys").version_info[:2])
    assert set(facts.libraries) == {"numpy", "pandas", "scikit-learn", "lightgbm", "cloudpickle"}


def test_the_bundle_follows_the_runner_contract_and_the_model(bundle: Path, result: ExperimentResult,
                                                             small: SyntheticNumerai) -> None:  # fmt: skip
    import inspect

    predict = pd.read_pickle(bundle)  # how numerai-predict loads it
    assert len(inspect.signature(predict).parameters) == 2
    live = pd.read_parquet(small.live)
    bench = pd.read_parquet(small.benchmarks["live"])
    out = predict(live, bench)
    assert type(out) is pd.DataFrame and list(out.columns) == ["prediction"]
    assert out.index.equals(live.index) and not out["prediction"].isna().any()
    assert ((out["prediction"] > 0) & (out["prediction"] < 1)).all()
    # the same ordering as the final model (models.py export contract), ranked to (0, 1)
    eras = live["era"].astype(str).to_numpy()
    expected = rank_per_era(result.final_model.predict(live, eras), eras)
    np.testing.assert_allclose(out["prediction"].to_numpy(), rank_per_era(expected, eras), atol=1e-12)
    # several eras are ranked one by one; no era column means one era
    train = pd.read_parquet(small.train).head(300)
    per_era = predict(train, None)["prediction"]
    assert per_era.groupby(train["era"]).apply(lambda s: s.max() < 1 and s.min() > 0).all()
    assert np.isclose(per_era.groupby(train["era"]).mean(), 0.5).all()
    whole = predict(train.drop(columns=["era"]))
    assert np.isclose(whole["prediction"].mean(), 0.5)
    with pytest.raises(KeyError, match="lacks 1 model features"):
        predict(live.drop(columns=[result.feature_names[0]]))


def test_validates_in_a_fresh_interpreter_without_alphamine(bundle: Path, small: SyntheticNumerai) -> None:
    check = validate_pickle(bundle, live=small.live)
    assert check.ok, check.problems
    assert check.alphamine_importable is False
    assert check.arity == 2 and check.columns == ("prediction",)
    assert check.rows == len(pd.read_parquet(small.live))
    assert check.min_value is not None and check.max_value is not None
    assert 0 < check.min_value < check.max_value < 1
    assert check.python_needed == check.child_python
    site = check.details["sys_path"]
    assert not any(str(Path(p)).endswith("src") for p in site)  # the editable install's path is not there

    generated = validate_pickle(bundle, rows=37)  # no live file: rows over the bundle's own features
    assert generated.ok and generated.rows == 37


def _by_value(source: str, name: str) -> bytes:
    """A function pickled by value from a module name importable nowhere (like the bundle)."""
    ns: dict[str, Any] = {"__name__": "test_only_bundle"}
    exec(compile(source, "<test>", "exec"), ns)
    return cloudpickle.dumps(ns[name])


def test_the_guard_refuses_alphamine_in_the_child(tmp_path: Path) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(cloudpickle.dumps(rank_per_era))  # pickled by reference to alphamine.numerai.models
    assert read_bundle_facts(path.read_bytes()).mentions_forbidden
    check = validate_pickle(path)
    assert not check.ok and check.alphamine_importable is False
    assert any("No module named 'alphamine" in p for p in check.problems)
    assert any("mentions alphamine" in p for p in check.problems)


def test_the_guard_refuses_libraries_the_container_lacks(tmp_path: Path, small: SyntheticNumerai) -> None:
    path = tmp_path / "typer.pkl"
    path.write_bytes(_by_value("def predict(live_features):\n    import typer\n    return None\n", "predict"))
    check = validate_pickle(path, live=small.live)
    assert not check.ok and any("No module named 'typer'" in p for p in check.problems)
    assert "typer" not in allowed_modules() and {"numpy", "pandas", "sklearn", "lightgbm"} <= allowed_modules()


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def predict(a, b, c):\n    return None\n", "takes 3 parameters"),
        ("def predict(live_features):\n    return live_features.iloc[:, 0]\n", "not a pandas DataFrame"),
        ("def predict(live_features):\n    import pandas as pd\n"
         "    return pd.DataFrame({'prediction': 1.0}, index=live_features.index)\n", "leave (0, 1)"),
        ("def predict(live_features):\n    import pandas as pd\n"
         "    return pd.DataFrame({'p': 0.5}, index=live_features.index[::-1])\n", "index is not the live ids"),
        ("def predict(live_features):\n    raise ValueError('boom')\n", "predict raised ValueError: boom"),
    ],
)
def test_bad_predict_functions_are_reported(tmp_path: Path, small: SyntheticNumerai, source: str,
                                            problem: str) -> None:  # fmt: skip
    path = tmp_path / "p.pkl"
    path.write_bytes(_by_value(source, "predict"))
    check = validate_pickle(path, live=small.live)
    assert not check.ok and any(problem in p for p in check.problems), check.problems


def test_not_a_pickle_and_alphamine_estimators_are_refused(tmp_path: Path, result: ExperimentResult) -> None:
    with pytest.raises(ExportError, match="not a readable pickle"):
        read_bundle_facts(b"not a pickle at all")

    class Wrapped:
        feature_names = result.feature_names

        def estimators(self) -> list[tuple[float, Any]]:
            return [(1.0, result.final_model)]  # an alphamine model, not a plain estimator

    with pytest.raises(ExportError, match="references alphamine"):
        bundle_bytes(Wrapped())
    with pytest.raises(ExportError, match="no fitted estimators"):
        bundle_bytes(type("Empty", (), {"feature_names": ["f"], "estimators": lambda self: []})())
    assert pickle.loads(bundle_bytes(result.final_model)).numerai_bundle_features == result.feature_names


def test_container_warnings_compare_with_the_numerai_predict_image() -> None:
    pins = dict(CONTAINER_PINS["3.12"])
    assert container_warnings(BundleFacts("3.12", pins, (), False)) == []
    newer = BundleFacts("3.12", {**pins, "scikit-learn": "1.9.1", "lightgbm": "4.5.2"}, (), False)
    [warning] = container_warnings(newer)
    assert warning.startswith("scikit-learn 1.9.1 here, 1.6.1 in numerai_predict_py_3_12")
    assert "no numerai-predict image for Python 3.9" in container_warnings(BundleFacts("3.9", {}, (), False))[0]

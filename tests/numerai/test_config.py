"""Experiment configs: YAML/JSON, path resolution, errors that name the field, and sweep files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from alphamine.numerai.config import ConfigError, config_from_dict, load_config
from alphamine.numerai.experiment import parse_sweep_arg, parse_value, set_dotted, sweep

BASE = {
    "data": {"path": "data/train.parquet", "feature_set": "medium", "benchmark_col": "v53_lgbm_ender20"},
    "model": {"type": "lgbm", "params": {"n_estimators": 50, "learning_rate": 0.05}},
    "cv": {"scheme": "kfold", "folds": 4, "embargo": 8},
    "seed": 7,
}


def _write(path: Path, raw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw) if path.suffix in (".yaml", ".yml") else json.dumps(raw))
    return path


@pytest.mark.parametrize("name", ["exp.yaml", "exp.yml", "exp.json"])
def test_load_yaml_or_json_and_resolve_paths(tmp_path: Path, name: str) -> None:
    cfg = load_config(_write(tmp_path / "cfgs" / name, BASE))
    assert cfg.data.path == str((tmp_path / "cfgs" / "data" / "train.parquet").resolve())
    assert cfg.model.type == "lgbm" and cfg.model.params["learning_rate"] == 0.05
    assert (cfg.cv.scheme, cfg.cv.folds, cfg.cv.embargo, cfg.seed) == ("kfold", 4, 8, 7)
    assert cfg.output.name == "exp" and cfg.name == "exp" and cfg.output.dir == "numerai_runs"


def test_defaults() -> None:
    cfg = config_from_dict({"data": {"path": "/abs/train.parquet"}})
    assert (cfg.data.feature_set, cfg.data.target, cfg.data.scouting, cfg.data.benchmark_col) == (
        "small", "target", False, None)
    assert (cfg.model.type, cfg.model.params) == ("lgbm", {})
    assert (cfg.cv.scheme, cfg.cv.folds, cfg.cv.embargo, cfg.seed) == ("walkforward", 5, 13, 0)


@pytest.mark.parametrize(
    "patch,message",
    [
        ({"cv": {"folds": 1}}, r"exp.yaml: cv.folds: Input should be greater than or equal to 2"),
        ({"cv": {"embargo": -1}}, r"cv.embargo: Input should be greater than or equal to 0"),
        ({"cv": {"scheme": "random"}}, r"cv.scheme: Input should be 'kfold' or 'walkforward'"),
        ({"model": {"type": "xgb"}}, r"model.type: unknown model type 'xgb' \(known: ensemble, lgbm"),
        ({"data": {"pth": "x"}}, r"data.path: Field required"),
        ({"data": {"path": "x", "scoutin": True}}, r"data.scoutin: Extra inputs are not permitted"),
        ({"seed": "abc"}, r"seed: Input should be a valid integer"),
        ({"extra_section": {}}, r"extra_section: Extra inputs are not permitted"),
    ],
)
def test_errors_name_file_and_field(tmp_path: Path, patch: dict[str, object], message: str) -> None:
    raw = json.loads(json.dumps(BASE))
    for key, value in patch.items():
        if isinstance(value, dict) and key in raw and key != "data":
            raw[key].update(value)
        else:
            raw[key] = value
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path / "exp.yaml", raw))


def test_unreadable_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML"):
        load_config(bad)
    wrong = _write(tmp_path / "exp.toml", BASE)
    with pytest.raises(ConfigError, match=r"must be \.yaml, \.yml or \.json"):
        load_config(wrong)
    listy = tmp_path / "list.json"
    listy.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(listy)


def test_sweep_writes_one_valid_config_per_point(tmp_path: Path) -> None:
    base = _write(tmp_path / "cfgs" / "base.yaml", BASE)
    paths = sweep(
        base,
        dict([parse_sweep_arg("model.params.learning_rate=0.01,0.02"), parse_sweep_arg("cv.scheme=kfold,walkforward")]),
        tmp_path / "sweep",
    )
    assert [p.name for p in paths] == [
        "base__model.params.learning_rate=0.01__cv.scheme=kfold.json",
        "base__model.params.learning_rate=0.01__cv.scheme=walkforward.json",
        "base__model.params.learning_rate=0.02__cv.scheme=kfold.json",
        "base__model.params.learning_rate=0.02__cv.scheme=walkforward.json",
    ]
    cfgs = [load_config(p) for p in paths]
    assert [c.model.params["learning_rate"] for c in cfgs] == [0.01, 0.01, 0.02, 0.02]
    assert [c.cv.scheme for c in cfgs] == ["kfold", "walkforward"] * 2
    assert all(c.model.params["n_estimators"] == 50 for c in cfgs)
    assert all(c.data.path == str((tmp_path / "cfgs" / "data" / "train.parquet").resolve()) for c in cfgs)
    assert [c.output.name for c in cfgs] == [p.stem for p in paths]


def test_sweep_validates_every_point_before_writing(tmp_path: Path) -> None:
    base = _write(tmp_path / "base.json", BASE)
    with pytest.raises(ConfigError, match=r"\[base__cv.folds=1\]: cv.folds"):
        sweep(base, {"cv.folds": ["3", "1"]}, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match=r"expected dotted\.path=value1"):
        parse_sweep_arg("model.params.learning_rate")
    with pytest.raises(ConfigError, match="seed is not a mapping"):
        sweep(base, {"seed.x": ["1"]}, tmp_path / "out")


def test_sweep_values_and_dotted_paths() -> None:
    assert parse_value("0.01") == 0.01 and parse_value("31") == 31 and parse_value("true") is True
    assert parse_value("lgbm") == "lgbm" and parse_value("[1, 2]") == [1, 2] and parse_value("null") is None
    raw: dict[str, object] = {}
    set_dotted(raw, "model.params.num_leaves", 15)
    assert raw == {"model": {"params": {"num_leaves": 15}}}

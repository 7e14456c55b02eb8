"""Experiment configs (YAML or JSON), validated with pydantic, with errors that name the field.

Why one typed config: an experiment must be reproducible from its file alone (data, features,
target, model and params, CV scheme, seed), and a typo (`cv.fold`, `model.type: lgb`) must fail
before an hour of training, with a message that says which field of which file.

Shape (every section but `data` is optional; unknown keys are errors):

    data:   {path, feature_set: small, features_json: null, target: target, scouting: false,
             benchmark_col: null, benchmark_path: null}
    model:  {type: lgbm, params: {}}
    cv:     {scheme: walkforward | kfold, folds: 5, embargo: 13}
    output: {dir: numerai_runs, name: null}
    seed:   0

Contract:
- `load_config(path)` reads `.yaml`/`.yml` (PyYAML) or `.json`; relative `data.path`,
  `data.features_json` and `data.benchmark_path` are resolved against the config file's folder and
  stored absolute; `output.name` defaults to the file stem. `output.dir` is left as written
  (relative to where the run is started).
- Every problem raises `ConfigError` whose message is `<file>: <dotted.field>: <what>` (one line per
  problem). `model.type` must be registered (`models.model_types()`); params are checked when the
  model is built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alphamine.numerai.cv import DEFAULT_EMBARGO

PATH_FIELDS = ("path", "features_json", "benchmark_path")


class ConfigError(ValueError):
    """An invalid experiment config; the message names the file and the field."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Section):
    path: str
    feature_set: str | None = "small"
    features_json: str | None = None
    target: str = "target"
    scouting: bool = False
    benchmark_col: str | None = None
    benchmark_path: str | None = None


class ModelConfig(_Section):
    type: str = "lgbm"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _registered(cls, value: str) -> str:
        from alphamine.numerai.models import model_types

        if value not in model_types():
            raise ValueError(f"unknown model type {value!r} (known: {', '.join(model_types())})")
        return value


class CVConfig(_Section):
    scheme: Literal["kfold", "walkforward"] = "walkforward"
    folds: Annotated[int, Field(ge=2)] = 5
    embargo: Annotated[int, Field(ge=0)] = DEFAULT_EMBARGO


class OutputConfig(_Section):
    dir: str = "numerai_runs"
    name: str | None = None


class ExperimentConfig(_Section):
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    cv: CVConfig = Field(default_factory=CVConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    seed: int = 0

    @property
    def name(self) -> str:
        return self.output.name or "experiment"


def _messages(where: str, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = str(e["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {loc}: {msg}")
    return "\n".join(lines)


def config_from_dict(raw: Any, where: str = "<config>") -> ExperimentConfig:
    """Validate a mapping (already path-resolved) into an `ExperimentConfig`."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must hold a mapping with at least a 'data' section")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_messages(where, e)) from None


def read_raw(path: str | Path) -> dict[str, Any]:
    """The file's mapping with relative data paths made absolute and `output.name` defaulted (no validation)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e}") from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        elif p.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            raise ConfigError(f"{p}: config must be .yaml, .yml or .json")
    except ConfigError:
        raise
    except Exception as e:  # yaml.YAMLError / json.JSONDecodeError
        raise ConfigError(f"{p}: not valid {p.suffix.lstrip('.').upper()}: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: must hold a mapping with at least a 'data' section")
    data = raw.get("data")
    if isinstance(data, dict):
        for key in PATH_FIELDS:
            value = data.get(key)
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                data[key] = str((p.parent / value).resolve())
    output = raw.setdefault("output", {})
    if isinstance(output, dict):
        output.setdefault("name", p.stem)
    return raw


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a YAML or JSON experiment config (module doc)."""
    return config_from_dict(read_raw(path), str(path))

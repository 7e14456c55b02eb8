"""Run one experiment config end to end (load → era CV → OOF scores → final model), and write sweeps.

Why this shape: Numerai research is judged on out-of-fold predictions over eras the model never
saw (and never trained near: the CV embargo); the final model, fitted on every loaded era, is what
gets exported. `run_experiment` returns both with the scores and a fingerprint of the data, so a
registry can tell whether two runs are comparable; it writes nothing.

Contract of `ExperimentResult`:
- `config`: the validated `ExperimentConfig`.
- `data_fingerprint`: blake2b-128 hex of the bytes of the data file, features.json (when a feature
  set was used) and the benchmark file (when joined), then the feature names. It does not cover the
  loader options (target, scouting); those are in `config`.
- `oof`: DataFrame indexed by id (validated rows only, in file order) with columns `era` (str),
  `target` (the configured target), `prediction` (float64; raw model output, rank-averaged for
  ensembles), `cv_fold` (int), and `benchmark` (float, NaN where the benchmark file has no row)
  only when `data.benchmark_col` is set.
- `scores`: `score_frame(oof, benchmark_col="benchmark" or None)`.
- `baseline_scores`: the benchmark column's own `score_frame` (as the prediction, no BMC) on the OOF
  rows that have a benchmark value; None without a benchmark.
- `final_model`: a fresh model fitted on every loaded row; `feature_names`; `folds` (the CV folds
  used, era positions into `eras`); `eras` (sorted era names); `seconds` (wall time of the run).

`sweep(config_path, params, out_dir)` writes one JSON config per point of the grid: `params` maps a
dotted path (`model.params.learning_rate`) to the values to try, each a string parsed as JSON when
it can be ("0.01" → 0.01, "true" → true, "[1, 2]" → a list), else kept as a string. The files are
`<stem>__<path>=<value>[__…].json` (characters outside `[A-Za-z0-9._=-]` become `-`), each with
absolute data paths and `output.name` set to the file's stem; every point is validated first.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphamine.numerai.config import ConfigError, ExperimentConfig, config_from_dict, load_config, read_raw
from alphamine.numerai.cv import Fold, era_codes, make_folds, oof_predict
from alphamine.numerai.data import NumeraiData, load_numerai
from alphamine.numerai.models import NumeraiModel, build_model
from alphamine.numerai.scoring import Scores, score_frame

OOF_COLUMNS = ("era", "target", "prediction", "cv_fold", "benchmark")
_CHUNK = 1 << 20


@dataclass(frozen=True, eq=False)
class ExperimentResult:
    """Everything one run produced (module doc)."""

    config: ExperimentConfig
    data_fingerprint: str
    oof: pd.DataFrame
    scores: Scores
    baseline_scores: Scores | None
    final_model: NumeraiModel
    feature_names: list[str]
    folds: list[Fold]
    eras: list[str]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe summary: name, config, fingerprint, scores (+ details), baseline, sizes, seconds."""
        return {
            "name": self.config.name,
            "config": self.config.model_dump(mode="json"),
            "data_fingerprint": self.data_fingerprint,
            "scores": self.scores.to_json(),
            "score_details": self.scores.details(),
            "baseline_scores": None if self.baseline_scores is None else self.baseline_scores.to_json(),
            "feature_names": list(self.feature_names),
            "n_rows": len(self.oof),
            "n_oof_eras": int(self.oof["era"].nunique()),
            "folds": [{"index": f.index, "train_eras": len(f.train), "validation_eras": len(f.validation)}
                      for f in self.folds],
            "seconds": self.seconds,
        }


def fingerprint(files: list[Path], feature_names: list[str]) -> str:
    """blake2b-128 of the files' bytes (in order, each prefixed by its size) and the feature names."""
    h = hashlib.blake2b(digest_size=16)
    for path in files:
        h.update(f"{path.stat().st_size}\n".encode())
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    h.update("\n".join(feature_names).encode())
    return h.hexdigest()


def load_experiment_data(config: ExperimentConfig) -> tuple[NumeraiData, list[Path]]:
    """The data a config names, and the files that went into it (for the fingerprint)."""
    d = config.data
    data = load_numerai(
        d.path, feature_set=d.feature_set, features_json=d.features_json, target=d.target,
        benchmark_col=d.benchmark_col, benchmark_path=d.benchmark_path, scouting=d.scouting,
    )
    files = [Path(d.path)]
    if d.feature_set is not None:
        files.append(Path(d.features_json) if d.features_json else Path(d.path).parent / "features.json")
    if data.benchmark is not None and d.benchmark_col not in _columns(Path(d.path)):
        files.append(Path(d.benchmark_path) if d.benchmark_path else
                     Path(d.path).with_name(Path(d.path).stem + "_benchmark_models.parquet"))
    return data, files


def _columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def run_experiment(config: ExperimentConfig | str | Path) -> ExperimentResult:
    """Load, cross-validate (OOF only), score, and fit the final model (module doc)."""
    start = time.perf_counter()
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    data, files = load_experiment_data(cfg)
    codes, eras = era_codes(data.era)
    folds = make_folds(len(eras), cfg.cv.scheme, cfg.cv.folds, cfg.cv.embargo)
    y = data.target.to_numpy(dtype=np.float64)

    def build() -> NumeraiModel:
        return build_model(cfg.model.type, cfg.model.params, seed=cfg.seed)

    oof_result = oof_predict(build, data.features, y, codes, folds)
    keep = oof_result.validated
    oof = pd.DataFrame(
        {"era": data.era.to_numpy()[keep], "target": y[keep], "prediction": oof_result.prediction[keep],
         "cv_fold": oof_result.fold[keep]},
        index=data.ids[keep],
    )
    baseline: Scores | None = None
    if data.benchmark is not None:
        oof["benchmark"] = data.benchmark.to_numpy(dtype=np.float64)[keep]
        covered = oof[oof["benchmark"].notna()]
        if len(covered):
            baseline = score_frame(covered, pred_col="benchmark")
    scores = score_frame(oof, benchmark_col="benchmark" if data.benchmark is not None else None)
    final = build().fit(data.features, y)
    return ExperimentResult(
        config=cfg, data_fingerprint=fingerprint(files, data.feature_names), oof=oof, scores=scores,
        baseline_scores=baseline, final_model=final, feature_names=data.feature_names, folds=folds, eras=eras,
        seconds=time.perf_counter() - start,
    )


def parse_value(text: str) -> Any:
    """A sweep value: JSON when it parses ("0.01", "true", "[1,2]", "null"), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_sweep_arg(arg: str) -> tuple[str, list[str]]:
    """`"model.params.learning_rate=0.01,0.02"` → ("model.params.learning_rate", ["0.01", "0.02"])."""
    path, sep, values = arg.partition("=")
    if not sep or not path.strip() or not values.strip():
        raise ConfigError(f"sweep parameter {arg!r}: expected dotted.path=value1,value2,...")
    return path.strip(), [v.strip() for v in values.split(",")]


def set_dotted(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set `raw["a"]["b"]["c"] = value` for path "a.b.c", creating missing mappings."""
    node = raw
    parts = path.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"sweep parameter {path!r}: {'.'.join(parts[: i + 1])} is not a mapping")
        node = child
    node[parts[-1]] = value


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._=-" else "-" for c in text)


def sweep(config_path: str | Path, params: dict[str, list[str]], out_dir: str | Path) -> list[Path]:
    """Write one config per grid point of `params` into `out_dir` (module doc); returns the paths in grid order."""
    base = read_raw(config_path)
    stem = Path(config_path).stem
    if not params or any(not values for values in params.values()):
        raise ConfigError(f"{config_path}: sweep needs at least one parameter with at least one value")
    out = Path(out_dir)
    points: list[tuple[Path, dict[str, Any]]] = []
    for combo in itertools.product(*params.values()):
        raw = json.loads(json.dumps(base))
        name = stem + "".join(f"__{_slug(k)}={_slug(v)}" for k, v in zip(params, combo, strict=True))
        for key, text in zip(params, combo, strict=True):
            set_dotted(raw, key, parse_value(text))
        raw.setdefault("output", {})["name"] = name
        config_from_dict(raw, f"{config_path} [{name}]")
        points.append((out / f"{name}.json", raw))
    if len({p for p, _ in points}) != len(points):
        raise ConfigError(f"{config_path}: sweep values collide after making file names; use distinct values")
    out.mkdir(parents=True, exist_ok=True)
    for path, raw in points:
        path.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return [p for p, _ in points]

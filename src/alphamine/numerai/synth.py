"""A synthetic Numerai-like dataset, written in the real file layout, with a known planted signal.

Why: tests and demos need Numerai-format files (id index, `era`, int8 `feature_*` bins, `target*`
bins, benchmark-model files joined by id, features.json) without a multi-GB download, and they need
a signal whose strength is known so "the pipeline finds it" is a checkable claim.

Model (per era, `rows_per_era` rows, all draws from one `numpy.random.default_rng(seed)`):
- latent z ~ N(0, 1) per row and feature; a feature is z's per-era quintile: int8 0–4;
- signal s = Σ_k w_k·(x_k − 2)/√2 over the `n_signal` planted features (weights with Σw² = 1, so s has
  unit variance); an era multiplier b_e ~ N(1, era_sigma) makes the signal's strength vary by era;
- target latent y = b_e·s + noise·ε, binned per era at the 5/25/75/95 % quantiles into
  0/0.25/0.5/0.75/1 (Numerai's main-target shape). `target` equals `target_ender_20`;
  `target_ender_60` and `target_teager2b_20` share half its noise; `target_cyrusd_20` uses other
  weights; `target_teager2b_20` is NaN in the last 2 train eras (auxiliary targets can be missing);
- benchmark `v53_lgbm_ender20` = per-era rank of a noisy signal that knows only the first half of
  the planted features; `v52_lgbm_teager2b20` is a noisier copy.
With the defaults the best attainable per-era Pearson corr is about 1/√(1+noise²) ≈ 0.32.

Files written to the folder: train.parquet, validation.parquet (`data_type` "validation", plus one
"test" era without targets), live.parquet (one era "X", targets NaN), features.json (sets "small",
"medium", "all"), and `{train,validation,live}_benchmark_models.parquet`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

BENCHMARK_COL = "v53_lgbm_ender20"
SECOND_BENCHMARK_COL = "v52_lgbm_teager2b20"
TARGET_COLS = ("target", "target_ender_20", "target_ender_60", "target_cyrusd_20", "target_teager2b_20")
_TARGET_QUANTILES = (0.05, 0.25, 0.75, 0.95)
LIVE_ERA = "X"


@dataclass(frozen=True)
class SynthSpec:
    """Size and signal of a synthetic dataset; the defaults make a ~1 MB, sub-second dataset."""

    n_eras: int = 200
    rows_per_era: int = 100
    n_features: int = 60
    n_signal: int = 4
    noise: float = 3.0
    era_sigma: float = 0.5
    n_validation_eras: int = 40
    benchmark_skill: float = 1.0
    float_features: bool = False
    seed: int = 0


@dataclass(frozen=True)
class SyntheticNumerai:
    """Where the files are, and the truth that generated them."""

    folder: Path
    train: Path
    validation: Path
    live: Path
    features_json: Path
    benchmarks: dict[str, Path]
    signal_features: list[str]
    benchmark_col: str = BENCHMARK_COL
    feature_sets: dict[str, list[str]] = field(default_factory=dict)


def feature_names(n: int) -> list[str]:
    return [f"feature_{i:04d}" for i in range(n)]


def _quantile_bins(latent: np.ndarray) -> np.ndarray:
    """Per-era quintile of `latent` (eras on axis 0, rows on axis 1): int8 0–4."""
    ranks = latent.argsort(axis=1).argsort(axis=1)
    return (ranks * 5 // latent.shape[1]).astype(np.int8)


def _target_bins(latent: np.ndarray) -> np.ndarray:
    """Per-era bins at the 5/25/75/95 % quantiles → 0, .25, .5, .75, 1 (float32)."""
    pct = (latent.argsort(axis=1).argsort(axis=1) + 0.5) / latent.shape[1]
    return (np.searchsorted(_TARGET_QUANTILES, pct) / 4.0).astype(np.float32)


def _per_era_rank(latent: np.ndarray) -> np.ndarray:
    return ((latent.argsort(axis=1).argsort(axis=1) + 0.5) / latent.shape[1]).astype(np.float32)


def _signal(x: np.ndarray, idx: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return np.tensordot((x[..., idx].astype(np.float64) - 2.0) / np.sqrt(2.0), weights, axes=([2], [0]))


def synthetic_frames(spec: SynthSpec = SynthSpec()) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]], list[str]]:
    """The dataset in memory: (frames by file stem, feature sets, planted feature names). Pure in `spec`."""
    if spec.n_signal < 2 or spec.n_signal > spec.n_features:
        raise ValueError("n_signal must be in [2, n_features]")
    rng = np.random.default_rng(spec.seed)
    names = feature_names(spec.n_features)
    sig_idx = np.sort(rng.choice(spec.n_features, spec.n_signal, replace=False))
    w = np.abs(rng.normal(size=spec.n_signal)) + 0.5
    w /= np.sqrt((w**2).sum())
    w_other = rng.permutation(w)
    n_eras = spec.n_eras + spec.n_validation_eras + 2  # + one "test" era and the live era
    rows = spec.rows_per_era
    x = _quantile_bins(rng.normal(size=(n_eras, rows, spec.n_features)))
    s = _signal(x, sig_idx, w)
    b = rng.normal(1.0, spec.era_sigma, size=(n_eras, 1))
    e1, e2, e3 = (rng.normal(size=(n_eras, rows)) for _ in range(3))
    t20 = _target_bins(b * s + spec.noise * e1)
    t60 = _target_bins(b * s + spec.noise * (e1 + e2) / np.sqrt(2.0))
    cyrus = _target_bins(b * _signal(x, sig_idx, w_other) + spec.noise * e3)
    teager = _target_bins(b * s + spec.noise * (e1 + e3) / np.sqrt(2.0))
    half = sig_idx[: spec.n_signal // 2]
    bench_latent = _signal(x, half, w[: len(half)]) * spec.benchmark_skill + rng.normal(size=(n_eras, rows))
    bench = _per_era_rank(bench_latent)
    bench2 = _per_era_rank(bench_latent + rng.normal(size=(n_eras, rows)))
    ids = np.array([f"n{v:015x}" for v in rng.integers(0, 2**60, size=n_eras * rows)]).reshape(n_eras, rows)
    if len(np.unique(ids)) != ids.size:  # 2**60 ids: a collision means a broken generator, not bad luck
        raise RuntimeError("synthetic id collision")

    def frame(era_slice: slice, eras: list[str], data_type: str, with_targets: bool) -> pd.DataFrame:
        n = len(eras) * rows
        index = pd.Index(ids[era_slice].ravel(), name="id")
        feats = x[era_slice].reshape(n, spec.n_features)
        cols: dict[str, object] = {"era": np.repeat(eras, rows), "data_type": np.full(n, data_type)}
        fvals = feats.astype(np.float32) / 4.0 if spec.float_features else feats
        out = pd.concat([pd.DataFrame(cols, index=index), pd.DataFrame(fvals, columns=names, index=index)], axis=1)
        values = {
            "target_ender_20": t20, "target_ender_60": t60, "target_cyrusd_20": cyrus, "target_teager2b_20": teager,
        }
        for name in TARGET_COLS:
            col = values.get(name, t20)[era_slice].reshape(n) if with_targets else np.full(n, np.nan, np.float32)
            out[name] = col.astype(np.float32)
        return out

    def bench_frame(era_slice: slice, eras: list[str]) -> pd.DataFrame:
        index = pd.Index(ids[era_slice].ravel(), name="id")
        return pd.DataFrame(
            {"era": np.repeat(eras, rows), BENCHMARK_COL: bench[era_slice].ravel(),
             SECOND_BENCHMARK_COL: bench2[era_slice].ravel()},
            index=index,
        )

    tr, va = spec.n_eras, spec.n_eras + spec.n_validation_eras
    era_names = [f"{i + 1:04d}" for i in range(n_eras - 1)] + [LIVE_ERA]
    train = frame(slice(0, tr), era_names[:tr], "train", True)
    train.loc[train["era"].isin(era_names[tr - 2 : tr]), "target_teager2b_20"] = np.nan
    validation = pd.concat(
        [frame(slice(tr, va), era_names[tr:va], "validation", True),
         frame(slice(va, va + 1), era_names[va : va + 1], "test", False)]
    )
    live = frame(slice(va + 1, va + 2), [LIVE_ERA], "live", False)
    frames = {
        "train": train, "validation": validation, "live": live,
        "train_benchmark_models": bench_frame(slice(0, tr), era_names[:tr]),
        "validation_benchmark_models": bench_frame(slice(tr, va + 1), era_names[tr : va + 1]),
        "live_benchmark_models": bench_frame(slice(va + 1, va + 2), [LIVE_ERA]),
    }
    others = [i for i in rng.permutation(spec.n_features) if i not in set(sig_idx.tolist())]
    n_small = max(spec.n_features // 6, spec.n_signal)
    small_idx = sorted([*sig_idx[: spec.n_signal // 2].tolist(), *others[: n_small - spec.n_signal // 2]])
    medium_idx = sorted({*small_idx, *sig_idx.tolist(), *others[: spec.n_features // 2]})
    sets = {"small": [names[i] for i in small_idx], "medium": [names[i] for i in medium_idx], "all": names}
    return frames, sets, [names[i] for i in sig_idx]


def write_synthetic(folder: str | Path, spec: SynthSpec = SynthSpec()) -> SyntheticNumerai:
    """Write the dataset of `spec` into `folder` (created) and say where each file is."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    frames, sets, signal = synthetic_frames(spec)
    paths = {}
    for stem, df in frames.items():
        paths[stem] = out / f"{stem}.parquet"
        df.to_parquet(paths[stem])
    fj = out / "features.json"
    doc = {"feature_sets": sets, "targets": list(TARGET_COLS)}
    fj.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return SyntheticNumerai(
        folder=out, train=paths["train"], validation=paths["validation"], live=paths["live"], features_json=fj,
        benchmarks={k: paths[f"{k}_benchmark_models"] for k in ("train", "validation", "live")},
        signal_features=signal, feature_sets=sets,
    )

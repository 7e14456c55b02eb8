"""The synthetic Numerai dataset: deterministic, real layout, and the planted signal is there."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from alphamine.numerai.synth import BENCHMARK_COL, TARGET_COLS, SyntheticNumerai, SynthSpec, synthetic_frames


def test_same_seed_same_data_other_seed_other_data() -> None:
    spec = SynthSpec(n_eras=20, rows_per_era=30, n_features=12, n_validation_eras=4, seed=3)
    a, sets_a, sig_a = synthetic_frames(spec)
    b, sets_b, sig_b = synthetic_frames(spec)
    for stem in a:
        pd.testing.assert_frame_equal(a[stem], b[stem])
    assert sets_a == sets_b and sig_a == sig_b
    c, _, _ = synthetic_frames(SynthSpec(n_eras=20, rows_per_era=30, n_features=12, n_validation_eras=4, seed=4))
    assert not a["train"]["target"].equals(c["train"]["target"])


def test_layout_matches_numerai_files(synth: SyntheticNumerai) -> None:
    train = pd.read_parquet(synth.train)
    assert train.index.name == "id" and train.index.is_unique
    assert train.shape == (200 * 100, 2 + 60 + len(TARGET_COLS))
    feats = [c for c in train.columns if c.startswith("feature_")]
    assert (train[feats].dtypes == np.int8).all()
    assert set(np.unique(train[feats].to_numpy())) == {0, 1, 2, 3, 4}
    assert set(np.unique(train["target"])) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert train["target"].equals(train["target_ender_20"])
    per_era = train.groupby("era")["feature_0000"].value_counts().unstack()
    assert (per_era == 20).all().all()  # equal per-era quintile bins
    doc = json.loads(synth.features_json.read_text())
    assert set(doc["feature_sets"]) == {"small", "medium", "all"} and "target" in doc["targets"]
    bench = pd.read_parquet(synth.benchmarks["train"])
    assert list(bench.columns) == ["era", BENCHMARK_COL, "v52_lgbm_teager2b20"]
    assert bench.index.equals(train.index)
    assert bench[BENCHMARK_COL].between(0, 1, inclusive="neither").all()
    all_ids = [pd.read_parquet(p).index for p in (synth.train, synth.validation, synth.live)]
    assert len(all_ids[0].append(all_ids[1:]).unique()) == sum(len(i) for i in all_ids)


def test_planted_features_carry_the_signal(synth: SyntheticNumerai) -> None:
    train = pd.read_parquet(synth.train)
    corr = train[synth.feature_sets["all"]].astype(float).corrwith(train["target"])
    planted = corr[synth.signal_features]
    others = corr.drop(synth.signal_features)
    assert planted.min() > 0.05
    assert others.abs().max() < 0.03
    assert set(synth.signal_features) <= set(synth.feature_sets["medium"])

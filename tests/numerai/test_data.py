"""The Numerai parquet loader on files in the real format (written by the synth)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphamine.numerai.data import NumeraiDataError, load_feature_sets, load_numerai, scouting_eras, sort_eras
from alphamine.numerai.synth import BENCHMARK_COL, SyntheticNumerai, SynthSpec, write_synthetic


def test_loads_int8_features_targets_era_ids(synth: SyntheticNumerai) -> None:
    data = load_numerai(synth.train, aux_targets=["target_ender_60"])
    raw = pd.read_parquet(synth.train)
    small = load_feature_sets(synth.features_json)["small"]
    assert data.feature_names == small
    assert (data.features.dtypes == np.int8).all()
    assert data.features.to_numpy().min() >= 0 and data.features.to_numpy().max() <= 4
    assert list(data.ids) == list(raw.index) and data.ids.name == "id"
    np.testing.assert_array_equal(data.features.to_numpy(), raw[small].to_numpy())
    assert list(data.targets.columns) == ["target", "target_ender_60"]
    assert (data.targets.dtypes == np.float32).all()
    np.testing.assert_array_equal(data.target.to_numpy(), raw["target"].to_numpy())
    assert data.era.iloc[0] == "0001" and data.eras[-1] == "0200" and len(data.eras) == 200
    assert data.benchmark is None and len(data) == 200 * 100


def test_float_bins_are_read_on_the_int_scale(synth: SyntheticNumerai, tmp_path: Path) -> None:
    floats = write_synthetic(tmp_path / "float", SynthSpec(seed=0, float_features=True))
    assert pd.read_parquet(floats.train)["feature_0000"].dtype == np.float32
    a = load_numerai(floats.train, feature_set="all")
    b = load_numerai(synth.train, feature_set="all")
    assert (a.features.dtypes == np.int8).all()
    pd.testing.assert_frame_equal(a.features, b.features)


def test_missing_feature_values_give_float32_with_nan(synth: SyntheticNumerai, tmp_path: Path) -> None:
    raw = pd.read_parquet(synth.train)
    raw["feature_0001"] = raw["feature_0001"].astype("Int8")
    raw.loc[raw.index[:5], "feature_0001"] = pd.NA
    path = tmp_path / "train.parquet"
    raw.to_parquet(path)
    data = load_numerai(path, feature_set=None)
    assert (data.features.dtypes == np.float32).all()
    assert data.features["feature_0001"].isna().sum() == 5
    assert data.features["feature_0002"].notna().all()


def test_wrong_files_raise_naming_the_file(synth: SyntheticNumerai, tmp_path: Path) -> None:
    bench = synth.benchmarks["train"]
    with pytest.raises(NumeraiDataError, match=rf"{bench.name}: not a Numerai data file: missing column\(s\) target"):
        load_numerai(bench, features_json=synth.features_json)
    with pytest.raises(NumeraiDataError, match=r"features\.json: not a parquet file"):
        load_numerai(synth.features_json)
    with pytest.raises(NumeraiDataError, match="no such file"):
        load_numerai(tmp_path / "nope.parquet")
    with pytest.raises(NumeraiDataError, match=r"missing column\(s\) target_nope"):
        load_numerai(synth.train, target="target_nope")
    with pytest.raises(NumeraiDataError, match="no feature set 'tiny'"):
        load_numerai(synth.train, feature_set="tiny")
    no_features = tmp_path / "no_features.parquet"
    pd.read_parquet(synth.train)[["era", "target"]].to_parquet(no_features)
    with pytest.raises(NumeraiDataError, match=r"no_features.parquet: .*missing column\(s\) feature_"):
        load_numerai(no_features, features_json=synth.features_json)


def test_values_off_the_bins_raise(synth: SyntheticNumerai, tmp_path: Path) -> None:
    raw = pd.read_parquet(synth.train)
    raw["feature_0003"] = raw["feature_0003"].astype(np.float32) / 4 + 0.1
    path = tmp_path / "bad.parquet"
    raw.to_parquet(path)
    with pytest.raises(NumeraiDataError, match="feature_0003 has values off the Numerai bins"):
        load_numerai(path, feature_set=None)


def test_scouting_keeps_every_fourth_era(synth: SyntheticNumerai) -> None:
    data = load_numerai(synth.train, scouting=True)
    assert data.eras == [f"{i:04d}" for i in range(1, 201, 4)]
    assert len(data) == 50 * 100
    assert scouting_eras(["3", "1", "2", "10"], step=2) == ["1", "3"]
    assert sort_eras(["10", "9", "100"]) == ["9", "10", "100"]


def test_benchmark_joined_by_id(synth: SyntheticNumerai) -> None:
    data = load_numerai(synth.train, benchmark_col=BENCHMARK_COL)  # found as train_benchmark_models.parquet
    bench = pd.read_parquet(synth.benchmarks["train"])
    assert data.benchmark is not None and data.benchmark.name == BENCHMARK_COL
    expected = bench[BENCHMARK_COL].reindex(data.ids).to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(data.benchmark.to_numpy(), expected)
    by_suffix = load_numerai(synth.train, benchmark_col="lgbm_ender20", benchmark_path=synth.benchmarks["train"])
    assert by_suffix.benchmark is not None and by_suffix.benchmark.name == BENCHMARK_COL


def test_benchmark_with_fewer_ids_gives_nan_and_era_mismatch_raises(synth_copy: SyntheticNumerai) -> None:
    path = synth_copy.benchmarks["train"]
    bench = pd.read_parquet(path)
    bench[bench["era"] >= "0011"].to_parquet(path)
    data = load_numerai(synth_copy.train, benchmark_col=BENCHMARK_COL)
    assert data.benchmark is not None
    assert data.benchmark[data.era < "0011"].isna().all() and data.benchmark[data.era >= "0011"].notna().all()
    bench.loc[bench.index[0], "era"] = "0199"
    bench.to_parquet(path)
    with pytest.raises(NumeraiDataError, match="era of 1 id"):
        load_numerai(synth_copy.train, benchmark_col=BENCHMARK_COL)
    with pytest.raises(NumeraiDataError, match="no benchmark column 'nope'"):
        load_numerai(synth_copy.train, benchmark_col="nope")


def test_validation_drops_test_rows_and_live_loads_without_target(synth: SyntheticNumerai) -> None:
    raw = pd.read_parquet(synth.validation)
    assert set(raw["data_type"]) == {"validation", "test"}
    val = load_numerai(synth.validation, benchmark_col=BENCHMARK_COL)
    assert len(val) == int((raw["data_type"] == "validation").sum())
    assert val.target.notna().all()
    kept = load_numerai(synth.validation, drop_missing_target=False)
    assert len(kept) == len(raw)
    live = load_numerai(synth.live, target=None, feature_set="medium", benchmark_col=BENCHMARK_COL)
    assert live.targets.shape == (100, 0) and live.eras == ["X"]
    assert live.benchmark is not None and live.benchmark.notna().all()
    with pytest.raises(NumeraiDataError, match="without a target"):
        _ = live.target


def test_aux_target_nan_is_kept(synth: SyntheticNumerai) -> None:
    data = load_numerai(synth.train, aux_targets=["target_teager2b_20"])
    aux = data.targets["target_teager2b_20"]
    assert aux.isna().sum() == 200 and len(data) == 20000


def test_feature_sets_file(synth: SyntheticNumerai, tmp_path: Path) -> None:
    sets = load_feature_sets(synth.features_json)
    assert {"small", "medium", "all"} <= set(sets)
    assert set(sets["small"]) <= set(sets["medium"]) <= set(sets["all"]) and len(sets["all"]) == 60
    bad = tmp_path / "features.json"
    bad.write_text(json.dumps({"targets": []}))
    with pytest.raises(NumeraiDataError, match="no \"feature_sets\""):
        load_feature_sets(bad)
    explicit = load_numerai(synth.train, features=["feature_0005", "feature_0002"])
    assert explicit.feature_names == ["feature_0005", "feature_0002"]

"""Scoring equals numerai-tools called era by era, and the summaries equal slow reference loops."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numerai_tools.scoring import correlation_contribution, feature_neutral_corr, numerai_corr

from alphamine.numerai.data import load_numerai
from alphamine.numerai.scoring import (
    Scores,
    fast_correlation_contribution,
    fast_numerai_corr,
    last_eras,
    max_drawdown,
    neutralize_per_era,
    per_era_fnc,
    score_frame,
    summarize,
)
from alphamine.numerai.synth import BENCHMARK_COL, SyntheticNumerai

TOL = 1e-9
JSON_KEYS = {"corr_mean", "corr_std", "corr_sharpe", "bmc_mean", "bmc_std", "bmc_sharpe", "max_drawdown",
             "per_era_corr", "per_era_bmc"}


@pytest.fixture(scope="module")
def frame(synth: SyntheticNumerai) -> pd.DataFrame:
    """era, target (5 % NaN), benchmark, prediction = planted signal + noise, and the features."""
    data = load_numerai(synth.train, feature_set="all", benchmark_col=BENCHMARK_COL)
    rng = np.random.default_rng(7)
    signal = data.features[synth.signal_features].astype(float).sum(axis=1).to_numpy()
    df = pd.DataFrame({"era": data.era, "target": data.target.astype(float), "benchmark": data.benchmark})
    df["prediction"] = signal + rng.normal(scale=3.0, size=len(df))
    df.loc[rng.random(len(df)) < 0.05, "target"] = np.nan
    return pd.concat([df, data.features], axis=1)


def _reference(
    df: pd.DataFrame, score: Callable[[pd.DataFrame], pd.Series], sort: bool = False
) -> dict[str, float]:
    """numerai-tools called on each era's rows with a target (sorted by id when the function needs it)."""
    out = {}
    for era, g in df.groupby("era"):
        g = g.dropna(subset=["target"])
        out[str(era)] = float(score(g.sort_index() if sort else g).iloc[0])
    return out


@pytest.fixture(scope="module")
def reference(frame: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """numerai_corr and correlation_contribution called era by era (integer ids: same values, faster)."""
    df = frame[["era", "target", "prediction", "benchmark"]].reset_index(drop=True)
    corr = _reference(df, lambda g: numerai_corr(g[["prediction"]], g["target"]))
    bmc = _reference(df, lambda g: correlation_contribution(g[["prediction"]], g["benchmark"], g["target"]))
    return corr, bmc


def _assert_equal(scores: Scores, ref_corr: dict[str, float], ref_bmc: dict[str, float]) -> None:
    assert list(scores.per_era_corr.index) == sorted(ref_corr)
    assert scores.per_era_bmc is not None and list(scores.per_era_bmc.index) == sorted(ref_bmc)
    for era, value in ref_corr.items():
        assert abs(scores.per_era_corr[era] - value) < TOL
    for era, value in ref_bmc.items():
        assert abs(scores.per_era_bmc[era] - value) < TOL


def test_fast_engine_equals_numerai_tools_era_by_era(
    frame: pd.DataFrame, reference: tuple[dict[str, float], dict[str, float]]
) -> None:
    """All 200 synthetic eras, 5 % NaN targets: every per-era CORR and BMC within 1e-9 of the library."""
    ref_corr, ref_bmc = reference
    scores = score_frame(frame, benchmark_col="benchmark")
    _assert_equal(scores, ref_corr, ref_bmc)
    assert abs(scores.corr.mean - np.mean(list(ref_corr.values()))) < TOL
    assert scores.corr.mean > 0.05 and scores.corr.n_eras == 200


def test_numerai_tools_engine_equals_fast_engine(
    frame: pd.DataFrame, reference: tuple[dict[str, float], dict[str, float]]
) -> None:
    """The literal library engine on 25 eras (it is ~50× slower) gives the same numbers."""
    eras = sorted(reference[0])[::8]
    scores = score_frame(frame[frame["era"].isin(eras)], benchmark_col="benchmark", engine="numerai_tools")
    _assert_equal(scores, {e: reference[0][e] for e in eras}, {e: reference[1][e] for e in eras})


def test_fnc_and_neutralization_use_numerai_tools(frame: pd.DataFrame) -> None:
    eras = [f"{i:04d}" for i in range(1, 6)]
    sub = frame[frame["era"].isin(eras)]
    feats = [c for c in frame.columns if c.startswith("feature_")]
    fnc = per_era_fnc(sub, feats)
    ref = _reference(
        sub, lambda g: feature_neutral_corr(g[["prediction"]], g[feats].astype(float), g["target"]), sort=True
    )
    for era, value in ref.items():
        assert abs(fnc[era] - value) < TOL
    neutral = neutralize_per_era(sub, feats)
    assert neutral.index.equals(sub.index)
    for _, g in sub.assign(n=neutral).groupby("era"):
        exposures = g[feats].astype(float).corrwith(g["n"])
        assert exposures.abs().max() < 1e-8


def test_to_json_has_exactly_the_keys_and_is_json_safe(frame: pd.DataFrame) -> None:
    with_bench = score_frame(frame, benchmark_col="benchmark").to_json()
    assert set(with_bench) == JSON_KEYS
    assert len(with_bench["per_era_corr"]) == 200 and with_bench["per_era_bmc"]["0001"] is not None
    json.dumps(with_bench, allow_nan=False)
    plain = score_frame(frame).to_json()
    assert set(plain) == JSON_KEYS
    assert all(plain[k] is None for k in ("bmc_mean", "bmc_std", "bmc_sharpe", "per_era_bmc"))
    assert plain["corr_mean"] == with_bench["corr_mean"]


def test_eras_without_benchmark_have_no_bmc(frame: pd.DataFrame) -> None:
    df = frame[["era", "target", "prediction", "benchmark"]].copy()
    df.loc[df["era"] <= "0010", "benchmark"] = np.nan
    scores = score_frame(df, benchmark_col="benchmark")
    assert scores.per_era_bmc is not None and len(scores.per_era_bmc) == 190
    assert scores.bmc is not None and scores.bmc.n_eras == 190 and scores.corr.n_eras == 200


def test_nan_prediction_raises_and_missing_column_raises(frame: pd.DataFrame) -> None:
    df = frame[["era", "target", "prediction"]].copy()
    df.iloc[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN prediction"):
        score_frame(df)
    with pytest.raises(KeyError, match="benchmark_x"):
        score_frame(frame, benchmark_col="benchmark_x")


def _slow_summary(values: list[float]) -> tuple[float, float, float, float]:
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    peak, cum, worst = -math.inf, 0.0, 0.0
    for v in values:
        cum += v
        peak = max(peak, cum)
        worst = max(worst, peak - cum)
    return mean, std, (mean / std if std > 0 else math.nan), worst


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-0.2, 0.2, allow_nan=False), min_size=1, max_size=60))
def test_summary_equals_slow_reference(values: list[float]) -> None:
    s = summarize(pd.Series(values, index=[f"{i:04d}" for i in range(len(values))]))
    mean, std, sharpe, dd = _slow_summary(values)
    assert s.n_eras == len(values)
    assert s.mean == pytest.approx(mean, abs=1e-12) and s.std == pytest.approx(std, abs=1e-12)
    assert s.max_drawdown == pytest.approx(dd, abs=1e-12) and s.max_drawdown >= 0
    if math.isnan(sharpe) or std < 1e-9:
        assert math.isnan(s.sharpe) or std < 1e-9
    else:
        assert s.sharpe == pytest.approx(sharpe, rel=1e-9)


def test_drawdown_and_last_eras_examples() -> None:
    assert max_drawdown([0.1, 0.2, -0.05, -0.1, 0.3]) == pytest.approx(0.15)
    assert max_drawdown([0.1, 0.1]) == 0.0 and math.isnan(max_drawdown([]))
    s = pd.Series(np.arange(250.0), index=[str(i) for i in range(1, 251)])
    assert list(last_eras(s).index) == [str(i) for i in range(51, 251)]
    assert summarize(pd.Series([np.nan, 1.0, 1.0])).n_eras == 2
    assert math.isnan(summarize(pd.Series([1.0, 1.0])).sharpe)


def test_fast_formulas_on_ties_and_unbucketed_targets() -> None:
    """Heavy ties in predictions and a target outside [0, 1] (no ×4 bucketing) still match the library."""
    rng = np.random.default_rng(1)
    idx = pd.Index(range(300))
    pred = pd.Series(rng.integers(0, 5, 300).astype(float), index=idx, name="p")
    meta = pd.Series(rng.normal(size=300), index=idx, name="m")
    targets = (rng.integers(0, 5, 300) / 4, rng.normal(size=300))
    for target in (pd.Series(t, index=idx, name="target") for t in targets):
        ref_corr = float(numerai_corr(pred.to_frame("p"), target).iloc[0])
        ref_bmc = float(correlation_contribution(pred.to_frame("p"), meta, target).iloc[0])
        assert abs(fast_numerai_corr(pred.to_numpy(), target.to_numpy()) - ref_corr) < TOL
        assert abs(fast_correlation_contribution(pred.to_numpy(), meta.to_numpy(), target.to_numpy()) - ref_bmc) < TOL

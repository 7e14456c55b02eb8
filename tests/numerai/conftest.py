"""Shared fixtures: one synthetic Numerai dataset per test session (written once, read-only by convention).

`synth` is the default dataset (200 train eras × 100 rows × 60 features, seed 0); tests that change
files copy it first (`synth_copy`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from alphamine.numerai.synth import SyntheticNumerai, SynthSpec, write_synthetic


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SyntheticNumerai:
    return write_synthetic(tmp_path_factory.mktemp("numerai_synth"), SynthSpec(seed=0))


@pytest.fixture()
def synth_copy(synth: SyntheticNumerai, tmp_path: Path) -> SyntheticNumerai:
    """A private copy of the session dataset, safe to modify."""
    folder = tmp_path / "data"
    shutil.copytree(synth.folder, folder)
    return _relocate(synth, folder)


def _relocate(info: SyntheticNumerai, folder: Path) -> SyntheticNumerai:
    def move(p: Path) -> Path:
        return folder / p.name

    return SyntheticNumerai(
        folder=folder, train=move(info.train), validation=move(info.validation), live=move(info.live),
        features_json=move(info.features_json), benchmarks={k: move(v) for k, v in info.benchmarks.items()},
        signal_features=info.signal_features, benchmark_col=info.benchmark_col, feature_sets=info.feature_sets,
    )

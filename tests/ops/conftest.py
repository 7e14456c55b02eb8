"""Shared random data for operator tests: NaNs, ties, short histories, constant windows and
instruments that enter late / leave early. Deterministic per seed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def make_series(seed: int = 0, T: int = 60, N: int = 12, nan_frac: float = 0.1, ties: bool = True) -> np.ndarray:
    """A (T, N) float64 array exercising the edge cases every kernel must handle.

    - column 0: constant (a constant window everywhere)
    - column 1: enters at row T//3 (NaN before)
    - column 2: leaves after row 2T//3 (NaN after)
    - column 3: entirely NaN
    - column 4: integers in 0..3 (many ties inside windows)
    - others: random normal with `nan_frac` NaNs scattered; rounded to 1 decimal when `ties`
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, N))
    if ties:
        x = np.round(x, 1)
    x[rng.random((T, N)) < nan_frac] = np.nan
    if N > 0:
        x[:, 0] = 1.5
    if N > 1:
        x[: T // 3, 1] = np.nan
    if N > 2:
        x[2 * T // 3 :, 2] = np.nan
    if N > 3:
        x[:, 3] = np.nan
    if N > 4:
        x[:, 4] = rng.integers(0, 4, T).astype(float)
    return x


def make_groups(seed: int = 0, T: int = 60, N: int = 12, n_groups: int = 3) -> np.ndarray:
    """(T, N) int32 group codes in 0..n_groups-1, mostly static, with -1 (no group) for a few cells and
    one singleton group (code n_groups) on column N-1."""
    rng = np.random.default_rng(seed + 1000)
    g = np.broadcast_to(rng.integers(0, n_groups, N), (T, N)).copy().astype(np.int32)
    g[rng.random((T, N)) < 0.03] = -1
    if N > 1:
        g[:, N - 1] = n_groups
    return g


@pytest.fixture
def series() -> Callable[..., np.ndarray]:
    return make_series


@pytest.fixture
def groups() -> Callable[..., np.ndarray]:
    return make_groups

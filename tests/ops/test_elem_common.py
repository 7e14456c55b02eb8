"""Shared data and slow references for the element-wise operator tests (no tests of its own)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from alphamine.ops import get
from conftest import make_series

NAN = math.nan
INF = math.inf


def elem_data(seed: int = 0, T: int = 24, N: int = 12) -> np.ndarray:
    """make_series plus ±inf, exact zeros (both signs), big values and values in [-1, 1]."""
    x = make_series(seed, T=T, N=N)
    x[2, 5] = INF
    x[3, 6] = -INF
    x[4, 5] = 0.0
    x[5, 6] = -0.0
    x[6, 7] = 800.0  # exp overflow
    x[7, 7] = -800.0
    x[8, 8] = 2.5  # rounding ties
    x[9, 8] = -2.5
    x[10, 9] = 0.5
    return x


def readonly(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    y.setflags(write=False)
    return y


def cellwise(f: Callable[..., float], *arrays: np.ndarray) -> np.ndarray:
    """Apply a scalar Python function cell by cell (the obviously-correct reference)."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    bs = [np.broadcast_to(a, shape) for a in arrays]
    out = np.empty(shape)
    for idx in np.ndindex(*shape):
        out[idx] = f(*(float(b[idx]) for b in bs))
    return out


def kernel(name: str) -> Callable[..., np.ndarray]:
    return get(name).kernel


def assert_same(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    """Equal values, NaN in the same places, same-signed infinities."""
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    assert np.array_equal(np.isnan(actual), np.isnan(expected))
    assert np.array_equal(np.isposinf(actual), np.isposinf(expected))
    assert np.array_equal(np.isneginf(actual), np.isneginf(expected))


def check_fresh(out: np.ndarray, *inputs: np.ndarray, dtype: type = np.float64) -> None:
    """Kernel contract: a new, writable, C-contiguous array of the right dtype, sharing no memory."""
    assert out.dtype == dtype
    assert out.flags.c_contiguous and out.flags.writeable
    for x in inputs:
        assert not np.shares_memory(out, x)

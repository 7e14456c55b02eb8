"""trade_when (P14), keep and filter against slow references and golden examples."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphamine.ops.registry import REGISTRY

NAN = np.nan
SHAPES = [(60, 12), (4, 6)]


def ref_trade_when(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        state = NAN
        for t in range(T):
            if not math.isnan(z[t, j]) and z[t, j] > 0:
                state = NAN
            elif not math.isnan(x[t, j]) and x[t, j] > 0:
                state = y[t, j]
            out[t, j] = state
    return out


def ref_keep(x: np.ndarray, f: np.ndarray, period: int) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        for t in range(T):
            # the row of f's last change at or before t: scan back over f's valid values
            change = -1
            cur = NAN
            for s in range(t, -1, -1):
                if math.isnan(f[s, j]):
                    continue
                if math.isnan(cur) or f[s, j] == cur:
                    cur = f[s, j]
                    change = s
                else:
                    break
            if change >= 0 and t - change < period:
                out[t, j] = x[t, j]
    return out


def ref_filter(x: np.ndarray, h: list[float], a: list[float]) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        y: list[float] = []
        for t in range(T):
            acc = 0.0
            for i, c in enumerate(h):
                if c != 0 and t - i >= 0 and not math.isnan(x[t - i, j]):
                    acc += c * x[t - i, j]
            for m, c in enumerate(a, start=1):
                if c != 0 and t - m >= 0 and not math.isnan(y[t - m]):
                    acc += c * y[t - m]
            y.append(acc)
            if t >= len(h) - 1 and not math.isnan(x[t, j]):
                out[t, j] = acc
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_trade_when_matches_reference(series, shape, seed) -> None:
    T, N = shape
    x = series(seed=seed, T=T, N=N, nan_frac=0.2) - 0.8  # mostly "no entry"
    y = series(seed=seed + 1, T=T, N=N)
    z = series(seed=seed + 2, T=T, N=N, nan_frac=0.2) - 1.2
    if T > 10:
        y[4, 5] = np.inf
    np.testing.assert_array_equal(REGISTRY["trade_when"].kernel(x, y, z), ref_trade_when(x, y, z))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("period", [1, 2, 5, 30])
def test_keep_matches_reference(series, shape, period) -> None:
    T, N = shape
    x = series(seed=3, T=T, N=N)
    f = np.round(series(seed=4, T=T, N=N, nan_frac=0.2) / 2)  # slowly changing with NaN gaps
    np.testing.assert_array_equal(REGISTRY["keep"].kernel(x, f, period), ref_keep(x, f, period))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("h", "t"),
    [("1", "0"), ("0.5,0.5", "0"), ("0.2", "0.8"), ("1, -1", ""), ("0.3,0.2,0.1", "0.5, -0.2"), ("0,1", "0")],
)
def test_filter_matches_reference(series, shape, h, t) -> None:
    x = series(seed=5, T=shape[0], N=shape[1])
    hc = [float(v) for v in h.split(",")]
    tc = [float(v) for v in t.split(",") if v.strip()]
    got = REGISTRY["filter"].kernel(x, h, t)
    np.testing.assert_allclose(got, ref_filter(x, hc, tc), rtol=1e-12, atol=1e-14, equal_nan=True)


def test_trade_when_golden() -> None:
    x = np.array([0, 1, 0, NAN, 0, 1, 0], dtype=float)[:, None]
    y = np.arange(10.0, 17.0)[:, None]
    z = np.array([0, 0, 0, 0, 1, NAN, 0], dtype=float)[:, None]
    out = REGISTRY["trade_when"].kernel(x, y, z)[:, 0]
    np.testing.assert_array_equal(out, [NAN, 11, 11, 11, NAN, 15, 15])
    never = np.broadcast_to(-1.0, x.shape)  # z = -1: never exit
    np.testing.assert_array_equal(REGISTRY["trade_when"].kernel(x, y, never)[:, 0], [NAN, 11, 11, 11, 11, 15, 15])


def test_keep_golden() -> None:
    x = np.arange(1.0, 9.0)[:, None]
    f = np.array([1, 1, 2, 2, 2, NAN, 2, 2], dtype=float)[:, None]
    out = REGISTRY["keep"].kernel(x, f, 2)[:, 0]
    np.testing.assert_array_equal(out, [1, 2, 3, 4, NAN, NAN, NAN, NAN])


def test_filter_golden_and_identity() -> None:
    x = np.array([1.0, 2.0, NAN, 4.0])[:, None]
    filt = REGISTRY["filter"].kernel
    np.testing.assert_array_equal(filt(x, "1", "0"), x)
    np.testing.assert_allclose(filt(x, "0.5,0.5", "0")[:, 0], [NAN, 1.5, NAN, 2.0])  # NaN x term → 0
    np.testing.assert_allclose(filt(x, "0.5", "0.5")[:, 0], [0.5, 1.25, NAN, 2.3125])
    with pytest.raises(ValueError, match="filter"):
        filt(x, "a,b", "0")
    with pytest.raises(ValueError, match="filter"):
        filt(x, "", "0")
    assert REGISTRY["filter"].lookback({"h": "0.5,0.3,0.2"}) == 2
    assert REGISTRY["filter"].lookback({}) == 0

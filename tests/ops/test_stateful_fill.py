"""ts_backfill, kth_element, last_diff_value, days_from_last_change, ts_step against slow references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphamine.ops.registry import REGISTRY, EvalContext

NAN = np.nan
SHAPES = [(60, 12), (5, 6), (1, 5)]  # incl. short histories (T < d)
WINDOWS = [1, 2, 5, 9]


def _with_inf(x: np.ndarray) -> np.ndarray:
    y = x.copy()
    if y.shape[0] > 6 and y.shape[1] > 6:
        y[3, 5] = np.inf
        y[4, 6] = -np.inf
        y[5, 5] = np.inf
    return y


def _valid(v: float, skip_zero: bool) -> bool:
    return not math.isnan(v) and not (skip_zero and v == 0.0)


def ref_backfill(x: np.ndarray, d: int, k: int, skip_zero: bool = False) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        for t in range(T):
            if _valid(x[t, j], skip_zero):
                out[t, j] = x[t, j]
                continue
            seen = 0
            for s in range(t - 1, max(t - d + 1, 0) - 1, -1):
                if _valid(x[s, j], skip_zero):
                    seen += 1
                    if seen == k:
                        out[t, j] = x[s, j]
                        break
    return out


def ref_kth(x: np.ndarray, d: int, k: int, skip_zero: bool = False) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        for t in range(d - 1, T):
            seen = 0
            for s in range(t, t - d, -1):
                if _valid(x[s, j], skip_zero):
                    seen += 1
                    if seen == k:
                        out[t, j] = x[s, j]
                        break
    return out


def ref_last_diff(x: np.ndarray, d: int) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        for t in range(d - 1, T):
            v = x[t, j]
            if math.isnan(v):
                continue
            for s in range(t - 1, t - d, -1):
                if not math.isnan(x[s, j]) and x[s, j] != v:
                    out[t, j] = x[s, j]
                    break
    return out


def ref_days_from_last_change(x: np.ndarray) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        for t in range(T):
            v = x[t, j]
            if math.isnan(v):
                continue
            start = t
            for s in range(t - 1, -1, -1):
                if math.isnan(x[s, j]):
                    continue
                if x[s, j] == v:
                    start = s
                else:
                    break
            out[t, j] = t - start
    return out


def _col(*vals: float) -> np.ndarray:
    return np.array(vals, dtype=np.float64)[:, None]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("d", WINDOWS)
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("ignore", ["NAN", "NaN 0"])
def test_ts_backfill_matches_reference(series, shape, d, k, ignore) -> None:
    x = _with_inf(series(seed=d + 10 * k, T=shape[0], N=shape[1], nan_frac=0.35))
    got = REGISTRY["ts_backfill"].kernel(x, d, k, ignore)
    np.testing.assert_array_equal(got, ref_backfill(x, d, k, ignore != "NAN"))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("d", WINDOWS)
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("ignore", ["NaN", "nan 0"])
def test_kth_element_matches_reference(series, shape, d, k, ignore) -> None:
    x = _with_inf(series(seed=d + 7 * k, T=shape[0], N=shape[1], nan_frac=0.3))
    got = REGISTRY["kth_element"].kernel(x, d, k, ignore)
    np.testing.assert_array_equal(got, ref_kth(x, d, k, ignore.upper() != "NAN"))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("d", WINDOWS)
def test_last_diff_value_matches_reference(series, shape, d) -> None:
    x = _with_inf(series(seed=d, T=shape[0], N=shape[1]))
    np.testing.assert_array_equal(REGISTRY["last_diff_value"].kernel(x, d), ref_last_diff(x, d))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_days_from_last_change_matches_reference(series, shape, seed) -> None:
    x = _with_inf(series(seed=seed, T=shape[0], N=shape[1], nan_frac=0.2))
    x[:, -1] = np.round(x[:, -1])  # long runs of equal values
    got = REGISTRY["days_from_last_change"].kernel(x)
    np.testing.assert_array_equal(got, ref_days_from_last_change(x))


# --- golden examples (brain.md §5.3, P12) -----------------------------------------------------------


def test_ts_backfill_golden() -> None:
    x = _col(1.0, NAN, NAN, 4.0, NAN, NAN, NAN)
    bf = REGISTRY["ts_backfill"].kernel
    np.testing.assert_array_equal(bf(x, 3)[:, 0], [1, 1, 1, 4, 4, 4, NAN])
    np.testing.assert_array_equal(bf(x, 2)[:, 0], [1, 1, NAN, 4, 4, NAN, NAN])
    np.testing.assert_array_equal(bf(x, 1)[:, 0], x[:, 0])  # no previous rows: x itself
    np.testing.assert_array_equal(bf(x, 5, 2)[:, 0], [1, NAN, NAN, 4, 1, NAN, NAN])
    # zeros: filled and never used as fill values with ignore="NaN 0"
    z = _col(2.0, 0.0, NAN, 0.0)
    np.testing.assert_array_equal(bf(z, 4)[:, 0], [2, 0, 0, 0])
    np.testing.assert_array_equal(bf(z, 4, 1, "NaN 0")[:, 0], [2, 2, 2, 2])


def test_kth_element_golden() -> None:
    x = _col(3.0, 0.0, NAN, 5.0)
    ke = REGISTRY["kth_element"].kernel
    np.testing.assert_array_equal(ke(x, 4, 1)[:, 0], [NAN, NAN, NAN, 5])
    np.testing.assert_array_equal(ke(x, 4, 2)[:, 0], [NAN, NAN, NAN, 0])
    np.testing.assert_array_equal(ke(x, 4, 2, "NaN 0")[:, 0], [NAN, NAN, NAN, 3])
    np.testing.assert_array_equal(ke(x, 4, 4)[:, 0], [NAN] * 4)
    np.testing.assert_array_equal(ke(x, 2, 1)[:, 0], [NAN, 0, 0, 5])


def test_last_diff_value_golden() -> None:
    x = _col(1.0, 2.0, 2.0, NAN, 2.0)
    ld = REGISTRY["last_diff_value"].kernel
    np.testing.assert_array_equal(ld(x, 5)[:, 0], [NAN, NAN, NAN, NAN, 1])
    np.testing.assert_array_equal(ld(x, 4)[:, 0], [NAN, NAN, NAN, NAN, NAN])  # 1 left the window
    np.testing.assert_array_equal(ld(x, 2)[:, 0], [NAN, 1, NAN, NAN, NAN])


def test_days_from_last_change_golden() -> None:
    dflc = REGISTRY["days_from_last_change"].kernel
    # brain.md: (2,2,2,7,…) newest first — the article's counting (0 on the change day) gives 2
    np.testing.assert_array_equal(dflc(_col(7, 2, 2, 2))[:, 0], [0, 0, 1, 2])
    np.testing.assert_array_equal(dflc(_col(NAN, 5, NAN, 5, 6))[:, 0], [NAN, 0, NAN, 2, 0])


def test_ts_step_counts_rows_one_based() -> None:
    out = REGISTRY["ts_step"].kernel(1.0, ctx=EvalContext(shape=(4, 3)))
    assert out.shape == (4, 3) and out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, np.repeat(np.arange(1.0, 5.0)[:, None], 3, axis=1))
    np.testing.assert_array_equal(REGISTRY["ts_step"].kernel(2.5, ctx=EvalContext((2, 1)))[:, 0], [2.5, 5])


def test_bad_ignore_string_is_rejected() -> None:
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="ignore"):
        REGISTRY["ts_backfill"].kernel(x, 3, 1, "zero")

"""hump, hump_decay, jump_decay, ts_delta_limit, ts_weighted_decay, inst_tvr and the target-turnover
smoothers against slow references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphamine.ops.registry import REGISTRY
from alphamine.ops.stateful.target_tvr import TVR_GRID_POINTS

NAN = np.nan
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # IEEE inf/NaN arithmetic in references
SHAPES = [(60, 12), (4, 6)]


def _data(series, seed: int, shape: tuple[int, int], inf: bool = True) -> np.ndarray:
    x = series(seed=seed, T=shape[0], N=shape[1], nan_frac=0.15)
    if inf and shape[0] > 10 and shape[1] > 7:
        x[5, 6] = np.inf
        x[8, 7] = -np.inf
    return x


def ref_hump(x: np.ndarray, h: float) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    state = [NAN] * N
    for t in range(T):
        lim = h * sum(abs(v) for v in x[t] if not math.isnan(v))
        for j in range(N):
            v = x[t, j]
            if math.isnan(v):
                continue
            p = state[j]
            if math.isnan(p):
                r = v
            elif v - p > lim:
                r = p + lim
            elif v - p < -lim:
                r = p - lim
            else:
                r = p
            state[j] = out[t, j] = r
    return out


def ref_hump_decay(x: np.ndarray, p: float, relative: bool) -> np.ndarray:
    T, N = x.shape
    out = x.copy()
    for t in range(1, T):
        for j in range(N):
            v, prev = x[t, j], x[t - 1, j]
            if math.isnan(v) or math.isnan(prev):
                continue
            thr = p * abs(v + prev) if relative else p
            out[t, j] = v if abs(v - prev) > thr else prev
    return out


def ref_jump_decay(x: np.ndarray, d: int, sens: float, force: float) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for t in range(d - 1, T):
        for j in range(N):
            v = x[t, j]
            if math.isnan(v) or t == 0 or math.isnan(x[t - 1, j]):
                out[t, j] = v
                continue
            w = [x[s, j] for s in range(t - d + 1, t + 1) if not math.isnan(x[s, j])]
            mean = sum(w) / len(w)
            std = math.sqrt(sum((a - mean) * (a - mean) for a in w) / len(w))
            dx = v - x[t - 1, j]
            out[t, j] = x[t - 1, j] + force * dx if abs(dx) > sens * std else v
    return out


def ref_delta_limit(x: np.ndarray, y: np.ndarray, frac: float) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    state = [NAN] * N
    for t in range(T):
        for j in range(N):
            v = x[t, j]
            if math.isnan(v):
                continue
            p = state[j]
            lim = frac * abs(y[t, j])
            if math.isnan(p):
                r = v
            elif math.isnan(lim):
                r = p
            elif v - p > lim:
                r = p + lim
            elif v - p < -lim:
                r = p - lim
            else:
                r = v
            state[j] = out[t, j] = r
    return out


def ref_weighted_decay(x: np.ndarray, k: float) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for j in range(N):
        s = NAN
        for t in range(T):
            v = x[t, j]
            if math.isnan(v):
                continue
            s = v if (math.isnan(s) or k == 1.0) else k * v + (1 - k) * s
            out[t, j] = s
    return out


def ref_inst_tvr(x: np.ndarray, d: int) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for t in range(d - 1, T):
        for j in range(N):
            traded = held = 0.0
            n = 0
            for s in range(t - d + 1, t + 1):
                v = x[s, j]
                if math.isnan(v):
                    continue
                held += abs(v)
                n += 1
                if s >= 1 and not math.isnan(x[s - 1, j]):
                    traded += abs(v - x[s - 1, j])
            if n > 0 and held != 0.0:
                out[t, j] = traded / held
    return out


def _ref_step(mode: str, lam: float, p: float, v: float, yv: float, base: float) -> float:
    if math.isnan(p):
        return v
    if mode == "decay":
        return v if lam == 0 else p if lam == 1 else lam * p + (1 - lam) * v
    lim = lam * abs(yv) if mode == "delta_limit" else lam * base
    if math.isnan(lim):
        return p
    if v - p > lim:
        return p + lim
    if v - p < -lim:
        return p - lim
    return v if mode == "delta_limit" else p


def ref_target_tvr(x, y, mode, lo, hi, target):
    T, N = x.shape
    G = 1 if lo == hi else TVR_GRID_POINTS
    lams = [lo + (hi - lo) * g / (G - 1) if G > 1 else lo for g in range(G)]
    out = np.full((T, N), NAN)
    state = [NAN] * N
    prev = [NAN] * N
    for t in range(T):
        base = sum(abs(v) for v in x[t] if not math.isnan(v))
        rows, tvrs, errs = [], [], []
        for lam in lams:
            row = [NAN if math.isnan(x[t, j]) else _ref_step(mode, lam, state[j], x[t, j], y[t, j], base)
                   for j in range(N)]
            traded = sum(abs(r) if math.isnan(q) else abs(r - q) for r, q in zip(row, prev, strict=True)
                         if not math.isnan(r))
            traded += sum(abs(q) for r, q in zip(row, prev, strict=True) if math.isnan(r) and not math.isnan(q))
            book = sum(abs(r) for r in row if not math.isnan(r))
            tvrs.append(traded / book if book > 0 else (0.0 if traded == 0 else math.inf))
            errs.append(sum(abs(r - x[t, j]) for j, r in enumerate(row) if not math.isnan(r)))
            rows.append(row)
        ok = [g for g in range(G) if tvrs[g] <= target]
        if ok:
            best = min(ok, key=lambda g: (errs[g], g))
        else:
            finite = [g for g in range(G) if not math.isnan(tvrs[g])]
            best = min(finite, key=lambda g: (tvrs[g], g)) if finite else 0
        for j in range(N):
            r = rows[best][j]
            out[t, j] = prev[j] = r
            if not math.isnan(r):
                state[j] = r
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("h", [0.0, 0.001, 0.01, 0.1])
def test_hump_matches_reference(series, shape, h) -> None:
    x = _data(series, 1, shape)
    np.testing.assert_array_equal(REGISTRY["hump"].kernel(x, h), ref_hump(x, h))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("p", "relative"), [(0.0, False), (0.3, False), (0.2, True)])
def test_hump_decay_matches_reference(series, shape, p, relative) -> None:
    x = _data(series, 2, shape)
    np.testing.assert_array_equal(REGISTRY["hump_decay"].kernel(x, p, relative), ref_hump_decay(x, p, relative))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("d", [1, 2, 5, 8])
@pytest.mark.parametrize(("sens", "force"), [(0.5, 0.1), (1.5, 0.5)])
def test_jump_decay_matches_reference(series, shape, d, sens, force) -> None:
    x = _data(series, 3, shape)
    got = REGISTRY["jump_decay"].kernel(x, d, sens, force)
    np.testing.assert_allclose(got, ref_jump_decay(x, d, sens, force), rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("frac", [0.0, 0.1, 0.5])
def test_ts_delta_limit_matches_reference(series, shape, frac) -> None:
    x = _data(series, 4, shape)
    y = np.abs(series(seed=5, T=shape[0], N=shape[1], nan_frac=0.1)) * 3
    np.testing.assert_array_equal(REGISTRY["ts_delta_limit"].kernel(x, y, frac), ref_delta_limit(x, y, frac))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k", [0.0, 0.3, 0.5, 1.0])
def test_ts_weighted_decay_matches_reference(series, shape, k) -> None:
    x = _data(series, 6, shape)
    np.testing.assert_array_equal(REGISTRY["ts_weighted_decay"].kernel(x, k), ref_weighted_decay(x, k))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("d", [1, 2, 5, 9])
def test_inst_tvr_matches_reference(series, shape, d) -> None:
    x = _data(series, 7, shape)
    if shape[1] > 8:
        x[10:20, 8] = 0.0  # zero held value → NaN
    got = REGISTRY["inst_tvr"].kernel(x, d)
    np.testing.assert_allclose(got, ref_inst_tvr(x, d), rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize("shape", [(30, 10), (3, 5)])
@pytest.mark.parametrize("mode", ["decay", "delta_limit", "hump"])
@pytest.mark.parametrize(("lo", "hi", "target"), [(0.0, 1.0, 0.1), (0.2, 0.6, 0.3), (0.5, 0.5, 0.1), (0.0, 0.05, 0.5)])
def test_target_tvr_matches_reference(series, shape, mode, lo, hi, target) -> None:
    x = _data(series, 8, shape, inf=False)
    y = np.abs(series(seed=9, T=shape[0], N=shape[1], nan_frac=0.1))
    op = REGISTRY[f"ts_target_tvr_{mode}"]
    got = op.kernel(x, y, lo, hi, target) if mode == "delta_limit" else op.kernel(x, lo, hi, target)
    np.testing.assert_allclose(got, ref_target_tvr(x, y, mode, lo, hi, target), rtol=1e-12, atol=1e-15,
                               equal_nan=True)


# --- behaviour / golden --------------------------------------------------------------------------


def test_hump_golden_limit_is_hump_times_day_abs_sum() -> None:
    # brain.md: hump 0.1 pairs with a limit of 1.5, i.e. a day with Σ|x| = 15
    x = np.array([[2.0, 13.0], [5.0, 10.0], [3.6, 11.4], [3.4, -11.6]])
    out = REGISTRY["hump"].kernel(x, 0.1)
    np.testing.assert_allclose(out[:3], [[2.0, 13.0], [3.5, 11.5], [3.5, 11.5]])
    np.testing.assert_allclose(out[3], [3.5, 11.5 - 1.5])  # only the big move passes (by the limit)


def test_hump_large_hump_freezes_and_nan_is_skipped() -> None:
    x = np.array([[1.0, 2.0], [NAN, 2.5], [3.0, 2.6]])
    out = REGISTRY["hump"].kernel(x, 10.0)
    np.testing.assert_array_equal(out, [[1.0, 2.0], [NAN, 2.0], [1.0, 2.0]])


def test_target_tvr_decay_meets_target_and_passes_through_when_loose(series) -> None:
    x = series(seed=11, T=40, N=10, nan_frac=0.0)[:, 5:]  # no NaNs: no entering/leaving
    op = REGISTRY["ts_target_tvr_decay"].kernel
    np.testing.assert_array_equal(op(x, 0.0, 1.0, 1e9), x)  # loose target → λ = 0 → x itself
    out = op(x, 0.0, 1.0, 0.05)
    tvr = np.abs(np.diff(out, axis=0)).sum(axis=1) / np.abs(out[1:]).sum(axis=1)
    assert (tvr <= 0.05 + 1e-12).all()
    raw = np.abs(np.diff(x, axis=0)).sum(axis=1) / np.abs(x[1:]).sum(axis=1)
    assert tvr.mean() < raw.mean()

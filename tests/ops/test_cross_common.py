"""Shared data and slow, obviously-correct references for the cross-sectional / group operator tests
(no tests of its own). References loop over rows and groups in plain Python on small NumPy vectors."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from conftest import make_groups, make_series

NAN = math.nan
INF = math.inf
RefFn = Callable[[np.ndarray], np.ndarray]


def cs_data(seed: int = 0, T: int = 30, N: int = 14, inf: bool = False) -> np.ndarray:
    """make_series plus an all-NaN row, a one-valid-value row, a constant row, -0.0/0.0 ties and
    (optionally) ±inf cells."""
    x = make_series(seed, T=T, N=N)
    x[5, :] = NAN
    x[6, :] = NAN
    x[6, 7] = 2.0
    x[7, :] = 0.3
    x[7, 3] = NAN
    x[8, 5], x[8, 6] = 0.0, -0.0
    if inf:
        x[10, 5] = INF
        x[11, 6] = -INF
        x[12, 5], x[12, 6] = INF, -INF
        x[13, 5], x[13, 8] = INF, INF
    return x


def grp_data(seed: int = 0, T: int = 30, N: int = 14) -> np.ndarray:
    """make_groups (−1 cells, a singleton group on the last column) plus a row with no group at all and
    a row where every instrument is in group 0."""
    g = make_groups(seed, T=T, N=N)
    g[3, :] = -1
    g[4, :] = 0
    return g


def close(a: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> None:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape
    same_nan = np.isnan(a) == np.isnan(b)
    assert same_nan.all(), f"NaN pattern differs at {np.argwhere(~same_nan)[:5].tolist()}"
    ok = np.isclose(a, b, rtol=tol, atol=tol, equal_nan=True) | (a == b)
    assert ok.all(), f"values differ at {np.argwhere(~ok)[:5].tolist()}: {a[~ok][:5]} vs {b[~ok][:5]}"


def by_group(x: np.ndarray, g: np.ndarray | None, fn: RefFn) -> np.ndarray:
    """Apply `fn` to the vector of each (day, group)'s non-NaN values (column order) and scatter the
    result back; everything else is NaN. `g=None` = one group per day."""
    T, N = x.shape
    out = np.full((T, N), NAN)
    for t in range(T):
        codes = [0] * N if g is None else [int(c) for c in g[t]]
        for c in sorted(set(codes)):
            if c < 0:
                continue
            cols = [i for i in range(N) if codes[i] == c and not math.isnan(x[t, i])]
            if cols:
                with np.errstate(all="ignore"):
                    res = fn(np.array([x[t, i] for i in cols]))
                for i, r in zip(cols, res, strict=True):
                    out[t, i] = r
    return out


def by_group_pairs(a: np.ndarray, b: np.ndarray, g: np.ndarray | None,
                   fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Like by_group over the cells where both a and b are non-NaN."""
    T, N = a.shape
    out = np.full((T, N), NAN)
    for t in range(T):
        codes = [0] * N if g is None else [int(c) for c in g[t]]
        for c in sorted(set(codes)):
            if c < 0:
                continue
            cols = [i for i in range(N) if codes[i] == c and not math.isnan(a[t, i]) and not math.isnan(b[t, i])]
            if cols:
                with np.errstate(all="ignore"):
                    res = fn(a[t, cols], b[t, cols])
                for i, r in zip(cols, res, strict=True):
                    out[t, i] = r
    return out


def avg_ranks(v: np.ndarray) -> np.ndarray:
    """1-based average ranks (ties share the mean position)."""
    return np.array([sum(w < u for w in v) + (sum(w == u for w in v) + 1) / 2 for u in v], dtype=float)


def ref_rank(v: np.ndarray) -> np.ndarray:
    n = len(v)
    return np.full(n, 0.5) if n == 1 else (avg_ranks(v) - 1) / (n - 1)


def constant(v: np.ndarray) -> bool:
    return bool(np.all(v == v[0]))


def ref_mean(v: np.ndarray) -> float:
    return float(v[0]) if constant(v) else float(np.mean(v))


def ref_std(v: np.ndarray) -> float:
    return 0.0 if constant(v) else float(np.std(v))


def ref_zscore(v: np.ndarray) -> np.ndarray:
    sd = ref_std(v)
    return np.full(len(v), NAN) if sd == 0 else (v - ref_mean(v)) / sd


def ref_minmax(v: np.ndarray, c: float = 0.0) -> np.ndarray:
    lo, hi = np.min(v), np.max(v)
    return np.full(len(v), NAN) if lo == hi else (v - lo) / (hi - lo) - c


def ref_clip(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.array([lo if u < lo else (hi if u > hi else u) for u in v])


def ref_median(v: np.ndarray) -> np.ndarray:
    s = sorted(v.tolist())
    n = len(s)
    m = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    return np.full(n, m)


def ref_vec(proj: bool) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def f(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        yy = float(np.sum(b * b))
        if yy == 0:
            return np.full(len(a), NAN)
        p = float(np.sum(a * b)) / yy * b
        return p if proj else a - p

    return f


def ref_reg(proj: bool) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def f(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        if len(x) < 2 or constant(x):
            return np.full(len(y), NAN)
        mx, my = np.mean(x), np.mean(y)
        beta = np.sum((x - mx) * (y - my)) / np.sum((x - mx) ** 2)
        fit = my + beta * (x - mx)
        return fit if proj else y - fit

    return f

"""Every rolling time-series operator against a slow, obviously-correct reference written with plain
loops over rows and columns (window = x[t-d+1 : t+1, j], NaNs dropped), on data with NaNs, ties, constant
and all-NaN columns, late entry / early exit, and (second data set) ±inf values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from alphamine.ops import REGISTRY

NAN = np.nan
DS = (1, 2, 5, 20)


def _window(x: np.ndarray, t: int, d: int, j: int) -> np.ndarray:
    return x[t - d + 1 : t + 1, j]


def ref_window(x: np.ndarray, d: int, fn: Callable[[np.ndarray, float], float]) -> np.ndarray:
    """fn(non-NaN window values oldest→newest, today's value) for every cell; NaN for t < d-1."""
    T, N = x.shape
    out = np.full((T, N), NAN)
    for t in range(d - 1, T):
        for j in range(N):
            w = _window(x, t, d, j)
            out[t, j] = fn(w[~np.isnan(w)], x[t, j])
    return out


def _const(v: np.ndarray) -> bool:
    return bool(np.all(v == v[-1]))


def _hasinf(*vs: np.ndarray) -> bool:
    return any(bool(np.isinf(v).any()) for v in vs)


def _central(v: np.ndarray) -> np.ndarray:
    return v - v.mean()


def r_mean(v: np.ndarray, _: float) -> float:
    return float(np.mean(v)) if len(v) else NAN


def r_sum(v: np.ndarray, _: float) -> float:
    return float(np.sum(v)) if len(v) else NAN


def r_std(v: np.ndarray, _: float) -> float:
    if len(v) == 0 or _hasinf(v):
        return NAN
    return 0.0 if _const(v) else float(np.std(v))


def r_zscore(v: np.ndarray, today: float) -> float:
    s = r_std(v, today)
    if np.isnan(today) or not s > 0:
        return NAN
    return (today - v.mean()) / s


def r_ir(v: np.ndarray, today: float) -> float:
    s = r_std(v, today)
    return v.mean() / s if s > 0 else NAN


def r_moment(k: int) -> Callable[[np.ndarray, float], float]:
    def f(v: np.ndarray, _: float) -> float:
        if len(v) == 0 or _hasinf(v):
            return NAN
        if _const(v):
            return 1.0 if k == 0 else 0.0
        return float(np.mean(_central(v) ** k))

    return f


def r_skew(v: np.ndarray, _: float) -> float:
    if len(v) == 0 or _hasinf(v) or _const(v):
        return NAN
    c = _central(v)
    return float(np.mean(c**3) / np.mean(c**2) ** 1.5)


def r_kurt(v: np.ndarray, _: float) -> float:
    if len(v) == 0 or _hasinf(v) or _const(v):
        return NAN
    c = _central(v)
    return float(np.mean(c**4) / np.mean(c**2) ** 2 - 3.0)


def r_rank(v: np.ndarray, today: float, constant: float = 0.0) -> float:
    if np.isnan(today):
        return NAN
    n = len(v)
    if n == 1:
        return 0.5 + constant
    r = stats.rankdata(v, method="average")[-1]  # today is the newest non-NaN value
    return (r - 1) / (n - 1) + constant


def r_quantile(driver: str) -> Callable[[np.ndarray, float], float]:
    driver = driver.lower()
    def f(v: np.ndarray, today: float) -> float:
        r = r_rank(v, today)
        if np.isnan(r):
            return NAN
        n = len(v)
        p = 1 / n + r * (1 - 2 / n)
        if driver == "gaussian":
            return float(stats.norm.ppf(p))
        if driver == "cauchy":
            return float(stats.cauchy.ppf(p))
        return p - 0.5

    return f


def r_entropy(buckets: int) -> Callable[[np.ndarray, float], float]:
    def f(v: np.ndarray, _: float) -> float:
        if len(v) == 0 or _hasinf(v):
            return NAN
        lo, hi = v.min(), v.max()
        if lo == hi:
            return 0.0
        counts = [0] * buckets
        for u in v:
            counts[min(int((u - lo) / (hi - lo) * buckets), buckets - 1)] += 1
        p = np.array([c for c in counts if c]) / len(v)
        return float(-(p * np.log(p)).sum())

    return f


def r_argext(x: np.ndarray, d: int, use_max: bool) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for t in range(d - 1, T):
        for j in range(N):
            w = _window(x, t, d, j)
            if np.isnan(w).all():
                continue
            best = np.nanmax(w) if use_max else np.nanmin(w)
            out[t, j] = min(k for k in range(d) if w[d - 1 - k] == best)  # smallest lag among ties
    return out


def r_scale(v: np.ndarray, today: float, constant: float = 0.0) -> float:
    if len(v) == 0 or np.isnan(today) or v.max() == v.min():
        return NAN
    return (today - v.min()) / (v.max() - v.min()) + constant


def r_decay_linear(x: np.ndarray, d: int, dense: bool) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    w = np.arange(1, d + 1, dtype=float)  # oldest → newest: 1..d
    for t in range(d - 1, T):
        for j in range(N):
            win = _window(x, t, d, j)
            ok = ~np.isnan(win)
            if not ok.any():
                continue
            den = w[ok].sum() if dense else d * (d + 1) / 2
            out[t, j] = np.sum(w[ok] * win[ok]) / den
    return out


def r_decay_exp(x: np.ndarray, d: int, f: float, skip_nan: bool) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    w = f ** np.arange(d - 1, -1, -1, dtype=float)  # oldest → newest: f^(d-1) .. 1
    for t in range(d - 1, T):
        for j in range(N):
            win = _window(x, t, d, j)
            ok = ~np.isnan(win)
            if not ok.any() or (not skip_nan and not ok.all()) or w[ok].sum() == 0:
                continue
            out[t, j] = np.sum(w[ok] * win[ok]) / w[ok].sum()
    return out


def r_shift(x: np.ndarray, d: int) -> np.ndarray:
    past = np.full(x.shape, NAN)
    for t in range(d, x.shape[0]):
        past[t] = x[t - d]
    return past


def ref_pairs(
    arrays: list[np.ndarray], d: int, fn: Callable[..., float], lag: int = 0, today: bool = False
) -> np.ndarray:
    """fn(*window columns restricted to rows where every input is non-NaN); arrays[1] lagged by `lag`."""
    arrays = [arrays[0], r_shift(arrays[1], lag) if lag else arrays[1], *arrays[2:]]
    T, N = arrays[0].shape
    out = np.full((T, N), NAN)
    for t in range(d - 1 + lag, T):
        for j in range(N):
            ws = [_window(a, t, d, j) for a in arrays]
            ok = np.logical_and.reduce([~np.isnan(w) for w in ws])
            cols = [w[ok] for w in ws]
            if today:
                cols.append(np.array([a[t, j] for a in arrays]))
            out[t, j] = fn(*cols)
    return out


def p_cov(y: np.ndarray, x: np.ndarray) -> float:
    if len(x) == 0 or _hasinf(x, y):
        return NAN
    if _const(x) or _const(y):
        return 0.0
    return float(np.mean(_central(y) * _central(x)))


def p_corr(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or _hasinf(x, y) or _const(x) or _const(y):
        return NAN
    return float(np.corrcoef(x, y)[0, 1])


def p_regression(rettype: int) -> Callable[..., float]:
    def f(y: np.ndarray, x: np.ndarray, now: np.ndarray) -> float:
        n = len(x)
        if n < 2 or _hasinf(x, y) or _const(x):
            return NAN
        X = np.column_stack([np.ones(n), x])
        (a, b), *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - (a + b * x)
        sse = float(resid @ resid)
        sst = 0.0 if _const(y) else float(np.sum(_central(y) ** 2))
        y_now, x_now = now
        if rettype == 0:
            return y_now - (a + b * x_now)
        if rettype in (1, 2, 3, 4, 5):
            return [NAN, a, b, a + b * x_now, sse, sst][rettype]
        if rettype == 6:
            return 1 - sse / sst if sst > 0 else NAN
        if n <= 2:
            return NAN
        cov = sse / (n - 2) * np.linalg.inv(X.T @ X)
        return [sse / (n - 2), np.sqrt(cov[1, 1]), np.sqrt(cov[0, 0])][rettype - 7]

    return f


def p_co(power: int) -> Callable[..., float]:
    def f(y: np.ndarray, x: np.ndarray) -> float:
        if len(x) == 0 or _hasinf(x, y) or _const(x) or _const(y):
            return NAN
        cy, cx = _central(y), _central(x)
        return float(np.mean(cy * cx**power) / (np.std(y) * np.std(x) ** power))

    return f


def p_triple(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    if len(x) == 0 or _hasinf(x, y, z) or _const(x) or _const(y) or _const(z):
        return NAN
    return float(np.mean(_central(x) * _central(y) * _central(z)) / (np.std(x) * np.std(y) * np.std(z)))


def p_partial(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Correlation of the residuals of x and y after regressing each on z (an independent route)."""
    if len(x) < 3 or _hasinf(x, y, z) or _const(x) or _const(y) or _const(z):
        return NAN
    Z = np.column_stack([np.ones(len(z)), z])
    rx = x - Z @ np.linalg.lstsq(Z, x, rcond=None)[0]
    ry = y - Z @ np.linalg.lstsq(Z, y, rcond=None)[0]
    if np.allclose(rx, 0, atol=1e-12) or np.allclose(ry, 0, atol=1e-12):
        return NAN
    return float(np.corrcoef(rx, ry)[0, 1])


def reference(name: str, xs: list[np.ndarray], d: int, **kw: Any) -> np.ndarray:
    x = xs[0]
    simple = {
        "ts_sum": r_sum, "ts_mean": r_mean, "ts_std_dev": r_std, "ts_zscore": r_zscore, "ts_ir": r_ir,
        "ts_skewness": r_skew, "ts_kurtosis": r_kurt,
        "ts_av_diff": lambda v, today: today - r_mean(v, today),
        "ts_max": lambda v, _: v.max() if len(v) else NAN,
        "ts_min": lambda v, _: v.min() if len(v) else NAN,
        "ts_max_diff": lambda v, today: today - v.max() if len(v) else NAN,
        "ts_median": lambda v, _: float(np.median(v)) if len(v) else NAN,
        "ts_product": lambda v, _: float(np.prod(v)) if len(v) else NAN,
    }
    with np.errstate(all="ignore"):
        if name in simple:
            return ref_window(x, d, simple[name])
        if name == "ts_moment":
            return ref_window(x, d, r_moment(kw.get("k", 0)))
        if name == "ts_rank":
            return ref_window(x, d, lambda v, today: r_rank(v, today, kw.get("constant", 0.0)))
        if name == "ts_scale":
            return ref_window(x, d, lambda v, today: r_scale(v, today, kw.get("constant", 0.0)))
        if name == "ts_quantile":
            return ref_window(x, d, r_quantile(kw.get("driver", "gaussian")))
        if name == "ts_entropy":
            return ref_window(x, d, r_entropy(kw.get("buckets", 10)))
        if name == "ts_count_nans":
            out = np.full(x.shape, NAN)
            for t in range(d - 1, x.shape[0]):
                for j in range(x.shape[1]):
                    out[t, j] = np.isnan(_window(x, t, d, j)).sum()
            return out
        if name in ("ts_arg_max", "ts_arg_min"):
            return r_argext(x, d, name == "ts_arg_max")
        if name == "ts_decay_linear":
            return r_decay_linear(x, d, kw.get("dense", False))
        if name == "ts_decay_exp_window":
            return r_decay_exp(x, d, kw.get("factor", 1.0), kw.get("nan", True))
        if name == "ts_delay":
            return r_shift(x, d)
        if name == "ts_delta":
            return x - r_shift(x, d)
        if name == "ts_returns":
            p = r_shift(x, d)
            return x / p - 1 if kw.get("mode", 1) == 1 else (x - p) / ((x + p) / 2)
        if name == "ts_corr":
            return ref_pairs(xs, d, p_corr)
        if name == "ts_covariance":
            return ref_pairs(xs, d, p_cov)
        if name == "ts_regression":
            return ref_pairs(xs, d, p_regression(kw.get("rettype", 0)), lag=kw.get("lag", 0), today=True)
        if name == "ts_co_skewness":
            return ref_pairs(xs, d, p_co(2))
        if name == "ts_co_kurtosis":
            return ref_pairs(xs, d, p_co(3))
        if name == "ts_triple_corr":
            return ref_pairs(xs, d, p_triple)
        if name == "ts_partial_corr":
            return ref_pairs(xs, d, p_partial)
        if name == "ts_rank_gmean_amean_diff":
            ranks = [ref_window(a, d, r_rank) for a in xs]
            return np.prod(ranks, axis=0) ** (1 / len(ranks)) - np.mean(ranks, axis=0)
    raise KeyError(name)


# (operator, number of SERIES inputs, keyword constants)
CASES: list[tuple[str, int, dict[str, Any]]] = [
    ("ts_delay", 1, {}), ("ts_delta", 1, {}), ("ts_returns", 1, {}), ("ts_returns", 1, {"mode": 2}),
    ("ts_sum", 1, {}), ("ts_mean", 1, {}), ("ts_av_diff", 1, {}), ("ts_std_dev", 1, {}),
    ("ts_zscore", 1, {}), ("ts_ir", 1, {}), ("ts_skewness", 1, {}), ("ts_kurtosis", 1, {}),
    ("ts_moment", 1, {}), ("ts_moment", 1, {"k": 1}), ("ts_moment", 1, {"k": 2}), ("ts_moment", 1, {"k": 3}),
    ("ts_moment", 1, {"k": 4}), ("ts_moment", 1, {"k": 5}),
    ("ts_max", 1, {}), ("ts_min", 1, {}), ("ts_arg_max", 1, {}), ("ts_arg_min", 1, {}),
    ("ts_max_diff", 1, {}), ("ts_scale", 1, {}), ("ts_scale", 1, {"constant": 1.0}),
    ("ts_product", 1, {}), ("ts_median", 1, {}), ("ts_count_nans", 1, {}),
    ("ts_rank", 1, {}), ("ts_rank", 1, {"constant": 2.0}),
    ("ts_quantile", 1, {}), ("ts_quantile", 1, {"driver": "uniform"}), ("ts_quantile", 1, {"driver": "Cauchy"}),
    ("ts_entropy", 1, {}), ("ts_entropy", 1, {"buckets": 3}),
    ("ts_decay_linear", 1, {}), ("ts_decay_linear", 1, {"dense": True}),
    ("ts_decay_exp_window", 1, {}), ("ts_decay_exp_window", 1, {"factor": 0.7}),
    ("ts_decay_exp_window", 1, {"factor": 0.5, "nan": False}), ("ts_decay_exp_window", 1, {"factor": 1.3}),
    ("ts_corr", 2, {}), ("ts_covariance", 2, {}),
    *[("ts_regression", 2, {"rettype": r}) for r in range(10)],
    ("ts_regression", 2, {"lag": 2, "rettype": 0}), ("ts_regression", 2, {"lag": 1, "rettype": 2}),
    ("ts_regression", 2, {"lag": 3, "rettype": 9}),
    ("ts_co_skewness", 2, {}), ("ts_co_kurtosis", 2, {}), ("ts_triple_corr", 3, {}), ("ts_partial_corr", 3, {}),
    ("ts_rank_gmean_amean_diff", 1, {}), ("ts_rank_gmean_amean_diff", 3, {}),
]


def _inputs(make: Callable[..., np.ndarray], k: int, seed: int, T: int, with_inf: bool) -> list[np.ndarray]:
    xs = []
    for i in range(k):
        x = make(seed + 17 * i, T=T)
        if i > 0:  # a few shared NaN-free correlations make the pair statistics non-trivial
            x[:, 5:] = np.round(0.6 * xs[0][:, 5:] + 0.5 * x[:, 5:], 1)
        if with_inf:
            rng = np.random.default_rng(seed + 99 + i)
            x[rng.random(x.shape) < 0.03] = np.inf
            x[rng.random(x.shape) < 0.03] = -np.inf
        xs.append(x)
    return xs


def call(name: str, xs: list[np.ndarray], d: int, **kw: Any) -> np.ndarray:
    op = REGISTRY[name]
    if op.variadic_index is not None:
        return op.kernel(*xs, d=d, **kw)
    return op.kernel(*xs, d, **kw)


def _check(
    make: Callable[..., np.ndarray], name: str, nin: int, kw: dict[str, Any], d: int, T: int, with_inf: bool,
    seed: int = 3,
) -> None:
    xs = _inputs(make, nin, seed, T, with_inf)
    copies = [x.copy() for x in xs]
    with np.errstate(all="ignore"):
        got = call(name, xs, d, **kw)
    want = reference(name, xs, d, **kw)
    for x, c in zip(xs, copies, strict=True):
        np.testing.assert_array_equal(x, c)  # inputs untouched
    assert got.shape == xs[0].shape and got.dtype == np.float64 and got.flags.c_contiguous
    assert got.flags.writeable
    rtol = 1e-7 if name in ("ts_regression", "ts_partial_corr") else 1e-9
    # standard errors of a perfect fit are √(rounding of SSE ≈ 1e-16) ≈ 1e-8 instead of exactly 0
    atol = 1e-6 if name == "ts_regression" and kw.get("rettype", 0) >= 8 else 1e-9
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"{name} d={d} {kw}")
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{name} d={d} {kw}: NaN pattern differs"


def _id(case: tuple[str, int, dict[str, Any]]) -> str:
    name, nin, kw = case
    return name + ("" if not kw else "-" + "-".join(f"{k}={v}" for k, v in kw.items())) + f"-{nin}in"


@pytest.mark.parametrize("case", CASES, ids=_id)
@pytest.mark.parametrize("d", DS)
def test_matches_reference(series: Callable[..., np.ndarray], case: tuple[str, int, dict[str, Any]], d: int) -> None:
    name, nin, kw = case
    _check(series, name, nin, kw, d, T=60, with_inf=False)


@pytest.mark.parametrize("case", CASES, ids=_id)
@pytest.mark.parametrize("d", (3, 8))
def test_matches_reference_with_infinities(
    series: Callable[..., np.ndarray], case: tuple[str, int, dict[str, Any]], d: int
) -> None:
    name, nin, kw = case
    _check(series, name, nin, kw, d, T=40, with_inf=True, seed=11)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_short_history_is_all_nan(series: Callable[..., np.ndarray], case: tuple[str, int, dict[str, Any]]) -> None:
    name, nin, kw = case
    xs = _inputs(series, nin, 5, 4, False)
    with np.errstate(all="ignore"):
        got = call(name, xs, 5, **kw)
    assert got.shape == (4, 12) and np.isnan(got).all()
    _check(series, name, nin, kw, 4, T=4, with_inf=False)  # exactly one full window

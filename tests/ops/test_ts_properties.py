"""Registry sanity for the rolling time-series operators and the no-look-ahead property: changing any
data rows after t never changes output rows ≤ t."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphamine.ops import REGISTRY, ArgKind, Category, all_operators
from alphamine.ops.registry import Operator

MINE = sorted([
    "ts_delay", "ts_delta", "ts_mean", "ts_sum", "ts_max", "ts_min", "ts_median", "ts_product",
    "ts_std_dev", "ts_zscore", "ts_rank", "ts_arg_max", "ts_arg_min", "ts_av_diff", "ts_scale", "ts_corr",
    "ts_covariance", "ts_regression", "ts_decay_linear", "ts_decay_exp_window", "ts_count_nans",
    "ts_quantile", "ts_ir", "ts_max_diff", "ts_returns", "ts_skewness", "ts_kurtosis", "ts_moment",
    "ts_entropy", "ts_co_skewness", "ts_co_kurtosis", "ts_triple_corr", "ts_partial_corr",
    "ts_rank_gmean_amean_diff",
])

UNITS = {
    "first": {"ts_delay", "ts_delta", "ts_mean", "ts_sum", "ts_max", "ts_min", "ts_median", "ts_std_dev",
              "ts_decay_linear", "ts_decay_exp_window", "ts_av_diff", "ts_max_diff"},
    "combine": {"ts_product", "ts_regression", "ts_moment", "ts_covariance"},
}

# non-default constants exercised by the look-ahead property (besides the defaults)
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "ts_regression": [{"lag": 2, "rettype": r} for r in range(10)],
    "ts_decay_linear": [{"dense": True}],
    "ts_decay_exp_window": [{"factor": 0.6}, {"factor": 0.8, "nan": False}],
    "ts_quantile": [{"driver": "cauchy"}, {"driver": "uniform"}],
    "ts_returns": [{"mode": 2}],
    "ts_moment": [{"k": 3}, {"k": 6}],
    "ts_entropy": [{"buckets": 4}],
    "ts_rank": [{"constant": 1.0}],
}


def test_all_registered_with_docs_and_categories() -> None:
    all_operators()
    for name in MINE:
        op = REGISTRY[name]
        assert op.category == Category.TIME_SERIES and op.time_series, name
        assert op.kernel.__module__.startswith("alphamine.ops.ts."), name
        assert len(op.doc) > 80 and "NaN" in op.doc, name
        assert op.examples, name
        d = op.param("d")
        assert d is not None and d.kind == ArgKind.LOOKBACK and d.required, name
        assert op.lookback({"d": 20}) == 20, name
        want = next((u for u, names in UNITS.items() if name in names), "dimensionless")
        assert op.unit_rule == want, name
    assert REGISTRY["ts_regression"].lookback({"d": 20, "lag": 3}) == 23
    assert REGISTRY["ts_moment"].param("k").default == 0  # type: ignore[union-attr]
    assert REGISTRY["ts_rank_gmean_amean_diff"].variadic_index == 0


def test_signatures_match_brain() -> None:
    sig = {n: REGISTRY[n].signature for n in MINE}
    assert sig["ts_regression"] == "ts_regression(y, x, d, lag=0, rettype=0)"
    assert sig["ts_decay_linear"] == "ts_decay_linear(x, d, dense=false)"
    assert sig["ts_decay_exp_window"] == "ts_decay_exp_window(x, d, factor=1.0, nan=true)"
    assert sig["ts_quantile"] == 'ts_quantile(x, d, driver="gaussian")'
    assert sig["ts_covariance"] == "ts_covariance(y, x, d)"
    assert sig["ts_corr"] == "ts_corr(x, y, d)"
    assert sig["ts_entropy"] == "ts_entropy(x, d, buckets=10)"


def _call(op: Operator, series: list[np.ndarray], d: int, kw: dict[str, Any]) -> np.ndarray:
    n_series = sum(p.kind == ArgKind.SERIES for p in op.params if not p.variadic)
    if op.variadic_index is not None:
        return op.kernel(*series[:2], d=d, **kw)
    return op.kernel(*series[:n_series], d, **kw)


def _data(seed: int, T: int, N: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(3):
        x = np.round(rng.standard_normal((T, N)), 1)
        x[rng.random((T, N)) < 0.15] = np.nan
        x[rng.random((T, N)) < 0.02] = np.inf
        x[:, 0] = 2.5
        out.append(x)
    return out


CASES = [(name, kw) for name in MINE for kw in [{}, *VARIANTS.get(name, [])]]


@pytest.mark.parametrize(("name", "kw"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    seed2=st.integers(0, 2**31 - 1),
    d=st.integers(1, 9),
    cut=st.integers(0, 24),
)
def test_no_look_ahead(name: str, kw: dict[str, Any], seed: int, seed2: int, d: int, cut: int) -> None:
    op = REGISTRY[name]
    T, N = 25, 4
    base = _data(seed, T, N)
    changed = [b.copy() for b in base]
    other = _data(seed2, T, N)
    for c, o in zip(changed, other, strict=True):
        c[cut + 1 :] = o[cut + 1 :]
    with np.errstate(all="ignore"):
        a = _call(op, base, d, kw)
        b = _call(op, changed, d, kw)
    np.testing.assert_array_equal(a[: cut + 1], b[: cut + 1])

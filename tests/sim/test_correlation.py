import numpy as np
import pandas as pd
import pytest

from alphamine.sim.checks import PoolEntry
from alphamine.sim.correlation import correlation_matrix, max_pool_correlation, pnl_series, result_correlations
from alphamine.sim.simulate import simulate
from tests.sim.conftest import small_market


def test_matrix_matches_pandas_on_misaligned_series() -> None:
    rng = np.random.default_rng(0)
    d = np.datetime64("2020-01-01") + np.arange(60)
    a, b, c = rng.normal(size=60), rng.normal(size=60), np.ones(60)
    series = [(d, a), (d[10:], b[10:] + a[10:]), (d, c)]
    m = correlation_matrix(series)
    frame = pd.DataFrame({"a": pd.Series(a, d), "b": pd.Series(b[10:] + a[10:], d[10:])})
    assert m[0, 1] == pytest.approx(frame.dropna().corr().loc["a", "b"])
    assert m[0, 0] == 1.0 and np.isnan(m[2, 2]) and np.isnan(m[0, 2])
    np.testing.assert_array_equal(m, m.T)


def test_results_and_pool_semantics() -> None:
    panel = small_market(6, T=2000)  # calendar days: IS ≈ 4.4 years, longer than the 4-year window
    a = simulate("rank(-ts_delta(close, 5))", panel, {"universe": "TOP24"})
    b = simulate("rank(-ts_delta(close, 4))", panel, {"universe": "TOP24"})
    m = result_correlations([a, b])
    assert 0.3 < m[0, 1] < 1.0
    d, p = pnl_series(b)
    value, name = max_pool_correlation(a, [PoolEntry("b", d, p, 1.0), PoolEntry("self", *pnl_series(a), 1.0)])
    assert name == "self" and value == pytest.approx(1.0)
    # the window is the last 4 IS years: a pool member that only exists before it is not comparable
    early = PoolEntry("early", d[:5], p[:5], 1.0)
    value, name = max_pool_correlation(a, [early])
    assert name is None and np.isnan(value)

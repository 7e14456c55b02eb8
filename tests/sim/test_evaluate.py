"""The evaluator: correct wiring of parser, registry and kernels, pasteurization and the shared cache."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.data.panel import Panel
from alphamine.sim.evaluate import EvaluationError, Evaluator, SubexpressionCache, evaluate


@pytest.fixture(scope="module")
def panel() -> Panel:
    rng = np.random.default_rng(7)
    T, N = 40, 8
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0))
    close[:5, 2] = np.nan  # enters late
    volume = rng.lognormal(10, 0.5, (T, N))
    sector = np.broadcast_to(np.array([0, 0, 1, 1, 1, 2, 2, -1], dtype=np.int32), (T, N))
    vec = np.full((T, N, 3), np.nan)
    vec[::3, :, 0] = 1.0
    vec[::3, :, 1] = 3.0
    uni = np.ones((T, N), bool)
    uni[:, 7] = False
    uni[20:, 0] = False
    return Panel(
        np.datetime64("2020-01-01") + np.arange(T),
        [f"S{i}" for i in range(N)],
        matrices={"close": close, "volume": volume},
        groups={"sector": sector},
        vectors={"events": vec},
        universes={"U": uni},
    )


def test_arithmetic_and_fields(panel: Panel) -> None:
    got = evaluate("close * 2 + volume", panel)
    np.testing.assert_allclose(got, panel["close"] * 2 + panel["volume"], equal_nan=True)


def test_variables_inline(panel: Panel) -> None:
    got = evaluate("a = close; b = a * 3; b - a", panel)
    np.testing.assert_allclose(got, panel["close"] * 2, equal_nan=True)


def test_infinities_become_nan_at_the_end_only(panel: Panel) -> None:
    got = evaluate("1 / (close - close)", panel)  # x/0 = inf inside, NaN at the end
    assert np.isnan(got).all()
    # inside the expression inf is a value: max(inf, 1) is inf -> NaN at the end; 1/inf = 0 stays 0
    got2 = evaluate("1 / (1 / (close - close))", panel)
    assert np.all(np.isnan(got2) | (got2 == 0))


def test_pasteurization_sets_inputs_outside_universe_to_nan(panel: Panel) -> None:
    u = panel.universe("U")
    got = Evaluator(panel, universe=u).evaluate("close")
    assert np.isnan(got[~u]).all()
    np.testing.assert_array_equal(got[u], panel["close"][u])
    g = Evaluator(panel, universe=u).evaluate("group_neutralize(close, sector)")
    assert np.isnan(g[:, 7]).all()


def test_a_panel_universe_and_an_equal_copy_share_cache_entries(panel: Panel) -> None:
    # the panel's own mask takes its memoized key; any other mask is hashed: equal content, one frame
    u = panel.universe("U")
    cache = SubexpressionCache(1 << 26)
    first = Evaluator(panel, universe=u, cache=cache)
    first.evaluate("rank(close)")
    n = len(cache)
    again = Evaluator(panel, universe=u.copy(), cache=cache)
    assert again._frame == first._frame
    again.evaluate("rank(close)")
    assert len(cache) == n  # served from the cache
    other = Evaluator(panel, universe=~u, cache=cache)
    assert other._frame != first._frame


def test_group_results_are_float_codes(panel: Panel) -> None:
    got = evaluate("densify(sector)", panel)
    assert got.dtype == np.float64
    assert np.isnan(got[:, 7]).all()
    assert set(np.unique(got[:, :7])) == {0.0, 1.0, 2.0}


def test_shared_subexpressions_computed_once(panel: Panel) -> None:
    ev = Evaluator(panel)
    ev.evaluate("rank(ts_mean(close, 5))")
    misses = ev.cache.misses
    ev.evaluate("rank(ts_mean(close, 5)) + ts_mean(close, 5)")
    # only the new top-level node misses; the shared sub-trees are hits
    assert ev.cache.misses == misses + 1
    assert ev.cache.hits >= 2
    # canonical forms are shared: spacing and commutative order do not matter
    before = ev.cache.misses
    ev.evaluate("ts_mean(close,5)+rank(ts_mean( close , 5 ))")
    assert ev.cache.misses == before


def test_results_are_fresh_writable_arrays(panel: Panel) -> None:
    ev = Evaluator(panel)
    a = ev.evaluate("ts_mean(close, 3)")
    a[:] = 0.0
    b = ev.evaluate("ts_mean(close, 3)")
    assert not np.all(b[~np.isnan(b)] == 0.0)


def test_cache_is_bounded_by_bytes() -> None:
    c = SubexpressionCache(max_bytes=3 * 800)
    for i in range(10):
        c.put(str(i), np.zeros(100))
    assert c.bytes <= 3 * 800
    assert len(c) == 3
    assert c.get("0") is None and c.get("9") is not None


def test_vector_fields_need_reduction(panel: Panel) -> None:
    got = evaluate("vec_avg(events)", panel)
    assert got[0, 0] == pytest.approx(2.0)
    assert np.isnan(got[1, 0])
    with pytest.raises(EvaluationError, match="VECTOR"):
        evaluate("rank(events)", panel)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("nosuchfield + 1", "unknown field"),
        ("clse + 1", "did you mean close"),
        ("nosuchop(close)", "unknown operator"),
        ("ts_mean(close)", "missing required argument"),
        ("ts_mean(close, volume)", "must be a constant"),
        ("ts_mean(close, 2.5)", "integer"),
        ("ts_mean(close, 5, k=1)", "no parameter"),
        ("U + 1", "universe"),
    ],
)
def test_clear_errors(panel: Panel, expr: str, message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        evaluate(expr, panel)


def test_named_constants_nan_and_inf(panel: Panel) -> None:
    got = evaluate("if_else(close > ts_delay(close, 1), 1, nan)", panel)
    assert set(np.unique(got[~np.isnan(got)])) <= {1.0}
    assert np.isnan(got).any()
    assert np.isnan(evaluate("close * 0 + inf", panel)).all()  # ±inf -> NaN at the end of evaluation


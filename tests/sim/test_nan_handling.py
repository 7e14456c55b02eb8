"""nanHandling ON (brain.md §2.3) against straightforward references; OFF leaves outputs untouched."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.data.panel import Panel
from alphamine.sim.evaluate import Evaluator
from alphamine.sim.nan_handling import empty_window_to_zero, group_value_to_nan_members
from alphamine.sim.simulate import simulate
from tests.sim.conftest import small_market


def test_empty_window_to_zero_reference() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 5))
    x[5:15, 1] = np.nan
    x[:, 2] = np.nan
    out = np.where(np.isnan(x), np.nan, 1.0)
    d = 4
    got = empty_window_to_zero(out, x, d)
    for t in range(30):
        for j in range(5):
            window = x[max(t - d + 1, 0) : t + 1, j]
            if t >= d - 1 and np.isnan(window).all():
                assert got[t, j] == 0.0
            else:
                assert got[t, j] == out[t, j] or (np.isnan(got[t, j]) and np.isnan(out[t, j]))


def test_group_value_to_nan_members_reference() -> None:
    out = np.array([[3.0, np.nan, 5.0, np.nan, np.nan], [np.nan, np.nan, 1.0, 1.0, 7.0]])
    codes = np.array([[0, 0, 1, 1, -1], [0, 0, 1, 1, 2]], dtype=np.int32)
    got = group_value_to_nan_members(out, codes)
    np.testing.assert_array_equal(got[0], [3.0, 3.0, 5.0, 5.0, np.nan])
    np.testing.assert_array_equal(got[1], [np.nan, np.nan, 1.0, 1.0, 7.0])


@pytest.fixture(scope="module")
def panel() -> Panel:
    return small_market(9, T=200)


def test_evaluator_applies_both_rules_only_when_on(panel: Panel) -> None:
    x = np.array(panel["close"])
    x[50:70, 3] = np.nan
    p = panel.with_fields(matrices={"gappy": x})
    off = Evaluator(p).evaluate("ts_mean(gappy, 5)")
    on = Evaluator(p, nan_handling=True).evaluate("ts_mean(gappy, 5)")
    assert np.isnan(off[60, 3]) and on[60, 3] == 0.0
    assert np.isnan(on[0, 3])  # the history rule still holds
    np.testing.assert_array_equal(on[~np.isnan(off)], off[~np.isnan(off)])
    g_off = Evaluator(p).evaluate("group_max(gappy, sector)")
    g_on = Evaluator(p, nan_handling=True).evaluate("group_max(gappy, sector)")
    peers = np.asarray(p.groups["sector"])[60] == np.asarray(p.groups["sector"])[60, 3]
    assert np.isnan(g_off[60, 3]) and g_on[60, 3] == np.nanmax(x[60][peers])


def test_simulate_honours_the_setting(panel: Panel) -> None:
    x = np.array(panel["close"])
    x[::3, ::2] = np.nan  # a sparse field: on every third day half the names have no value
    p = panel.with_fields(matrices={"sparse": x})
    s = {"universe": "TOP24", "neutralization": "MARKET", "truncation": 0}
    off = simulate("ts_mean(sparse, 1)", p, s)
    on = simulate("ts_mean(sparse, 1)", p, {**s, "nanHandling": "ON"})
    # ON: an empty window gives 0, so those names join the book (market-neutralized, they get weight)
    names_off = off.metrics["is"]["longCount"] + off.metrics["is"]["shortCount"]
    names_on = on.metrics["is"]["longCount"] + on.metrics["is"]["shortCount"]
    assert names_on > names_off

"""Huge and tiny finite alphas get the positions their values imply (issue #11 D): rows are rescaled by
a power of two before the sums and regressions of the settings pipeline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphamine.data.panel import Panel
from alphamine.sim.decay import decay_finite
from alphamine.sim.positions import build_weights
from alphamine.sim.settings import Neutralization
from alphamine.sim.simulate import simulate
from alphamine.sim.weights_scale import ROW_SCALE_HIGH, ROW_SCALE_LOW, needs_rescale, rescale_row
from tests.sim.conftest import small_market


@pytest.fixture(scope="module")
def panel() -> Panel:
    return small_market(seed=5)


def weights(panel: Panel, expr: str, settings: dict) -> np.ndarray:
    res = simulate(expr, panel, {"universe": "TOP24", **settings}, keep_weights=True)
    assert res.weights is not None
    return res.weights


@pytest.mark.parametrize("neutralization", [n.value for n in Neutralization])
@pytest.mark.parametrize("decay", [0, 5])
def test_huge_and_tiny_multipliers_keep_the_positions(panel: Panel, neutralization: str, decay: int) -> None:
    settings = {"neutralization": neutralization, "decay": decay}
    base = weights(panel, "rank(close)", settings)
    assert np.abs(base).sum(axis=1).max() == pytest.approx(1.0)
    for multiplier, sign in (("1e308", 1.0), ("-1e308", -1.0), ("1e-308", 1.0)):
        got = weights(panel, f"rank(close) * {multiplier}", settings)
        # 1e308 and 1e-308 round each value differently from rank(close) itself: equal to ~1e-15
        np.testing.assert_allclose(got, sign * base, rtol=0, atol=1e-12, err_msg=multiplier)
        assert (np.abs(got).sum(axis=1) > 0).sum() == (np.abs(base).sum(axis=1) > 0).sum()


@pytest.mark.parametrize("neutralization", ["NONE", "INDUSTRY", "SLOW_AND_FAST"])
def test_power_of_two_multipliers_give_identical_bits(panel: Panel, neutralization: str) -> None:
    settings = {"neutralization": neutralization, "decay": 3}
    base = weights(panel, "rank(close)", settings)
    for k in (1000, -1000, 600):
        got = weights(panel, f"rank(close) * {math.ldexp(1.0, k)!r}", settings)
        np.testing.assert_array_equal(got, base, err_msg=str(k))


def test_ordinary_rows_are_not_touched() -> None:
    assert not needs_rescale(0.0) and not needs_rescale(1.0) and not needs_rescale(math.nan)
    assert not needs_rescale(ROW_SCALE_HIGH) and not needs_rescale(ROW_SCALE_LOW)
    assert needs_rescale(math.inf) and needs_rescale(ROW_SCALE_HIGH * 2) and needs_rescale(ROW_SCALE_LOW / 2)


def test_rescale_row_is_exact_and_keeps_zeros_and_non_finite() -> None:
    row = np.array([1e308, -3e307, 0.0, 5e300, np.nan, np.inf])
    scaled = row.copy()
    rescale_row(scaled)
    e = math.frexp(1e308)[1]
    assert 0.5 <= np.nanmax(np.abs(scaled[:4])) < 1.0
    np.testing.assert_array_equal(scaled[:4], [math.ldexp(v, -e) for v in row[:4]])
    assert [math.ldexp(v, e) for v in scaled[:4]] == list(row[:4])  # exact both ways
    assert np.isnan(scaled[4]) and scaled[5] == np.inf
    tiny = np.array([5e-324, 1e-310, 0.0])
    scaled = tiny.copy()
    rescale_row(scaled)
    e = math.frexp(1e-310)[1]
    assert list(scaled) == [math.ldexp(5e-324, -e), math.ldexp(1e-310, -e), 0.0] and 0.5 <= scaled[1] < 1.0


def test_build_weights_overflowing_row_gets_positions() -> None:
    """NONE used to give a day without positions because Σ|alpha| overflowed to inf."""
    alpha = np.array([[1e308, 1.7e308, -1.5e308, 1e308]])
    universe = np.ones_like(alpha, dtype=bool)
    codes = np.zeros(alpha.shape, np.int32)
    styles = np.zeros((1, 4, 0))
    w, _ = build_weights(alpha, universe, codes, styles, False, 0.0, 20, 0.0, 1e-9)
    expected = alpha[0] / 1e308 / np.abs(alpha[0] / 1e308).sum()
    np.testing.assert_allclose(w[0], expected, rtol=1e-14)
    rng = np.random.default_rng(0)
    k_styles = rng.standard_normal((1, 4, 2))
    w2, _ = build_weights(alpha, universe, codes, k_styles, True, 0.0, 20, 0.0, 1e-9)
    assert np.isfinite(w2).all() and np.abs(w2).sum() == pytest.approx(1.0)


def test_decay_rows_that_overflow_are_averaged_after_scaling() -> None:
    alpha = np.array([[1.7e308, 1.0], [1.7e308, -1.0], [np.inf, 2.0]])
    out = decay_finite(alpha, 2)
    assert np.isfinite(out[:2]).all()
    # row 1 overflows: every term is divided by 2^e first (e: exponent of the largest term), then averaged
    e = math.frexp(1.7e308)[1]
    big, minus, plus = math.ldexp(1.7e308, -e), math.ldexp(-1.0, -e), math.ldexp(1.0, -e)
    assert list(out[1]) == [(0.0 + 2 * big + big) / 3, (0.0 + 2 * minus + plus) / 3]
    assert list(out[0]) == [(0.0 + 2 * big) / 2, (0.0 + 2 * plus) / 2]  # 2 x 1.7e308 overflows too
    # row 2: the inf term is absent and 1 x 1.7e308 does not overflow: the plain average, unscaled
    np.testing.assert_array_equal(out[2], [1.7e308, (2 * 2.0 - 1.0) / 3.0])
    np.testing.assert_array_equal(decay_finite(alpha[:, 1:], 2), decay_finite(alpha[:, 1:].copy(), 2))

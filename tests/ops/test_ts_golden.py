"""brain.md's worked examples, the pinned details (P3, P8–P11, P13), numerical stability of the O(1)
rolling updates, and input layouts (broadcast literals, read-only, non-contiguous)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from alphamine.ops import REGISTRY

NAN = np.nan


def col(*values: float) -> np.ndarray:
    """A (T, 1) panel from values listed oldest → newest."""
    return np.array(values, dtype=float).reshape(-1, 1)


def k(name: str) -> Callable[..., np.ndarray]:
    return REGISTRY[name].kernel


def last(a: np.ndarray) -> float:
    return float(a[-1, 0])


def test_ts_rank_worked_example() -> None:
    assert last(k("ts_rank")(col(10, 12, 11, 15, 13), 5)) == pytest.approx(0.75)
    assert last(k("ts_rank")(col(10, 12, 11, 15, 13), 5, 1.0)) == pytest.approx(1.75)


def test_ts_rank_ties_single_value_and_nan_today() -> None:
    assert last(k("ts_rank")(col(1, 2, 2, 2), 4)) == pytest.approx((1 + 0.5 * 2) / 3)  # average rank
    assert last(k("ts_rank")(col(NAN, NAN, 7), 3)) == 0.5
    assert last(k("ts_rank")(col(NAN, NAN, 7), 3, 0.25)) == 0.75
    assert np.isnan(last(k("ts_rank")(col(1, 2, NAN), 3)))


def test_ts_zscore_worked_example() -> None:
    # brain.md lists the example newest first: (100, 0, 50, 60, 25)
    z = last(k("ts_zscore")(col(25, 60, 50, 0, 100), 5))
    assert z == pytest.approx(53 / np.sqrt(1136))
    assert round(z, 2) == 1.57


def test_ts_product_worked_example_and_nans() -> None:
    assert last(k("ts_product")(col(2, 3, 5, 6, 3, 8, 10), 7)) == 43_200
    assert last(k("ts_product")(col(2, NAN, 5), 3)) == 10  # present values only (P10)
    assert np.isnan(last(k("ts_product")(col(NAN, NAN), 2)))
    assert last(k("ts_sum")(col(2, NAN, 5), 3)) == 7


def test_covariance_divides_by_n_and_one_pair_is_zero() -> None:
    y, x = col(1, 2, 3), col(1, 2, 4)
    want = np.mean((y[:, 0] - 2) * (x[:, 0] - 7 / 3))
    assert last(k("ts_covariance")(y, x, 3)) == pytest.approx(want)
    assert last(k("ts_covariance")(col(NAN, NAN, 3), col(1, 2, 4), 3)) == 0.0
    assert np.isnan(last(k("ts_corr")(col(NAN, NAN, 3), col(1, 2, 4), 3)))  # ts_corr needs 2 pairs


def test_std_of_one_value_and_zero_denominators() -> None:
    assert last(k("ts_std_dev")(col(NAN, 4, NAN), 3)) == 0.0
    for name in ("ts_zscore", "ts_ir", "ts_skewness", "ts_kurtosis", "ts_scale"):
        assert np.isnan(last(k(name)(col(0.1, 0.1, 0.1, 0.1), 4))), name
    assert np.isnan(last(k("ts_corr")(col(1, 2, 3), col(0.3, 0.3, 0.3), 3)))
    # a constant window reached after non-constant values is still an exact zero (P8)
    x = col(0.7, 1.3, 2.9, 0.1, 0.1, 0.1)
    assert k("ts_std_dev")(x, 3)[-1, 0] == 0.0
    assert np.isnan(k("ts_zscore")(x, 3)[-1, 0])


def test_arg_max_min_ties_pick_most_recent() -> None:
    x = col(5, 1, 5, 1, 3)
    assert last(k("ts_arg_max")(x, 5)) == 2
    assert last(k("ts_arg_min")(x, 5)) == 1
    assert last(k("ts_arg_max")(col(4, 4, 4), 3)) == 0
    assert last(k("ts_arg_max")(col(9, NAN, NAN), 3)) == 2


def test_decay_linear_sparse_and_dense() -> None:
    x = col(1, 2, NAN)
    assert last(k("ts_decay_linear")(x, 3)) == pytest.approx((1 * 1 + 2 * 2) / 6)  # NaN today → value (P11)
    assert last(k("ts_decay_linear")(x, 3, True)) == pytest.approx((1 * 1 + 2 * 2) / 3)
    assert np.isnan(last(k("ts_decay_linear")(col(NAN, NAN, NAN), 3)))
    out = k("ts_decay_linear")(col(1, 2, 3, 4), 3)
    assert np.isnan(out[:2, 0]).all()
    assert out[3, 0] == pytest.approx((2 + 2 * 3 + 3 * 4) / 6)


def test_decay_exp_window() -> None:
    x = col(1, 2, 4)
    assert last(k("ts_decay_exp_window")(x, 3, 0.5)) == pytest.approx((4 + 0.5 * 2 + 0.25 * 1) / 1.75)
    assert last(k("ts_decay_exp_window")(x, 3)) == pytest.approx(7 / 3)  # factor 1 = mean
    assert last(k("ts_decay_exp_window")(col(1, NAN, 4), 3, 0.5)) == pytest.approx((4 + 0.25) / 1.25)
    assert np.isnan(last(k("ts_decay_exp_window")(col(1, NAN, 4), 3, 0.5, False)))


def test_regression_simple_line() -> None:
    x = col(1, 2, 3, 4, 5)
    y = 2 + 3 * x
    reg = k("ts_regression")
    assert last(reg(y, x, 5, 0, 2)) == pytest.approx(3)
    assert last(reg(y, x, 5, 0, 1)) == pytest.approx(2)
    assert last(reg(y, x, 5, 0, 0)) == pytest.approx(0, abs=1e-12)
    assert last(reg(y, x, 5, 0, 3)) == pytest.approx(17)
    assert last(reg(y, x, 5, 0, 6)) == pytest.approx(1)
    assert last(reg(y, x, 5, 0, 4)) == pytest.approx(0, abs=1e-12)
    assert last(reg(y, x, 5, 0, 5)) == pytest.approx(np.sum((y - y.mean()) ** 2))
    # NaN today: slope/intercept/R² still come from the window, the residual is NaN (P13)
    y2 = y.copy()
    y2[-1] = NAN
    assert last(reg(y2, x, 5, 0, 2)) == pytest.approx(3)
    assert np.isnan(last(reg(y2, x, 5, 0, 0)))
    assert last(reg(y2, x, 5, 0, 3)) == pytest.approx(17)
    # var(x) = 0 → NaN; lag shifts the rows of x: NaN for t < d − 1 + lag
    assert np.isnan(last(reg(y, col(2, 2, 2, 2, 2), 5, 0, 2)))
    lagged = reg(y[1:], x[:-1] * 0 + np.arange(4.0).reshape(-1, 1), 2, 1, 2)
    assert np.isnan(lagged[:2, 0]).all() and np.isfinite(lagged[2:, 0]).all()


def test_regression_lag_pairs_y_with_past_x() -> None:
    x = col(1, 5, 2, 7, 3, 9)
    y = np.roll(2 * x[:, 0] + 1, 1).reshape(-1, 1)  # y[t] = 2·x[t−1] + 1
    out = k("ts_regression")(y, x, 4, 1, 2)
    assert np.isnan(out[:4, 0]).all()
    np.testing.assert_allclose(out[4:, 0], 2.0)


def test_delay_delta_returns() -> None:
    x = col(1, 2, 4, 8)
    np.testing.assert_array_equal(k("ts_delay")(x, 1)[:, 0], [NAN, 1, 2, 4])
    np.testing.assert_array_equal(k("ts_delta")(x, 2)[:, 0], [NAN, NAN, 3, 6])
    np.testing.assert_allclose(k("ts_returns")(x, 1)[1:, 0], [1, 1, 1])
    np.testing.assert_allclose(k("ts_returns")(x, 1, 2)[1:, 0], [2 / 3, 2 / 3, 2 / 3])
    with pytest.raises(ValueError):
        k("ts_returns")(x, 1, 3)


def test_quantile_median_entropy_moment_small_cases() -> None:
    x = col(1, 2, 3, 4, 5)
    assert last(k("ts_quantile")(x, 5, "uniform")) == pytest.approx(1 / 5 + 1 * (1 - 2 / 5) - 0.5)
    assert last(k("ts_quantile")(col(3, 1, 2), 3)) == pytest.approx(0.0)  # the median maps to 0
    assert last(k("ts_median")(col(1, 9, NAN, 4), 4)) == 4
    assert last(k("ts_median")(col(1, 9, 3, 4), 4)) == 3.5
    assert last(k("ts_entropy")(col(1, 1, 1), 3)) == 0.0
    assert last(k("ts_entropy")(col(0, 1), 2, 2)) == pytest.approx(np.log(2))
    assert last(k("ts_moment")(x, 5, 2)) == pytest.approx(2.0)
    assert last(k("ts_moment")(x, 5)) == 1.0
    assert last(k("ts_skewness")(x, 5)) == pytest.approx(0.0, abs=1e-12)
    assert last(k("ts_kurtosis")(x, 5)) == pytest.approx(-1.3)


def test_rank_gmean_amean_diff() -> None:
    a, b = col(1, 2, 3), col(3, 1, 2)  # ranks today: 1.0 and 0.5
    assert last(k("ts_rank_gmean_amean_diff")(a, b, d=3)) == pytest.approx(np.sqrt(0.5) - 0.75)
    assert last(k("ts_rank_gmean_amean_diff")(a, d=3)) == pytest.approx(0.0)


def test_infinities_are_values() -> None:
    x = col(1, np.inf, 3)
    assert last(k("ts_max")(x, 3)) == np.inf
    assert last(k("ts_mean")(x, 3)) == np.inf
    assert np.isnan(last(k("ts_sum")(col(-np.inf, np.inf, 1), 3)))
    assert np.isnan(last(k("ts_std_dev")(x, 3)))
    assert last(k("ts_rank")(col(np.inf, 2, 3), 3)) == 0.5
    # once the inf has left the window, the rolling sums are clean again
    y = col(1, np.inf, 3, 4, 5, 6)
    assert last(k("ts_std_dev")(y, 3)) == pytest.approx(np.std([4, 5, 6]))
    assert last(k("ts_mean")(y, 3)) == pytest.approx(5)


@pytest.mark.parametrize("name", ["ts_std_dev", "ts_zscore", "ts_skewness", "ts_kurtosis", "ts_mean", "ts_ir"])
def test_numerical_stability_large_offset(name: str) -> None:
    rng = np.random.default_rng(7)
    T, d = 3000, 20
    x = 1e6 + 1e-3 * rng.standard_normal((T, 3))
    x[:, 1] += np.linspace(0, 5e3, T)  # a strong trend moves the mean far from any fixed anchor
    x[1000, 2] = 1e12  # a spike that enters and leaves the window
    got = k(name)(x, d)
    want = np.full_like(x, NAN)
    for t in range(d - 1, T):
        w = x[t - d + 1 : t + 1]
        c = w - w.mean(axis=0)
        m2 = (c**2).mean(axis=0)
        want[t] = {
            "ts_std_dev": np.sqrt(m2),
            "ts_zscore": c[-1] / np.sqrt(m2),
            "ts_skewness": (c**3).mean(axis=0) / m2**1.5,
            "ts_kurtosis": (c**4).mean(axis=0) / m2**2 - 3,
            "ts_mean": w.mean(axis=0),
            "ts_ir": w.mean(axis=0) / np.sqrt(m2),
        }[name]
    tol = {"ts_std_dev": 1e-6, "ts_zscore": 1e-6, "ts_skewness": 1e-5, "ts_kurtosis": 1e-5}.get(name, 1e-9)
    np.testing.assert_allclose(got[d - 1 :], want[d - 1 :], rtol=tol, atol=tol)


def test_corr_and_regression_stability_large_offset() -> None:
    rng = np.random.default_rng(8)
    T, d = 2000, 30
    x = 1e6 + rng.standard_normal((T, 2))
    y = -3e5 + 0.5 * (x - 1e6) + 0.1 * rng.standard_normal((T, 2))
    x[:, 1] += np.linspace(0, 1e5, T)
    # persistent inputs (a slow random walk, like a rank): the anchors drift and are moved algebraically
    walk = np.cumsum(rng.standard_normal((T, 1)), axis=0)
    x = np.hstack([x, 1e3 + walk + 1e-2 * rng.standard_normal((T, 1))])
    y = np.hstack([y, -walk + 1e-2 * rng.standard_normal((T, 1))])
    corr = k("ts_corr")(x, y, d)
    slope = k("ts_regression")(y, x, d, 0, 2)
    for t in range(d - 1, T, 3):
        for j in range(3):
            xs, ys = x[t - d + 1 : t + 1, j], y[t - d + 1 : t + 1, j]
            assert corr[t, j] == pytest.approx(np.corrcoef(xs, ys)[0, 1], rel=1e-7)
            assert slope[t, j] == pytest.approx(np.polyfit(xs, ys, 1)[0], rel=1e-6)


@pytest.mark.parametrize("name", ["ts_mean", "ts_std_dev", "ts_rank", "ts_max", "ts_decay_linear", "ts_corr"])
def test_layouts_broadcast_readonly_noncontiguous(name: str, series: Callable[..., np.ndarray]) -> None:
    base = series(4, T=30, N=8)
    nin = 2 if name == "ts_corr" else 1
    want = k(name)(*[base] * nin, 5)
    readonly = base.copy()
    readonly.setflags(write=False)
    fortran = np.asfortranarray(base)
    wide = np.repeat(base, 2, axis=1)[:, ::2]
    for arr in (readonly, fortran, wide):
        got = k(name)(*[arr] * nin, 5)
        assert got.flags.c_contiguous and got.flags.writeable
        np.testing.assert_array_equal(got, want)
    lit = np.broadcast_to(5.0, (30, 8))
    out = k(name)(*[lit] * nin, 5)
    assert out.shape == (30, 8) and np.isnan(out[:4]).all()
    expected = {"ts_mean": 5.0, "ts_std_dev": 0.0, "ts_rank": 0.5, "ts_max": 5.0, "ts_decay_linear": 5.0}
    if name == "ts_corr":
        assert np.isnan(out).all()  # constant series: zero variance
    else:
        np.testing.assert_allclose(out[4:], expected[name])


def test_invalid_constants_raise() -> None:
    x = col(1, 2, 3)
    with pytest.raises(ValueError):
        k("ts_regression")(x, x, 2, 0, 10)
    with pytest.raises(ValueError):
        k("ts_quantile")(x, 2, "laplace")
    with pytest.raises(ValueError):
        k("ts_mean")(x, 0)

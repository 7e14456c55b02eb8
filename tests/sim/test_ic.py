import numpy as np
import pytest
from scipy.stats import spearmanr

from alphamine.sim.ic import forward_returns, rank_ic, summarize_ic


def _reference(alpha: np.ndarray, fwd: np.ndarray, min_names: int) -> np.ndarray:
    out = np.full(alpha.shape[0], np.nan)
    for t in range(alpha.shape[0]):
        ok = ~np.isnan(alpha[t]) & ~np.isnan(fwd[t])
        if ok.sum() < min_names:
            continue
        a, f = alpha[t, ok], fwd[t, ok]
        if np.all(a == a[0]) or np.all(f == f[0]):
            continue
        out[t] = spearmanr(a, f).statistic
    return out


def test_rank_ic_matches_scipy_spearman_with_nans_and_ties() -> None:
    rng = np.random.default_rng(3)
    alpha = np.round(rng.standard_normal((40, 15)), 1)
    fwd = rng.standard_normal((40, 15))
    alpha[rng.random(alpha.shape) < 0.2] = np.nan
    fwd[rng.random(fwd.shape) < 0.1] = np.nan
    alpha[5] = 1.0  # constant day -> NaN
    alpha[7, :12] = np.nan  # too few names -> NaN
    got = rank_ic(alpha, fwd, min_names=5)
    np.testing.assert_allclose(got, _reference(alpha, fwd, 5), atol=1e-12, equal_nan=True)
    assert np.isnan(got[5]) and np.isnan(got[7])


def test_forward_returns_shift_and_perfect_signal() -> None:
    r = np.arange(12, dtype=float).reshape(4, 3)
    f = forward_returns(r)
    np.testing.assert_array_equal(f[:3], r[1:])
    assert np.isnan(f[3]).all()
    rng = np.random.default_rng(0)
    ret = rng.standard_normal((30, 20))
    ic = rank_ic(forward_returns(ret), forward_returns(ret))
    assert np.nanmin(ic) == pytest.approx(1.0)


def test_summary() -> None:
    s = summarize_ic(np.array([0.1, 0.2, np.nan, 0.3, -0.1]))
    assert s.days == 4
    assert s.mean == pytest.approx(0.125)
    assert s.hit_rate == pytest.approx(0.75)
    assert np.isnan(summarize_ic(np.array([np.nan])).mean)

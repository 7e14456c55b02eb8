"""Market regimes: against slow loop references, the no-look-ahead property (hypothesis), and the
per-regime Sharpe split."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphamine.research.regimes import (
    TREND_NAMES,
    VOL_NAMES,
    market_return,
    sharpe_by_regime,
    trailing_volatility,
    up_down,
    volatility_terciles,
)
from alphamine.sim.metrics import sharpe

# ------------------------------------------------------------------------------ slow references


def _ref_window(x: np.ndarray, t: int, window: int) -> list[float]:
    return [float(v) for v in x[max(0, t - window + 1) : t + 1] if math.isfinite(v)]


def _ref_vol(x: np.ndarray, window: int) -> list[float]:
    out = []
    for t in range(len(x)):
        w = _ref_window(x, t, window)
        if len(w) < max(2, (window + 1) // 2):
            out.append(math.nan)
            continue
        m = sum(w) / len(w)
        out.append(math.sqrt(sum((v - m) ** 2 for v in w) / (len(w) - 1)))
    return out


def _ref_terciles(x: np.ndarray, window: int, min_history: int) -> list[int]:
    vol = _ref_vol(x, window)
    out = []
    for t, v in enumerate(vol):
        hist = [u for u in vol[: t + 1] if math.isfinite(u)]
        if not math.isfinite(v) or len(hist) < min_history:
            out.append(-1)
            continue
        q1, q2 = np.quantile(hist, [1 / 3, 2 / 3])
        out.append(0 if v <= q1 else (1 if v <= q2 else 2))
    return out


def _ref_up_down(x: np.ndarray, window: int) -> list[int]:
    out = []
    for t in range(len(x)):
        w = _ref_window(x, t, window)
        s = sum(w)
        out.append(0 if len(w) < max(2, (window + 1) // 2) or s == 0 else (1 if s > 0 else -1))
    return out


def _market(seed: int, n: int = 400) -> np.ndarray:
    """Market returns with volatility clustering (calm and stormy stretches) and a few gaps."""
    rng = np.random.default_rng(seed)
    vol = np.repeat(rng.choice([0.005, 0.01, 0.03], size=n // 40 + 1), 40)[:n]
    x = rng.standard_normal(n) * vol + 0.0003
    x[rng.random(n) < 0.03] = np.nan
    return x


# ----------------------------------------------------------------------------------- references


def test_market_return_matches_loop() -> None:
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.02, (30, 12))
    r[rng.random(r.shape) < 0.2] = np.nan
    r[7] = np.nan
    universe = rng.random(r.shape) < 0.7
    got = market_return(r, universe)
    for t in range(30):
        vals = [r[t, i] for i in range(12) if universe[t, i] and math.isfinite(r[t, i])]
        if vals:
            assert got[t] == pytest.approx(sum(vals) / len(vals))
        else:
            assert math.isnan(got[t])
    assert math.isnan(got[7])
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        want = np.nanmean(r, axis=1)  # warns on the all-NaN row
    np.testing.assert_allclose(market_return(r), want, rtol=1e-12, equal_nan=True)
    with pytest.raises(ValueError):
        market_return(r, universe[:, :5])
    with pytest.raises(ValueError):
        market_return(r[0])


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("window", [1, 5, 20])
def test_labels_match_slow_reference(seed: int, window: int) -> None:
    x = _market(seed)
    np.testing.assert_allclose(trailing_volatility(x, window), _ref_vol(x, window), rtol=1e-10, equal_nan=True)
    assert volatility_terciles(x, window, 60).tolist() == _ref_terciles(x, window, 60)
    assert up_down(x, window).tolist() == _ref_up_down(x, window)


def test_terciles_split_history_roughly_evenly() -> None:
    x = _market(4, n=2000)
    lab = volatility_terciles(x)
    known = np.cumsum(np.isfinite(trailing_volatility(x)))
    first = int(np.argmax(known >= 60))  # the day the 60th volatility value becomes known
    assert (lab[:first] == -1).all() and lab[first] >= 0
    defined = lab[lab >= 0]
    shares = np.bincount(defined, minlength=3) / defined.size
    assert np.all(shares > 0.2)


# ------------------------------------------------------------------------------- no look-ahead

_series = st.lists(
    st.one_of(st.floats(-0.1, 0.1, allow_nan=False), st.just(math.nan)), min_size=2, max_size=160
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_series, st.data(), st.integers(1, 25), st.integers(1, 40))
def test_no_label_at_t_depends_on_data_after_t(values: list[float], data: st.DataObject, window: int,
                                               min_history: int) -> None:
    x = np.array(values)
    t = data.draw(st.integers(0, len(values) - 1))
    tail = data.draw(st.lists(st.one_of(st.floats(-1.0, 1.0, allow_nan=False), st.just(math.nan)),
                              min_size=len(values) - t - 1, max_size=len(values) - t - 1))
    y = x.copy()
    y[t + 1 :] = tail
    for f in (
        lambda a: volatility_terciles(a, window, min_history),
        lambda a: up_down(a, window),
        lambda a: trailing_volatility(a, window),
    ):
        np.testing.assert_array_equal(f(x)[: t + 1], f(y)[: t + 1])


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.integers(0, 2**32 - 1), st.integers(0, 29))
def test_market_return_is_row_local(seed: int, t: int) -> None:
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.02, (30, 8))
    r2 = r.copy()
    r2[t + 1 :] = rng.normal(0, 0.5, r2[t + 1 :].shape)
    np.testing.assert_array_equal(market_return(r)[: t + 1], market_return(r2)[: t + 1])


# -------------------------------------------------------------------------------- Sharpe split


def test_sharpe_by_regime() -> None:
    x = _market(2)
    rng = np.random.default_rng(8)
    pnl = rng.normal(1_000.0, 20_000.0, x.size)
    pnl[3] = np.nan
    vol = volatility_terciles(x)
    got = sharpe_by_regime(pnl, vol, VOL_NAMES)
    assert list(got) == ["low_vol", "mid_vol", "high_vol"]
    for label, name in VOL_NAMES.items():
        vals = pnl[(vol == label) & np.isfinite(pnl)]
        assert got[name].n_days == vals.size > 0
        assert got[name].sharpe == pytest.approx(sharpe(vals))
        assert got[name].pnl == pytest.approx(float(vals.sum()))
    assert sum(s.n_days for s in got.values()) == int(((vol >= 0) & np.isfinite(pnl)).sum())
    trend = sharpe_by_regime(pnl, up_down(x), TREND_NAMES)
    assert list(trend) == ["up", "down"]
    empty = sharpe_by_regime(pnl, np.full(x.size, -1), VOL_NAMES)
    assert math.isnan(empty["low_vol"].sharpe) and empty["low_vol"].n_days == 0
    out = {k: v.to_json() for k, v in empty.items()}
    assert out["low_vol"]["sharpe"] is None
    json.dumps(out, allow_nan=False)
    with pytest.raises(ValueError):
        sharpe_by_regime(pnl[:-1], vol, VOL_NAMES)

"""Derived pv1 fields against straightforward pandas references, on data with NaNs and missing rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphamine.data.derived import add_derived_fields, rolling_mean, simple_returns
from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType
from alphamine.data.panel import Panel


def raw_panel(T: int = 70, N: int = 6, seed: int = 1, **extra: np.ndarray) -> Panel:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0))
    volume = rng.integers(1, 10_000, (T, N)).astype(float)
    high, low = close * 1.01, close * 0.99
    missing = rng.random((T, N)) < 0.08  # missing rows: every field NaN
    missing[:, 0] = False
    missing[5:30, 1] = True  # a long gap: adv20 windows that are entirely NaN
    missing[:12, 2] = True  # late listing
    for a in (close, volume, high, low):
        a[missing] = np.nan
    volume[40, 3] = np.nan  # a row with a close but no volume
    high[50, 4] = np.nan
    dates = np.arange(np.datetime64("2021-01-04"), np.datetime64("2021-01-04") + T)
    mats = {"close": close, "volume": volume, "high": high, "low": low, **extra}
    return Panel(dates, [f"S{i}" for i in range(N)], matrices=mats)


def frame(a: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(a)


def test_returns_match_pandas_and_missing_rows_poison_two_days() -> None:
    p = add_derived_fields(raw_panel())
    c = frame(p["close"])
    ref = c / c.shift(1) - 1  # NaN whenever either side is NaN
    np.testing.assert_allclose(p["returns"], ref.to_numpy(), rtol=1e-15, equal_nan=True)
    gap = np.isnan(p["close"])
    after_gap = np.zeros_like(gap)
    after_gap[1:] = gap[:-1]
    assert np.isnan(p["returns"][gap | after_gap]).all()
    assert np.isnan(p["returns"][0]).all()


def test_adv20_matches_pandas_rolling() -> None:
    p = add_derived_fields(raw_panel())
    ref = frame(p["volume"]).rolling(20, min_periods=1).mean().to_numpy(copy=True)
    ref[:19] = np.nan
    np.testing.assert_allclose(p["adv20"], ref, rtol=1e-12, equal_nan=True)
    assert np.isnan(p["adv20"][5 + 19 : 30, 1]).all()  # windows wholly inside the gap
    assert p.catalogue["adv20"].unit.value == "volume"


def test_rolling_mean_edge_cases() -> None:
    x = np.arange(10, dtype=float).reshape(5, 2)
    assert np.isnan(rolling_mean(x, 6)).all()
    np.testing.assert_array_equal(rolling_mean(x, 1), x)
    with pytest.raises(ValueError):
        rolling_mean(x, 0)
    assert simple_returns(np.ones((1, 3))).shape == (1, 3)


def test_vwap_dollar_volume_and_catalogue() -> None:
    p = add_derived_fields(raw_panel())
    ref = (frame(p["high"]) + frame(p["low"]) + frame(p["close"])) / 3
    np.testing.assert_allclose(p["vwap"], ref.to_numpy(), equal_nan=True)
    assert np.isnan(p["vwap"][50, 4])
    np.testing.assert_array_equal(p["dollar_volume"], p["close"] * p["volume"])
    info = p.catalogue["vwap"]
    assert info.approximate and "approximate" in info.description.lower()
    assert p.catalogue["close"].description and p.catalogue["close"].dataset == "pv1"
    assert p.catalogue["returns"].unit.value == "ratio"
    assert p.catalogue["dollar_volume"].unit.value == "dollars"
    assert "cap" not in p and "sharesout" not in p  # no shares known


def test_given_returns_and_vwap_are_kept() -> None:
    base = raw_panel()
    given = np.full(base.shape, 0.01)
    vw = np.full(base.shape, 3.0)
    p = add_derived_fields(raw_panel(returns=given, vwap=vw))
    np.testing.assert_array_equal(p["returns"], given)
    np.testing.assert_array_equal(p["vwap"], vw)
    assert not p.catalogue["vwap"].approximate


def test_cap_and_sharesout_units() -> None:
    base = raw_panel()
    shares = np.linspace(1e6, 6e6, base.n_instruments)
    p = add_derived_fields(base, shares=shares)
    np.testing.assert_allclose(p["sharesout"], np.broadcast_to(shares / 1e6, base.shape))
    np.testing.assert_allclose(p["cap"], p["close"] * shares / 1e6, equal_nan=True)
    assert p.catalogue["cap"].unit.value == "dollars" and p.catalogue["sharesout"].unit.value == "count"
    # a `shares` field is a count; a `sharesout` field is already in millions
    q = add_derived_fields(raw_panel(shares=np.full(base.shape, 2e6)))
    np.testing.assert_allclose(q["sharesout"], 2.0)
    r = add_derived_fields(raw_panel(sharesout=np.full(base.shape, 3.0)))
    np.testing.assert_allclose(r["cap"], 3.0 * r["close"], equal_nan=True)
    with pytest.raises(DataError, match="shares has shape"):
        add_derived_fields(base, shares=np.ones(3))


def test_partial_inputs_skip_fields_and_keep_descriptions() -> None:
    dates = np.arange(np.datetime64("2021-01-04"), np.datetime64("2021-01-04") + 3)
    only_close = Panel(dates, ["A"], matrices={"close": np.array([[1.0], [2.0], [4.0]])})
    p = add_derived_fields(only_close)
    assert set(p.matrices) == {"close", "returns"}
    np.testing.assert_array_equal(p["returns"][:, 0], [np.nan, 1.0, 1.0])
    custom = FieldInfo(name="close", type=FieldType.MATRIX, description="mine")
    q = add_derived_fields(only_close.with_fields(catalogue={"close": custom}))
    assert q.catalogue["close"].description == "mine"

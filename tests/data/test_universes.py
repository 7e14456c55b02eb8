"""TOP<N> universes against a slow, obviously-correct reference (simulation.md P4), plus the
point-in-time property."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldType
from alphamine.data.panel import Panel
from alphamine.data.universes import add_top_universes, month_starts, top_n_universe


def reference(close: np.ndarray, volume: np.ndarray, instruments: list[str], n: int, dates: np.ndarray) -> np.ndarray:
    """P4 written as plainly as possible: loops over days and instruments."""
    T, N = close.shape
    out = np.zeros((T, N), dtype=bool)
    current: set[int] = set()
    for t in range(T):
        month = str(dates[t])[:7]
        if t == 0 or month != str(dates[t - 1])[:7]:
            current = set()
            s = t - 1
            if s >= 19:
                advs = []
                for i in range(N):
                    vals = []
                    for r in range(s - 19, s + 1):
                        dv = close[r, i] * volume[r, i]
                        if not math.isnan(dv):
                            vals.append(dv)
                    if vals:
                        advs.append((-(sum(vals) / len(vals)), instruments[i], i))
                advs.sort()
                current = {i for _, _, i in advs[:n]}
        for i in current:
            out[t, i] = True
    return out


def random_market(seed: int, T: int = 90, N: int = 12) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    close = rng.integers(1, 6, (T, N)).astype(float)  # small integers: exact sums, so real ties
    volume = rng.integers(1, 4, (T, N)).astype(float) * 100
    close[rng.random((T, N)) < 0.1] = np.nan  # missing rows
    volume[rng.random((T, N)) < 0.05] = np.nan
    close[:, 3] = close[:, 7]  # identical liquidity: a tie broken by ticker
    volume[:, 3] = volume[:, 7]
    close[:, 5] = np.nan  # never trades -> never qualifies
    close[:40, 9] = np.nan  # late listing
    start = np.datetime64("2020-01-27")
    dates = np.sort(start + rng.choice(np.arange(200), T, replace=False)).astype("datetime64[D]")
    instruments = [f"T{(N - i):02d}" for i in range(N)]  # not sorted: ties must use the ticker, not the column
    return close, volume, instruments, dates


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [1, 3, 5, 11, 50])
def test_matches_reference(seed: int, n: int) -> None:
    close, volume, inst, dates = random_market(seed)
    got = top_n_universe(close, volume, np.asarray(inst), n, dates=dates)
    np.testing.assert_array_equal(got, reference(close, volume, inst, n, dates))
    assert got[-1].sum() == min(n, 11)  # column 5 never trades; column 9 listed late but is valid by now


def test_tie_breaks_by_ticker_and_fixed_membership() -> None:
    T = 45
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-01") + T)  # Jan, Feb 14 days
    close = np.ones((T, 3))
    volume = np.ones((T, 3))
    u = top_n_universe(close, volume, np.asarray(["B", "A", "C"]), 1, dates=dates)
    assert not u[:31].any()  # January: row 0 has no previous day
    assert u[31:, 1].all() and not u[31:, [0, 2]].any()  # Feb: all tied -> "A" (column 1)
    close[35:, 1] = np.nan  # A has no rows later in February: still a member
    u2 = top_n_universe(close, volume, np.asarray(["B", "A", "C"]), 1, dates=dates)
    assert u2[35:, 1].all()


def test_empty_until_first_month_with_20_rows_and_fewer_valid_than_n() -> None:
    dates = np.arange(np.datetime64("2020-01-20"), np.datetime64("2020-01-20") + 60)
    starts = np.flatnonzero(month_starts(dates))
    assert starts.tolist() == [0, 12, 41]  # Jan 20, Feb 1, Mar 1
    close = np.ones((60, 4))
    close[:, 2] = np.nan
    u = top_n_universe(close, np.ones((60, 4)), np.asarray(list("ABCD")), 10, dates=dates)
    assert not u[:41].any()  # Feb 1 is row 12: previous row 11 < 19
    assert u[41:].sum(axis=1).tolist() == [3] * 19  # all valid, NaN never


def test_point_in_time_fixed_example() -> None:
    close, volume, inst, dates = random_market(3)
    base = top_n_universe(close, volume, np.asarray(inst), 4, dates=dates)
    c2 = close.copy()
    c2[60:] = 1e9
    changed = top_n_universe(c2, volume, np.asarray(inst), 4, dates=dates)
    np.testing.assert_array_equal(changed[:60], base[:60])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    t=st.integers(0, 89),
    n=st.integers(1, 12),
    scale=st.floats(0.0, 1e6) | st.just(float("nan")),
)
def test_point_in_time_property(seed: int, t: int, n: int, scale: float) -> None:
    """Changing any data after day t never changes membership on days <= t."""
    close, volume, inst, dates = random_market(seed % 50)
    base = top_n_universe(close, volume, np.asarray(inst), n, dates=dates)
    rng = np.random.default_rng(seed)
    c2, v2 = close.copy(), volume.copy()
    c2[t + 1 :] = rng.random(c2[t + 1 :].shape) * scale
    v2[t + 1 :] = np.where(rng.random(v2[t + 1 :].shape) < 0.3, np.nan, scale)
    changed = top_n_universe(c2, v2, np.asarray(inst), n, dates=dates)
    np.testing.assert_array_equal(changed[: t + 1], base[: t + 1])


def test_add_top_universes_catalogue_and_errors() -> None:
    close, volume, inst, dates = random_market(0)
    p = Panel(dates, inst, matrices={"close": close, "volume": volume})
    q = add_top_universes(p, (5, 2, 5))
    assert list(q.universes) == ["TOP5", "TOP2"]
    info = q.catalogue["TOP5"]
    assert info.type == FieldType.UNIVERSE and "liquid" in info.description
    assert (q.universe("TOP2") <= q.universe("TOP5")).all()  # nested
    with pytest.raises(DataError, match="lacks volume"):
        add_top_universes(Panel(dates, inst, matrices={"close": close}))
    with pytest.raises(DataError, match=">= 1"):
        top_n_universe(close, volume, np.asarray(inst), 0, dates=dates)
    with pytest.raises(DataError, match="shapes disagree"):
        top_n_universe(close, volume[:, :3], np.asarray(inst), 2, dates=dates)
    empty = top_n_universe(np.zeros((0, 2)), np.zeros((0, 2)), np.asarray(["A", "B"]), 1, dates=dates[:0])
    assert empty.shape == (0, 2)

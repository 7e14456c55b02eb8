"""Point-in-time joins: availability after period end + lag, carry-forward, impossible dates."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphamine.data.errors import DataError
from alphamine.data.fundamentals import join_point_in_time, load_fundamentals
from alphamine.data.panel import Panel

DATES = np.array(
    [np.datetime64("2020-01-01") + i for i in range(400) if (i % 7) not in (3, 4)], dtype="datetime64[D]"
)  # a calendar with "weekends"
INST = np.array(["A", "B", "C"])


def reference(dates: np.ndarray, inst: np.ndarray, table: pd.DataFrame, col: str, lag: int) -> np.ndarray:
    """For each day and ticker, the latest-period report among those with period_end + lag <= day,
    where a report counts from the first trading day >= period_end + lag; ties in that day -> later
    period; an exact duplicate (same ticker and period) -> the later row (a restatement). Plain loops."""
    reports = []
    for _, r in table.iterrows():
        pe = np.datetime64(pd.Timestamp(r["period_end"]).date(), "D")
        first = dates[dates >= pe + np.timedelta64(lag, "D")]
        if first.size:
            reports.append((r["ticker"], first[0], pe, r[col]))
    out = np.full((dates.size, inst.size), np.nan)
    for j, tick in enumerate(inst):
        for t, day in enumerate(dates):
            best = None
            for rt, first_day, pe, value in reports:
                if rt == tick and first_day <= day and (best is None or (first_day, pe) >= best[0]):
                    best = ((first_day, pe), value)
            if best is not None:
                out[t, j] = best[1]
    return out


def test_availability_and_carry_forward() -> None:
    table = pd.DataFrame(
        {
            "ticker": ["A", "A", "B", "B", "Z"],
            "period_end": ["2019-12-31", "2020-06-30", "2020-03-31", "2020-03-31", "2020-01-31"],
            "x": [1.0, 2.0, 3.0, np.nan, 9.0],
        }
    )
    got = join_point_in_time(DATES, INST, table.iloc[:3], value_cols=["x"], lag_days=90)["x"]
    avail_a1 = np.datetime64("2019-12-31") + 90  # 2020-03-30
    first = int(np.searchsorted(DATES, avail_a1))
    assert np.isnan(got[:first, 0]).all() and (got[first : first + 5, 0] == 1.0).all()
    second = int(np.searchsorted(DATES, np.datetime64("2020-06-30") + 90))
    assert (got[first:second, 0] == 1.0).all() and (got[second:, 0] == 2.0).all()
    assert np.isnan(got[:, 2]).all()
    np.testing.assert_array_equal(got, reference(DATES, INST, table.iloc[:3], "x", 90))


def test_same_day_later_period_wins_and_nan_is_not_filled() -> None:
    table = pd.DataFrame(
        {
            "ticker": ["A", "A", "A", "A"],
            "period_end": ["2020-01-01", "2020-01-03", "2020-01-02", "2020-06-01"],
            "x": [1.0, 3.0, 2.0, np.nan],
        }
    )
    got = join_point_in_time(DATES, INST, table, value_cols=["x"], lag_days=0)["x"]
    # 2020-01-01 (row 0), 01-02 (row 1), 01-03 (row 2): each available the day it ends
    assert got[:3, 0].tolist() == [1.0, 2.0, 3.0]
    # reports ending on a "weekend" become available together; the later period wins
    t2 = pd.DataFrame({"ticker": ["B", "B"], "period_end": ["2020-01-05", "2020-01-04"], "x": [5.0, 4.0]})
    got2 = join_point_in_time(DATES, INST, t2, value_cols=["x"], lag_days=0)["x"]
    row = int(np.searchsorted(DATES, np.datetime64("2020-01-04")))
    assert DATES[row] == np.datetime64("2020-01-06") and got2[row, 1] == 5.0
    june = int(np.searchsorted(DATES, np.datetime64("2020-06-01")))
    assert np.isnan(got[june:, 0]).all()  # the newest report says NaN: not filled from older years


def test_impossible_dates_warn_and_are_dropped() -> None:
    table = pd.DataFrame(
        {
            "ticker": ["A", "A", "B", "B", "C"],
            "period_end": ["1215-12-31", "not a date", None, "2005-06-30", "2099-01-01"],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    with pytest.warns(UserWarning, match=r"dropped 4 rows with impossible 'period_end' dates") as rec:
        got = join_point_in_time(DATES, INST, table, value_cols=["x"])["x"]
    assert "A:1215-12-31" in str(rec[0].message)
    assert (got[:, 1] == 4.0).all()  # an old but possible date is kept
    assert np.isnan(got[:, [0, 2]]).all()


def test_bad_tables_are_data_errors() -> None:
    table = pd.DataFrame({"ticker": ["A"], "period": ["2020-01-01"], "x": [1.0]})
    with pytest.raises(DataError, match=r"missing columns \['period_end'\]; columns found: ticker, period, x"):
        join_point_in_time(DATES, INST, table, value_cols=["x"])
    table = pd.DataFrame({"ticker": ["A"], "period_end": ["2020-01-01"], "x": ["lots"]})
    with pytest.raises(DataError, match=r"non-numeric values in column 'x'"):
        join_point_in_time(DATES, INST, table, value_cols=["x"])
    assert join_point_in_time(DATES[:0], INST, table.iloc[:0], value_cols=[]) == {}


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    lag=st.integers(0, 120),
    t=st.integers(0, DATES.size - 1),
)
def test_never_uses_a_report_before_period_end_plus_lag(seed: int, lag: int, t: int) -> None:
    rng = np.random.default_rng(seed)
    n = 12
    periods = np.datetime64("2019-09-01") + rng.integers(0, 400, n)
    table = pd.DataFrame(
        {"ticker": rng.choice(INST, n), "period_end": periods.astype(str), "x": np.arange(n, dtype=float)}
    )
    got = join_point_in_time(DATES, INST, table, value_cols=["x"], lag_days=lag)["x"]
    # every value seen on day t comes from a report with period_end + lag <= day t
    for j in range(INST.size):
        v = got[t, j]
        if not np.isnan(v):
            assert periods[int(v)] + np.timedelta64(lag, "D") <= DATES[t]
            assert table["ticker"][int(v)] == INST[j]
    # and changing reports that are not yet available on day t changes nothing up to t
    later = (periods + np.timedelta64(lag, "D")) > DATES[t]
    t2 = table.copy()
    t2.loc[later, "x"] = -1.0
    got2 = join_point_in_time(DATES, INST, t2, value_cols=["x"], lag_days=lag)["x"]
    np.testing.assert_array_equal(got2[: t + 1], got[: t + 1])
    if seed % 5 == 0:
        np.testing.assert_array_equal(got, reference(DATES, INST, table, "x", lag))


def test_load_fundamentals_from_file(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {
            "ticker": ["A", "B"],
            "period_end": pd.to_datetime(["2019-12-31", "2019-12-31"]).date,
            "fiscal_year": [2019, 2019],
            "total_revenue": [100.0, 200.0],
            "gross_margin": [40.0, 50.0],
            "earnings_per_share": [1.5, 2.5],
            "estimated_shares_outstanding": [1e6, 2e6],
            "note": ["x", "y"],
        }
    )
    path = tmp_path / "fu.parquet"
    table.to_parquet(path)
    panel = Panel(DATES, INST, matrices={"close": np.ones((DATES.size, 3))})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = load_fundamentals(path, panel, lag_days=30)
    assert {"total_revenue", "gross_margin", "earnings_per_share", "estimated_shares_outstanding"} <= set(p.matrices)
    assert "fiscal_year" not in p and "note" not in p
    info = p.catalogue["total_revenue"]
    assert (info.dataset, info.category, info.unit.value) == ("fundamental", "fundamental", "dollars")
    assert p.catalogue["gross_margin"].unit.value == "ratio"
    assert p.catalogue["earnings_per_share"].unit.value == "price"
    assert p.catalogue["estimated_shares_outstanding"].unit.value == "count"
    assert p.catalogue["estimated_shares_outstanding"].approximate
    row = int(np.searchsorted(DATES, np.datetime64("2020-01-30")))
    assert np.isnan(p["total_revenue"][row - 1]).all() and p["total_revenue"][row].tolist()[:2] == [100.0, 200.0]
    with pytest.raises(DataError, match="clash"):
        load_fundamentals(path, p)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"ticker": ["A"], "date": ["2020-01-01"], "x": [1]}).to_csv(bad, index=False)
    with pytest.raises(DataError, match=r"bad\.csv: no column 'period_end'"):
        load_fundamentals(bad, panel)

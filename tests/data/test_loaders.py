"""Loaders: long and wide files, meta tables, and every bad-input DataError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldType
from alphamine.data.loaders import load_long, load_wide, read_table


def long_frame() -> pd.DataFrame:
    """3 tickers x 4 days, deliberately unsorted, with one missing row (B on day 2)."""
    rows = []
    dates = ["2020-01-03", "2020-01-02", "2020-01-06", "2020-01-07"]
    for i, d in enumerate(dates):
        for j, t in enumerate(["C", "A", "B"]):
            if (t, d) == ("B", "2020-01-06"):
                continue
            c = 10.0 + i + 10 * j
            rows.append(
                {
                    "date": d,
                    "ticker": t,
                    "open": c - 0.5,
                    "high": c + 1,
                    "low": c - 1,
                    "close": c,
                    "volume": 100.0 * (j + 1),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture
def long_csv(tmp_path: Path) -> Path:
    p = tmp_path / "px.csv"
    long_frame().to_csv(p, index=False)
    return p


def test_long_csv_and_parquet_give_the_same_panel(long_csv: Path, tmp_path: Path) -> None:
    pq = tmp_path / "px.parquet"
    long_frame().to_parquet(pq)
    a, b = load_long(long_csv), load_long(pq)
    assert a.dates.dtype == np.dtype("datetime64[D]")
    assert a.dates.tolist() == sorted(a.dates.tolist()) and a.n_days == 4
    assert a.instruments.tolist() == ["A", "B", "C"]
    for k in ("open", "high", "low", "close", "volume", "returns", "vwap", "adv20", "dollar_volume"):
        np.testing.assert_array_equal(a[k], b[k])
    assert a.name == "px"


def test_long_values_land_in_the_right_cells(long_csv: Path) -> None:
    p = load_long(long_csv)
    df = long_frame()
    close = df.pivot(index="date", columns="ticker", values="close").sort_index()
    np.testing.assert_array_equal(p["close"], close.to_numpy())
    assert np.isnan(p["close"][p.date_index("2020-01-06"), 1])  # B's missing row
    assert {"market", "returns", "vwap", "dollar_volume", "adv20"} <= set(p.catalogue)
    assert set(p.universes) == {"TOP500", "TOP200", "TOP100"}
    assert p.catalogue["vwap"].approximate
    assert p.catalogue["close"].dataset == "pv1" and p.catalogue["close"].unit.value == "price"


def test_universe_sizes_and_derived_flags(long_csv: Path) -> None:
    p = load_long(long_csv, universes=(2, 1))
    assert set(p.universes) == {"TOP2", "TOP1"}
    raw = load_long(long_csv, derived=False)
    assert set(raw.matrices) == {"open", "high", "low", "close", "volume"} and not raw.universes


def test_given_returns_and_extra_columns_are_kept(tmp_path: Path) -> None:
    df = long_frame()
    df["returns"] = 0.5
    df["Adj Close"] = df["close"] * 2
    df["sector"] = np.where(df["ticker"] == "A", "tech", "energy")
    p_ = tmp_path / "x.parquet"
    df.to_parquet(p_)
    p = load_long(p_)
    assert np.nanmax(p["returns"]) == 0.5 == np.nanmin(p["returns"])
    np.testing.assert_array_equal(p["adj_close"], 2 * p["close"])
    assert p.catalogue["adj_close"].dataset == "user"
    assert p.catalogue["sector"].type == FieldType.GROUP
    assert p.group_labels["sector"] == ("energy", "tech")
    assert p["sector"][0].tolist() == [1, 0, 0]
    assert p["sector"][p.date_index("2020-01-06"), 1] == -1


def test_case_insensitive_columns_and_integer_dates(tmp_path: Path) -> None:
    df = long_frame().rename(columns={"date": "Date", "ticker": "Ticker", "close": "Close"})
    df["Date"] = df["Date"].str.replace("-", "").astype(int)
    p_ = tmp_path / "x.csv"
    df.to_csv(p_, index=False)
    p = load_long(p_)
    assert str(p.dates[0]) == "2020-01-02" and "close" in p.matrices


def test_meta_groups(long_csv: Path, tmp_path: Path) -> None:
    meta = pd.DataFrame(
        {"ticker": ["A", "C", "Z"], "sector": ["tech", "energy", "x"], "code": [40, 10, 99], "weight": [0.5, 0.2, 0.1]}
    )
    mp = tmp_path / "meta.csv"
    meta.to_csv(mp, index=False)
    p = load_long(long_csv, mp)
    assert p.group_labels["sector"] == ("energy", "tech", "x")
    assert p["sector"][0].tolist() == [1, -1, 0]  # A tech, B absent, C energy
    assert p.group_labels["code"] == ("10", "40", "99")
    assert p["code"][-1].tolist() == [1, -1, 0]
    assert "weight" not in p  # float meta columns are ignored
    assert p.catalogue["sector"].type == FieldType.GROUP
    only = load_long(long_csv, mp, group_cols=["sector"])
    assert "code" not in only and "sector" in only


def test_wide_mapping_directory_and_union(tmp_path: Path) -> None:
    d = tmp_path / "wide"
    d.mkdir()
    close = pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], "B": [1.0, 2.0], "A": [3.0, 4.0]})
    volume = pd.DataFrame({"date": ["2020-01-03", "2020-01-06"], "A": [10.0, 20.0], "C": [5.0, 6.0]})
    close.to_csv(d / "close.csv", index=False)
    volume.set_index("date").to_parquet(d / "volume.parquet")  # index comes back as a column
    pd.DataFrame({"ticker": ["A", "B", "C"], "sector": ["s1", "s2", "s1"]}).to_csv(d / "meta.csv", index=False)
    p = load_wide(d)
    assert p.instruments.tolist() == ["A", "B", "C"]
    assert [str(x) for x in p.dates] == ["2020-01-02", "2020-01-03", "2020-01-06"]
    np.testing.assert_array_equal(p["close"][:2, :2], [[3.0, 1.0], [4.0, 2.0]])
    assert np.isnan(p["close"][2]).all() and np.isnan(p["close"][:, 2]).all()
    np.testing.assert_array_equal(p["volume"][1:, [0, 2]], [[10.0, 5.0], [20.0, 6.0]])
    assert p.group_labels["sector"] == ("s1", "s2") and "dollar_volume" in p
    q = load_wide({"close": d / "close.csv", "volume": d / "volume.parquet"}, derived=False)
    np.testing.assert_array_equal(q["close"], p["close"])
    assert "sector" not in q


# ------------------------------------------------------------------------------------ bad input
def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_file_not_found_unknown_extension_empty(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        load_long(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"x\.xlsx: unknown file extension"):
        load_long(write(tmp_path, "x.xlsx", "a"))
    with pytest.raises(DataError, match=r"e\.csv: empty file"):
        load_long(write(tmp_path, "e.csv", ""))
    with pytest.raises(DataError, match=r"h\.csv: empty file"):
        load_long(write(tmp_path, "h.csv", "date,ticker,close\n"))
    with pytest.raises(DataError, match=r"b\.parquet: cannot be read"):
        load_long(write(tmp_path, "b.parquet", "not parquet"))
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path)


def test_missing_columns_list_what_was_found(tmp_path: Path) -> None:
    p = write(tmp_path, "m.csv", "day,ticker,close\n2020-01-02,A,1\n")
    with pytest.raises(DataError, match=r"m\.csv: no date column 'date'; columns found: day, ticker, close"):
        load_long(p)
    p = write(tmp_path, "n.csv", "date,sym,close\n2020-01-02,A,1\n")
    with pytest.raises(DataError, match=r"no ticker column 'ticker'; columns found: date, sym, close"):
        load_long(p)
    assert load_long(p, ticker_col="sym").instruments.tolist() == ["A"]


def test_duplicates_are_counted_with_examples(tmp_path: Path) -> None:
    lines = ["date,ticker,close"] + [f"2020-01-0{d},T{i},1" for d in (2, 3) for i in range(7)] * 2
    p = write(tmp_path, "d.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError) as e:
        load_long(p)
    msg = str(e.value)
    assert "d.csv: 14 duplicate (date, ticker) pairs in 28 rows" in msg
    assert msg.count("(2020-01-0") == 5  # at most five examples


def test_non_numeric_values_name_column_example_and_row(tmp_path: Path) -> None:
    p = write(tmp_path, "v.csv", "date,ticker,close\n2020-01-02,A,1\n2020-01-03,A,abc\n2020-01-06,A,2\n")
    with pytest.raises(DataError, match=r"v\.csv: non-numeric values in column 'close', e\.g\. \['abc'\].*rows \[2\]"):
        load_long(p)


def test_unparseable_and_missing_dates(tmp_path: Path) -> None:
    p = write(tmp_path, "u.csv", "date,ticker,close\n2020-01-02,A,1\nnot-a-date,A,2\n2020-13-45,A,3\n")
    with pytest.raises(
        DataError, match=r"u\.csv: 2 unparseable dates in column 'date', e\.g\. \['not-a-date', '2020-13-45'\]"
    ):
        load_long(p)
    p = write(tmp_path, "w.csv", "date,ticker,close\n2020-01-02,A,1\n,A,2\n")
    with pytest.raises(DataError, match=r"w\.csv: 1 rows have no 'date' \(rows \[2\]\)"):
        load_long(p)
    p = write(tmp_path, "t.csv", "date,ticker,close\n2020-01-02,,1\n")
    with pytest.raises(DataError, match=r"t\.csv: 1 rows have no 'ticker'"):
        load_long(p)


def test_only_keys_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no numeric value columns"):
        load_long(write(tmp_path, "k.csv", "date,ticker\n2020-01-02,A\n"))


def test_meta_errors(long_csv: Path, tmp_path: Path) -> None:
    m = write(tmp_path, "meta.csv", "ticker,sector\nA,x\nA,y\nB,z\n")
    with pytest.raises(DataError, match=r"meta\.csv: 1 tickers appear more than once, e\.g\. \['A'\]"):
        load_long(long_csv, m)
    m = write(tmp_path, "meta2.csv", "symbol,sector\nA,x\n")
    with pytest.raises(DataError, match=r"meta2\.csv: no ticker column 'ticker'; columns found: symbol, sector"):
        load_long(long_csv, m)
    m = write(tmp_path, "meta3.csv", "ticker,close\nA,x\n")
    with pytest.raises(DataError, match="clash"):
        load_long(long_csv, m)


def test_wide_errors(tmp_path: Path) -> None:
    p = write(tmp_path, "close.csv", "date,A,B\n2020-01-02,1,2\n2020-01-03,x,3\n2020-01-06,4,oops\n")
    with pytest.raises(
        DataError, match=r"close\.csv: 2 non-numeric values, e\.g\. A='x' \(row 2\), B='oops' \(row 3\)"
    ):
        load_wide({"close": p})
    p = write(tmp_path, "c2.csv", "date,A\n2020-01-02,1\n2020-01-02,2\n")
    with pytest.raises(DataError, match=r"c2\.csv: 1 dates appear more than once, e\.g\. \['2020-01-02'\]"):
        load_wide([p])
    p = write(tmp_path, "c3.csv", "date\n2020-01-02\n")
    with pytest.raises(DataError, match="no ticker columns"):
        load_wide([p])
    with pytest.raises(DataError, match="directory not found"):
        load_wide(tmp_path / "missing")
    empty = tmp_path / "emptydir"
    empty.mkdir()
    with pytest.raises(DataError, match="no data files"):
        load_wide(empty)

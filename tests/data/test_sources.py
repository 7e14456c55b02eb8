"""`DataSource.from_options` validates the CLI's data options once; `open_source` opens any source."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.data.cache import save_panel
from alphamine.data.errors import DataError
from alphamine.data.sources import DataSource, open_source, parse_synthetic
from alphamine.data.synthetic import synthetic


def test_options_name_one_source(tmp_path) -> None:
    assert DataSource.from_options() == DataSource(kind="sample")
    syn = DataSource.from_options(synthetic="30,200", seed=3)
    assert (syn.kind, syn.n_instruments, syn.n_days, syn.seed) == ("synthetic", 30, 200, 3)
    f = tmp_path / "x.parquet"
    src = DataSource.from_options(data=f)
    assert src.kind == "file" and src.path == str(f.resolve()) and src.meta is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample": True, "synthetic": "3,3"}, "choose one data source"),
        ({"meta": "m.csv"}, "--meta needs --data"),
        ({"synthetic": "abc"}, "--synthetic expects"),
        ({"synthetic": "0,10"}, "must be positive"),
    ],
)
def test_bad_options_are_data_errors_naming_the_option(kwargs, message) -> None:
    with pytest.raises(DataError, match=message):
        DataSource.from_options(**kwargs)


def test_parse_synthetic_accepts_x() -> None:
    assert parse_synthetic("500x1260") == (500, 1260) == parse_synthetic(" 500 , 1260 ")


def test_open_source_synthetic_and_cache_directory(tmp_path) -> None:
    panel = open_source(DataSource(kind="synthetic", n_instruments=20, n_days=120, seed=1))
    assert panel.fingerprint() == synthetic(20, 120, seed=1).fingerprint()
    save_panel(panel, tmp_path / "cache")
    again = open_source(DataSource.from_options(data=tmp_path / "cache"))
    assert again.fingerprint() == panel.fingerprint()
    np.testing.assert_array_equal(again.field("close"), panel.field("close"))
    with pytest.raises(DataError, match="--meta cannot be combined"):
        open_source(DataSource.from_options(data=tmp_path / "cache", meta=tmp_path / "m.csv"))


def test_open_source_rejects_unknown_kinds() -> None:
    with pytest.raises(DataError, match="unknown data source kind"):
        open_source(DataSource(kind="ftp"))
    with pytest.raises(DataError, match="needs n_instruments"):
        open_source(DataSource(kind="synthetic"))

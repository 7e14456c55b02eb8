"""The bundled S&P 500 sample: shape, groups, fields, catalogue, universes, quirks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphamine.data.fields import FieldType
from alphamine.data.sample import SAMPLE_DIR, SAMPLE_FILES, load_sample, sample_path

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_bundled_files_are_in_the_package() -> None:
    for f in SAMPLE_FILES.values():
        assert (SAMPLE_DIR / f).stat().st_size > 10_000
    assert "Provenance" in (SAMPLE_DIR / "README.md").read_text()


def test_shape_and_identity() -> None:
    p = load_sample()
    assert p is load_sample()  # built once per process
    assert p.shape == (1259, 505)
    assert str(p.dates[0]) == "2013-02-08" and str(p.dates[-1]) == "2018-02-07"
    assert p.instruments.tolist() == sorted(p.instruments.tolist())
    assert p.name == "sp500"


def test_groups() -> None:
    p = load_sample()
    assert len(p.group_labels["sector"]) == 11
    assert len(p.group_labels["industry_group"]) == 24
    assert len(p.group_labels["industry"]) == 61
    assert len(p.group_labels["subindustry"]) == 122
    assert (p["market"] == 0).all()
    for g in ("sector", "industry_group", "industry", "subindustry"):
        assert p[g].dtype == np.int32 and (p[g] >= 0).all()
        assert p.catalogue[g].type == FieldType.GROUP and "GICS" in p.catalogue[g].description
    aapl = p.instruments.tolist().index("AAPL")
    assert p.group_labels["sector"][p["sector"][0, aapl]] == "Information Technology"


def test_fields_and_catalogue() -> None:
    p = load_sample()
    pv = ["open", "high", "low", "close", "volume", "returns", "vwap", "dollar_volume", "adv20", "cap", "sharesout"]
    units = {
        "open": "price",
        "close": "price",
        "vwap": "price",
        "volume": "volume",
        "adv20": "volume",
        "dollar_volume": "dollars",
        "cap": "dollars",
        "returns": "ratio",
        "sharesout": "count",
    }
    for f in pv:
        info = p.catalogue[f]
        assert info.dataset == "pv1" and info.category == "pv" and info.description
        if f in units:
            assert info.unit.value == units[f], f
    assert p.catalogue["vwap"].approximate and p.catalogue["cap"].approximate
    fund = [k for k, v in p.catalogue.items() if v.dataset == "fundamental"]
    assert len(fund) == 75
    assert all(p.catalogue[k].category == "fundamental" for k in fund)
    assert p.catalogue["total_revenue"].unit.value == "dollars"
    assert p.catalogue["current_ratio"].unit.value == "ratio"
    assert all(fi.description for fi in p.catalogue.values())
    assert 0.6 < p.catalogue["cap"].coverage < 0.8


def test_known_quirks_survive() -> None:
    p = load_sample()
    dhr = p.instruments.tolist().index("DHR")
    gaps = np.flatnonzero(np.isnan(p["close"][:, dhr]))
    assert gaps.size == 16
    assert np.isnan(p["returns"][gaps, dhr]).all() and np.isnan(p["returns"][gaps + 1, dhr]).all()
    aptv = p.instruments.tolist().index("APTV")
    assert int((~np.isnan(p["close"][:, aptv])).sum()) == 44
    assert not np.isnan(p["volume"][~np.isnan(p["close"])]).any()


def test_fundamentals_are_point_in_time() -> None:
    p = load_sample()
    fu = pd.read_parquet(sample_path("fundamentals"))
    fu["period_end"] = pd.to_datetime(fu["period_end"])
    aal = p.instruments.tolist().index("AAL")
    rows = fu[fu.ticker == "AAL"].sort_values("period_end")
    for _, r in rows.iterrows():
        avail = np.datetime64(r["period_end"].date(), "D") + 90
        t = int(np.searchsorted(p.dates, avail))
        if 0 < t < p.n_days:
            assert p["total_revenue"][t, aal] == r["total_revenue"]
            assert p["total_revenue"][t - 1, aal] != r["total_revenue"]


def test_universes() -> None:
    p = load_sample()
    assert set(p.universes) == {"TOP500", "TOP200", "TOP100"}
    sizes = {k: p.universe(k).sum(axis=1) for k in p.universes}
    live = sizes["TOP100"] > 0
    assert (sizes["TOP100"][live] == 100).all() and (sizes["TOP200"][live] == 200).all()
    assert sizes["TOP500"][live].min() >= 470 and sizes["TOP500"].max() <= 500
    assert not live[:33].any() and live[-900:].all()  # Feb and Mar 2013 have no 20-row history
    assert (p.universe("TOP100") <= p.universe("TOP200")).all()


def test_bundled_copy_matches_shared_data() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} is absent (only present in the development checkout)")
    for f in SAMPLE_FILES.values():
        if not (SHARED / f).exists():
            pytest.skip(f"{SHARED / f} is absent")
        assert (SHARED / f).read_bytes() == (SAMPLE_DIR / f).read_bytes(), f

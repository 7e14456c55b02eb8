"""`alphamine data info|fields`: sources, output, and the one-red-line error contract."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alphamine.cli.data_cmd import resolve_panel
from alphamine.cli.main import app
from alphamine.data.cache import save_panel
from alphamine.data.errors import DataError

runner = CliRunner()


def long_file(tmp_path: Path) -> Path:
    dates = pd.bdate_range("2020-01-01", periods=30)
    df = pd.DataFrame(
        [(d.date(), t, 10.0 + i + j, 1000.0 * (j + 1)) for i, d in enumerate(dates) for j, t in enumerate("ABC")],
        columns=["date", "ticker", "close", "volume"],
    )
    p = tmp_path / "px.csv"
    df.to_csv(p, index=False)
    return p


def assert_one_red_line(result, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("error:") and "\n" not in err, err
    assert "Traceback" not in result.output
    for n in needles:
        assert n in err, err


def test_info_sample() -> None:
    r = runner.invoke(app, ["data", "info", "--sample"])
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "2013-02-08 .. 2018-02-07  (1259 days)" in out
    assert "instruments  505" in out
    for s in ("MATRIX", "GROUP", "fundamental", "TOP500", "TOP200", "TOP100", "sector"):
        assert s in out
    default = runner.invoke(app, ["data", "info"])  # no source -> the sample
    assert default.exit_code == 0 and "1259 days" in default.stdout


def test_fields_json_and_type_filter() -> None:
    r = runner.invoke(app, ["data", "fields", "--sample", "--type", "group", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert {x["id"] for x in rows} == {"sector", "industry_group", "industry", "subindustry", "market"}
    assert all("dateCoverage" in x and x["type"] == "GROUP" for x in rows)
    t = runner.invoke(app, ["data", "fields", "--sample", "--type", "UNIVERSE"])
    assert t.exit_code == 0 and "3 fields" in t.stdout and "TOP100" in t.stdout and "open" not in t.stdout


def test_data_long_file_with_meta(tmp_path: Path) -> None:
    p = long_file(tmp_path)
    meta = tmp_path / "meta.csv"
    pd.DataFrame({"ticker": ["A", "B", "C"], "sector": ["x", "y", "x"]}).to_csv(meta, index=False)
    r = runner.invoke(app, ["data", "info", "--data", str(p), "--meta", str(meta)])
    assert r.exit_code == 0, r.output
    assert "30 days" in r.stdout and "instruments  3" in r.stdout and "sector" in r.stdout
    j = runner.invoke(app, ["data", "fields", "--data", str(p), "--json"])
    assert {"close", "volume", "returns", "adv20", "TOP100"} <= {x["id"] for x in json.loads(j.stdout)}


def test_data_directory_wide_and_cache(tmp_path: Path) -> None:
    d = tmp_path / "wide"
    d.mkdir()
    pd.DataFrame({"date": ["2020-01-02", "2020-01-03"], "A": [1.0, 2.0]}).to_csv(d / "close.csv", index=False)
    r = runner.invoke(app, ["data", "fields", "--data", str(d), "--json"])
    assert r.exit_code == 0, r.output
    assert "close" in {x["id"] for x in json.loads(r.stdout)}
    panel = resolve_panel(long_file(tmp_path))
    save_panel(panel, tmp_path / "cache")
    c = runner.invoke(app, ["data", "info", "--data", str(tmp_path / "cache")])
    assert c.exit_code == 0 and panel.fingerprint() in c.stdout


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--data", "/nonexistent/px.csv"], ["px.csv: file not found"]),
        (["--sample", "--synthetic", "10,100"], ["choose one data source", "--sample and --synthetic"]),
        (["--meta", "m.csv"], ["--meta needs --data"]),
        (["--synthetic", "ten,100"], ["--synthetic expects 'N,T'"]),
        (["--synthetic", "0,100"], ["must be positive"]),
    ],
)
def test_errors_are_one_red_line(args: list[str], needles: list[str]) -> None:
    for cmd in ("info", "fields"):
        assert_one_red_line(runner.invoke(app, ["data", cmd, *args]), *needles)


def test_bad_files_and_type_are_one_red_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("day,ticker,close\n2020-01-02,A,1\n")
    assert_one_red_line(
        runner.invoke(app, ["data", "info", "--data", str(bad)]), "no date column 'date'", "columns found"
    )
    dup = tmp_path / "dup.csv"
    dup.write_text("date,ticker,close\n2020-01-02,A,1\n2020-01-02,A,2\n")
    assert_one_red_line(runner.invoke(app, ["data", "fields", "--data", str(dup)]), "duplicate")
    assert_one_red_line(runner.invoke(app, ["data", "fields", "--type", "TABLE"]), "--type must be one of")


def test_resolve_panel_conflicts() -> None:
    with pytest.raises(DataError, match="choose one"):
        resolve_panel(data="x.csv", sample=True)


def test_synthetic_source() -> None:
    if importlib.util.find_spec("alphamine.data.synthetic") is None:
        pytest.skip("alphamine.data.synthetic is not written yet (another engineer's module)")
    r = runner.invoke(app, ["data", "info", "--synthetic", "30,120", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "120 days" in r.stdout and "instruments  30" in r.stdout
    again = runner.invoke(app, ["data", "info", "--synthetic", "30,120", "--seed", "3"])
    assert again.stdout == r.stdout  # same seed, same market (fingerprint included)

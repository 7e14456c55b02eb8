"""Files the CLI writes hold plain decimal numbers (never numpy reprs such as `np.float64(...)`) that
read back exactly."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphamine.cli.main import app
from alphamine.data.synthetic import synthetic
from alphamine.sim.settings import make_settings
from alphamine.sim.simulate import simulate

runner = CliRunner()
N, T = 80, 400
SYN = ["--synthetic", f"{N},{T}", "--universe", f"TOP{N}"]
EXPR = "-rank(ts_delta(close, 3))"


@pytest.fixture(scope="module")
def reference():
    return simulate(EXPR, synthetic(N, T, seed=0), make_settings(universe=f"TOP{N}"))


def test_pnl_csv_reads_back_exactly(tmp_path, reference) -> None:
    out = tmp_path / "pnl.csv"
    res = runner.invoke(app, ["simulate", EXPR, *SYN, "--pnl-out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert "np." not in text and "float64" not in text
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["date", "pnl"]
    expected = reference.pnl
    assert [r[0] for r in rows[1:]] == [d.date().isoformat() for d in expected.index]
    assert [float(r[1]) for r in rows[1:]] == expected.tolist()  # exact: repr round-trips
    frame = pd.read_csv(out, parse_dates=["date"])
    assert list(frame.columns) == ["date", "pnl"]
    np.testing.assert_array_equal(frame["pnl"].to_numpy(), expected.to_numpy())
    assert (frame["date"].to_numpy() == expected.index.to_numpy()).all()


def test_json_outputs_are_plain(tmp_path, reference) -> None:
    exprs = tmp_path / "e.txt"
    exprs.write_text(f"{EXPR}\nrank(close)\n")
    jsonl = tmp_path / "r.jsonl"
    res = runner.invoke(app, ["simulate", "--file", str(exprs), "--jsonl-out", str(jsonl), "--workers", "1", *SYN])
    assert res.exit_code == 0, res.output
    text = jsonl.read_text()
    assert "np." not in text
    first = json.loads(text.splitlines()[0])
    assert first["is"]["sharpe"] == reference.metrics["is"]["sharpe"]
    assert first["is"]["pnl"] == reference.metrics["is"]["pnl"]
    single = runner.invoke(app, ["simulate", EXPR, *SYN, "--json"])
    assert single.exit_code == 0, single.output
    doc = json.loads(single.stdout)
    assert doc["os"]["turnover"] == reference.metrics["os"]["turnover"]
    batch = runner.invoke(app, ["simulate", "--file", str(exprs), "--workers", "1", "--json", *SYN])
    assert batch.exit_code == 0, batch.output
    lines = [json.loads(x) for x in batch.stdout.splitlines()]
    assert [x["regular"]["code"] for x in lines] == [EXPR, "rank(close)"]


def test_export_csv_and_json_are_plain(tmp_path) -> None:
    root = tmp_path / "rt"
    args = ["--universe", f"TOP{N}", "--max-iterations", "1", "--candidates", "6", "--workers", "1"]
    res = runner.invoke(app, ["run", *SYN[:2], *args, "--run-id", "p1", "--runtime-root", str(root), "--quiet"])
    assert res.exit_code == 0, res.output
    out_csv, out_json = tmp_path / "c.csv", tmp_path / "c.json"
    for out in (out_csv, out_json):
        res = runner.invoke(app, ["export", "--out", str(out), "--runtime-root", str(root)])
        assert res.exit_code == 0, res.output
        assert "np." not in out.read_text()
    records = json.loads(out_json.read_text())
    with out_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(records) > 0
    for row, rec in zip(rows, records, strict=True):
        if rec["is_sharpe"] is not None:
            assert float(row["is_sharpe"]) == rec["is_sharpe"]
            assert float(row["os_turnover"]) == rec["os_turnover"]
    listed = runner.invoke(app, ["candidates", "list", "--json", "--runtime-root", str(root), "--limit", "3"])
    assert listed.exit_code == 0, listed.output
    docs = json.loads(listed.stdout)
    assert 0 < len(docs) <= 3 and all("expression" in d and "settings" in d for d in docs)
    status = runner.invoke(app, ["status", "--json", "--runtime-root", str(root)])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["runs"][0]["run_id"] == "p1"

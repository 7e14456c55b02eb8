"""`alphamine simulate`: summary, outputs, batch mode and one-line errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from alphamine.cli.main import app

runner = CliRunner()
SYN = ["--synthetic", "120,600", "--universe", "TOP120"]


def test_single_expression_writes_json_csv_and_plot(tmp_path) -> None:
    out, csv, png = tmp_path / "r.json", tmp_path / "p.csv", tmp_path / "p.png"
    res = runner.invoke(
        app,
        [
            "simulate",
            "rank(-ts_delta(close, 5))",
            *SYN,
            "--decay",
            "2",
            "--neutralization",
            "sector",
            "--json-out",
            str(out),
            "--pnl-out",
            str(csv),
            "--plot",
            str(png),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Sharpe" in res.output and "IS" in res.output and "OS" in res.output and "LOW_SHARPE" in res.output
    doc = json.loads(out.read_text())
    assert doc["settings"]["decay"] == 2 and doc["settings"]["neutralization"] == "SECTOR"
    assert csv.read_text().startswith("date,pnl\n")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_batch_file_with_progress_and_jsonl(tmp_path) -> None:
    f = tmp_path / "exprs.txt"
    f.write_text("# reversal ideas\nrank(-ts_delta(close, 5))\nbogus_field + 1\n\n-rank(returns)\n")
    out = tmp_path / "r.jsonl"
    res = runner.invoke(app, ["simulate", "--file", str(f), "--jsonl-out", str(out), "--workers", "1", *SYN])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["COMPLETE", "ERROR", "COMPLETE"]
    assert "bogus_field" in rows[1]["message"]


def test_bad_inputs_exit_2_with_one_line() -> None:
    cases = [
        ["simulate", "rank(close", *SYN],
        ["simulate", "rank(close)", *SYN[:2], "--universe", "TOP9"],
        ["simulate", "rank(close)", *SYN, "--neutralization", "COUNTRYX"],
        ["simulate", "rank(close)", *SYN, "--delay", "3"],
        ["simulate", *SYN],
        ["simulate", "rank(close)", "--synthetic", "abc"],
    ]
    for args in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output
        assert "error" in res.output.lower()


def test_a_field_with_no_finite_value_is_a_visible_warning(tmp_path) -> None:
    import numpy as np
    import pandas as pd

    from alphamine.data.synthetic import synthetic

    panel = synthetic(30, 200, seed=1)
    close = panel.field("close")
    rows = []
    for t, day in enumerate(panel.dates[:200]):
        for j, tic in enumerate(panel.instruments):
            rows.append({"date": day, "ticker": tic, "close": float(close[t, j]), "volume": 1e6 + j, "open": np.nan})
    f = tmp_path / "d.parquet"
    pd.DataFrame(rows).to_parquet(f)
    args = ["simulate", "rank(open)", "--data", str(f), "--universe", "TOP100", "--neutralization", "MARKET"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "field open has no finite value" in res.output, res.output

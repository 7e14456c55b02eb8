"""`alphamine brain calibrate` against the local BRAIN-compatible server over the same data: every
metric agrees and daily PnL correlates perfectly; `backends.compare` on planted differences."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from alphamine.backends.compare import calibrate, summarize
from alphamine.backends.local import LocalBackend
from alphamine.brain.server import create_app, serve_in_thread
from alphamine.cli.main import app
from alphamine.data.synthetic import synthetic
from alphamine.sim.batch import SimFailure, SimSpec
from alphamine.sim.settings import make_settings

EMAIL, PASSWORD = "cal@example.com", "cal-secret"
EXPRS = ["-rank(ts_delta(close, 3))", "rank(volume / adv20)", "-ts_zscore(close, 20)", "bogus_field + 1"]


def test_calibrate_against_the_local_server_agrees(tmp_path) -> None:
    panel = synthetic(60, 400, seed=4)
    f = tmp_path / "e.txt"
    f.write_text("\n".join(EXPRS) + "\n")
    server = create_app(
        LocalBackend(panel, workers=1), db_path=tmp_path / "s.sqlite3", users={EMAIL: PASSWORD}, retry_after=0.05
    )
    with serve_in_thread(server) as url:
        res = CliRunner().invoke(
            app,
            ["brain", "calibrate", "--exprs", str(f), "--brain-url", url, "--synthetic", "60,400", "--seed", "4",
             "--universe", "TOP60", "--out", str(tmp_path / "cal"), "--workers", "1", "--runtime-root",
             str(tmp_path / "rt")],
            env={"BRAIN_EMAIL": EMAIL, "BRAIN_PASSWORD": PASSWORD},
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    summary = {s["metric"]: s for s in doc["summary"]}
    assert summary["sharpe"]["n"] == 3 and summary["sharpe"]["mean_abs_diff"] == pytest.approx(0.0, abs=1e-12)
    assert summary["turnover"]["mean_abs_diff"] == pytest.approx(0.0, abs=1e-12)
    assert doc["pnl_correlation_median"] == pytest.approx(1.0)
    bogus = doc["pairs"][3]
    assert bogus["error_a"] and bogus["error_b"]
    assert "| sharpe | 3 |" in (tmp_path / "cal" / "calibration.md").read_text()


def test_compare_on_planted_differences() -> None:
    panel = synthetic(40, 300, seed=1)
    s = make_settings(universe="TOP40")
    a = LocalBackend(panel, workers=1).simulate_many([SimSpec(e, s) for e in EXPRS[:3]])
    b = LocalBackend(panel, workers=1).simulate_many([SimSpec(e, s.with_(decay=5)) for e in EXPRS[:3]])
    cal = calibrate(EXPRS[:3], a, b, "d0", "d5")
    sharpe = next(x for x in cal.summaries if x.metric == "sharpe")
    diffs = [abs(x.metrics["is"]["sharpe"] - y.metrics["is"]["sharpe"]) for x, y in zip(a, b, strict=True)]  # type: ignore[union-attr]
    assert sharpe.mean_abs_diff == pytest.approx(sum(diffs) / 3)
    assert all(p.pnl_correlation is not None and p.pnl_correlation < 1.0 for p in cal.pairs)
    failed = calibrate(["x"], [SimFailure("x", None, "no")], a[:1], "a", "b")
    assert not failed.pairs[0].both_ok and summarize("sharpe", failed.pairs).n == 0
    with pytest.raises(ValueError, match="one outcome per expression"):
        calibrate(["x", "y"], a[:1], a[:1], "a", "b")

"""`alphamine candidates show` after a real small trial-aware run (`alphamine run --synthetic`): the
latest gate record's checks with value, limit and result, the rule a held-back candidate failed, the
trial numbers behind DEFLATED_SHARPE, the yearly Sharpe ratios, and search | validation | OS Sharpe,
each equal to the stored number."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alphamine.cli.main import app
from alphamine.store import GateRow, Store

runner = CliRunner()
RUN = "cs"
MIN_DSR = 0.995  # strict enough that the small run holds candidates back by DSR
ARGS = ["--synthetic", "100,1000", "--seed", "7", "--universe", "TOP100", "--decay", "2", "--run-seed", "3",
        "--min-dsr", str(MIN_DSR), "--max-iterations", "2", "--target-ready", "50", "--candidates", "20",
        "--max-variant-alphas", "3", "--max-variants-per-alpha", "3", "--max-enhance-alphas", "6",
        "--workers", "1", "--batch-size", "8", "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("show")
    res = runner.invoke(app, ["run", *ARGS, "--run-id", RUN, "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    return root


@pytest.fixture(scope="module")
def judged(root: Path) -> dict[int, tuple[str, GateRow, dict[str, Any]]]:
    """Candidate id -> (status, latest gate record that judged checks, its result's metrics)."""
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id=RUN)
        results = store.results_for([r.id for r in rows])
        out = {}
        for r in rows:
            gates = [g for g in store.gate_history(r.id) if g.checks]
            if gates:
                out[r.id] = (str(r.status), gates[-1], results[r.id].metrics)
    assert out, "no candidate reached the gate"
    return out


def show(root: Path, cid: int) -> str:
    res = runner.invoke(app, ["candidates", "show", str(cid), "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    return res.output


def row(output: str, name: str) -> list[str]:
    """The cells of the gate table's row for check `name`."""
    line = next(line for line in output.splitlines() if re.match(rf"│ {name}\s+│", line))
    return [c.strip() for c in line.strip("│").split("│")]


def test_held_back_candidate_shows_dsr_and_the_failed_rule(root: Path, judged: dict) -> None:
    held = [(cid, g, m) for cid, (status, g, m) in judged.items() if status != "ready"
            and any(c["name"] == "DEFLATED_SHARPE" and c["result"] == "FAIL" for c in g.checks)]  # fmt: skip
    assert held, "no candidate was held back by DEFLATED_SHARPE"
    cid, gate, metrics = held[0]
    out = show(root, cid)
    flat = " ".join(out.split())
    checks = {c["name"]: c for c in gate.checks}
    dsr = checks["DEFLATED_SHARPE"]
    assert row(out, "DEFLATED_SHARPE") == ["DEFLATED_SHARPE", "FAIL", f"{dsr['value']:.4g}", f"{MIN_DSR:.4g}",
                                           f"DSR {dsr['value']:.4f} < {MIN_DSR:g}"]  # fmt: skip
    assert f"held back by DEFLATED_SHARPE: DSR {dsr['value']:.4f} < {MIN_DSR:g} (rule: DSR ≥ {MIN_DSR:g}" in flat
    t = dsr["trials"]
    assert f"PSR {dsr['psr']:.4f} · trials family {t['n_trials_family']} / run {t['n_trials_run']}" in flat
    assert f"DSR deflated by the whole run {dsr['run_dsr']:.4f}" in flat
    for name in ("VALIDATION_SHARPE", "YEARLY_STABILITY", "DATA_FRESHNESS"):
        cells = row(out, name)
        assert cells[1] == checks[name]["result"]
        if "value" in checks[name]:
            assert cells[2] == f"{checks[name]['value']:.4g}"
    years = checks["YEARLY_STABILITY"]["years"]
    assert "YEARLY_STABILITY: " + " · ".join(f"{y} {s:.2f}" for y, s in years.items()) in flat
    v = checks["VALIDATION_SHARPE"]
    assert f"VALIDATION_SHARPE: search Sharpe {v['search_sharpe']:.2f} · validation / search {v['ratio']:.2f}" in flat
    train, test = metrics["train"]["sharpe"], metrics["test"]["sharpe"]
    assert (f"Sharpe: search {train:.4g} | validation {test:.4g} (validation / search {test / train:.4g}) | "
            f"OS {metrics['os']['sharpe']:.4g} | IS {metrics['is']['sharpe']:.4g}") in flat  # fmt: skip


def test_ready_candidate_shows_its_checks_and_no_failed_rule(root: Path, judged: dict) -> None:
    ready = [cid for cid, (status, _, _) in judged.items() if status == "ready"]
    if not ready:
        pytest.skip("the small run made no candidate ready")
    out = show(root, ready[0])
    assert row(out, "DEFLATED_SHARPE")[1] == "PASS" and "held back by" not in out
    assert "gate checks (latest judged record: ready" in out


def test_unjudged_candidate_has_no_gate_section(root: Path, judged: dict) -> None:
    with Store.open(root / "alphamine.sqlite3") as store:
        other = next(r.id for r in store.candidates(run_id=RUN) if r.id not in judged and r.status == "rejected")
    out = show(root, other)
    assert "gate checks" not in out and "Sharpe: search " in out

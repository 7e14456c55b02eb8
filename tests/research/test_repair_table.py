"""The repair success table: counts against a hand-built list, Markdown, and a round trip through a real
SQLite store holding simulated repair children of a high-turnover parent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from alphamine.data import synthetic
from alphamine.expr import canonical, fields_used, operators_used, parse, structural_hash
from alphamine.generate.candidate import Candidate, Evidence, GenerationContext, Thesis
from alphamine.generate.repairs import propose_repairs
from alphamine.research.repair_table import (
    RepairOutcome,
    RepairRow,
    outcomes_from_store,
    repair_success,
    to_markdown,
)
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from alphamine.sim.simulate import simulate
from alphamine.store import Store

THESIS = Thesis("reversal", "short-term overreaction mean-reverts", "fails in trending markets")
OUTCOMES = [
    RepairOutcome("HIGH_TURNOVER", "decay", True),
    RepairOutcome("HIGH_TURNOVER", "decay", False),
    RepairOutcome("HIGH_TURNOVER", "trade_when", True),
    RepairOutcome("HIGH_TURNOVER", "ts_decay_linear", None),
    RepairOutcome("CONCENTRATED_WEIGHT", "truncation", False),
    RepairOutcome("SELF_CORRELATION", "neutralization", None),
]


# ------------------------------------------------------------------------------------ pure counts
def test_counts_per_check_sorted() -> None:
    assert repair_success(OUTCOMES) == [
        RepairRow("CONCENTRATED_WEIGHT", attempts=1, simulated=1, fixed=0, rate=0.0),
        RepairRow("HIGH_TURNOVER", attempts=4, simulated=3, fixed=2, rate=pytest.approx(2 / 3)),
        RepairRow("SELF_CORRELATION", attempts=1, simulated=0, fixed=0, rate=None),
    ]
    assert repair_success([]) == []
    assert repair_success(reversed(OUTCOMES)) == repair_success(OUTCOMES)  # order-free


def test_counts_per_move() -> None:
    rows = repair_success(OUTCOMES, by_move=True)
    assert [(r.check, r.move, r.attempts, r.simulated, r.fixed) for r in rows] == [
        ("CONCENTRATED_WEIGHT", "truncation", 1, 1, 0),
        ("HIGH_TURNOVER", "decay", 2, 2, 1),
        ("HIGH_TURNOVER", "trade_when", 1, 1, 1),
        ("HIGH_TURNOVER", "ts_decay_linear", 1, 0, 0),
        ("SELF_CORRELATION", "neutralization", 1, 0, 0),
    ]
    assert rows[1].rate == 0.5 and rows[3].rate is None


def test_markdown() -> None:
    text = to_markdown(repair_success(OUTCOMES))
    assert text.splitlines() == [
        "| Check | Attempts | Simulated | Fixed | Fix rate |",
        "|---|---:|---:|---:|---:|",
        "| CONCENTRATED_WEIGHT | 1 | 1 | 0 | 0% |",
        "| HIGH_TURNOVER | 4 | 3 | 2 | 67% |",
        "| SELF_CORRELATION | 1 | 0 | 0 | — |",
    ]
    per_move = to_markdown(repair_success(OUTCOMES, by_move=True)).splitlines()
    assert per_move[0] == "| Check | Move | Attempts | Simulated | Fixed | Fix rate |"
    assert per_move[3] == "| HIGH_TURNOVER | decay | 2 | 2 | 1 | 50% |"
    assert to_markdown([]).splitlines()[1] == "|---|---:|---:|---:|---:|"


# ------------------------------------------------------------------------------------ store round trip
@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "rt" / "alphamine.sqlite3") as s:
        yield s


def _add(store: Store, run_id: str, cand: Candidate) -> int:
    tree = parse(cand.expression)
    return store.add_candidate(
        run_id,
        0,
        cand,
        canonical=canonical(cand.expression),
        expr_hash=structural_hash(cand.expression),
        fields=fields_used(tree),
        operators=operators_used(tree),
    )


def _put(store: Store, sim: SimResult) -> None:
    store.put_result(sim, expr_hash=structural_hash(sim.expression))


def _result(sim: SimResult, name: str) -> str:
    return {c["name"]: c["result"] for c in sim.checks}[name]


def test_outcomes_from_a_real_store(store: Store) -> None:
    panel = synthetic(60, 300, seed=3)
    settings = make_settings({"universe": "TOP60"})
    ctx = GenerationContext(panel.catalogue, panel.n_days, settings, np.random.default_rng(0))
    parent = Candidate("rank(-returns)", settings, "template:test", THESIS)
    parent_sim = simulate(parent.expression, panel, settings)
    assert _result(parent_sim, "HIGH_TURNOVER") == "FAIL"
    store.create_run("r1", config={}, seed=7, data_fingerprint=parent_sim.data_fingerprint, runtime_root="/tmp/rt")
    pid = _add(store, "r1", parent)
    _put(store, parent_sim)
    _add(store, "r1", Candidate("rank(close)", settings, "optimizer:HighTurnover", THESIS))  # not a repair: ignored

    ev = Evidence(1.0, 0.5, 1.2, 0.1, 0.001, 0.1, 30, 30, 60, {"HIGH_TURNOVER": "FAIL", "SELF_CORRELATION": "FAIL"})
    kids = propose_repairs(parent, ["HIGH_TURNOVER", "SELF_CORRELATION"], ev, ctx, 4)
    assert [k.strategy for k in kids] == [
        "HIGH_TURNOVER:decay",
        "SELF_CORRELATION:neutralization",
        "HIGH_TURNOVER:ts_decay_linear",
        "SELF_CORRELATION:orthogonalize_common",
    ]
    ids = [
        _add(
            store,
            "r1",
            Candidate(
                k.expression, k.settings, k.generator, k.thesis, parent_id=pid, strategy=k.strategy, params=k.params
            ),
        )
        for k in kids
    ]
    sims = [simulate(k.expression, panel, k.settings) for k in kids[:3]]  # the last one is never simulated
    for s in sims:
        _put(store, s)
    # SELF_CORRELATION is PENDING in a simulation: the gate's record decides the second child
    assert _result(sims[1], "SELF_CORRELATION") == "PENDING"
    store.record_gate(
        ids[1], "r1", checks=[{"name": "SELF_CORRELATION", "result": "FAIL"}], verdict="revoked", reasons=["correlated"]
    )
    store.record_gate(
        ids[1], "r1", checks=[{"name": "SELF_CORRELATION", "result": "PASS"}], verdict="ready", reasons=[]
    )

    outcomes = outcomes_from_store(store, "r1")
    assert outcomes == [
        RepairOutcome("HIGH_TURNOVER", "decay", _result(sims[0], "HIGH_TURNOVER") == "PASS"),
        RepairOutcome("SELF_CORRELATION", "neutralization", True),  # the latest gate record
        RepairOutcome("HIGH_TURNOVER", "ts_decay_linear", _result(sims[2], "HIGH_TURNOVER") == "PASS"),
        RepairOutcome("SELF_CORRELATION", "orthogonalize_common", None),
    ]
    assert outcomes[2].fixed is True  # smoothing by ts_decay_linear(x, 10) does cut the turnover enough
    rows = repair_success(outcomes)
    assert [(r.check, r.attempts, r.simulated) for r in rows] == [("HIGH_TURNOVER", 2, 2), ("SELF_CORRELATION", 2, 1)]
    assert rows[1].fixed == 1 and rows[1].rate == 1.0
    assert outcomes_from_store(store, "other-run") == []

"""The alpha memory on real SQLite files: what counts as evidence (only decided simulations enter rates),
idempotent ingest, recency decay and Beta shrinkage against hand computation, the summary, learned
repairs, and the planted case: a field family that always fails gets a lower memory weight and a
ThemeSampler-style weighted draw proposes it less often."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select, update

from alphamine.data.fields import FieldInfo, FieldType
from alphamine.expr import canonical, fields_used, operators_used, parse, structural_hash
from alphamine.generate.candidate import Candidate, GenerationContext, Thesis
from alphamine.generate.themes import novelty
from alphamine.sim.periods import Periods
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings, make_settings
from alphamine.store import SchemaTooNewError, Store, StoreUnreadableError
from alphamine.store.errors import NotFoundError
from alphamine.store.memory import (
    PRIOR_STRENGTH,
    AlphaMemory,
    KeyStats,
    MemoryScore,
    MemoryTable,
    memory_weight,
    recency_weight,
    shrunk,
)
from alphamine.store.memory_schema import (
    EVIDENCE,
    KEYS,
    MEMORY_FILENAME,
    VERSION_TABLE,
    MemoryKeys,
    candidate_keys,
    classify,
    field_family,
    operator_skeleton,
    run_dataset,
)

SETTINGS = make_settings({"universe": "TOP40"})
THESIS = Thesis("momentum", "trends persist", "fails at reversals")
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
GOOD, BAD = ("gd_a", "gd_b", "gd_c"), ("bd_a", "bd_b", "bd_c")
CATALOGUE = {
    **{f: FieldInfo(f, FieldType.MATRIX, category="good") for f in GOOD},
    **{f: FieldInfo(f, FieldType.MATRIX, category="bad") for f in BAD},
    "sector": FieldInfo("sector", FieldType.GROUP),
}
PASS = {"name": "LOW_SHARPE", "result": "PASS"}


# ------------------------------------------------------------------------------------ helpers
def fake_result(expression: str, checks: Sequence[dict[str, Any]], settings: Settings = SETTINGS) -> SimResult:
    T = 50
    z = np.zeros(T)
    return SimResult(
        expression=expression, settings=settings, dates=np.datetime64("2015-01-01") + np.arange(T),
        daily_pnl=z, traded=z, long_counts=z, short_counts=z,
        periods=Periods(0, (0, 40), (40, T), (0, 40), (40, 40)),
        metrics={k: {"sharpe": 1.0} for k in ("is", "os", "train", "test")},
        yearly_rows=[], checks=list(checks), data_fingerprint="fp",
    )


def add(store: Store, run_id: str, expression: str, status: str, *, checks: Sequence[dict[str, Any]] | None = None,
        reason: str | None = None, settings: Settings = SETTINGS, generator: str = "template:test",
        **kw: Any) -> int:
    """A candidate in `status` (the reason as its latest history entry); `checks`: a stored simulation."""
    tree = parse(expression)
    cand = Candidate(expression, settings, generator, kw.pop("thesis", THESIS), **kw)
    cid = store.add_candidate(run_id, 0, cand, canonical=canonical(expression), expr_hash=structural_hash(expression),
                              fields=fields_used(tree), operators=operators_used(tree))
    store.set_candidate_status([cid], status, reason=reason)
    if checks is not None:
        store.put_result(fake_result(expression, checks, settings), expr_hash=structural_hash(expression))
    return cid


def new_run(store: Store, run_id: str, **config: Any) -> str:
    store.create_run(run_id, config=config, seed=1, data_fingerprint="fp", runtime_root="/tmp/rt")
    return run_id


def count(memory: AlphaMemory, table: Any) -> int:
    with memory.engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(table)).scalar() or 0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "rt" / "alphamine.sqlite3") as s:
        yield s


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[AlphaMemory]:
    with AlphaMemory.at_root(tmp_path / "rt", half_life_days=0) as m:  # no decay unless a test asks for it
        yield m


def mixed_run(store: Store, run_id: str = "r1", untested: int = 5) -> str:
    """gd_a: ready + rejected + `untested` generated; bd_a: invalid (lint), failed, undecided."""
    new_run(store, run_id, data={"kind": "synthetic", "n_instruments": 40, "n_days": 300})
    add(store, run_id, "rank(gd_a)", "ready", checks=[PASS])
    add(store, run_id, "rank(-gd_a)", "rejected", checks=[{"name": "LOW_SHARPE", "result": "FAIL"}])
    for i in range(untested):
        add(store, run_id, f"ts_mean(gd_a, {i + 2})", "generated")
    add(store, run_id, "rank(bd_a)", "invalid", reason="lint UNITS: price + volume")
    add(store, run_id, "ts_rank(bd_a, 5)", "failed", reason="ValueError: boom")
    add(store, run_id, "ts_rank(bd_a, 6)", "simulated", checks=[PASS])
    return run_id


# ------------------------------------------------------------------------------------ pure parts
def test_keys_skeleton_family_dataset() -> None:
    assert operator_skeleton("rank(ts_delta(close, 5)) + 0.5 * rank(-returns)") == "1 * rank(-x) + rank(ts_delta(x, 1))"
    assert operator_skeleton("a = ts_mean(volume, 20); rank(a)") == operator_skeleton("rank(ts_mean(close, 3))")
    assert operator_skeleton("rank((") is None
    assert [field_family(n) for n in ("fnd6_capex", "close", "sector", "weird")] == ["fnd6", "pv", None, "other"]
    assert field_family("gd_a", CATALOGUE) == "good" and field_family("sector", CATALOGUE) is None
    assert run_dataset({"data": {"kind": "synthetic"}}) == "synthetic"
    assert run_dataset({"data": {"kind": "file", "path": "/data/us_top3000"}}) == "file:us_top3000"
    assert run_dataset({"backend": "brain", "platform": {"dataset": "fundamental6"}}) == "brain:fundamental6"
    assert run_dataset({}) == "sample"
    cand = Candidate("group_rank(gd_a / bd_b, sector)", make_settings({"region": "eur"}), "llm:make", THESIS,
                     params={"prompt_version": "make-v1@abc"})
    keys = candidate_keys(cand, dataset="sample", catalogue=CATALOGUE)
    assert keys == MemoryKeys("sample", "EUR", ("bad", "good"), ("divide", "group_rank"), "group_rank(x / x, x)",
                              "llm:make", "momentum", "make-v1@abc")
    assert [k for k, _ in keys.dimensions()] == ["field_family", "operator", "skeleton", "template", "thesis", "prompt"]


def test_classify() -> None:
    fail = [{"name": "CONCENTRATED_WEIGHT", "result": "FAIL"}, {"name": "LOW_SHARPE", "result": "FAIL"}]
    gate = [{"name": "SELF_CORRELATION", "result": "FAIL"}]
    assert classify("ready", "", [PASS], None) == classify("ready", "", fail, gate)  # ready: no failure modes
    o = classify("ready", "", None, None)
    assert (o.pool, o.outcome, o.hard, o.failure_modes) == ("learnable", 1.0, False, ())
    o = classify("promising", "", fail, gate)
    modes = ("CONCENTRATED_WEIGHT", "LOW_SHARPE", "SELF_CORRELATION")
    assert (o.outcome, o.hard, o.failure_modes) == (0.5, True, modes)
    o = classify("rejected", "fails LOW_SHARPE", [{"name": "LOW_SHARPE", "result": "FAIL"}], None)
    assert (o.outcome, o.hard, o.failure_modes) == (0.0, False, ("LOW_SHARPE",))
    assert classify("failed", "x", None, None).failure_modes == ("SIMULATION_ERROR",)
    assert classify("invalid", "lint UNITS: a", None, None) == classify("invalid", "lint UNITS: b", None, None)
    assert classify("invalid", "lint UNITS: a", None, None).failure_modes == ("lint:UNITS",)
    assert classify("invalid", "unknown universe X", None, None).failure_modes == ("invalid",)
    assert classify("invalid", "", None, None).pool == "invalid"
    assert [classify(s, "", None, None).pool for s in ("generated", "queued", "duplicate", "simulated")] == [
        "untested", "untested", "untested", "undecided"]


def test_decay_shrinkage_and_weight_formulas() -> None:
    assert recency_weight(0, 30) == 1.0 and recency_weight(30, 30) == 0.5 and recency_weight(90, 30) == 0.125
    assert recency_weight(-5, 30) == 1.0 and recency_weight(1000, 0) == 1.0
    assert shrunk(0.0, 0.0, 0.2) == pytest.approx(0.2)  # no rows: the prior
    assert shrunk(3.0, 4.0, 0.2, 4.0) == pytest.approx((4 * 0.2 + 3) / 8)
    assert shrunk(900.0, 1000.0, 0.2) == pytest.approx(0.9, abs=0.01)  # many rows: their own mean
    stats = {("field_family", "a"): KeyStats("field_family", "a", n=4, weight=4.0, success=4.0, risk_n=4,
                                             risk_weight=4.0),
             ("field_family", "b"): KeyStats("field_family", "b", n=4, weight=4.0, risk_n=4, hard_n=4, hard=4.0,
                                             risk_weight=4.0),
             ("thesis", "t"): KeyStats("thesis", "t", n=8, weight=8.0, success=4.0, risk_n=8, risk_weight=8.0)}
    t = MemoryTable(stats, prior=0.5, risk_prior=0.25)
    a = t.score(MemoryKeys("d", "USA", field_families=("a",), thesis="t"))
    assert a.n == 8 and a.memory_score == pytest.approx(((2 + 4) / 8 + (2 + 4) / 12) / 2)
    assert a.memory_risk_penalty == pytest.approx(max(0.0, (1 / 8 + 1 / 12) / 2 - 0.25))
    both = t.score(MemoryKeys("d", "USA", field_families=("a", "b")))  # values of one dimension are averaged
    assert both.memory_score == pytest.approx(((2 + 4) / 8 + 2 / 8) / 2)
    assert both.memory_risk_penalty == pytest.approx((1 / 8 + (1 + 4) / 8) / 2 - 0.25)
    unseen = t.score(MemoryKeys("d", "USA", field_families=("zzz",), template="new"))
    assert unseen == MemoryScore(0.5, 0.0, 0, 0.5) and memory_weight(unseen) == 1.0
    assert memory_weight(a) == pytest.approx(np.exp(3.0 * (a.memory_score - 0.5)))
    assert memory_weight(MemoryScore(1.0, 0.0, 5, 0.0)) == 1.5 and memory_weight(MemoryScore(0.0, 1.0, 5, 0.9)) == 0.5


# ------------------------------------------------------------------------------------ ingest
def test_only_decided_simulations_enter_success_rates(store: Store, memory: AlphaMemory) -> None:
    assert memory.ingest(store, mixed_run(store)) == 10
    t = memory.table(now=NOW)
    assert dict(t.counts or {}) == {"learnable": 3, "untested": 5, "invalid": 1, "undecided": 1}
    assert t.prior == pytest.approx(1 / 3)  # ready 1, rejected 0, failed 0: the undecided and untested wait
    assert t.risk_prior == pytest.approx(2 / 4)  # failed + invalid over learnable + invalid
    gd = t.stats[("field_family", "gd")]
    assert (gd.n, gd.ready, gd.untested, gd.outcome_sum) == (2, 1, 5, 1.0)
    bd = t.stats[("field_family", "bd")]
    assert (bd.n, bd.risk_n, bd.hard_n, bd.untested) == (1, 2, 2, 1)
    # the untested candidates change no rate: a run without them gives the same table rates
    with Store.open(store.where.replace("alphamine.sqlite3", "other.sqlite3")) as other, \
            AlphaMemory(Path(memory.where).with_name("m2.sqlite3"), half_life_days=0) as m2:
        m2.ingest(other, mixed_run(other, untested=0))
        t2 = m2.table(now=NOW)
    assert t2.prior == t.prior and t2.rate("field_family", "gd") == t.rate("field_family", "gd")
    assert t.rate("field_family", "gd") == pytest.approx((PRIOR_STRENGTH / 3 + 1) / (PRIOR_STRENGTH + 2))


def test_ingest_is_idempotent_and_replaces_the_run(store: Store, memory: AlphaMemory) -> None:
    run_id = mixed_run(store)
    memory.ingest(store, run_id)
    sizes = (count(memory, EVIDENCE), count(memory, KEYS))
    first = memory.summary(now=NOW).to_json()
    memory.ingest(store, run_id)
    assert (count(memory, EVIDENCE), count(memory, KEYS)) == sizes
    again = memory.summary(now=NOW).to_json()
    for doc in (first, again):
        doc["recent_runs"][0].pop("ingested_at")
    assert again == first
    ready = store.candidates(run_id=run_id, status="ready")[0]
    store.set_candidate_status([ready.id], "promising", reason="readiness revoked: gate: fails SELF_CORRELATION")
    memory.ingest(store, run_id)
    assert count(memory, EVIDENCE) == sizes[0]
    assert memory.runs()[0].ready == 0 and memory.table(now=NOW).prior == pytest.approx(0.5 / 3)
    with pytest.raises(NotFoundError, match="no run 'nope'"):
        memory.ingest(store, "nope")


def test_recency_decay_against_hand_computation(store: Store, tmp_path: Path) -> None:
    new_run(store, "r1")
    a1 = add(store, "r1", "rank(gd_a)", "ready", checks=[PASS])
    a2 = add(store, "r1", "rank(-gd_a)", "rejected", checks=[PASS])
    b1 = add(store, "r1", "rank(bd_a)", "promising", checks=[PASS])
    with AlphaMemory(tmp_path / "mem.sqlite3", half_life_days=30) as memory:
        memory.ingest(store, "r1")
        ages = {a1: 0, a2: 30, b1: 60}
        with memory.engine.begin() as c:
            for cid, days in ages.items():
                at = (NOW - dt.timedelta(days=days)).isoformat()
                c.execute(update(EVIDENCE).where(EVIDENCE.c.candidate_id == cid).values(observed_at=at))
        t = memory.table(now=NOW)
    w = {a1: 1.0, a2: 0.5, b1: 0.25}
    prior = (w[a1] * 1 + w[a2] * 0 + w[b1] * 0.5) / sum(w.values())  # 1.125 / 1.75
    assert t.prior == pytest.approx(0.642857, abs=1e-6) == pytest.approx(prior)
    assert t.stats[("field_family", "gd")].weight == pytest.approx(1.5)
    assert t.rate("field_family", "gd") == pytest.approx((4 * prior + 1.0) / (4 + 1.5))
    assert t.rate("field_family", "bd") == pytest.approx((4 * prior + 0.125) / (4 + 0.25))


def test_summary_json_markdown_and_scope(store: Store, memory: AlphaMemory) -> None:
    mixed_run(store)
    new_run(store, "r2", data={"kind": "sample"})
    eur = make_settings({"universe": "TOP40", "region": "EUR"})
    add(store, "r2", "rank(zz_a)", "ready", checks=[PASS], settings=eur)
    memory.ingest(store, "r1")
    memory.ingest(store, "r2")
    doc = memory.summary(now=NOW).to_json()
    assert set(doc) >= {"field_families", "operators", "skeletons", "templates", "thesis_types", "prompts",
                        "failure_modes", "repairs", "recent_runs", "prior", "counts"}
    assert [r["value"] for r in doc["field_families"]] == ["gd", "bd", "zz"]
    assert doc["field_families"][0] == {"value": "gd", "n": 2, "ready": 1, "untested": 5, "rate": 0.5,
                                        "score": pytest.approx((4 * 0.5 + 1) / 6), "hard_rate": 0.0}
    modes = {m["mode"]: m["count"] for m in doc["failure_modes"]}
    assert modes == {"LOW_SHARPE": 1, "lint:UNITS": 1, "SIMULATION_ERROR": 1}
    assert {r["run_id"] for r in doc["recent_runs"]} == {"r1", "r2"}
    only = memory.summary("synthetic", now=NOW)
    assert [r.run_id for r in only.recent_runs] == ["r1"] and "zz" not in [r.value for r in only.field_families]
    assert [r.value for r in memory.summary(region="eur", now=NOW).field_families] == ["zz"]
    md = memory.summary(now=NOW).to_markdown()
    for heading in ("# Alpha memory (all)", "## Field families", "## Operators", "## Thesis types",
                    "## Failure modes", "## Learned repairs", "## Recent runs"):
        assert heading in md
    assert "| gd | 2 | 1 | 5 | 50% |" in md and "(none yet)" in md  # no repairs, no prompts


def test_learned_repairs(store: Store, memory: AlphaMemory) -> None:
    new_run(store, "r1")
    hot = [{"name": "HIGH_TURNOVER", "result": "FAIL"}, {"name": "DATA_LENGTH", "result": "FAIL"}]
    parent = add(store, "r1", "rank(gd_a)", "promising", checks=hot)
    ok = [{"name": "HIGH_TURNOVER", "result": "PASS"}]
    rep = {"parent_id": parent, "strategy": "HIGH_TURNOVER:decay",
           "params": {"repairs": "HIGH_TURNOVER", "move": "decay"}}
    add(store, "r1", "ts_mean(gd_a, 5)", "rejected", checks=ok, generator="repair:HIGH_TURNOVER", **rep)
    add(store, "r1", "ts_mean(gd_a, 9)", "rejected", checks=hot, generator="repair:HIGH_TURNOVER", **rep)
    add(store, "r1", "ts_mean(gd_a, 7)", "queued", generator="repair:HIGH_TURNOVER", **rep)  # no verdict yet
    opt = {"parent_id": parent, "strategy": "HighTurnover", "params": {"change": "ts_decay_linear", "k": 10}}
    add(store, "r1", "ts_decay_linear(gd_a, 10)", "promising", checks=ok, generator="optimizer:HighTurnover", **opt)
    calm = add(store, "r1", "rank(gd_b)", "promising", checks=[PASS])  # failed nothing: its children judge nothing
    add(store, "r1", "ts_decay_linear(gd_b, 10)", "promising", checks=ok, generator="optimizer:HighTurnover",
        parent_id=calm, strategy="HighTurnover", params={"change": "ts_decay_linear"})
    memory.ingest(store, "r1")
    rows = [(r.check, r.move, r.attempts, r.judged, r.fixed, r.rate) for r in memory.summary(now=NOW).repairs]
    assert rows == [("HIGH_TURNOVER", "decay", 3, 2, 1, 0.5),
                    ("HIGH_TURNOVER", "HighTurnover:ts_decay_linear", 1, 1, 1, 1.0)]


def test_not_a_memory_file_and_too_new(store: Store, tmp_path: Path) -> None:
    with pytest.raises(StoreUnreadableError, match="not an alpha memory"):
        AlphaMemory(store.where)
    path = tmp_path / "m.sqlite3"
    with AlphaMemory(path) as m, m.engine.begin() as c:
        c.execute(VERSION_TABLE.insert().values(version=99, applied_at="2030"))
    with pytest.raises(SchemaTooNewError, match="version 99"):
        AlphaMemory(path)
    with AlphaMemory(tmp_path) as m:  # a directory: the memory file inside it
        assert m.where.endswith(MEMORY_FILENAME)


# ------------------------------------------------------------------------------------ the planted case
def planted(store: Store, memory: AlphaMemory) -> None:
    """History: every candidate of family "good" ended ready, every one of "bad" was rejected with a
    CONCENTRATED_WEIGHT failure (hard); same template, thesis and operators on both sides."""
    new_run(store, "hist", data={"kind": "synthetic"})
    for i in range(12):
        add(store, "hist", f"rank(ts_mean({GOOD[i % 3]}, {i + 2}))", "ready", checks=[PASS])
        add(store, "hist", f"rank(ts_mean({BAD[i % 3]}, {i + 2}))", "rejected",
            checks=[{"name": "CONCENTRATED_WEIGHT", "result": "FAIL"}])
    memory.ingest(store, "hist", catalogue=CATALOGUE)


def proposals() -> list[Candidate]:
    return [Candidate(f"rank(ts_delta({fields[i % 3]}, {i + 2}))", SETTINGS, "template:test", THESIS)
            for fields in (GOOD, BAD) for i in range(20)]


def test_planted_failing_family_gets_a_lower_weight(store: Store, memory: AlphaMemory) -> None:
    pool = proposals()
    empty = memory.weigher("synthetic", "USA", CATALOGUE)
    assert {empty(c) for c in pool} == {1.0}  # no memory: today's behaviour exactly
    planted(store, memory)
    weigh = memory.weigher("synthetic", "USA", CATALOGUE, now=NOW)
    good, bad = weigh(pool[0]), weigh(pool[-1])
    assert bad < 1.0 < good and {weigh(c) for c in pool} == {good, bad}
    assert memory.weigher("sample", "USA", CATALOGUE)(pool[-1]) == 1.0  # another dataset knows nothing
    bad_keys = candidate_keys(pool[-1], dataset="synthetic", catalogue=CATALOGUE)
    assert memory.score(bad_keys, now=NOW).memory_risk_penalty > 0.0


def test_planted_failing_family_is_proposed_less(store: Store, memory: AlphaMemory) -> None:
    planted(store, memory)
    pool = proposals()
    weigh = memory.weigher("synthetic", "USA", CATALOGUE, now=NOW)
    is_bad = np.array([any(f in c.expression for f in BAD) for c in pool])
    picked = {"novelty": 0, "novelty x memory": 0}
    for seed in range(40):  # the ThemeSampler's draw: n of the pool without replacement, p ∝ weight
        ctx = GenerationContext(CATALOGUE, 300, SETTINGS, np.random.default_rng(seed))
        base = np.array([novelty(c, ctx) for c in pool])
        for name, w in (("novelty", base), ("novelty x memory", base * np.array([weigh(c) for c in pool]))):
            picks = ctx.rng.choice(len(pool), size=10, replace=False, p=w / w.sum())
            picked[name] += int(is_bad[picks].sum())
    assert picked["novelty x memory"] < 0.8 * picked["novelty"]
    assert picked["novelty x memory"] < 0.4 * 40 * 10

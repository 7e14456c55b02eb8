from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alphamine.expr import structural_hash
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings
from alphamine.store import NotFoundError, Store, StoreError

from .conftest import EXPRESSIONS, add, new_run


def test_put_get_exact_round_trip(store: Store, sims: dict[str, SimResult]) -> None:
    sim = sims["rank(-returns)"]
    h = structural_hash(sim.expression)
    rid = store.put_result(sim, expr_hash=h)
    row = store.get_result(h, sim.settings.key(), sim.data_fingerprint)
    assert row is not None and row.id == rid
    assert (row.expr_hash, row.settings_key, row.data_fingerprint, row.backend) == (
        h,
        sim.settings.key(),
        sim.data_fingerprint,
        "local",
    )
    assert row.expression == sim.expression and row.settings == sim.settings.to_brain()
    assert row.dates.dtype == np.dtype("datetime64[D]") and row.pnl.dtype == np.float64
    np.testing.assert_array_equal(row.dates, sim.dates)
    assert row.pnl.tobytes() == sim.daily_pnl.astype(np.float64).tobytes()  # bit-exact, NaNs included
    assert row.first == sim.periods.first
    assert (row.is_range, row.os_range) == (sim.periods.is_range, sim.periods.os_range)
    assert (row.train_range, row.test_range) == (sim.periods.train_range, sim.periods.test_range)
    assert row.metrics == {k: sim.metrics[k] for k in ("is", "os", "train", "test")}
    assert row.yearly == sim.yearly_rows and row.checks == sim.checks
    assert row.truncation_rounds == sim.truncation_rounds
    assert row.sharpe == sim.metrics["is"]["sharpe"]
    assert row.failed_checks() == sim.failed_checks()
    d, p = row.pnl_series()
    np.testing.assert_array_equal(d, sim.pnl.index.to_numpy().astype("datetime64[D]"))
    np.testing.assert_array_equal(p, sim.pnl.to_numpy())


def test_put_is_idempotent_first_wins(store: Store, sims: dict[str, SimResult]) -> None:
    sim = sims["rank(-returns)"]
    h = structural_hash(sim.expression)
    first = store.put_result(sim, expr_hash=h)
    changed = dataclasses.replace(sim, daily_pnl=sim.daily_pnl * 2, metrics={**sim.metrics, "is": {"sharpe": 9.0}})
    assert store.put_result(changed, expr_hash=h) == first
    row = store.get_result(h, sim.settings.key(), sim.data_fingerprint)
    assert row is not None and row.sharpe == sim.metrics["is"]["sharpe"]
    np.testing.assert_array_equal(row.pnl, sim.daily_pnl)
    # another backend or fingerprint is another key
    brain = store.put_result(sim, expr_hash=h, backend="brain")
    other = store.put_result(dataclasses.replace(sim, data_fingerprint="other"), expr_hash=h)
    assert len({first, brain, other}) == 3
    assert store.get_result(h, sim.settings.key(), sim.data_fingerprint, backend="brain") is not None
    assert store.get_result(h, sim.settings.key(), "missing") is None
    assert store.has_result(h, sim.settings.key(), "other") and not store.has_result(h, "nokey", "other")


def test_non_finite_metrics_become_none(store: Store, sims: dict[str, SimResult]) -> None:
    sim = sims["rank(-returns)"]
    nan_sim = dataclasses.replace(sim, metrics={**sim.metrics, "is": {**sim.metrics["is"], "sharpe": float("nan")}})
    store.put_result(nan_sim, expr_hash="h-nan")
    row = store.get_result("h-nan", sim.settings.key(), sim.data_fingerprint)
    assert row is not None and row.metrics["is"]["sharpe"] is None and np.isnan(row.sharpe)


def test_empty_fingerprint_refused(store: Store, sims: dict[str, SimResult]) -> None:
    with pytest.raises(StoreError, match="fingerprint"):
        store.put_result(dataclasses.replace(sims["rank(-returns)"], data_fingerprint=""), expr_hash="h")


def test_results_for_uses_the_runs_fingerprint(store: Store, sims: dict[str, SimResult], settings: Settings) -> None:
    fp = sims[EXPRESSIONS[0]].data_fingerprint
    new_run(store, "r1", fingerprint=fp)
    new_run(store, "r2", fingerprint="other-data")
    ids = {e: add(store, "r1", e, settings) for e in EXPRESSIONS}
    stale = add(store, "r2", EXPRESSIONS[0], settings)
    for e in EXPRESSIONS[:2]:
        store.put_result(sims[e], expr_hash=structural_hash(e))
    got = store.results_for([*ids.values(), stale, 999])
    assert set(got) == {ids[EXPRESSIONS[0]], ids[EXPRESSIONS[1]]}  # no result yet / other data / unknown
    for e in EXPRESSIONS[:2]:
        assert got[ids[e]].expression == sims[e].expression
    assert store.results_for([]) == {}
    assert store.results_for([ids[EXPRESSIONS[0]]], backend="brain") == {}


def test_gate_records_and_ready_pool(store: Store, sims: dict[str, SimResult], settings: Settings) -> None:
    fp = sims[EXPRESSIONS[0]].data_fingerprint
    new_run(store, "r1", fingerprint=fp)
    new_run(store, "r2", fingerprint=fp)
    a = add(store, "r1", EXPRESSIONS[0], settings)
    b = add(store, "r1", EXPRESSIONS[1], settings)
    c = add(store, "r1", EXPRESSIONS[2], settings)
    a2 = add(store, "r2", EXPRESSIONS[0], settings)  # the same alpha found again in a later run
    eu = add(store, "r2", "rank(close)", settings.with_(region="EUR"))
    for e in EXPRESSIONS:
        store.put_result(sims[e], expr_hash=structural_hash(e))
    with store.transaction() as conn:  # the gate writes its decision and the status together
        for cid, verdict in ((a, "ready"), (b, "ready"), (c, "rejected"), (a2, "ready"), (eu, "ready")):
            store.record_gate(
                cid,
                "r1",
                checks=[{"name": "SELF_CORRELATION", "result": "PASS"}],
                verdict=verdict,
                reasons=[] if verdict == "ready" else ["LOW_SHARPE"],
                conn=conn,
            )
            store.set_candidate_status([cid], verdict, reason="gate", conn=conn)
    store.record_gate(c, "r2", checks=[], verdict="rejected", reasons=["still LOW_SHARPE"])
    hist = store.gate_history(c)
    assert [(g.run_id, g.verdict, g.reasons) for g in hist] == [
        ("r1", "rejected", ("LOW_SHARPE",)),
        ("r2", "rejected", ("still LOW_SHARPE",)),
    ]
    assert hist[0].checks == [{"name": "SELF_CORRELATION", "result": "PASS"}] and hist[0].candidate_id == c
    assert store.gate_history(a2)[0].verdict == "ready"
    with pytest.raises(NotFoundError):
        store.record_gate(999, "r1", checks=[], verdict="ready", reasons=[])

    pool = store.ready_pool()
    # one entry per distinct alpha (the earliest candidate), rank(close) has no result -> left out
    assert [(cand.id, res.expression) for cand, res in pool] == [
        (a, sims[EXPRESSIONS[0]].expression),
        (b, sims[EXPRESSIONS[1]].expression),
    ]
    np.testing.assert_array_equal(pool[0][1].pnl, sims[EXPRESSIONS[0]].daily_pnl)
    assert [cand.id for cand, _ in store.ready_pool(region="usa")] == [a, b]
    assert store.ready_pool(region="EUR") == []
    assert store.ready_pool(data_fingerprint="other-data") == []
    assert [cand.id for cand, _ in store.ready_pool(data_fingerprint=fp)] == [a, b]


def test_stored_result_keys_is_has_result_for_a_batch(store: Store, sims: dict[str, SimResult]) -> None:
    sim = sims["rank(-returns)"]
    h, k, fp = structural_hash(sim.expression), sim.settings.key(), sim.data_fingerprint
    store.put_result(sim, expr_hash=h)
    store.put_result(sim, expr_hash=h, backend="brain")
    asked = [(h, k), (h, "another settings key"), ("another hash", k)]
    assert store.stored_result_keys(asked, fp) == {(h, k)}
    assert store.stored_result_keys(asked, fp, backend="brain") == {(h, k)}
    assert store.stored_result_keys(asked, "another fingerprint") == set()
    assert store.stored_result_keys([], fp) == set()
    many = [(f"h{i}", k) for i in range(1200)] + [(h, k)]  # more than one IN list
    assert store.stored_result_keys(many, fp) == {(h, k)}
    assert all(store.has_result(a, b, fp) == ((a, b) in {(h, k)}) for a, b in asked)

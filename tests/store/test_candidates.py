from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from alphamine.expr import canonical, structural_hash
from alphamine.sim.settings import Settings
from alphamine.store import DuplicateCandidateError, NotFoundError, Store

from .conftest import THESIS, add, make_candidate, new_run


def test_candidate_round_trip(store: Store, settings: Settings) -> None:
    new_run(store)
    cid = add(
        store,
        "r1",
        "rank( -returns )",
        settings,
        iteration=3,
        priority=2.5,
        tags=("a", "b"),
        strategy=None,
        params={"window": 5, "scale": 0.5},
    )
    row = store.get_candidate(cid)
    assert row.expression == canonical("rank(-returns)") and row.source == "rank( -returns )"
    assert row.expr_hash == structural_hash("rank(-returns)")
    assert row.settings == settings and row.settings_key == settings.key() and row.region == "USA"
    assert (row.run_id, row.iteration, row.generator, row.thesis) == ("r1", 3, "template:test", THESIS)
    assert (row.params, row.tags, row.priority, row.status) == (
        {"window": 5, "scale": 0.5},
        ("a", "b"),
        2.5,
        "generated",
    )
    assert row.fields == ("returns",) and set(row.operators) == {"rank", "reverse"}
    assert row.parent_id is None and row.root_id == cid and row.depth == 0
    assert [r["status"] for r in row.reasons] == ["generated"]
    cand = row.to_candidate()
    assert cand.expression == row.expression and cand.settings == settings and cand.params == row.params
    assert cand.priority == 2.5 and cand.tags == ("a", "b") and cand.thesis == THESIS
    with pytest.raises(NotFoundError):
        store.get_candidate(12345)


def test_duplicate_in_run_is_refused_but_allowed_across_runs(store: Store, settings: Settings) -> None:
    new_run(store, "r1")
    new_run(store, "r2")
    first = add(store, "r1", "rank(-returns)", settings)
    with pytest.raises(DuplicateCandidateError) as err:
        add(store, "r1", "rank(-(returns))", settings)  # same canonical form
    assert err.value.existing_id == first
    other_settings = settings.with_(decay=4)
    add(store, "r1", "rank(-returns)", other_settings)  # other settings: a different candidate
    in_r2 = add(store, "r2", "rank(-returns)", settings)
    assert in_r2 != first
    found = store.find_candidate(structural_hash("rank(-returns)"), settings.key())
    assert found is not None and found.id == first  # the earliest, across runs
    in_run = store.find_candidate(structural_hash("rank(-returns)"), settings.key(), run_id="r2")
    assert in_run is not None and in_run.id == in_r2
    assert store.find_candidate("0" * 32, settings.key()) is None


def test_unique_constraint_holds_in_the_database(store: Store, settings: Settings) -> None:
    """The constraint itself, not only the pre-check: a raw duplicate insert fails."""
    from sqlalchemy import insert, select

    from alphamine.store.schema import CANDIDATES

    new_run(store)
    cid = add(store, "r1", "rank(-returns)", settings)
    with store.transaction() as c:
        row = dict(c.execute(select(CANDIDATES).where(CANDIDATES.c.id == cid)).mappings().one())
    row.pop("id")
    with pytest.raises(IntegrityError), store.transaction() as c:
        c.execute(insert(CANDIDATES).values(**row))


def test_queue_order_and_filters(store: Store, settings: Settings) -> None:
    new_run(store, "r1")
    new_run(store, "r2")
    a = add(store, "r1", "rank(-returns)", settings, priority=1.0)
    b = add(store, "r1", "-ts_delta(close, 5)", settings, priority=5.0, iteration=1)
    c = add(store, "r1", "rank(volume/adv20)", settings, priority=1.0, iteration=1)
    d = add(store, "r2", "rank(close)", settings, priority=9.0)
    assert [r.id for r in store.candidates(run_id="r1")] == [b, a, c]
    assert [r.id for r in store.candidates()] == [d, b, a, c]
    assert [r.id for r in store.candidates(run_id="r1", iteration=1)] == [b, c]
    store.set_candidate_status([a, c], "queued", reason="passed inspection")
    assert [r.id for r in store.candidates(status="queued")] == [a, c]
    assert [r.id for r in store.candidates(status=["queued", "generated"], run_id="r1")] == [b, a, c]
    assert store.candidates(status=[]) == []


def test_status_reasons_accumulate(store: Store, settings: Settings) -> None:
    new_run(store)
    cid = add(store, "r1", "rank(-returns)", settings)
    store.set_candidate_status([cid], "simulated")
    store.set_candidate_status([cid, cid], "rejected", reason="LOW_SHARPE")
    row = store.get_candidate(cid)
    assert row.status == "rejected"
    assert [(r["status"], r["reason"]) for r in row.reasons] == [
        ("generated", None),
        ("simulated", None),
        ("rejected", "LOW_SHARPE"),
    ]
    assert all(r["at"].endswith("+00:00") for r in row.reasons)
    assert row.updated_at >= row.created_at
    with pytest.raises(NotFoundError):
        store.set_candidate_status([cid, 999], "ready")
    assert store.get_candidate(cid).status == "rejected"  # nothing changed


def test_lineage_and_children(store: Store, settings: Settings) -> None:
    new_run(store, "r1")
    new_run(store, "r2")
    root = add(store, "r1", "rank(-returns)", settings)
    child = add(
        store, "r1", "rank(-ts_mean(returns, 3))", settings, parent_id=root, strategy="smooth", params={"window": 3}
    )
    sibling = add(store, "r1", "rank(-returns)", settings.with_(decay=3), parent_id=root, strategy="decay")
    grandchild = add(store, "r2", "rank(-ts_mean(returns, 5))", settings, parent_id=child, strategy="window")
    assert [r.id for r in store.lineage(grandchild)] == [root, child, grandchild]
    assert [r.id for r in store.lineage(root)] == [root]
    assert [r.id for r in store.children(root)] == [child, sibling]
    assert [r.id for r in store.children(child)] == [grandchild]
    assert store.children(grandchild) == []
    g = store.get_candidate(grandchild)
    assert (g.root_id, g.depth, g.strategy) == (root, 2, "window")
    with pytest.raises(NotFoundError):
        store.lineage(999)
    with pytest.raises(NotFoundError):
        store.add_candidate(
            "r1",
            0,
            make_candidate("rank(open)", settings, parent_id=999),
            canonical="rank(open)",
            expr_hash=structural_hash("rank(open)"),
        )


def test_exploration_counts(store: Store, settings: Settings) -> None:
    new_run(store, "r1")
    new_run(store, "r2")
    a = add(store, "r1", "rank(-returns)", settings)
    b = add(store, "r1", "rank(volume/adv20)", settings)
    add(store, "r1", "rank(close)", settings)  # stays generated
    d = add(store, "r1", "rank(open)", settings)
    e = add(store, "r2", "rank(-returns)", settings)
    store.set_candidate_status([a, e], "simulated")
    store.set_candidate_status([b], "ready")
    store.set_candidate_status([d], "duplicate")
    fields, ops = store.exploration_counts()
    assert fields == {"returns": 2, "volume": 1, "adv20": 1}
    assert ops == {"rank": 3, "reverse": 2, "divide": 1}


def test_conn_joins_the_callers_transaction(store: Store, settings: Settings) -> None:
    new_run(store)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        cid = add_in(store, conn, settings)
        assert store.get_candidate(cid, conn=conn).status == "generated"  # visible inside
        store.set_candidate_status([cid], "queued", conn=conn)
        raise RuntimeError("boom")
    assert store.candidates() == []  # rolled back together


def add_in(store: Store, conn: object, settings: Settings) -> int:
    return store.add_candidate(
        "r1",
        0,
        make_candidate("rank(-returns)", settings),
        canonical=canonical("rank(-returns)"),
        expr_hash=structural_hash("rank(-returns)"),
        conn=conn,  # type: ignore[arg-type]
    )


def test_existing_and_earliest_keys_answer_for_many_candidates_at_once(store: Store, settings: Settings) -> None:
    new_run(store, "r1")
    new_run(store, "r2")
    first = add(store, "r1", "rank(-returns)", settings)
    add(store, "r2", "rank(-returns)", settings)  # the same alpha later in another run
    other = add(store, "r2", "rank(close)", settings)
    h, c, k = structural_hash("rank(-returns)"), structural_hash("rank(close)"), settings.key()
    missing = ("no such hash", k)
    assert store.existing_keys("r1", [h, c, missing[0]]) == {(h, k)}
    assert store.existing_keys("r2", [h, c]) == {(h, k), (c, k)}
    assert store.existing_keys("r3", [h]) == set() and store.existing_keys("r1", []) == set()
    earliest = store.earliest_candidates([(h, k), (c, k), missing, (h, "another settings key")])
    assert earliest == {(h, k): (first, "r1"), (c, k): (other, "r2")}
    for key in [(h, k), (c, k)]:  # the same answer as find_candidate, one key at a time
        row = store.find_candidate(*key)
        assert row is not None and earliest[key] == (row.id, row.run_id)

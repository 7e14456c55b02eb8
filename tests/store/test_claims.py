"""Claims (`store.claims`): the atomic work queue of `alphamine worker`, on real SQLite files and a real
PostgreSQL database, with real threads and real (spawned) processes competing for one queue."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time

from sqlalchemy import inspect

from alphamine.sim.settings import Settings
from alphamine.store import Store

from .conftest import add, new_run

EXPRS = [f"rank(ts_mean(close, {a}) - ts_mean(open, {b}))" for a in range(2, 12) for b in range(2, 8)]  # 60


def _fill(store: Store, settings: Settings, run_id: str = "r1", n: int = len(EXPRS), **kw: object) -> list[int]:
    return [add(store, run_id, e, settings, status="queued", **kw) for e in EXPRS[:n]]  # type: ignore[arg-type]


def test_claims_in_queue_order_and_never_twice(store: Store, settings: Settings) -> None:
    new_run(store)
    low = [add(store, "r1", e, settings, status="queued") for e in EXPRS[:4]]
    high = [add(store, "r1", e, settings, status="queued", priority=2.0) for e in EXPRS[4:6]]
    add(store, "r1", EXPRS[6], settings, status="generated")  # not claimable
    first = store.claim_batch("r1", "A", 3, 60)
    assert [r.id for r in first] == [*high, low[0]]  # priority desc, then id
    second = store.claim_batch("r1", "B", 10, 60)
    assert [r.id for r in second] == low[1:]
    assert store.claim_batch("r1", "C", 10, 60) == []
    assert store.claim_batch("r1", "A", 10, 60) == []  # its own live claims are not handed out again
    assert store.queue_depth("r1") == (6, 6)
    assert {k.candidate_id for k in store.claims(worker="A")} == {*high, low[0]}
    assert store.expired_claims() == []


def test_release_and_heartbeat_only_touch_the_workers_own_claims(store: Store, settings: Settings) -> None:
    new_run(store)
    ids = _fill(store, settings, n=4)
    store.claim_batch("r1", "A", 2, 60)
    store.claim_batch("r1", "B", 2, 60)
    assert store.release("B", ids[:2]) == 0  # A's
    assert store.heartbeat("B", ids[:2], 60) == 0
    assert store.heartbeat("A", ids, 60) == 2
    assert store.release("A", ids[:1]) == 1
    assert [r.id for r in store.claim_batch("r1", "C", 5, 60)] == ids[:1]
    assert store.release("B") == 2  # all of B's
    assert [k.worker for k in store.claims()] == ["C", "A"]


def test_an_expired_claim_is_taken_over_and_a_heartbeat_keeps_one_alive(store: Store, settings: Settings) -> None:
    new_run(store)
    ids = _fill(store, settings, n=2)
    store.claim_batch("r1", "dead", 1, 0.2)
    store.claim_batch("r1", "alive", 1, 0.2)
    store.heartbeat("alive", [ids[1]], 60)
    time.sleep(0.3)
    assert [(k.candidate_id, k.worker) for k in store.expired_claims(run_id="r1")] == [(ids[0], "dead")]
    assert store.queue_depth("r1") == (2, 1)
    taken = store.claim_batch("r1", "B", 10, 60)
    assert [r.id for r in taken] == [ids[0]]  # the dead worker's; the heartbeated one stays held
    assert [(k.candidate_id, k.worker) for k in store.claims()] == [(ids[0], "B"), (ids[1], "alive")]
    assert store.heartbeat("dead", [ids[0]], 60) == 0  # it lost the claim
    assert store.expired_claims() == []


def test_the_same_alpha_claimed_in_another_run_waits(store: Store, settings: Settings) -> None:
    new_run(store, "r1")
    new_run(store, "r2")
    a = add(store, "r1", EXPRS[0], settings, status="queued")
    b = add(store, "r2", EXPRS[0], settings, status="queued")
    c = add(store, "r2", EXPRS[1], settings, status="queued")
    assert [r.id for r in store.claim_batch("r1", "A", 5, 60)] == [a]
    assert [r.id for r in store.claim_batch("r2", "B", 5, 60)] == [c]  # b's alpha is being simulated
    store.release("A")
    assert [r.id for r in store.claim_batch("r2", "B", 5, 60)] == [b]


def test_other_statuses_are_claimed_only_when_asked(store: Store, settings: Settings) -> None:
    new_run(store)
    q = add(store, "r1", EXPRS[0], settings, status="queued")
    s = add(store, "r1", EXPRS[1], settings, status="simulated")
    assert [r.id for r in store.claim_batch("r1", "A", 5, 60, statuses=("simulated",))] == [s]
    assert [r.id for r in store.claim_batch("r1", "A", 5, 60)] == [q]


def _claim_all(path: str, worker: str, start: threading.Event | None = None) -> list[int]:
    """Claim 3 at a time until nothing is left; never release (every claim stays live)."""
    with Store.open(path) as store:
        if start is not None:
            start.wait()
        got: list[int] = []
        while batch := store.claim_batch("r1", worker, 3, 600):
            got += [r.id for r in batch]
        return got


def _claim_in_process(path: str, worker: str, start: object, out: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    out.put((worker, _claim_all(path, worker)))  # type: ignore[attr-defined]


def test_threads_with_their_own_connections_never_claim_the_same_candidate(
    store_target: str, settings: Settings
) -> None:
    path = store_target
    with Store.open(path) as store:
        new_run(store)
        ids = _fill(store, settings)
    start = threading.Event()
    got: dict[str, list[int]] = {}
    threads = [threading.Thread(target=lambda w=w: got.update({w: _claim_all(path, w, start)})) for w in "ABCD"]
    for t in threads:
        t.start()
    start.set()
    for t in threads:
        t.join(60)
    every = [i for w in got.values() for i in w]
    assert len(got) == 4 and sorted(every) == sorted(ids)  # each exactly once


def test_spawned_processes_never_claim_the_same_candidate(store_target: str, settings: Settings) -> None:
    path = store_target
    with Store.open(path) as store:
        new_run(store)
        ids = _fill(store, settings)
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_claim_in_process, args=(path, f"p{k}", start, out)) for k in range(3)]
    for p in procs:
        p.start()
    start.set()
    got = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    every = [i for w in got.values() for i in w]
    assert sorted(every) == sorted(ids)
    with Store.open(path) as store:
        assert {k.candidate_id: k.worker for k in store.claims()} == {i: w for w, v in got.items() for i in v}


def test_next_iteration_is_distinct_for_concurrent_callers(store_target: str) -> None:
    path = store_target
    with Store.open(path) as store:
        new_run(store)
        store.finish_stage("r1", 4, "GENERATE", {})  # above the run's recorded iteration (0)
    got: list[int] = []

    def take() -> None:
        with Store.open(path) as s:
            got.extend(s.next_iteration("r1") for _ in range(5))

    threads = [threading.Thread(target=take) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(got) == list(range(5, 20))
    with Store.open(path) as store:
        assert store.get_run("r1").iteration == 19  # type: ignore[union-attr]


def test_tags_priority_and_the_table_after_migration(store_target: str, settings: Settings) -> None:
    path = store_target
    with Store.open(path, migrate_to=2) as old:
        new_run(old)
        cid = add(old, "r1", EXPRS[0], settings, status="queued", tags=("field:close",))
    with Store.open(path) as store:
        assert "claims" in inspect(store.engine).get_table_names()
        other = add(store, "r1", EXPRS[1], settings, status="queued", priority=3.5)
        assert store.max_priority("r1") == 3.5
        assert store.max_priority("r1", statuses=("ready",)) is None
        store.add_tags({cid: ["short_flip_candidate", "field:close"]})
        store.add_tags({cid: ["short_flip_candidate"], other: ["repair_low_fitness"]})
        assert store.get_candidate(cid).tags == ("field:close", "short_flip_candidate")
        assert store.get_candidate(other).tags == ("repair_low_fitness",)
        assert [r.id for r in store.claim_batch("r1", "A", 5, 60)] == [other, cid]

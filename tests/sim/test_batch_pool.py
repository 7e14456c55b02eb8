"""`ForkPool`: the kept workers as an object's state; small batches, several threads and several pools.

Every test compares results with the one-worker path (bit-identical numbers) and says which workers
ran them (process ids), because "reused" and "not re-forked" are the properties under test.
"""

from __future__ import annotations

import multiprocessing.pool
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from alphamine.sim import batch as B
from alphamine.sim.batch import ForkPool, SimFailure, simulate_many, worker_pids
from alphamine.sim.result import SimResult
from tests.sim.conftest import small_market

SETTINGS = {"universe": "TOP24"}
EXPRS = [
    "rank(-ts_delta(close, 5))",
    "ts_corr(rank(open), rank(volume), 10)",
    "group_neutralize(rank(-returns), industry)",
    "-ts_rank(volume / adv20, 10)",
    "zscore(ts_mean(close, 7))",
    "nosuchfield + 1",
]


def _key(r: SimResult | SimFailure) -> object:
    if isinstance(r, SimFailure):
        return ("fail", r.error)
    return (r.expression, r.metrics["is"]["sharpe"], tuple(r.daily_pnl.tolist()), tuple(r.checks[0].items()))


def _alone(exprs: list[str], panel: Any) -> list[object]:
    return [_key(r) for r in simulate_many(exprs, panel, SETTINGS, workers=1)]


@pytest.fixture()
def fork_pool() -> Iterator[ForkPool]:
    fp = ForkPool()
    yield fp
    fp.close()


def test_fits_lets_w_workers_serve_a_smaller_batch() -> None:
    panel = small_market(4)
    mine = B._Workers(pool=None, panel=panel, size=2, cache_bytes=1, owner=os.getpid())  # type: ignore[arg-type]
    assert mine.fits(panel, 1, 1, most=2) and mine.fits(panel, 2, 1, most=8)
    assert not mine.fits(panel, 1, 1)  # a call that allows one worker does not get two
    assert not mine.fits(panel, 3, 1, most=4)  # a batch that can use more than two re-forks
    assert not mine.fits(panel, 2, 2, most=2)  # another cache budget


def test_small_batches_reuse_the_kept_workers(fork_pool: ForkPool) -> None:
    """A pool of 3 runs batches of 2 and of 1 task on the same processes (no fork per batch size)."""
    panel = small_market(4)
    first = fork_pool.simulate_many(EXPRS, panel, SETTINGS, workers=3)
    pids = fork_pool.worker_pids()
    assert len(pids) == 3
    two = fork_pool.simulate_many(EXPRS[1:3], panel, SETTINGS, workers=3)
    one = fork_pool.simulate_many(EXPRS[3:4], panel, SETTINGS, workers=3)
    assert fork_pool.worker_pids() == pids
    assert [_key(r) for r in first] == _alone(EXPRS, panel)
    assert [_key(r) for r in two + one] == _alone(EXPRS[1:4], panel)


def test_a_lone_task_runs_on_warm_workers_not_in_the_caller(fork_pool: ForkPool) -> None:
    panel = small_market(4)
    fork_pool.start(panel, 2)
    seen: list[int] = []
    original = B.run_one

    def spy(state: Any, spec: Any) -> Any:
        seen.append(os.getpid())
        return original(state, spec)

    B.run_one = spy  # type: ignore[assignment]
    try:
        got = fork_pool.simulate_many(EXPRS[:1], panel, SETTINGS, workers=2)
    finally:
        B.run_one = original  # type: ignore[assignment]
    assert seen == []  # not simulated in this process (the workers were forked before the spy)
    assert [_key(r) for r in got] == _alone(EXPRS[:1], panel)


def test_pools_are_independent_objects(fork_pool: ForkPool) -> None:
    """Two pools over two panels keep their own workers side by side (the old module globals allowed
    one set per process); the module functions see and stop them all."""
    a, b = small_market(4), small_market(5)
    other = ForkPool()
    try:
        ra = fork_pool.simulate_many(EXPRS[:3], a, SETTINGS, workers=2)
        rb = other.simulate_many(EXPRS[:3], b, SETTINGS, workers=2)
        pa, pb = fork_pool.worker_pids(), other.worker_pids()
        assert len(pa) == len(pb) == 2 and not set(pa) & set(pb)
        assert set(pa) | set(pb) <= set(worker_pids())
        again = fork_pool.simulate_many(EXPRS[:3], a, SETTINGS, workers=2)
        assert fork_pool.worker_pids() == pa and other.worker_pids() == pb
        assert [_key(r) for r in ra] == [_key(r) for r in again] == _alone(EXPRS[:3], a)
        assert [_key(r) for r in rb] == _alone(EXPRS[:3], b)
        B.clear_caches()  # every pool: bumps each one's epoch
        assert fork_pool._epoch == other._epoch == 1
        B.close_workers()
        assert fork_pool.worker_pids() == other.worker_pids() == []
    finally:
        other.close()


def test_batches_from_two_threads_share_the_workers(fork_pool: ForkPool) -> None:
    panel = small_market(6)
    pids = fork_pool.start(panel, 2)
    expected = _alone(EXPRS, panel)
    out: dict[int, list[object]] = {}

    def run(k: int) -> None:
        out[k] = [_key(r) for r in fork_pool.simulate_many(EXPRS, panel, SETTINGS, workers=2)]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert out == {0: expected, 1: expected, 2: expected}
    assert fork_pool.worker_pids() == pids
    assert fork_pool.kept is not None and fork_pool.kept.users == 0


def test_an_error_in_one_batch_lets_the_other_finish_then_stops_the_workers(fork_pool: ForkPool) -> None:
    panel = small_market(6)
    fork_pool.start(panel, 2)
    kept = fork_pool.kept
    assert kept is not None
    gate, entered = threading.Event(), threading.Event()
    survivor: list[SimResult | SimFailure] = []

    def slow(done: int, total: int, result: object) -> None:
        entered.set()
        assert gate.wait(60)

    other = threading.Thread(
        target=lambda: survivor.extend(fork_pool.simulate_many(EXPRS, panel, SETTINGS, workers=2, progress=slow))
    )
    other.start()
    assert entered.wait(60)  # the other batch holds the workers

    def boom(done: int, total: int, result: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fork_pool.simulate_many(EXPRS[:2], panel, SETTINGS, workers=2, progress=boom)
    assert fork_pool.kept is None and kept.retired  # no new batch may use them ...
    assert all(p.is_alive() for p in kept.pool._pool)  # type: ignore[attr-defined]  # ... but they serve it
    gate.set()
    other.join(120)
    assert [_key(r) for r in survivor] == _alone(EXPRS, panel)
    assert kept.users == 0 and all(not p.is_alive() for p in kept.pool._pool)  # type: ignore[attr-defined]


def test_close_waits_for_a_running_batch(fork_pool: ForkPool) -> None:
    panel = small_market(6)
    fork_pool.start(panel, 2)
    gate, entered = threading.Event(), threading.Event()
    got: list[SimResult | SimFailure] = []

    def slow(done: int, total: int, result: object) -> None:
        entered.set()
        gate.wait(60)

    t = threading.Thread(
        target=lambda: got.extend(fork_pool.simulate_many(EXPRS, panel, SETTINGS, workers=2, progress=slow))
    )
    t.start()
    assert entered.wait(60)
    threading.Timer(0.3, gate.set).start()
    t0 = time.monotonic()
    fork_pool.close()
    assert time.monotonic() - t0 >= 0.25  # it waited for the batch ...
    t.join(60)
    assert [_key(r) for r in got] == _alone(EXPRS, panel)  # ... which finished whole
    assert fork_pool.kept is None and fork_pool.worker_pids() == []


def test_forking_from_a_thread_waits_for_a_compilation_in_another() -> None:
    """A thread compiling (holding numba's compiler lock) while another forks: the fork waits, so no
    child inherits the lock held by a thread it does not have (it would hang at its first
    compilation); each child starts with the lock free."""
    from numba.core.compiler_lock import global_compiler_lock

    panel = small_market(7)
    fp = ForkPool()
    held, released = threading.Event(), [0.0]

    def compile_for_a_while() -> None:
        with global_compiler_lock:
            held.set()
            time.sleep(0.4)
            released[0] = time.monotonic()

    compiler = threading.Thread(target=compile_for_a_while)
    compiler.start()
    assert held.wait(30)
    forked_at: list[float] = []
    starter = threading.Thread(target=lambda: (fp.start(panel, 2), forked_at.append(time.monotonic())))
    try:
        starter.start()  # a non-main thread forks; it ends before the batches below
        starter.join(60)
        compiler.join(60)
        assert forked_at and forked_at[0] >= released[0] > 0
        kept = fp.kept
        assert kept is not None
        assert kept.pool.map(_compiler_lock_owned, range(4)) == [False] * 4
        assert [_key(r) for r in fp.simulate_many(EXPRS, panel, SETTINGS, workers=2)] == _alone(EXPRS, panel)
    finally:
        fp.close()


def _compiler_lock_owned(_: int) -> bool:
    from numba.core.compiler_lock import global_compiler_lock

    return bool(global_compiler_lock._lock._is_owned())  # type: ignore[attr-defined]


def test_the_worker_handler_does_not_spin_while_results_wait(
    fork_pool: ForkPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stock pool's worker-handler thread also wakes whenever the result pipe is readable, so it
    spun while results waited to be read by a parent with other busy threads (a server): hundreds of
    wake-ups a batch (769 here, measured); ours wakes for a worker's exit or the pool's notifier."""
    wakeups = [0]
    stock = multiprocessing.pool.Pool._wait_for_updates

    def counted(sentinels: Any, change_notifier: Any, timeout: Any = None) -> None:
        wakeups[0] += 1
        stock(sentinels, change_notifier, timeout)

    monkeypatch.setattr(multiprocessing.pool.Pool, "_wait_for_updates", staticmethod(counted))
    panel = small_market(8, T=2500)  # results of ~100 kB: reading one takes a while
    fork_pool.start(panel, 2)
    stop = threading.Event()

    def busy() -> None:  # another Python thread wanting the GIL, as a server's threads do
        while not stop.is_set():
            sum(range(1000))

    other = threading.Thread(target=busy)
    other.start()
    try:
        wakeups[0] = 0
        got = fork_pool.simulate_many(EXPRS * 2, panel, SETTINGS, workers=2)
    finally:
        stop.set()
        other.join()
    assert wakeups[0] < 20, wakeups[0]
    assert len(got) == 2 * len(EXPRS)


def test_a_forked_child_starts_without_its_parents_workers(fork_pool: ForkPool) -> None:
    """A process forked while a batch runs (a pipeline's child, say) inherits the pool object with the
    parent's workers and their batch count: it must neither wait for that batch nor use or stop those
    workers, but fork its own."""
    import signal

    panel = small_market(6)
    pids = fork_pool.start(panel, 2)
    expected = _alone(EXPRS[:3], panel)
    gate, entered = threading.Event(), threading.Event()

    def held(done: int, total: int, result: object) -> None:
        entered.set()
        gate.wait(60)

    t = threading.Thread(target=lambda: fork_pool.simulate_many(EXPRS, panel, SETTINGS, workers=2, progress=held))
    t.start()
    try:
        assert entered.wait(60)  # the parent's workers have a batch running
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through its exit status
            code = 1
            try:
                got = [_key(r) for r in fork_pool.simulate_many(EXPRS[:3], panel, SETTINGS, workers=2)]
                own = fork_pool.worker_pids()
                code = 0 if got == expected and len(own) == 2 and not set(own) & set(pids) else 2
                fork_pool.close()
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while (waited := os.waitpid(child, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
                pytest.fail("the forked child waited for its parent's batch")
            time.sleep(0.05)
        assert os.waitstatus_to_exitcode(waited[1]) == 0
    finally:
        gate.set()
        t.join(60)
    assert fork_pool.worker_pids() == pids  # the parent's workers are untouched

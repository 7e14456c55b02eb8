"""simulate_many: identical numbers with 1 or N workers, failures isolated, order kept."""

from __future__ import annotations

import os

import numpy as np
import pytest

from alphamine.sim.batch import SimFailure, simulate_many
from alphamine.sim.result import SimResult
from tests.sim.conftest import small_market

EXPRS = [
    "rank(-ts_delta(close, 5))",
    "group_neutralize(rank(-ts_delta(close, 5)), industry)",
    "nosuchfield + 1",
    "ts_corr(rank(open), rank(volume), 10)",
    ("rank(-returns)", {"decay": 4, "neutralization": "SECTOR"}),
    ("rank(close)", {"delay": 7}),
    "-ts_rank(volume / adv20, 10)",
]


def _key(r: SimResult | SimFailure) -> object:
    if isinstance(r, SimFailure):
        return ("fail", r.error)
    return (r.expression, r.metrics["is"]["sharpe"], tuple(r.daily_pnl.tolist()))


def test_one_and_many_workers_agree_and_failures_are_isolated() -> None:
    panel = small_market(2)
    seen: list[int] = []
    one = simulate_many(EXPRS, panel, {"universe": "TOP24"}, workers=1, progress=lambda d, t, r: seen.append(d))
    many = simulate_many(EXPRS, panel, {"universe": "TOP24"}, workers=2)
    assert [_key(r) for r in one] == [_key(r) for r in many]
    assert len(one) == len(EXPRS)
    assert isinstance(one[2], SimFailure) and "nosuchfield" in one[2].error
    assert isinstance(one[5], SimFailure) and "delay" in one[5].error
    assert isinstance(one[4], SimResult) and one[4].settings.decay == 4
    assert sorted(seen) == list(range(2, len(EXPRS) + 1))  # two failed up front, the rest reported
    ok = [r for r in one if isinstance(r, SimResult)]
    assert all(np.isfinite(r.metrics["is"]["sharpe"]) for r in ok)


def test_batch_equals_individual_simulations() -> None:
    from alphamine.sim.simulate import simulate

    panel = small_market(3)
    batch = simulate_many(EXPRS[:2], panel, {"universe": "TOP24"}, workers=2)
    for expr, r in zip(EXPRS[:2], batch, strict=True):
        alone = simulate(expr, panel, {"universe": "TOP24"})
        assert isinstance(r, SimResult)
        np.testing.assert_array_equal(r.daily_pnl, alone.daily_pnl)
        assert r.metrics["is"] == alone.metrics["is"]


def _one_worker(exprs: list, panel: object) -> list[object]:
    return [_key(r) for r in simulate_many(exprs, panel, {"universe": "TOP24"}, workers=1)]  # type: ignore[arg-type]


def test_workers_are_kept_for_the_next_batch_on_the_same_panel() -> None:
    """A second batch on the same panel reuses the warm workers (and their caches) and still gives the
    numbers of one worker; another panel, a correlation pool or close_workers() replace or stop them."""
    from alphamine.sim import batch as B

    panel = small_market(4)
    try:
        first = simulate_many(EXPRS[:4], panel, {"universe": "TOP24"}, workers=2)
        kept = B.DEFAULT_POOL.kept
        assert kept is not None and kept.panel is panel
        again = simulate_many(EXPRS[1:], panel, {"universe": "TOP24"}, workers=2)  # overlaps: cache hits
        assert B.DEFAULT_POOL.kept is kept
        alone = simulate_many(EXPRS[1:], panel, {"universe": "TOP24"}, workers=1)
        assert [_key(r) for r in again] == [_key(r) for r in alone]
        assert [_key(r) for r in first[1:4]] == [_key(r) for r in alone[:3]]

        other = small_market(5)
        simulate_many(EXPRS[:2], other, {"universe": "TOP24"}, workers=2)
        replaced = B.DEFAULT_POOL.kept
        assert replaced is not None and replaced is not kept and replaced.panel is other
        assert all(not p.is_alive() for p in kept.pool._pool)  # the old workers were stopped

        with_pool = simulate_many(EXPRS[:2], panel, {"universe": "TOP24"}, workers=2, pool=[])
        assert B.DEFAULT_POOL.kept is None  # workers that inherited a correlation pool are not kept
        assert [_key(r) for r in with_pool] == _one_worker(EXPRS[:2], panel)
    finally:
        B.close_workers()
    assert B.DEFAULT_POOL.kept is None
    B.close_workers()  # idempotent


def test_an_interrupted_batch_stops_the_kept_workers() -> None:
    from alphamine.sim import batch as B

    panel = small_market(4)

    def boom(done: int, total: int, result: object) -> None:
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            simulate_many(EXPRS[:4], panel, {"universe": "TOP24"}, workers=2, progress=boom)
        assert B.DEFAULT_POOL.kept is None
        again = simulate_many(EXPRS[:4], panel, {"universe": "TOP24"}, workers=2)
        assert [_key(r) for r in again] == _one_worker(EXPRS[:4], panel)
    finally:
        B.close_workers()


def test_kept_workers_belong_to_the_process_that_forked_them() -> None:
    from alphamine.sim import batch as B

    panel = small_market(4)
    kept = B._Workers(pool=None, panel=panel, size=2, cache_bytes=B.DEFAULT_CACHE_BYTES, owner=os.getpid() + 1)  # type: ignore[arg-type]
    assert not kept.fits(panel, 2, B.DEFAULT_CACHE_BYTES)  # e.g. a child forked by the pipeline
    mine = B._Workers(pool=None, panel=panel, size=2, cache_bytes=B.DEFAULT_CACHE_BYTES, owner=os.getpid())  # type: ignore[arg-type]
    assert mine.fits(panel, 2, B.DEFAULT_CACHE_BYTES)
    assert not mine.fits(small_market(4), 2, B.DEFAULT_CACHE_BYTES)
    assert not mine.fits(panel, 3, B.DEFAULT_CACHE_BYTES)


def test_clear_caches_empties_a_worker_cache_at_its_next_task() -> None:
    """The mechanism in-process: a task from a later epoch empties the cache filled in an earlier one."""
    from alphamine.sim import batch as B
    from alphamine.sim import workers as W
    from alphamine.sim.evaluate import SubexpressionCache

    fork_pool, cache = B.ForkPool(), SubexpressionCache(1 << 20)
    saved = W._STATE
    try:
        W._STATE = state = W.WorkerState(small_market(4), None, 1 << 20, cache, fork_pool._epoch)  # as a worker
        cache.put("x", np.zeros((2, 2)))
        assert W.run_chunk((fork_pool._epoch, [])) == [] and len(cache) == 1  # same epoch: kept
        B.clear_caches()  # every pool of the process
        assert W.run_chunk((fork_pool._epoch, [])) == [] and len(cache) == 0
        assert state.epoch == fork_pool._epoch
    finally:
        W._STATE = saved

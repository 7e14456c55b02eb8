"""`simulate_many`: a batch of (expression, settings) over one panel, on all cores.

Why fork: the panel (hundreds of MB at 3000 x 2520) is inherited by the workers copy-on-write, so no
task ever pickles it. Each worker keeps one sub-expression cache for its whole life, and tasks are
handed out in contiguous chunks of a deterministic order so neighbouring (similar) expressions share
it. Every simulation is a pure function of (expression, settings, panel): 1 worker and N workers give
identical numbers. A failing expression becomes a `SimFailure` for that entry and never stops the batch.

Why a `ForkPool` owns the workers kept between calls (like joblib's reusable executor: a fresh worker
pays the first touch of every page it writes, which on our VMs costs more than its first batch's
arithmetic) and their panel, cache budget and cache epoch: each `LocalBackend` owns one; the module
functions use `DEFAULT_POOL` (`simulate_many`) or every pool (`close_workers`, `clear_caches`,
`worker_pids`). A call reuses the kept workers when they were forked for the same panel object and
budget, no correlation pool is given, and they are at least as many as the batch can use and at most
as many as the call allows (W workers serve a batch of fewer tasks, a lone task too); anything else,
`close()`, an error or Ctrl-C during a batch, or interpreter exit stops them (after the batches of
other threads on them end). Batches from several threads share the workers, their chunks queued in
submission order, so a server's next batch starts while the last one drains instead of leaving
workers idle at each batch's tail. Workers read the `_WorkerState` (panel, correlation pool, budget,
fields prefetched before forking, epoch) handed to their initializer through fork: nothing pickled.

Why forking from any thread is safe: a child has one thread, the forking one, and needs only locks it
can take. Python re-initializes its own locks after fork, glibc its allocator's, `register_at_fork`
the pools'; the one lock workers share with a server's other threads is numba's compiler lock, so a
pool forks holding it and each child drops it. (`LocalBackend.start_workers()`, which the BRAIN
server's `create_app` calls, forks up front from the thread that builds the app anyway.)

Why workers watch their parent: when it is SIGKILLed (or OOM-killed) mid-batch nothing stops them. A
worker asks Linux (`prctl(PR_SET_PDEATHSIG)`) for a signal when its parent dies and exits silently if
the parent is really gone (the signal also comes when only the forking *thread* ends, e.g. a server's
runner thread: then it stays); one whose pipe breaks while the parent is gone exits with status 0.
"""

from __future__ import annotations

import atexit
import math
import multiprocessing as mp
import multiprocessing.pool
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from numba.core.compiler_lock import global_compiler_lock

from alphamine.data.panel import Panel
from alphamine.sim.checks import PoolEntry
from alphamine.sim.evaluate import SubexpressionCache
from alphamine.sim.outcomes import SimFailure, SimSpec, as_spec
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings, SettingsError, make_settings
from alphamine.sim.workers import QuietPool, WorkerState, run_chunk, run_one, worker_init

DEFAULT_CACHE_BYTES = 1024**3


@dataclass
class _Workers:
    """Forked workers, with what they inherited, and the batches using them (`users`). Retired ones
    take no new batch and stop when their last one ends."""

    pool: multiprocessing.pool.Pool
    panel: Panel
    size: int
    cache_bytes: int
    owner: int  # pid of the process that forked them (a forked child must not use its parent's pool)
    users: int = 0
    retired: bool = False

    def fits(self, panel: Panel, size: int, cache_bytes: int, most: int | None = None) -> bool:
        """These workers can run a batch over `panel` that can use `size` of them, for a call allowing
        `most` (default `size`): same owner, panel object and budget, and size <= self.size <= most."""
        return (
            self.owner == os.getpid()
            and self.panel is panel
            and self.cache_bytes == cache_bytes
            and size <= self.size <= (size if most is None else most)
        )


def _prefetched_fields(panel: Panel, specs: Sequence[SimSpec], cache_bytes: int) -> SubexpressionCache:
    """A cache holding every field the batch reads, in every frame (delay, universe, pasteurization)
    it uses, built once here so that forked workers share it copy-on-write."""
    from alphamine.expr import fields_used, parse
    from alphamine.sim.evaluate import Evaluator

    cache = SubexpressionCache(cache_bytes)
    frames: dict[tuple[int, str, bool], set[str]] = {}
    for spec in specs:
        try:
            names = fields_used(parse(spec.expression), panel.catalogue)
        except Exception:  # a bad expression fails later, in its own entry
            continue
        s = spec.settings
        frames.setdefault((s.delay, s.universe, s.pasteurize), set()).update(names)
    for (delay, universe, pasteurize), wanted in frames.items():
        if universe not in panel.universes:
            continue
        mask = panel.universe(universe) if pasteurize else None
        Evaluator(panel, universe=mask, shift=delay, cache=cache).prefetch(sorted(wanted))
    return cache


_POOLS: weakref.WeakSet[ForkPool] = weakref.WeakSet()


class ForkPool:
    """Worker processes kept between batches, and their state (module doc). Thread-safe: batches from
    several threads share the kept workers, their chunks queued in the order they were submitted (so
    a server's next batch starts while the last one drains); replacing the workers waits for every
    batch on them to end. The one-worker path runs in the calling thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._kept: _Workers | None = None
        self._epoch = 0  # bumped by clear_caches(); every task carries it
        _POOLS.add(self)

    @property
    def kept(self) -> _Workers | None:
        """The workers kept for the next batch (None when none are)."""
        return self._kept

    def clear_caches(self) -> None:
        """The kept workers empty their caches before their next task (the one-worker path starts each
        call empty anyway): for measurements; results never depend on the cache."""
        self._epoch += 1

    def worker_pids(self) -> list[int]:
        """Process ids of the kept workers (empty when none are, or in a process forked from the owner)."""
        kept = self._kept
        if kept is None or kept.owner != os.getpid():
            return []
        return [p.pid for p in getattr(kept.pool, "_pool", []) if p.pid is not None]

    def close(self, *, wait: bool = True) -> None:
        """Stop the kept workers (they hold their caches and a copy-on-write view of their panel); the
        pool stays usable and forks again when needed. `wait`: let the batches running on them end
        first (never call it so from a batch's progress callback); else stop them at once (exit)."""
        if wait:
            with self._cond:
                if self._kept is not None:
                    self._retire(self._kept)
            return
        kept, self._kept = self._kept, None
        if kept is not None:
            self._stop(kept)

    def start(self, panel: Panel, workers: int | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES) -> list[int]:
        """Fork the kept workers for `panel` now, from the calling thread (unless workers that fit are
        already running), so that later batches from any thread reuse them; their pids ([] when
        `workers` resolves to one: that path never forks)."""
        size = workers or os.cpu_count() or 1
        if size > 1:
            self._checkout(panel, None, size, size, cache_bytes, [], use=False)
        return self.worker_pids()

    def simulate_many(
        self,
        specs: Iterable[SimSpec | str | tuple[str, Any]],
        panel: Panel,
        settings: Settings | Mapping[str, Any] | None = None,
        *,
        workers: int | None = None,
        pool: Sequence[PoolEntry] | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        progress: Callable[[int, int, SimResult | SimFailure], None] | None = None,
    ) -> list[SimResult | SimFailure]:
        """Simulate every spec; results come back in the order of `specs`.

        `specs` items are `SimSpec`s, bare expressions (using `settings`) or (expression, settings-dict)
        pairs whose dict overrides `settings`. `workers` defaults to all cores; 1 runs in this process.
        More than one forks workers, which stay alive for the next call on the same panel (module doc;
        `close()` stops them). `pool`: the correlation pool for the checks (workers that inherit one
        are not kept). `progress(done, total, result)` is called in this thread as results arrive.
        """
        default = settings if isinstance(settings, Settings) else make_settings(dict(settings or {}))
        items: list[SimSpec | SimFailure] = []
        for item in specs:
            try:
                items.append(as_spec(item, default))
            except SettingsError as e:
                expr = item if isinstance(item, str) else getattr(item, "expression", None) or item[0]  # type: ignore[index]
                items.append(SimFailure(str(expr), None, str(e)))
        todo = [(i, s) for i, s in enumerate(items) if isinstance(s, SimSpec)]
        results: list[SimResult | SimFailure | None] = [s if isinstance(s, SimFailure) else None for s in items]
        most = max(1, workers or os.cpu_count() or 1)
        n_workers = min(most, max(1, len(todo)))
        panel.fingerprint()  # computed once here, inherited by the workers
        forked = None
        if todo and most > 1:  # a lone task goes to warm workers too (their caches, off this thread)
            forked = self._checkout(panel, pool, n_workers, most, cache_bytes, [s for _, s in todo])
        if forked is not None:
            self._run_forked(forked, todo, results, n_workers, progress)
        else:
            state, done = WorkerState(panel, pool, cache_bytes), len(items) - len(todo)
            for i, spec in todo:
                results[i] = run_one(state, spec)
                done += 1
                if progress:
                    progress(done, len(items), results[i])  # type: ignore[arg-type]
        return [r for r in results if r is not None]

    def _checkout(self, panel: Panel, corr_pool: Sequence[PoolEntry] | None, size: int, most: int,
                  cache_bytes: int, specs: Sequence[SimSpec], use: bool = True) -> _Workers | None:  # fmt: skip
        """Workers for a batch (counted as a user when `use`): the kept ones when they fit, else the
        kept ones retired (after their batches) and fresh ones forked, or None for a lone task."""
        with self._cond:
            while True:
                kept = self._kept
                if corr_pool is None and kept is not None and kept.fits(panel, size, cache_bytes, most):
                    kept.users += int(use)
                    return kept
                if size < 2:
                    return None
                if kept is None:
                    break
                self._retire(kept)  # waits (releasing the lock): look again, another thread may have forked
            prefetched = _prefetched_fields(panel, specs, cache_bytes)
            state = WorkerState(panel, corr_pool, cache_bytes, prefetched, self._epoch)
            with global_compiler_lock:  # no other thread is compiling at the instant of fork (module doc)
                fresh = QuietPool(size, worker_init, (state, os.getpid()), context=mp.get_context("fork"))
            state.cache = None  # the workers have their copies; a replacement worker starts empty
            workers = _Workers(fresh, panel, size, cache_bytes, os.getpid(), users=int(use))
            if corr_pool is None:
                self._kept = workers
            else:  # workers that inherited a correlation pool serve this batch only
                workers.retired = True
            return workers

    def _checkin(self, workers: _Workers, ok: bool) -> None:
        """A batch on `workers` ended (`ok`: completely); an error or Ctrl-C retires them (tasks may
        still be running), and retired workers stop with their last batch."""
        with self._cond:
            workers.users -= 1
            if not ok:
                workers.retired = True
                if self._kept is workers:
                    self._kept = None
            if workers.retired and workers.users == 0:
                self._stop(workers)
            self._cond.notify_all()

    def _retire(self, workers: _Workers) -> None:
        """No new batch on `workers`; wait for theirs to end, then stop them. Call with the lock held."""
        workers.retired = True
        if self._kept is workers:
            self._kept = None
        while workers.users > 0:
            self._cond.wait()
        self._stop(workers)

    @staticmethod
    def _stop(workers: _Workers) -> None:
        if workers.owner == os.getpid():
            workers.pool.terminate()
            workers.pool.join()

    def _run_forked(
        self, workers: _Workers, todo: list[tuple[int, SimSpec]], results: list[SimResult | SimFailure | None],
        n_workers: int, progress: Callable[[int, int, SimResult | SimFailure], None] | None,
    ) -> None:  # fmt: skip
        """Fill `results` for `todo` on `workers` (checked out for this batch, checked in here)."""
        total, done = len(results), len(results) - len(todo)
        order = sorted(todo, key=lambda it: (it[1].settings.delay, it[1].settings.universe, it[0]))
        size = max(1, math.ceil(len(order) / (n_workers * 4)))
        tasks = [(self._epoch, order[k : k + size]) for k in range(0, len(order), size)]
        finished = False
        try:
            for chunk_result in workers.pool.imap_unordered(run_chunk, tasks):
                for i, r in chunk_result:
                    results[i] = r
                    done += 1
                    if progress:
                        progress(done, total, r)
            finished = True
        finally:
            self._checkin(workers, finished)


DEFAULT_POOL = ForkPool()
"""The pool of the module functions (`simulate_many`); a `LocalBackend` owns its own."""


def _after_fork_in_child() -> None:
    """A forked process starts with free locks (one held by a thread it lacks would never be released)
    and no kept workers: its parent's are not its own (and their batch counts are the parent's)."""
    for p in list(_POOLS):
        p._cond, p._kept = threading.Condition(threading.RLock()), None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def clear_caches() -> None:
    """`ForkPool.clear_caches` on every pool of this process (the benchmarks call it between passes)."""
    for p in list(_POOLS):
        p.clear_caches()


def worker_pids() -> list[int]:
    """Process ids of the workers kept between calls by every pool of this process (empty when none are)."""
    return [pid for p in list(_POOLS) for pid in p.worker_pids()]


def close_workers() -> None:
    """Stop the worker processes every pool of this process keeps between calls (each pool first lets
    a running batch end). Safe to call at any time; pools fork again when next used."""
    for p in list(_POOLS):
        p.close()


@atexit.register
def _close_at_exit() -> None:
    """At interpreter exit: stop every pool's workers without waiting for a batch a daemon thread runs."""
    for p in list(_POOLS):
        p.close(wait=False)


simulate_many = DEFAULT_POOL.simulate_many
"""`ForkPool.simulate_many` on `DEFAULT_POOL`: the batch function the CLI, the bench and tests call."""

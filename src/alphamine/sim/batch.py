"""`simulate_many`: a batch of (expression, settings) over one panel, on all cores.

Why fork: the panel (hundreds of MB at 3000 x 2520) is inherited by the workers copy-on-write, so no
task ever pickles it. Each worker keeps one sub-expression cache for its whole life, and tasks are
handed out in contiguous chunks of a deterministic order so neighbouring (similar) expressions share
it. Every simulation is a pure function of (expression, settings, panel): 1 worker and N workers give
identical numbers. A failing expression becomes a `SimFailure` for that entry and never stops the batch.

Why the workers outlive a call (like joblib's reusable executor): a fresh worker pays the first touch
of every page it writes, which on our VMs costs more than its first batch's arithmetic. The next
call with the same panel object, worker count and cache budget (and no correlation pool) reuses the
warm workers and their caches; anything else, `close_workers()`, an error or Ctrl-C during a batch,
or interpreter exit stops them.

Why workers watch their parent: when the parent is SIGKILLed (or OOM-killed) mid-batch nothing stops
them, and each one used to finish its chunk and die printing a BrokenPipeError traceback into the
terminal the user had left. A worker asks the kernel (Linux `prctl(PR_SET_PDEATHSIG)`) for a
signal when its parent dies, and exits silently at once if the parent is really gone (the signal
also comes when only the forking *thread* ends, e.g. a server's runner thread: then the worker
stays). Independently, a worker whose pipe to the parent breaks (BrokenPipeError, EOFError,
ConnectionResetError) while the parent is gone exits with status 0 and no output, so platforms
without prctl are quiet too (they only exit later, after their current chunk).
"""

from __future__ import annotations

import atexit
import ctypes
import math
import multiprocessing as mp
import multiprocessing.pool
import os
import signal
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alphamine.data.panel import Panel
from alphamine.sim.checks import PoolEntry
from alphamine.sim.evaluate import SubexpressionCache
from alphamine.sim.memory import release_inherited_heap
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings, SettingsError, make_settings
from alphamine.sim.simulate import SimulationError, simulate

DEFAULT_CACHE_BYTES = 1024**3


@dataclass(frozen=True)
class SimSpec:
    expression: str
    settings: Settings


@dataclass(frozen=True)
class SimFailure:
    """One entry of a batch that could not be simulated: `error` is one readable line."""

    expression: str
    settings: Settings | None
    error: str

    @property
    def ok(self) -> bool:
        return False


def as_spec(item: SimSpec | str | tuple[str, Any], default: Settings) -> SimSpec:
    if isinstance(item, SimSpec):
        return item
    if isinstance(item, str):
        return SimSpec(item, default)
    expr, settings = item
    if settings is None:
        return SimSpec(expr, default)
    if isinstance(settings, Settings):
        return SimSpec(expr, settings)
    return SimSpec(expr, default.with_(**dict(settings)))


# Worker state: set in the parent before forking, inherited by the children.
_PANEL: Panel | None = None
_POOL: Sequence[PoolEntry] | None = None
_CACHE: SubexpressionCache | None = None
_CACHE_BYTES = DEFAULT_CACHE_BYTES
_PARENT = 0  # in a worker: the pid of the process that forked it (0 in the parent)
PARENT_GONE_SIGNAL: int | None = getattr(signal, "SIGUSR1", None)
"""The signal a worker asks the kernel for when its parent dies (its handler checks the parent)."""
_PR_SET_PDEATHSIG = 1


@dataclass
class _Workers:
    """The worker pool kept between calls, with what its workers inherited when they were forked."""

    pool: multiprocessing.pool.Pool
    panel: Panel
    size: int
    cache_bytes: int
    owner: int  # pid of the process that forked them (a forked child must not use its parent's pool)

    def fits(self, panel: Panel, size: int, cache_bytes: int) -> bool:
        return (
            self.owner == os.getpid() and self.panel is panel and self.size == size and self.cache_bytes == cache_bytes
        )


_WORKERS: _Workers | None = None
_EPOCH = 0  # bumped by clear_caches() in the parent; every task carries it
_CACHE_EPOCH = 0  # in a worker: the epoch its cache was filled in


def clear_caches() -> None:
    """Forget every cached sub-expression: the kept workers empty their caches before their next task
    (the one-worker path starts each call with an empty cache anyway). For measurements that must not
    profit from an earlier batch; results never depend on the cache."""
    global _EPOCH
    _EPOCH += 1


def worker_pids() -> list[int]:
    """Process ids of the workers kept between calls (empty when none are)."""
    kept = _WORKERS
    if kept is None or kept.owner != os.getpid():
        return []
    return [p.pid for p in getattr(kept.pool, "_pool", []) if p.pid is not None]


def close_workers() -> None:
    """Stop the worker processes `simulate_many` keeps between calls (they hold their caches and a
    copy-on-write view of the last panel). Safe to call at any time; also runs at interpreter exit."""
    global _WORKERS
    kept, _WORKERS = _WORKERS, None
    if kept is not None and kept.owner == os.getpid():
        kept.pool.terminate()
        kept.pool.join()


atexit.register(close_workers)


def _run_one(index: int, spec: SimSpec) -> tuple[int, SimResult | SimFailure]:
    global _CACHE
    assert _PANEL is not None
    if _CACHE is None:
        _CACHE = SubexpressionCache(_CACHE_BYTES)
    try:
        return index, simulate(spec.expression, _PANEL, spec.settings, pool=_POOL, cache=_CACHE)
    except (SimulationError, SettingsError) as e:
        return index, SimFailure(spec.expression, spec.settings, str(e))
    except Exception as e:  # a bug or a kernel failure in one expression must not stop the batch
        return index, SimFailure(spec.expression, spec.settings, f"{type(e).__name__}: {e}")


def _worker_init(parent: int) -> None:
    """Workers leave Ctrl-C and SIGTERM to the parent (which owns the run and its transaction): a
    handler inherited through fork must not fire inside a worker when the pool shuts down. They exit
    silently when `parent` dies (module doc), and drop the free heap inherited from the parent
    instead of copying it on write (`sim.memory`)."""
    global _PARENT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _PARENT = parent
    if PARENT_GONE_SIGNAL is not None:
        signal.signal(PARENT_GONE_SIGNAL, _on_parent_death_signal)
        _request_parent_death_signal(PARENT_GONE_SIGNAL)
    if _parent_gone():  # it died before the request took effect: no signal will come
        os._exit(0)
    release_inherited_heap()


def _parent_gone() -> bool:
    """In a worker: the process that forked it has died (the worker was re-parented)."""
    return _PARENT != 0 and os.getppid() != _PARENT


def _on_parent_death_signal(signum: int, frame: Any) -> None:
    """Exit at once, without a word, when the parent is gone; otherwise (only the forking thread
    ended, the parent lives on) keep working."""
    if _parent_gone():
        os._exit(0)


def _request_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send `signum` to this process when its parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


_ForkProcess: Any = getattr(mp.context, "ForkProcess", mp.Process)  # absent where fork is (Windows)


class _QuietWorker(_ForkProcess):
    """A pool worker that exits with status 0 and no traceback when its pipe to a dead parent breaks
    (module doc); any other failure, or a broken pipe while the parent lives, is reported as before."""

    def run(self) -> None:
        try:
            super().run()
        except (BrokenPipeError, EOFError, ConnectionResetError):
            if _parent_gone():
                os._exit(0)
            raise


class _QuietPool(multiprocessing.pool.Pool):
    """`multiprocessing.pool.Pool` whose workers are `_QuietWorker`s (fork start method)."""

    @staticmethod
    def Process(ctx: Any, *args: Any, **kwds: Any) -> Any:
        return _QuietWorker(*args, **kwds)


def _run_chunk(task: tuple[int, list[tuple[int, SimSpec]]]) -> list[tuple[int, SimResult | SimFailure]]:
    global _CACHE_EPOCH
    epoch, chunk = task
    if epoch != _CACHE_EPOCH:  # clear_caches() was called since this worker's cache was filled
        if _CACHE is not None:
            _CACHE.clear()
        _CACHE_EPOCH = epoch
    return [_run_one(i, s) for i, s in chunk]


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


def _worker_pool(
    panel: Panel, pool: Sequence[PoolEntry] | None, size: int, cache_bytes: int, specs: Sequence[SimSpec]
) -> tuple[multiprocessing.pool.Pool, bool]:
    """(workers, kept): the kept workers when they fit this call, else freshly forked ones (kept for the
    next call unless a correlation pool, which the workers inherit, is given)."""
    global _CACHE, _CACHE_EPOCH, _WORKERS
    if pool is None and _WORKERS is not None and _WORKERS.fits(panel, size, cache_bytes):
        return _WORKERS.pool, True
    close_workers()
    _CACHE = _prefetched_fields(panel, specs, cache_bytes)  # inherited by the workers forked now
    _CACHE_EPOCH = _EPOCH  # ... and valid in this epoch
    fresh = _QuietPool(size, initializer=_worker_init, initargs=(os.getpid(),), context=mp.get_context("fork"))
    if pool is not None:
        return fresh, False
    _WORKERS = _Workers(fresh, panel, size, cache_bytes, os.getpid())
    return fresh, True


def simulate_many(
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
    `close_workers()` stops them). `progress(done, total, result)` is called as results arrive.
    """
    global _PANEL, _POOL, _CACHE, _CACHE_BYTES
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
    total = len(items)
    done = total - len(todo)
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    _PANEL, _POOL, _CACHE_BYTES = panel, pool, cache_bytes
    panel.fingerprint()  # computed once here, inherited by the workers
    try:
        if n_workers == 1 or len(todo) < 2:
            _CACHE = SubexpressionCache(cache_bytes)
            for i, spec in todo:
                results[i] = _run_one(i, spec)[1]
                done += 1
                if progress:
                    progress(done, total, results[i])  # type: ignore[arg-type]
        else:
            order = sorted(todo, key=lambda it: (it[1].settings.delay, it[1].settings.universe, it[0]))
            size = max(1, math.ceil(len(order) / (n_workers * 4)))
            chunks = [order[k : k + size] for k in range(0, len(order), size)]
            workers_pool, kept = _worker_pool(panel, pool, n_workers, cache_bytes, [s for _, s in todo])
            finished = False
            try:
                for chunk_result in workers_pool.imap_unordered(_run_chunk, [(_EPOCH, c) for c in chunks]):
                    for i, r in chunk_result:
                        results[i] = r
                        done += 1
                        if progress:
                            progress(done, total, r)
                finished = True
            finally:
                if not kept:
                    workers_pool.terminate()
                    workers_pool.join()
                elif not finished:  # an error or Ctrl-C: tasks may still be running in the workers
                    close_workers()
    finally:
        _PANEL, _POOL, _CACHE = None, None, None
    return [r for r in results if r is not None]

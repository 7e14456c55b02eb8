"""The worker processes of `alphamine.sim.batch`: what each is forked with, how it runs a chunk, and
how it ends quietly.

Why a module of its own: this is the code that runs *in* the forked children. A worker receives its
`WorkerState` as the argument of its start-up function, carried over by fork (nothing is pickled);
it leaves Ctrl-C and SIGTERM to its parent, drops the free heap it inherited (`sim.memory`), releases
numba's compiler lock if a parent thread held it at fork time, and exits silently when its parent dies
(a parent-death signal on Linux, and a quiet exit on a broken pipe everywhere).
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import multiprocessing.pool
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from numba.core.compiler_lock import global_compiler_lock

from alphamine.data.panel import Panel
from alphamine.sim.checks import PoolEntry
from alphamine.sim.evaluate import SubexpressionCache
from alphamine.sim.memory import release_inherited_heap
from alphamine.sim.outcomes import SimFailure, SimSpec
from alphamine.sim.result import SimResult
from alphamine.sim.settings import SettingsError
from alphamine.sim.simulate import SimulationError, simulate


@dataclass
class WorkerState:
    """What a batch's simulations read: built in the parent, inherited by the workers forked with it.
    `cache` is the prefetched fields at fork time (the parent drops its reference after forking), in a
    worker its own cache, filled in `epoch`."""

    panel: Panel
    pool: Sequence[PoolEntry] | None
    cache_bytes: int
    cache: SubexpressionCache | None = None
    epoch: int = 0


_STATE: WorkerState | None = None  # in a worker: the state it was forked with (set by worker_init)
_PARENT = 0  # in a worker: the pid of the process that forked it (0 in the parent)
PARENT_GONE_SIGNAL: int | None = getattr(signal, "SIGUSR1", None)
"""The signal a worker asks the kernel for when its parent dies (its handler checks the parent)."""
_PR_SET_PDEATHSIG = 1


def run_one(state: WorkerState, spec: SimSpec) -> SimResult | SimFailure:
    if state.cache is None:
        state.cache = SubexpressionCache(state.cache_bytes)
    try:
        return simulate(spec.expression, state.panel, spec.settings, pool=state.pool, cache=state.cache)
    except (SimulationError, SettingsError) as e:
        return SimFailure(spec.expression, spec.settings, str(e))
    except Exception as e:  # a bug or a kernel failure in one expression must not stop the batch
        return SimFailure(spec.expression, spec.settings, f"{type(e).__name__}: {e}")


def run_chunk(task: tuple[int, list[tuple[int, SimSpec]]]) -> list[tuple[int, SimResult | SimFailure]]:
    """In a worker: simulate one chunk, first emptying a cache filled before the pool's `clear_caches()`."""
    epoch, chunk = task
    state = _STATE
    assert state is not None, "a batch task outside a worker"
    if epoch != state.epoch:
        if state.cache is not None:
            state.cache.clear()
        state.epoch = epoch
    return [(i, run_one(state, s)) for i, s in chunk]


def worker_init(state: WorkerState, parent: int) -> None:
    """Workers take the state they were forked with, leave Ctrl-C and SIGTERM to the parent (which owns
    the run and its transaction), exit silently when `parent` dies (module doc), and drop the free heap
    inherited from the parent instead of copying it on write (`sim.memory`)."""
    global _STATE, _PARENT
    _STATE = state
    _drop_inherited_compiler_lock()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _PARENT = parent
    if PARENT_GONE_SIGNAL is not None:
        signal.signal(PARENT_GONE_SIGNAL, _on_parent_death_signal)
        _request_parent_death_signal(PARENT_GONE_SIGNAL)
    if _parent_gone():  # it died before the request took effect: no signal will come
        os._exit(0)
    release_inherited_heap()


def _drop_inherited_compiler_lock() -> None:
    """In a fresh worker: release numba's compiler lock, which `ForkPool._checkout` held at the fork
    (module doc); a replacement worker forked by the pool's own thread has nothing to release."""
    lock: Any = global_compiler_lock._lock
    while lock._is_owned():
        lock.release()


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


class QuietPool(multiprocessing.pool.Pool):
    """`multiprocessing.pool.Pool` whose workers are `_QuietWorker`s (fork start method), and whose
    worker-handler thread waits only for a worker's exit or the pool's own notifier. The stock one
    also waits for the result pipe to be readable, so while results queue up (the result thread
    waiting for the GIL, a server's threads busy) it spins: ~5,000 wake-ups for 10 batches of 10,
    measured."""

    @staticmethod
    def Process(ctx: Any, *args: Any, **kwds: Any) -> Any:
        return _QuietWorker(*args, **kwds)

    def _get_sentinels(self) -> list[Any]:
        return [self._change_notifier._reader]  # type: ignore[attr-defined]

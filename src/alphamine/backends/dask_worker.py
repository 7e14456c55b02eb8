"""The code that runs *in* a Dask worker process for `alphamine.backends.dask.DaskBackend`.

Why a module of its own: Dask pickles task functions by reference (module + name), so what a worker
runs must live in an importable module; and what a worker keeps between tasks (its panel, its
sub-expression caches, its counters) must live in module globals of that process.

What a worker keeps, and why:
- the panel, opened memory-mapped **once per process** from a panel-cache directory
  (`alphamine.data.cache`) and keyed by its fingerprint: every later task reuses it, so the panel never
  travels with a task. The directory is either one all workers see (a shared filesystem; the default
  on one machine) or this worker's own copy written by `PanelUpload` (a `WorkerPlugin` the backend
  registers once; Dask hands it to every current and future worker). The manifest's fingerprint is
  trusted like its catalogue (checked against the fingerprint the task names), so no worker hashes
  the whole panel: on a network filesystem that would read every page of it;
- one `SubexpressionCache` per worker thread (the cache is not thread-safe; with the recommended one
  thread per worker process that is one cache per process, as in the fork pool), kept across tasks
  and emptied when the backend's cache epoch changes (`DaskBackend.clear_caches`). A task is a batch
  of specs, so neighbouring (similar) expressions of one batch share the cache;
- counters (`stats()`): panel opens, batches started and running, specs simulated, the expressions
  being simulated now; tests and the benchmark fetch them with `client.run`.

Contract: `run_batch` returns exactly what `alphamine.sim.workers.run_one` returns for each spec (a
`SimResult` or a located `SimFailure`; an expression's failure never raises), so results are
bit-identical to `LocalBackend`. It raises only for infrastructure (`PanelUnavailable`), which the
backend's `retries=` and the scheduler's rescheduling handle.

Imports `distributed` at module level (for `WorkerPlugin`): only `backends.dask` imports this module,
and only once the optional extra is known to be installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

from alphamine.data.cache import MANIFEST, open_panel
from alphamine.data.cache_manifest import read_manifest
from alphamine.data.errors import DataError
from alphamine.data.panel import Panel
from alphamine.sim.evaluate import SubexpressionCache
from alphamine.sim.memory import retain_freed_memory
from alphamine.sim.outcomes import SimFailure, SimSpec
from alphamine.sim.result import SimResult
from alphamine.sim.workers import WorkerState, run_one

MAX_PANELS = 2
"""Panels a worker keeps open at once (a long-lived cluster serving runs on different data)."""

_LOCK = threading.Lock()
_PANELS: OrderedDict[str, Panel] = OrderedDict()  # fingerprint -> the panel opened in this process
_UPLOADED: dict[str, str] = {}  # fingerprint -> this worker's own copy of the cache (PanelUpload)
_COUNTS = {"opens": 0, "batches": 0, "specs": 0, "running": 0}
_CURRENT: dict[int, str] = {}  # thread id -> the expression it is simulating now
_THREAD = threading.local()  # .state: WorkerState with this thread's cache; .epoch: its cache epoch
_MEMORY_POLICY = False


class PanelUnavailable(RuntimeError):
    """This worker can see neither the panel-cache directory nor an uploaded copy of it."""


def _manifest_fingerprint(directory: Path) -> str | None:
    try:
        fp = read_manifest(directory).get("fingerprint")
    except DataError:
        return None
    return str(fp) if fp else None


def sees_panel(directory: str, fingerprint: str) -> bool:
    """In a worker (`client.run`): this process can open the panel `fingerprint` from `directory` or
    from an uploaded copy. The backend asks every worker at start-up to choose shared or upload."""
    if fingerprint in _UPLOADED:
        return True
    return _manifest_fingerprint(Path(directory)) == fingerprint


def worker_panel(directory: str, fingerprint: str) -> Panel:
    """The panel `fingerprint`, opened memory-mapped on this process's first task that needs it (an
    uploaded copy first, else `directory`) and kept for the next ones (module doc)."""
    with _LOCK:
        panel = _PANELS.get(fingerprint)
        if panel is not None:
            _PANELS.move_to_end(fingerprint)
            return panel
        where = Path(_UPLOADED.get(fingerprint, directory))
        found = _manifest_fingerprint(where)
        if found != fingerprint:
            what = "is not a panel cache" if found is None else f"holds panel {found[:12]}"
            raise PanelUnavailable(
                f"Dask worker pid {os.getpid()}: {where} {what}, expected panel {fingerprint[:12]}; put the "
                "panel cache on a filesystem every worker mounts at the same path, or use transfer='upload'"
            )
        panel = open_panel(where, mmap=True)
        panel._fingerprint = fingerprint  # the manifest's, trusted (module doc): no full-panel hash here
        _PANELS[fingerprint] = panel
        while len(_PANELS) > MAX_PANELS:
            _PANELS.popitem(last=False)
        _COUNTS["opens"] += 1
        return panel


def _thread_state(panel: Panel, cache_bytes: int, epoch: int) -> WorkerState:
    """This thread's `WorkerState` over `panel`: its cache survives tasks of the same epoch and panel."""
    state: WorkerState | None = getattr(_THREAD, "state", None)
    if state is None or state.panel is not panel or state.cache_bytes != cache_bytes:
        state = WorkerState(panel, None, cache_bytes, SubexpressionCache(cache_bytes), epoch)
        _THREAD.state = state
    elif state.epoch != epoch:
        if state.cache is not None:
            state.cache.clear()
        state.epoch = epoch
    return state


def _apply_memory_policy() -> None:
    """Once per process: keep freed heap memory mapped (`sim.memory.retain_freed_memory`), as the
    fork pool's parent does: a worker is a long-lived batch process, and fresh pages cost as much as
    the arithmetic at 3000 x 2520."""
    global _MEMORY_POLICY
    if not _MEMORY_POLICY:
        _MEMORY_POLICY = True
        retain_freed_memory()


def run_batch(
    directory: str,
    fingerprint: str,
    cache_bytes: int,
    epoch: int,
    retain_memory: bool,
    specs: Sequence[SimSpec],
) -> list[SimResult | SimFailure]:
    """A Dask task: simulate `specs` in order on the panel `fingerprint` with this thread's cache (module
    doc). Raises only `PanelUnavailable` (or an I/O error opening the panel)."""
    if retain_memory:
        _apply_memory_policy()
    panel = worker_panel(directory, fingerprint)
    state = _thread_state(panel, cache_bytes, epoch)
    with _LOCK:
        _COUNTS["batches"] += 1
        _COUNTS["running"] += 1
    me = threading.get_ident()
    try:
        out = []
        for spec in specs:
            _CURRENT[me] = spec.expression
            out.append(run_one(state, spec))
    finally:
        with _LOCK:
            _COUNTS["running"] -= 1
            _CURRENT.pop(me, None)
    with _LOCK:
        _COUNTS["specs"] += len(out)
    return out


def stats() -> dict[str, Any]:
    """In a worker (`client.run`): this process's pid, panel opens, batches started, specs simulated,
    batches running now and the expressions being simulated now (`current`: what to suspect when a
    worker hangs or dies)."""
    with _LOCK:
        return {"pid": os.getpid(), **_COUNTS, "current": sorted(_CURRENT.values())}


def read_cache_files(directory: Path) -> dict[str, bytes]:
    """Every file of a panel-cache directory (manifest and arrays), for `PanelUpload`."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


class PanelUpload(WorkerPlugin):
    """Ships a panel cache to workers that cannot see the directory: Dask sends the plugin, files and
    all, once to every worker, now and when one joins or restarts, never per task. `setup` writes the
    files into the worker's local directory (a temporary sibling renamed into place, so a reader never
    sees half a cache) and records where; `run_batch` then opens that copy.

    The scheduler keeps the plugin (the whole panel) in memory while it is registered: meant for
    panels of a few GB at most. Larger panels belong on a shared filesystem (docs/scaling.md)."""

    idempotent = True  # registering it again under the same name (same fingerprint) is a no-op

    def __init__(self, fingerprint: str, files: Mapping[str, bytes]) -> None:
        if MANIFEST not in files:
            raise ValueError(f"a panel upload needs the cache's {MANIFEST}")
        self.fingerprint = fingerprint
        self.files = dict(files)
        self.name = upload_name(fingerprint)

    def setup(self, worker: Any) -> None:
        base = Path(getattr(worker, "local_directory", None) or tempfile.gettempdir())
        target = base / f"alphamine-panel-{self.fingerprint[:16]}"
        if _manifest_fingerprint(target) != self.fingerprint:
            tmp = Path(tempfile.mkdtemp(prefix=".alphamine-panel-", dir=base))
            try:
                for name, data in self.files.items():
                    (tmp / name).write_bytes(data)
                if target.exists():
                    shutil.rmtree(target, ignore_errors=True)
                os.replace(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        with _LOCK:
            _UPLOADED[self.fingerprint] = str(target)

    def teardown(self, worker: Any) -> None:
        with _LOCK:
            path = _UPLOADED.pop(self.fingerprint, None)
            _PANELS.pop(self.fingerprint, None)
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


def upload_name(fingerprint: str) -> str:
    """The plugin name of the upload of panel `fingerprint` (one registration per panel)."""
    return f"alphamine-panel-{fingerprint}"

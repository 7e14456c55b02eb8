"""`DaskBackend`: the `Backend` protocol over a Dask cluster (`dask.distributed`, the optional extra
`alphamine[dask]`): a scheduler somewhere (`scheduler="tcp://HOST:8786"`) or a `LocalCluster` of N
worker processes this backend starts (`local_workers=N`) and stops at `close()`.

Why it looks the way it does:
- **The panel reaches each worker once, never per task.** It is saved once as a panel cache
  (`alphamine.data.cache`: .npy files + manifest; a panel already memory-mapped from a cache is used
  where it lies) and every worker process opens it memory-mapped on its first task and keeps it
  (`backends.dask_worker`). At start-up every worker is asked whether it sees the directory
  (`transfer="auto"`): all do (one machine, or a shared filesystem mounted at the same path) -> tasks
  name the directory; otherwise the files are shipped once per worker as a `WorkerPlugin`
  (`dask_worker.PanelUpload`, also given to workers that join or restart later). A task carries only
  its specs (~200 bytes each) and returns its outcomes.
- **Tasks are batches of specs** (`batch_size`, default: a quarter of an even share per worker thread,
  at most 64), in the fork pool's deterministic order (delay, universe, position), so similar
  neighbouring expressions share a worker's sub-expression cache.
- **Lost workers cost time, never results.** The scheduler re-runs a task whose worker died (process
  killed, OOM, machine gone); `retries=` re-runs one that raised (e.g. an I/O error reading the
  panel). Each task's outcomes are taken once, so a spec is answered exactly once per call and the
  pipeline, which commits per batch, stores each result once. A task whose workers keep dying
  (`KilledWorker`: by default 4 deaths, typically an expression exhausting memory) is split into
  one-spec tasks, and a spec whose one-spec task is given up on twice (`SOLO_ATTEMPTS`) becomes that
  spec's `SimFailure`: one poisonous expression never sinks a batch or a run.
- **Bit-identical to `LocalBackend`**: a worker runs the same `sim.workers.run_one` on the same
  arrays, so `name` is "local": the store keys results by the engine that computed them, and this is
  the local engine. Results are shared with local runs, and a run's `gate`, `report` and `resume`
  (which look results up under "local" when no backend is given) find them.
- `import dask` happens only here and in `dask_worker` (both imported only when the backend is
  used): alphamine works without the extra; a missing one is `DaskUnavailable` with the pip command.

Workers must run the same alphamine version (tasks are pickled by reference to
`alphamine.backends.dask_worker`). One thread per worker process is recommended
(`dask worker --nthreads 1 --nworkers N`): the simulator is numpy/numba code that holds the GIL for
much of its time, and each worker thread keeps its own sub-expression cache of `cache_bytes`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alphamine.backends.base import Outcome, Progress
from alphamine.backends.local import DEFAULT_REGION, PanelOffer
from alphamine.data.cache import MANIFEST, open_panel, save_panel
from alphamine.data.cache_manifest import read_manifest
from alphamine.data.errors import DataError
from alphamine.data.panel import Panel
from alphamine.sim.batch import DEFAULT_CACHE_BYTES
from alphamine.sim.outcomes import SimFailure, SimSpec

DEFAULT_RETRIES = 2
"""Re-runs of a task that raised (not of one whose worker died: the scheduler re-runs those)."""
MAX_TASK_SPECS = 64
TASKS_PER_THREAD = 4
SOLO_ATTEMPTS = 2
"""One-spec tasks the scheduler gives up on (`KilledWorker`) before the spec is failed: the second
attempt spares a spec that was only queued behind the culprit on the dying worker (the scheduler
counts every task assigned to a dead worker, not only the one running)."""
TRANSFERS = ("auto", "shared", "upload")


class DaskUnavailable(ImportError):
    """The optional extra is not installed."""


def require_distributed() -> Any:
    """`dask.distributed`, or `DaskUnavailable` saying how to install it."""
    try:
        import distributed
    except ImportError as e:
        raise DaskUnavailable(f"the dask backend needs the extra: pip install 'alphamine[dask]' ({e})") from None
    return distributed


def mapped_cache_dir(panel: Panel) -> Path | None:
    """The panel-cache directory `panel` is memory-mapped from (`open_panel`, e.g. the bundled sample's
    disk cache) when its manifest names this panel's fingerprint; else None."""
    arrays = list(panel.matrices.values())[:1]
    base: Any = arrays[0] if arrays else None
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    filename = getattr(base, "filename", None)
    if not filename:
        return None
    directory = Path(filename).parent
    return directory if _fingerprint_of(directory) == panel.fingerprint() else None


def _fingerprint_of(directory: Path) -> str | None:
    try:
        fp = read_manifest(directory).get("fingerprint")
    except DataError:
        return None
    return str(fp) if fp else None


def panel_cache_dir(panel: Panel, cache_dir: str | Path | None) -> tuple[Path, bool]:
    """(directory holding `panel` as a panel cache, whether this backend owns it). Reuses the cache the
    panel is mapped from, else `cache_dir/<fingerprint>` (written once, kept for later runs), else a
    temporary directory the backend removes at close."""
    existing = mapped_cache_dir(panel)
    if existing is not None:
        return existing, False
    if cache_dir is not None:
        target = Path(cache_dir).resolve() / panel.fingerprint()
        if _fingerprint_of(target) != panel.fingerprint():
            save_panel(panel, target)  # atomic: a concurrent writer of the same panel is harmless
        return target, False
    return save_panel(panel, Path(tempfile.mkdtemp(prefix="alphamine-dask-")) / "panel"), True


class DaskBackend(PanelOffer):
    """Simulations on a Dask cluster over one panel (module doc).

    `panel`: a `Panel`, or the path of a panel-cache directory (opened memory-mapped here too).
    `scheduler`: a scheduler address; else `local_workers` processes (default: all cores) in a
    `LocalCluster` started now (one thread each, no per-worker memory limit: the mapped panel counts
    in every worker's RSS and would trip Dask's pause thresholds; the fork pool has none either).
    `batch_size`: specs per task (None: automatic). `cache_bytes`: each worker thread's sub-expression
    cache budget. `cache_dir`: where to save a panel that is not already a cache (None: a temporary
    directory). `transfer`: "auto", "shared" (workers must see the directory) or "upload".
    `worker_timeout`: seconds to wait for a first worker. `retain_memory`: workers keep freed memory
    mapped (`sim.memory.retain_freed_memory`)."""

    name = "local"  # the engine, not the executor (module doc)
    kind = "dask"

    def __init__(
        self,
        panel: Panel | str | Path,
        *,
        scheduler: str | None = None,
        local_workers: int | None = None,
        batch_size: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        cache_dir: str | Path | None = None,
        transfer: str = "auto",
        retries: int = DEFAULT_RETRIES,
        region: str | None = None,
        dashboard_address: str | None = ":8787",
        worker_timeout: float = 60.0,
        retain_memory: bool = True,
    ) -> None:
        if scheduler is not None and local_workers is not None:
            raise ValueError("give a scheduler address or a number of local workers, not both")
        if local_workers is not None and local_workers < 1:
            raise ValueError(f"local_workers must be >= 1 (got {local_workers})")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
        if transfer not in TRANSFERS:
            raise ValueError(f"transfer must be one of {', '.join(TRANSFERS)} (got {transfer!r})")
        self._dist = require_distributed()
        self.batch_size, self.cache_bytes, self.retries = batch_size, cache_bytes, retries
        self.retain_memory = retain_memory
        self._closed, self._epoch, self._lock = False, 0, threading.Lock()
        self._owned_dir: Path | None = None
        self._plugin: str | None = None
        self.cluster: Any = None
        self.client: Any = None
        if isinstance(panel, Panel):
            self.panel = panel
            self.directory, owned = panel_cache_dir(panel, cache_dir)
            self._owned_dir = self.directory.parent if owned else None
        else:
            self.directory = Path(panel).resolve()
            self.panel = open_panel(self.directory)
            fp = _fingerprint_of(self.directory)
            if fp is None:
                raise DataError(f"{self.directory / MANIFEST}: the manifest names no fingerprint")
            self.panel._fingerprint = fp  # trusted like the catalogue, as the workers do
        self._fingerprint = self.panel.fingerprint()
        self.region = (region or getattr(self.panel, "region", None) or DEFAULT_REGION).upper()
        try:
            self._connect(scheduler, local_workers, dashboard_address)
            self.transfer = self._place_panel(transfer, worker_timeout)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ cluster and panel
    def _connect(self, scheduler: str | None, local_workers: int | None, dashboard_address: str | None) -> None:
        dist = self._dist
        if scheduler is not None:
            self.client = dist.Client(scheduler, set_as_default=False)
            return
        self.cluster = dist.LocalCluster(
            n_workers=local_workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            memory_limit=0,
            dashboard_address=dashboard_address,
            silence_logs=logging.ERROR,
        )
        self.client = dist.Client(self.cluster, set_as_default=False)

    def _place_panel(self, transfer: str, worker_timeout: float) -> str:
        """Ask every worker whether it sees the panel cache; ship it once per worker where needed."""
        from alphamine.backends import dask_worker as W

        try:
            self.client.wait_for_workers(1, timeout=worker_timeout)
        except TimeoutError:
            raise TimeoutError(f"no Dask worker joined {self.scheduler_address} within {worker_timeout:g} s") from None
        try:
            seen: dict[str, bool] = self.client.run(W.sees_panel, str(self.directory), self._fingerprint)
        except Exception as e:
            raise RuntimeError(
                f"the Dask workers cannot run alphamine's tasks ({type(e).__name__}: {e}); install the same "
                "alphamine (with the dask extra) on every worker"
            ) from e
        blind = sorted(addr for addr, ok in seen.items() if not ok)
        if transfer == "shared" and blind:
            raise RuntimeError(f"Dask workers {', '.join(blind[:3])} cannot see the panel cache {self.directory}")
        if transfer == "upload" or (transfer == "auto" and blind):
            plugin = W.PanelUpload(self._fingerprint, W.read_cache_files(self.directory))
            self.client.register_plugin(plugin, name=plugin.name)
            self._plugin = plugin.name
            return "upload"
        return "shared"

    # ------------------------------------------------------------------ what this backend offers
    def fingerprint(self) -> str | None:
        return self._fingerprint

    def checks(self, alpha_id: str) -> list[dict[str, Any]] | None:
        return None

    @property
    def scheduler_address(self) -> str:
        return str(self.client.scheduler.address) if self.client is not None else "(not connected)"

    @property
    def dashboard_link(self) -> str | None:
        """The Dask dashboard's URL, or None where the scheduler serves none (it needs `bokeh`)."""
        if self.client is None:
            return None
        try:
            info = self.client.scheduler_info(n_workers=0)
        except TypeError:  # older distributed: no n_workers
            info = self.client.scheduler_info()
        if "dashboard" not in info.get("services", {}):
            return None
        return str(self.client.dashboard_link) or None

    def n_threads(self) -> int:
        """Worker threads the cluster has now."""
        return max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        """One line for the console: where, how many workers, how the panel travels, the dashboard."""
        where = f"LocalCluster at {self.scheduler_address}" if self.cluster is not None else self.scheduler_address
        link = self.dashboard_link or "none (the scheduler needs bokeh for one)"
        return (f"Dask {where}: {len(self.client.nthreads())} workers, panel {self.transfer} from "
                f"{self.directory}; dashboard: {link}")  # fmt: skip

    # ------------------------------------------------------------------ simulation
    def task_size(self, n_specs: int) -> int:
        """Specs per task for a call of `n_specs` (`batch_size`, else automatic: module doc)."""
        if self.batch_size:
            return self.batch_size
        return max(1, min(MAX_TASK_SPECS, math.ceil(n_specs / (self.n_threads() * TASKS_PER_THREAD))))

    def _submit(self, specs: list[SimSpec]) -> Any:
        from alphamine.backends.dask_worker import run_batch

        args = (str(self.directory), self._fingerprint, self.cache_bytes, self._epoch, self.retain_memory, specs)
        return self.client.submit(run_batch, *args, retries=self.retries, pure=False)

    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        """Every spec simulated on the cluster, outcomes in the order of `specs`, each spec answered once
        (module doc). `progress(done, total, outcome)` is called in this thread as tasks finish. Raises
        what a task raised after its retries (a worker that cannot open the panel)."""
        if self._closed:
            raise RuntimeError("DaskBackend is closed")
        items = list(specs)
        total = len(items)
        results: list[Outcome | None] = [None] * total
        if not items:
            return []
        order = sorted(range(total), key=lambda i: (items[i].settings.delay, items[i].settings.universe, i))
        size = self.task_size(total)
        pending: dict[Any, list[int]] = {}
        finished = self._dist.as_completed(loop=self.client.loop)
        for k in range(0, total, size):
            group = order[k : k + size]
            future = self._submit([items[i] for i in group])
            pending[future] = group
            finished.add(future)
        done, solo = 0, dict[int, int]()  # solo: one-spec tasks given up by the scheduler, per spec
        try:
            for future in finished:
                group = pending.pop(future)
                try:
                    outcomes = future.result()
                except self._dist.KilledWorker as e:
                    if len(group) == 1:
                        solo[group[0]] = solo.get(group[0], 0) + 1
                    if len(group) > 1 or solo[group[0]] < SOLO_ATTEMPTS:  # isolate, or a second chance
                        for i in group:
                            single = self._submit([items[i]])
                            pending[single] = [i]
                            finished.add(single)
                        continue
                    spec = items[group[0]]
                    outcomes = [SimFailure(spec.expression, spec.settings, f"its Dask worker died each time it "
                                           f"ran (out of memory?): {str(e).splitlines()[0][:200]}")]  # fmt: skip
                for i, outcome in zip(group, outcomes, strict=True):
                    results[i] = outcome
                    done += 1
                    if progress is not None:
                        progress(done, total, outcome)
        finally:
            if pending:  # an error or Ctrl-C: nothing keeps computing for this call
                self.client.cancel(list(pending))
        return [r for r in results if r is not None]

    def clear_caches(self) -> None:
        """Workers empty their sub-expression caches before their next task (for measurements)."""
        with self._lock:
            self._epoch += 1

    def worker_pids(self) -> dict[str, int]:
        """{worker address: process id} of the workers now."""
        return dict(self.client.run(os.getpid))

    def worker_stats(self) -> dict[str, dict[str, Any]]:
        """{worker address: `dask_worker.stats()`}: pid, panel opens, batches, specs, what runs now."""
        from alphamine.backends.dask_worker import stats

        return dict(self.client.run(stats))

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Unregister the panel upload, disconnect, stop a `LocalCluster` this backend started and remove
        a temporary panel cache. Idempotent; the backend refuses work after."""
        if self._closed:
            return
        self._closed = True
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            if self._plugin is not None:
                with contextlib.suppress(Exception):  # the cluster may be gone already
                    client.unregister_worker_plugin(self._plugin)
            client.close()
        if cluster is not None:
            cluster.close()
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)

    def __enter__(self) -> DaskBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.scheduler_address if self.client is not None else "closed"
        return f"DaskBackend({self.panel.name or 'panel'!r}, {where}, region={self.region!r})"

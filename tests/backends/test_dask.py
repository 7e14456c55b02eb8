"""DaskBackend on a real 2-worker LocalCluster (separate processes, loopback only): the same numbers as
LocalBackend, the panel opened once per worker, a SIGKILLed worker's task re-run with every spec
answered once, and a mining run that stores each result once although a worker died during it."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("distributed", reason="the dask backend needs the optional extra: pip install 'alphamine[dask]'")

from rich.console import Console

from alphamine.backends import Backend, LocalBackend
from alphamine.backends.dask import DaskBackend
from alphamine.data.cache import save_panel
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.pipeline.reporting import SIMULATED
from alphamine.sim.batch import SimFailure, SimSpec
from alphamine.sim.bench import BENCH_EXPRESSIONS
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from alphamine.store import Store

N, T = 300, 1000  # ~30 ms a simulation: a 16-spec task runs long enough to be killed mid-way


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(N, T)


@pytest.fixture(scope="module")
def backend(panel: Panel) -> Iterator[DaskBackend]:
    with DaskBackend(panel, local_workers=2, dashboard_address=":0") as b:
        yield b


def _specs(panel: Panel) -> list[SimSpec]:
    """~30 specs: the bench's alphas under the base settings, others under varied settings, two failures."""
    top, small = sorted(panel.universes, key=lambda u: -int(u[3:]))[:2]
    base = make_settings({"universe": top})
    varied = [
        {"decay": 3, "neutralization": "SECTOR"},
        {"delay": 0},
        {"universe": small, "truncation": 0.05},
        {"neutralization": "NONE", "decay": 5},
    ]
    out = [SimSpec(e, base) for e in BENCH_EXPRESSIONS[:22]]
    out += [SimSpec(e, base.with_(**v)) for e, v in zip(BENCH_EXPRESSIONS[22:], varied * 2, strict=False)]
    return [*out, SimSpec("nosuchfield + 1", base), SimSpec("rank(close", base)]


@pytest.fixture(scope="module")
def reference(panel: Panel) -> list[SimResult | SimFailure]:
    with LocalBackend(panel, workers=2) as local:
        return local.simulate_many(_specs(panel))


def _same(a: SimResult | SimFailure, b: SimResult | SimFailure) -> None:
    assert type(a) is type(b)
    if isinstance(a, SimFailure):
        assert isinstance(b, SimFailure) and a.error == b.error and a.expression == b.expression
        return
    assert isinstance(b, SimResult)
    assert np.array_equal(a.daily_pnl, b.daily_pnl)  # bit-identical, NaNs in the same places
    assert a.metrics == b.metrics and a.checks == b.checks and a.yearly_rows == b.yearly_rows
    assert a.data_fingerprint == b.data_fingerprint
    assert a.to_json() == b.to_json()


def _kill_when_running(b: DaskBackend, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the first worker process caught in the middle of a task (polling its counters)."""
    while not stop.is_set():
        for s in b.worker_stats().values():
            if s["running"] > 0:
                os.kill(s["pid"], signal.SIGKILL)
                killed.append(s["pid"])
                return
        time.sleep(0.01)


def test_protocol_and_descriptors(backend: DaskBackend, panel: Panel) -> None:
    assert isinstance(backend, Backend)
    assert backend.name == "local"  # the local engine: its results key the store like LocalBackend's
    assert backend.kind == "dask"
    assert backend.catalogue() is panel.catalogue
    assert backend.universes() == LocalBackend(panel, workers=1).universes()
    assert backend.regions() == ["USA"]
    assert backend.fingerprint() == panel.fingerprint()
    assert backend.checks("x") is None
    assert backend.transfer == "shared"  # one machine: the workers see the panel cache
    assert len(backend.worker_pids()) == 2
    link = backend.dashboard_link
    assert link is None or link.startswith("http")
    assert "2 workers" in backend.describe()
    with pytest.raises(ValueError, match="not both"):
        DaskBackend(panel, scheduler="tcp://127.0.0.1:1", local_workers=2)
    with pytest.raises(ValueError, match="transfer"):
        DaskBackend(panel, local_workers=1, transfer="ftp")


def test_identical_to_local_backend_and_panel_opened_once(backend: DaskBackend, panel: Panel, reference) -> None:
    specs = _specs(panel)
    seen: list[tuple[int, int]] = []
    got = backend.simulate_many(specs, progress=lambda done, total, _o: seen.append((done, total)))
    assert len(got) == len(specs)
    for a, b in zip(reference, got, strict=True):
        _same(a, b)
    assert isinstance(got[-2], SimFailure) and "nosuchfield" in got[-2].error
    assert [d for d, _ in seen] == list(range(1, len(specs) + 1))
    again = backend.simulate_many(specs[:5])  # a second call: the workers keep their panel
    for a, b in zip(reference[:5], again, strict=True):
        _same(a, b)
    stats = backend.worker_stats()
    assert [s["opens"] for s in stats.values()] == [1, 1]  # once per worker process, never per task
    assert sum(s["batches"] for s in stats.values()) >= 3
    assert sum(s["specs"] for s in stats.values()) == len(specs) + 5
    assert backend.simulate_many([]) == []


def test_killed_worker_task_is_rerun_and_every_spec_answered_once(
    backend: DaskBackend, panel: Panel, reference
) -> None:
    specs = _specs(panel)
    backend.batch_size = 16  # two long tasks: one is running when the worker dies
    before = set(backend.worker_pids().values())
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_when_running, args=(backend, killed, stop), daemon=True)
    answered: Counter[int] = Counter()
    done_counts: list[int] = []

    def progress(done: int, total: int, outcome: SimResult | SimFailure) -> None:
        answered[id(outcome)] += 1
        done_counts.append(done)

    killer.start()
    try:
        got = backend.simulate_many(specs, progress=progress)
    finally:
        stop.set()
        killer.join()
        backend.batch_size = None
    assert killed and killed[0] in before, "no worker was caught mid-task"
    assert len(got) == len(specs) and done_counts == list(range(1, len(specs) + 1))
    assert set(answered.values()) == {1}
    for a, b in zip(reference, got, strict=True):
        _same(a, b)
    deadline = time.monotonic() + 30
    while len(backend.worker_pids()) < 2 and time.monotonic() < deadline:  # the nanny restarts the worker
        time.sleep(0.1)
    pids = set(backend.worker_pids().values())
    assert killed[0] not in pids and len(pids) == 2


def test_upload_transfer_and_a_cache_directory(panel: Panel, reference, tmp_path: Path) -> None:
    """A panel-cache directory as the source, shipped to the worker as a plugin (as for workers that
    cannot see the directory): the worker opens its own copy, once, and the numbers are the same."""
    directory = save_panel(panel, tmp_path / "cache")
    with DaskBackend(directory, local_workers=1, transfer="upload", dashboard_address=":0") as b:
        assert b.transfer == "upload" and b.fingerprint() == panel.fingerprint()
        got = b.simulate_many(_specs(panel)[:6])
        for a, c in zip(reference[:6], got, strict=True):
            _same(a, c)
        (stats,) = b.worker_stats().values()
        assert stats["opens"] == 1
    assert directory.exists()  # a cache this backend did not write is left alone


def test_existing_scheduler(backend: DaskBackend, panel: Panel, reference) -> None:
    """`scheduler=`: a second backend on the running cluster; closing it leaves the cluster up."""
    with DaskBackend(panel, scheduler=backend.scheduler_address) as remote:
        assert remote.cluster is None and remote.transfer == "shared"
        for a, b in zip(reference[:4], remote.simulate_many(_specs(panel)[:4]), strict=True):
            _same(a, b)
    assert len(backend.worker_pids()) == 2


def _config() -> RunConfig:
    settings = make_settings({"universe": f"TOP{N}", "decay": 2})
    return RunConfig(
        seed=3, settings=settings.to_brain(), data=DataSource(kind="synthetic", n_instruments=N, n_days=T),
        max_iterations=1, target_ready=50, candidates_per_iteration=16, max_variant_alphas=1,
        max_variants_per_alpha=2, max_enhance_alphas=1, workers=1, batch_size=8,
    )  # fmt: skip


def _summary(store: Store, run_id: str) -> list[tuple[Any, ...]]:
    rows = store.candidates(run_id=run_id)
    results = store.results_for([r.id for r in rows])
    return sorted(
        (
            r.expression,
            r.settings_key,
            r.status,
            float(results[r.id].metrics["is"]["sharpe"]) if r.id in results else None,
        )
        for r in rows
    )


def test_mining_run_with_a_killed_worker_stores_each_result_once(
    backend: DaskBackend, panel: Panel, tmp_path: Path
) -> None:
    quiet = Console(quiet=True)
    backend.batch_size = 8  # a committed batch is one task, long enough to be killed in
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_when_running, args=(backend, killed, stop), daemon=True)
    killer.start()
    try:
        out = start_run(_config(), runtime_root=tmp_path / "d", run_id="d1", console=quiet, quiet=True,
                        panel=panel, backend=backend)  # fmt: skip
    finally:
        stop.set()
        killer.join()
        backend.batch_size = None
    assert out.status == "finished"
    assert killed, "no worker was caught mid-task"
    local = start_run(_config(), runtime_root=tmp_path / "l", run_id="l1", console=quiet, quiet=True, panel=panel,
                      backend=LocalBackend(panel, workers=1))  # fmt: skip
    db = tmp_path / "d" / "alphamine.sqlite3"
    with Store.open(db) as store, Store.open(tmp_path / "l" / "alphamine.sqlite3") as ref_store:
        assert _summary(store, "d1") == _summary(ref_store, local.run_id)  # the same run, to the last bit
        rows = store.candidates(run_id="d1")
        simulated = [r for r in rows if r.status in SIMULATED]
        assert len(simulated) >= 8
        assert set(store.results_for([r.id for r in simulated])) == {r.id for r in simulated}
        batches = [t for t in store.tasks("d1") if t.kind == "simulate_batch"]
        assert {t.status for t in batches} == {"done"}
        per_candidate = Counter(c for t in batches for c in t.payload["candidates"])
        assert set(per_candidate.values()) == {1}  # every candidate in exactly one committed batch
    with sqlite3.connect(db) as conn:
        dupes = conn.execute(
            "SELECT expr_hash, settings_key, COUNT(*) FROM sim_results GROUP BY 1, 2 HAVING COUNT(*) > 1"
        ).fetchall()
        backends = {b for (b,) in conn.execute("SELECT DISTINCT backend FROM sim_results")}
    assert dupes == [] and backends == {"local"}


def test_cli_options_and_building_from_a_stored_config(backend: DaskBackend, panel: Panel, tmp_path: Path) -> None:
    import typer

    from alphamine.cli.dask_options import build_dask_backend, dask_backend_options, normalize_scheduler

    assert normalize_scheduler("10.0.0.5") == "tcp://10.0.0.5:8786"
    assert normalize_scheduler(" tls://head:9000 ") == "tls://head:9000"
    opts = dask_backend_options("dask", None, 2, None, None)
    assert opts == {"backend": "dask", "dask": {"scheduler": None, "local_workers": 2, "batch_size": None},
                    "batch_size": 32, "max_sim_alphas": None}  # fmt: skip
    assert dask_backend_options("dask", "head", None, 64, 10)["dask"]["scheduler"] == "tcp://head:8786"
    assert dask_backend_options("dask", "head", None, None, None)["batch_size"] == 256
    for bad in (
        lambda: dask_backend_options("local", "head", None, None, None),
        lambda: dask_backend_options("dask", "head", 2, None, None),
        lambda: dask_backend_options("dask", None, None, None, None, platform_options=("https://x", None)),
        lambda: normalize_scheduler("http://head:8786"),
        lambda: normalize_scheduler("tcp://head:port"),
    ):
        with pytest.raises(typer.Exit):
            bad()
    # a stored run whose data is a panel-cache directory, on an existing scheduler: no copy is made
    directory = save_panel(panel, tmp_path / "cache")
    config = RunConfig(data=DataSource(kind="file", path=str(directory)))
    dask = SimpleNamespace(scheduler=backend.scheduler_address, local_workers=None, batch_size=4)
    stored = SimpleNamespace(data=config.data, backend="dask", dask=dask)  # RunConfig's fields of a dask run
    with build_dask_backend(stored, tmp_path / "root", announce=False) as b:
        assert b.directory == directory.resolve() and b.batch_size == 4 and b.cluster is None
        assert not (tmp_path / "root").exists()


POISON = " + ".join(
    f"ts_rank(ts_corr(rank(open), rank(volume), {w}), {w}) + ts_rank(ts_covariance(close, volume, {w + 30}), {w + 30})"
    f" + ts_skewness(returns, {w + 80}) + ts_rank(ts_corr(rank(high), rank(low), {w + 10}), {w + 10})"
    for w in (100, 110, 120, 130, 140, 150)
)  # a slow spec (seconds here, so a loaded machine's killer still catches it), killed each time it runs


def _kill_while_simulating(
    b: DaskBackend, expression: str, times: int, killed: list[int], stop: threading.Event
) -> None:
    """SIGKILL the worker simulating `expression`, each time it is caught at it, `times` times."""
    while not stop.is_set() and len(killed) < times:
        for s in b.worker_stats().values():
            if expression in s["current"] and s["pid"] not in killed:
                os.kill(s["pid"], signal.SIGKILL)
                killed.append(s["pid"])
        time.sleep(0.01)


def _run_killing(b: DaskBackend, specs: list[SimSpec], killer: Any, *args: Any) -> tuple[list[Any], list[int]]:
    """`b.simulate_many(specs)` while `killer(b, *args, killed, stop)` kills workers in a thread."""
    killed: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(target=killer, args=(b, *args, killed, stop), daemon=True)
    thread.start()
    try:
        return b.simulate_many(specs), killed
    finally:
        stop.set()
        thread.join()


def test_a_task_whose_worker_keeps_dying_is_split_then_failed_alone(panel: Panel, reference) -> None:
    """With no failure allowed (`allowed-failures` 0), one death makes the scheduler give up on a task
    (`KilledWorker`): a batch is then split into one-spec tasks and still answered in full; a spec whose
    own one-spec task is given up on twice becomes its `SimFailure`, and the backend stays usable."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        b = DaskBackend(panel, local_workers=2, dashboard_address=":0", batch_size=16)
    with b:
        specs = _specs(panel)
        got, killed = _run_killing(b, specs, _kill_when_running)
        assert killed
        for a, c in zip(reference, got, strict=True):
            _same(a, c)


@pytest.mark.skipif(not os.environ.get("ALPHAMINE_DASK_KILL_TESTS"),
                    reason="timing-dependent (the killer must catch the same spec twice); set "
                           "ALPHAMINE_DASK_KILL_TESTS=1 on an idle machine")
def test_a_spec_whose_worker_dies_twice_becomes_its_failure(panel: Panel, reference) -> None:
    """A spec whose own one-spec task is given up on twice becomes its `SimFailure`, and the backend
    stays usable."""
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        b = DaskBackend(panel, local_workers=2, dashboard_address=":0", batch_size=16)
    with b:
        specs = _specs(panel)
        (poisoned,), killed = _run_killing(b, [SimSpec(POISON, specs[0].settings)], _kill_while_simulating, POISON, 2)
        assert len(killed) == 2
        assert isinstance(poisoned, SimFailure) and "Dask worker died each time" in poisoned.error
        for a, c in zip(reference[:3], b.simulate_many(specs[:3]), strict=True):
            _same(a, c)

"""DaskBackend against LocalBackend on one machine, and on paper for 8/32/128 workers (issue 18).

A script, never a timed test. On a synthetic panel (default L = 3000 x 2520, the bench's; `--size S`
or `--size NxT` for others), one batch of `--n` distinct alphas (the bench's 30 with their windows
shifted, as `benchmarks/simulate_file.py` makes them), the bench's settings (INDUSTRY, decay 0,
truncation 0.08) on the panel's largest universe, is simulated by:
- `LocalBackend` with 1 and 2 workers (1 runs in this process; 2 forks workers kept between calls),
- `DaskBackend(local_workers=1|2)`: a LocalCluster of worker processes started by the backend, the
  panel saved once as a panel cache that the workers memory-map.
Every configuration first runs a warm-up batch (`--warm` alphas: forks or starts workers, loads the
numba cache, maps the panel), then its caches are emptied and the timed batch runs once (at L a
batch takes minutes; the load average at each phase is recorded, because this is a shared VM). With
`--interleave K` the two backends of a worker count are open together and the batch is cut into K
parts that they simulate in turn (who goes first alternates), so that other users' load on a shared
machine falls on both alike; each still simulates all n alphas, in K calls.
Also measured on the Dask cluster: the round-trip latency of an empty task (submit -> result, the
panel already open), the scheduler's rate on a burst of empty tasks, the pickled size of one result,
and the panel's bytes (all of it: what an upload ships per worker; the fields the batch reads: what
each worker pages in from a shared filesystem). The Dask numbers are checked bit-identical to
LocalBackend's.

The extrapolation to W workers (one core each), for the same batch:
  time(W) = max(compute, scheduler, results) + tail + latency,   compute = n * s / W   (s: seconds
  per alpha on one Dask worker, measured), scheduler = tasks / (measured burst rate), results = n *
  result bytes / client bandwidth (`--net-gbps`), tail = half a task (task size b = min(64,
  ceil(n / 4W)) alphas: on average a worker idles that long at the end; 0 for one worker),
and once per run (not per batch) the panel: with a shared filesystem, the fields the batch reads,
once per machine (`--workers-per-machine` share the page cache), at the filesystem's aggregate
bandwidth (`--fs-gbps`); uploaded, the whole panel once per worker through the scheduler's link.

Usage: .venv/bin/python benchmarks/dask_scaling.py [--size L] [--n 2000] [--warm 60] [--workers 1,2]
       [--interleave 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import pickle
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulate_file import distinct_expressions

from alphamine.backends.dask import MAX_TASK_SPECS, TASKS_PER_THREAD, DaskBackend
from alphamine.backends.dask_worker import run_batch
from alphamine.backends.local import LocalBackend
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.expr import fields_used, parse
from alphamine.sim.batch import SimFailure, SimSpec, clear_caches
from alphamine.sim.bench import BENCH_EXPRESSIONS, BENCH_SETTINGS, SIZES, warm_up
from alphamine.sim.memory import retain_freed_memory
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def panel_bytes(panel: Panel, expressions: list[str]) -> tuple[int, int]:
    """(every array of the panel, the arrays a batch of `expressions` reads: its fields, groups, universes)."""
    tables = (panel.matrices, panel.groups, panel.vectors, panel.universes)
    total = sum(int(a.nbytes) for t in tables for a in t.values())
    used: set[str] = set()
    for e in expressions:
        try:
            used |= set(fields_used(parse(e), panel.catalogue))
        except Exception:
            continue
    arrays = {**panel.matrices, **panel.groups, **panel.vectors}
    return total, sum(int(a.nbytes) for k, a in arrays.items() if k in used) + sum(
        int(a.nbytes) for a in panel.universes.values()
    )


def timed_local(panel: Panel, specs: list[SimSpec], workers: int, warm: int) -> tuple[dict[str, Any], list[Any]]:
    with LocalBackend(panel, workers=workers) as b:
        b.simulate_many(specs[:warm])
        clear_caches()
        load = _load()
        t0 = time.perf_counter()
        out = b.simulate_many(specs)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rate": len(specs) / seconds, "load_before": load, "load_after": _load()}, out


def task_overheads(b: DaskBackend, latency_tasks: int = 40, burst: int = 1000) -> dict[str, float]:
    """Empty tasks on warm workers: median round trip of one task at a time, and a burst's rate."""
    args = (str(b.directory), b.fingerprint(), b.cache_bytes, 0, False, [])
    trips = []
    for _ in range(latency_tasks):
        t0 = time.perf_counter()
        b.client.submit(run_batch, *args, pure=False).result()
        trips.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    futures = [b.client.submit(run_batch, *args, pure=False) for _ in range(burst)]
    b.client.gather(futures)
    burst_s = time.perf_counter() - t0
    return {"task_latency_ms": 1000 * float(np.median(trips)), "burst_tasks_per_s": burst / burst_s}


def timed_dask(
    panel: Panel, specs: list[SimSpec], workers: int, warm: int, cache_dir: Path
) -> tuple[dict[str, Any], list[Any]]:
    t0 = time.perf_counter()
    b = DaskBackend(panel, local_workers=workers, cache_dir=cache_dir, dashboard_address=":0")
    start = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        b.simulate_many(specs[:warm])
        warm_s = time.perf_counter() - t0
        b.clear_caches()
        load = _load()
        t0 = time.perf_counter()
        out = b.simulate_many(specs)
        seconds = time.perf_counter() - t0
        load_after = _load()
        overheads = task_overheads(b)
        stats = b.worker_stats()
    finally:
        b.close()
    size = min(MAX_TASK_SPECS, math.ceil(len(specs) / (workers * TASKS_PER_THREAD)))
    row = {"seconds": seconds, "rate": len(specs) / seconds, "start_seconds": start, "warm_seconds": warm_s,
           "tasks": math.ceil(len(specs) / size), "opens": [s["opens"] for s in stats.values()],
           "load_before": load, "load_after": load_after, **overheads}  # fmt: skip
    return row, out


def interleaved(
    panel: Panel, specs: list[SimSpec], workers: int, warm: int, slices: int, cache_dir: Path
) -> tuple[dict[str, Any], dict[str, Any], list[Any], list[Any]]:
    """Both backends open at once, the batch cut into `slices` consecutive parts simulated by one backend
    then the other (who goes first alternates): on a shared machine both see the same load over time.
    Each backend still simulates every alpha once, its caches emptied only before the first part."""
    with LocalBackend(panel, workers=workers) as lb:
        t0 = time.perf_counter()
        db = DaskBackend(panel, local_workers=workers, cache_dir=cache_dir, dashboard_address=":0")
        start = time.perf_counter() - t0
        try:
            lb.simulate_many(specs[:warm])
            db.simulate_many(specs[:warm])
            clear_caches()
            db.clear_caches()
            seconds = {"local": 0.0, "dask": 0.0}
            outs: dict[str, list[Any]] = {"local": [], "dask": []}
            loads = [_load()]
            step = math.ceil(len(specs) / slices)
            for k in range(0, len(specs), step):
                pair = [("local", lb), ("dask", db)]
                for name, b in pair if (k // step) % 2 == 0 else pair[::-1]:
                    t0 = time.perf_counter()
                    outs[name] += b.simulate_many(specs[k : k + step])
                    seconds[name] += time.perf_counter() - t0
                loads.append(_load())
            overheads = task_overheads(db)
            stats = db.worker_stats()
        finally:
            db.close()
    n = len(specs)
    local = {"seconds": seconds["local"], "rate": n / seconds["local"], "slices": slices, "loads": loads}
    dask = {"seconds": seconds["dask"], "rate": n / seconds["dask"], "slices": slices, "start_seconds": start,
            "opens": [s["opens"] for s in stats.values()], **overheads}  # fmt: skip
    return local, dask, outs["local"], outs["dask"]


def identical(a: list[Any], b: list[Any]) -> int:
    """How many outcomes differ (0: bit-identical)."""

    def same(x: Any, y: Any) -> bool:
        if type(x) is not type(y):
            return False
        if isinstance(x, SimFailure):
            return bool(x.error == y.error)
        return bool(np.array_equal(x.daily_pnl, y.daily_pnl) and x.metrics == y.metrics)

    return sum(not same(x, y) for x, y in zip(a, b, strict=True))


def on_paper(
    n: int, s: float, rate: float, latency: float, result_b: int, panel_b: int, used_b: int, net_gbps: float,
    fs_gbps: float, per_machine: int, counts: tuple[int, ...] = (1, 2, 8, 32, 128),
) -> list[dict[str, float]]:  # fmt: skip
    """The extrapolation of the module doc, one row per worker count."""
    rows = []
    for w in counts:
        b = min(MAX_TASK_SPECS, math.ceil(n / (w * TASKS_PER_THREAD)))
        tasks = math.ceil(n / b)
        compute, sched = n * s / w, tasks / rate
        results = n * result_b / (net_gbps * 1e9 / 8)
        tail = 0.5 * b * s if w > 1 else 0.0  # workers idle, on average, half a task at the end
        seconds = max(compute, sched, results) + tail + latency
        machines = math.ceil(w / per_machine)
        rows.append({"workers": w, "machines": machines, "task_size": b, "tasks": tasks, "compute_s": compute,
                     "scheduler_s": sched, "results_s": results, "tail_s": tail, "seconds": seconds,
                     "rate": n / seconds, "efficiency": compute / seconds,
                     "panel_shared_fs_s": machines * used_b / (fs_gbps * 1e9 / 8),
                     "panel_upload_s": w * panel_b / (net_gbps * 1e9 / 8)})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="L", help="S, L or NxT")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--warm", type=int, default=60)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--net-gbps", type=float, default=10.0)
    parser.add_argument("--fs-gbps", type=float, default=10.0)
    parser.add_argument("--workers-per-machine", type=int, default=16)
    parser.add_argument("--interleave", type=int, default=1, help="K > 1: alternate the backends over K parts")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    n_inst, n_days = SIZES[args.size] if args.size in SIZES else (int(x) for x in args.size.lower().split("x"))
    counts = [int(w) for w in args.workers.split(",")]
    exprs = distinct_expressions(args.n)
    retain_freed_memory()  # as the CLI does: the fork pool's workers inherit it; Dask workers set it themselves
    warm_up(BENCH_EXPRESSIONS)
    t0 = time.perf_counter()
    panel = synthetic(n_inst, n_days, seed=0)
    build = time.perf_counter() - t0
    settings = make_settings({**BENCH_SETTINGS, "universe": max(panel.universes, key=lambda u: int(u[3:]))})
    specs = [SimSpec(e, settings) for e in exprs]
    total_b, used_b = panel_bytes(panel, exprs)
    report: dict[str, Any] = {
        "date": str(dt.date.today()), "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "python": platform.python_version(), "size": [n_inst, n_days], "n": args.n, "panel_build_s": build,
        "panel_bytes": total_b, "used_bytes": used_b, "local": {}, "dask": {},
    }  # fmt: skip
    outs: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory(prefix="dask-bench-") as tmp:
        for w in counts:
            if args.interleave > 1:
                local, dask, outs[f"local{w}"], outs[f"dask{w}"] = interleaved(
                    panel, specs, w, args.warm, args.interleave, Path(tmp)
                )
                report["local"][w], report["dask"][w] = local, dask
            else:
                report["local"][w], outs[f"local{w}"] = timed_local(panel, specs, w, args.warm)
                report["dask"][w], outs[f"dask{w}"] = timed_dask(panel, specs, w, args.warm, Path(tmp))
            print(f"local {w}: {report['local'][w]}\ndask {w}: {report['dask'][w]}", flush=True)
    ok = [r for r in outs[f"dask{counts[-1]}"] if isinstance(r, SimResult)]
    report["result_bytes"] = int(np.mean([len(pickle.dumps(r)) for r in ok[:50]]))
    report["mismatches"] = {w: identical(outs[f"local{w}"], outs[f"dask{w}"]) for w in counts}
    top = max(counts)
    report["ratio"] = report["dask"][top]["rate"] / report["local"][top]["rate"]
    d1 = report["dask"][min(counts)]
    report["on_paper"] = on_paper(args.n, d1["seconds"] / args.n * min(counts), d1["burst_tasks_per_s"],
                                  d1["task_latency_ms"] / 1000, report["result_bytes"], total_b, used_b,
                                  args.net_gbps, args.fs_gbps, args.workers_per_machine)  # fmt: skip
    print(json.dumps(report, indent=1, default=str))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()

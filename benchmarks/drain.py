"""`alphamine worker --mode drain --refill-on-empty` throughput against `alphamine simulate --file` on the
same expressions and cores, plus the worker's RSS per batch (issue "Worker drain"; target ratio >= 0.7).

A script, never a timed test. On the bundled sample (505 stocks x 1259 days, TOP500):
1. a run is created with an empty queue (the store API, as `alphamine run` would, without its loop);
2. `alphamine worker --run-id X --mode drain --max-total-alphas N --refill-on-empty` is timed end to end
   as a user runs it (a subprocess: start-up, panel load, every GENERATE/INSPECT refill, simulation,
   DECIDE, commits); `--batch-log` records each batch's seconds and RSS;
3. the expressions the worker simulated are written to a file and `alphamine simulate --file` is timed
   end to end on them with the same `--workers` (one settings for all: the run's base settings; the
   worker's candidates rotate neutralization, which costs about the same).
The ratio is (worker alphas / s) / (simulate alphas / s). Where the worker's time goes: refills
(GENERATE + INSPECT + field factory), checkpoints, batches (simulate_rows + decide + claim commits) and
start-up, from the worker's JSON report and batch log, next to the baseline's end-to-end time.

Usage: .venv/bin/python benchmarks/drain.py [--n 1000] [--workers 2] [--batch-size 32] [--refills 40] [--repeats 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import load_panel
from alphamine.sim.settings import make_settings
from alphamine.store import Store

RUN = "drain-bench"
UNIVERSE = "TOP500"


def alphamine() -> str:
    return str(Path(sys.executable).parent / "alphamine")


def create_run(root: Path, workers: int, batch_size: int, per_refill: int) -> None:
    config = RunConfig(
        seed=11,
        settings=make_settings({"universe": UNIVERSE, "decay": 4, "neutralization": "INDUSTRY"}).to_brain(),
        data=DataSource(kind="sample"),
        workers=workers,
        batch_size=batch_size,
        candidates_per_iteration=per_refill,
    )
    with Store.open(root / "alphamine.sqlite3") as store:
        store.create_run(
            RUN, config=config.model_dump(mode="json"), seed=config.seed,
            data_fingerprint=load_panel(config.data).fingerprint(), runtime_root=str(root),
        )  # fmt: skip


def worker_command(root: Path, args: argparse.Namespace, log: Path) -> list[str]:
    """`alphamine worker` when the full tree has it, else the command module (same function)."""
    entry = [alphamine()]
    probe = subprocess.run([alphamine(), "worker", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        entry = [sys.executable, "-m", "alphamine.cli.worker_cmd"]
    return [
        *entry, "worker", "--run-id", RUN, "--runtime-root", str(root), "--mode", "drain",
        "--max-total-alphas", str(args.n), "--refill-on-empty", "--max-empty-refills", str(args.refills),
        "--optimize-every-alphas", str(args.optimize_every), "--workers", str(args.workers),
        "--batch-size", str(args.batch_size), "--batch-log", str(log), "--json", "--quiet",
    ]  # fmt: skip


def timed(cmd: list[str], out: Path) -> tuple[float, str]:
    with out.open("w") as fh:
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=True)
        return time.perf_counter() - t0, out.read_text()


def simulated_expressions(root: Path) -> list[str]:
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id=RUN)
        have = store.results_for([r.id for r in rows])
        return [r.expression for r in rows if r.id in have]


def one_pass(args: argparse.Namespace) -> tuple[float, dict[str, Any], list[dict[str, Any]], float, list[str]]:
    """(worker seconds, its report, its batch log, simulate seconds, the expressions) of a fresh run."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        create_run(root, args.workers, args.batch_size, args.per_refill)
        log = root / "batches.jsonl"
        t_worker, text = timed(worker_command(root, args, log), root / "worker.out")
        report = json.loads(text.strip().splitlines()[-1])
        batches = [json.loads(line) for line in log.read_text().splitlines()]
        exprs = simulated_expressions(root)
        f = root / "exprs.txt"
        f.write_text("\n".join(exprs) + "\n", encoding="utf-8")
        sim_cmd = [
            alphamine(), "simulate", "--sample", "--universe", UNIVERSE, "--decay", "4", "--neutralization",
            "INDUSTRY", "--workers", str(args.workers), "--file", str(f), "--jsonl-out", str(root / "out.jsonl"),
        ]  # fmt: skip
        t_sim, _ = timed(sim_cmd, root / "simulate.out")
    return t_worker, report, batches, t_sim, exprs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="alphas the worker drains (--max-total-alphas)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--per-refill", type=int, default=250, help="candidates generated per refill")
    parser.add_argument("--refills", type=int, default=40, help="--max-empty-refills")
    parser.add_argument("--optimize-every", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved passes; the fastest of each is kept")
    args = parser.parse_args()
    passes = [one_pass(args) for _ in range(args.repeats)]
    t_worker, report, batches, _, _ = min(passes, key=lambda p: p[0])
    t_sim, exprs = min(p[3] for p in passes), passes[0][4]
    taken, n_sim = report["taken"], len(exprs)
    worker_rate, sim_rate = taken / t_worker, n_sim / t_sim
    batch_s = sum(b["seconds"] for b in batches)
    rss = [b["rss_mb"] for b in batches]
    print(f"{dt.date.today()} · {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    print(f"workers {args.workers}, batch {args.batch_size}, refills of {args.per_refill}\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| worker drain: {taken} taken ({report['simulated']} simulated, {report['reused']} reused, "
          f"{report['failed']} failed), {report['refills']} refills, {report['checkpoints']} checkpoints "
          f"| {t_worker:.1f} s |")  # fmt: skip
    print(f"| worker drain alphas/s (end to end) | {worker_rate:.1f} |")
    print(f"| `simulate --file` on the {n_sim} simulated expressions | {t_sim:.1f} s |")
    print(f"| `simulate --file` alphas/s (end to end) | {sim_rate:.1f} |")
    print(f"| worker: batches (simulate + decide + commits), {len(batches)} | {batch_s:.1f} s |")
    refills, refill_s = report["refills"], report["refill_seconds"]
    print(f"| worker: {refills} refills (GENERATE + INSPECT [+ field factory]) | {refill_s:.1f} s |")
    print(f"| worker: {report['checkpoints']} optimization checkpoints | {report['optimize_seconds']:.1f} s |")
    rest = report["seconds"] - batch_s - report["refill_seconds"] - report["optimize_seconds"]
    print(f"| worker: the rest of the loop (claims, empty-queue checks) | {rest:.1f} s |")
    startup = t_worker - report["seconds"]
    print(f"| worker: process start-up (imports, store, panel, context) and exit | {startup:.1f} s |")
    if rss:
        print(f"| RSS after batch 1 / 10 / last (max), MiB | {rss[0]:.0f} / {rss[min(9, len(rss) - 1)]:.0f} / "
              f"{rss[-1]:.0f} ({max(rss):.0f}) |")  # fmt: skip
    print(f"\nworker / simulate = {worker_rate / sim_rate:.2f} (target >= 0.7)")


if __name__ == "__main__":
    main()

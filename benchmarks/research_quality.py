"""Research outcomes of the mining run on the bundled sample (issue 13): ready alphas, their OS/IS and
validation/search Sharpe ratios, diversity. A measurement script, never a test: OS is only read HERE,
after the run, to judge the rules; no rule of the run reads it.

Usage: .venv/bin/python benchmarks/research_quality.py [--seeds 0 1 2] [--gates trial-aware classic]
       [--iterations 10] [--root /tmp/alphamine-rq]
Runs `alphamine run --sample --max-iterations N --target-ready 40 --run-seed S --gate G` per seed and
gate (default settings otherwise) and prints one row per run plus the pooled figures per gate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BIN = Path(sys.executable).parent


def measure(root: Path, run_id: str) -> dict[str, Any]:
    from alphamine.pipeline.controller import open_store
    from alphamine.sim.checks import aligned_correlation

    store = open_store(root, None)
    try:
        ready = store.candidates(run_id=run_id, status="ready")
        results = store.results_for([r.id for r in ready])
        ratios, val_ratios, os_pos = [], [], 0
        for r in ready:
            res = results[r.id]
            is_sr, os_sr = res.metric("sharpe", "is"), res.metric("sharpe", "os")
            ratios.append(os_sr / is_sr)
            os_pos += os_sr > 0
            if res.test_range[1] > res.test_range[0]:
                val_ratios.append(res.metric("sharpe", "test") / res.metric("sharpe", "train"))
        corr = 0.0
        for i, a in enumerate(ready):
            for b in ready[i + 1:]:
                c = aligned_correlation(*results[a.id].pnl_series(), *results[b.id].pnl_series())
                corr = max(corr, abs(c)) if np.isfinite(c) else corr
        families: dict[int, int] = {}
        for r in ready:
            families[r.root_id or r.id] = families.get(r.root_id or r.id, 0) + 1
        return {
            "ready": len(ready),
            "os_is": ratios,
            "val_search": val_ratios,
            "os_positive": int(os_pos),
            "max_corr": corr,
            "top_family_share": max(families.values()) / len(ready) if ready else 0.0,
        }
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--gates", nargs="+", default=["trial-aware", "classic"])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--root", type=Path, default=Path("/tmp/alphamine-rq"))
    parser.add_argument("--extra", default="", help="more `alphamine run` options, e.g. '--candidates 100'")
    args = parser.parse_args()
    print(f"{dt.date.today()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()}\n")
    print("| gate | seed | seconds | ready | median OS/IS | OS > 0 | median val/search | max pairwise corr "
          "| top family share |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    pooled: dict[str, dict[str, list[float]]] = {}
    for gate in args.gates:
        acc = pooled.setdefault(gate, {"os_is": [], "pos": [], "n": [], "secs": []})
        for seed in args.seeds:
            root = args.root / f"{gate}-{seed}"
            shutil.rmtree(root, ignore_errors=True)
            cmd = [str(BIN / "alphamine"), "run", "--sample", "--max-iterations", str(args.iterations),
                   "--target-ready", "40", "--run-seed", str(seed), "--gate", gate, "--runtime-root", str(root),
                   "--run-id", "rq", "--quiet", *args.extra.split()]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            secs = time.perf_counter() - t0
            m = measure(root, "rq")
            med = statistics.median(m["os_is"]) if m["os_is"] else float("nan")
            vmed = statistics.median(m["val_search"]) if m["val_search"] else float("nan")
            print(f"| {gate} | {seed} | {secs:.0f} | {m['ready']} | {med:.2f} | {m['os_positive']}/{m['ready']} "
                  f"| {vmed:.2f} | {m['max_corr']:.2f} | {m['top_family_share']:.2f} |", flush=True)
            acc["os_is"] += m["os_is"]
            acc["pos"].append(m["os_positive"])
            acc["n"].append(m["ready"])
            acc["secs"].append(secs)
    print("\n| gate | runs | mean ready | pooled median OS/IS | pooled OS > 0 | mean seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    for gate, acc in pooled.items():
        n = sum(acc["n"])
        med = statistics.median(acc["os_is"]) if acc["os_is"] else float("nan")
        print(f"| {gate} | {len(acc['n'])} | {n / len(acc['n']):.1f} | {med:.2f} | "
              f"{int(sum(acc['pos']))}/{int(n)} ({(sum(acc['pos']) / n if n else 0):.0%}) | "
              f"{statistics.mean(acc['secs']):.0f} |")


if __name__ == "__main__":
    main()

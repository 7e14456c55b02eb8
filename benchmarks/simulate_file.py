"""`alphamine simulate --workers 1 --file F` against `alphamine bench`'s steady one-core rate (issue 11).

A script, never a timed test. Both run on the bench's S panel (synthetic 500 x 1260, seed 0) with the
bench's settings. The file holds distinct expressions: the bench's 30 alphas with their windows
shifted (k = 0, 1, ...), so the sub-expression cache cannot serve one from another's full result.

The CLI is timed end to end as a user runs it (a subprocess, stdout to a file as in a log, a JSONL
output), once with N and once with 2N expressions; its marginal throughput is N / (T(2N) - T(N)),
the rate at which a longer file costs more (start-up, panel build and kernel loading cancel out).

Usage: .venv/bin/python benchmarks/simulate_file.py [--n 290] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alphamine.data.synthetic import synthetic
from alphamine.sim.bench import BENCH_EXPRESSIONS, BENCH_SETTINGS, SIZES, run_size, warm_up

NUMBER = re.compile(r"(?<=[, (])(\d+)(?=[,)])")


def distinct_expressions(n: int) -> list[str]:
    """n distinct expressions: the bench's alphas with every window >= 2 shifted by k = 0, 1, ..."""
    out: dict[str, None] = {}
    k = 0
    while len(out) < n:
        for e in BENCH_EXPRESSIONS:
            shifted = NUMBER.sub(lambda m, k=k: str(int(m.group(1)) + k) if int(m.group(1)) >= 2 else m.group(1), e)
            out.setdefault(shifted, None)
            if len(out) == n:
                break
        k += 1
        if k > 10 * n:
            raise RuntimeError("cannot make enough distinct expressions")
    return list(out)


def cli_seconds(exprs: list[str], workdir: Path) -> float:
    n, t = SIZES["S"]
    f = workdir / f"exprs_{len(exprs)}.txt"
    f.write_text("\n".join(exprs) + "\n", encoding="utf-8")
    cmd = [
        str(Path(sys.executable).parent / "alphamine"), "simulate", "--synthetic", f"{n},{t}", "--universe",
        f"TOP{n}", "--workers", "1", "--neutralization", BENCH_SETTINGS["neutralization"], "--decay",
        str(BENCH_SETTINGS["decay"]), "--truncation", str(BENCH_SETTINGS["truncation"]), "--file", str(f),
        "--jsonl-out", str(workdir / "out.jsonl"),
    ]  # fmt: skip
    with (workdir / "log.txt").open("w") as log:
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)
        return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=290)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    exprs = distinct_expressions(2 * args.n)
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        cli_seconds(exprs[:10], work)  # warm the numba cache on disk
        t_n = min(cli_seconds(exprs[: args.n], work) for _ in range(args.repeats))
        t_2n = min(cli_seconds(exprs, work) for _ in range(args.repeats))
    marginal = args.n / (t_2n - t_n)
    n, t = SIZES["S"]
    warm_up(BENCH_EXPRESSIONS)
    run = run_size(synthetic(n, t, seed=0), BENCH_EXPRESSIONS, 1, "S", 0.0, repeats=args.repeats)
    print(f"{dt.date.today()} · {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}\n")
    print("| measure | alphas/s |")
    print("|---|---|")
    print(f"| `alphamine bench` S, one core, steady pass | {run.one_core_rate:.1f} |")
    print(f"| `simulate --workers 1 --file` {args.n} alphas, end to end ({t_n:.2f} s) | {args.n / t_n:.1f} |")
    print(f"| `simulate --workers 1 --file` {2 * args.n} alphas, end to end ({t_2n:.2f} s) | {2 * args.n / t_2n:.1f} |")
    print(f"| `simulate --file` marginal ({args.n} more alphas) | {marginal:.1f} |")
    print(f"\nbench steady / simulate marginal = {run.one_core_rate / marginal:.2f} (target <= 1.25)")


if __name__ == "__main__":
    main()

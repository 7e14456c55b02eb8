"""Start-up time of the CLI (issue 11): `alphamine --help` and `alphamine lint 'rank(close)'` against
`python -c "import typer, rich"` in the same environment. A script, never a timed test.

Usage: .venv/bin/python benchmarks/startup.py [--runs 15]
Prints the median wall time of each command over `--runs` runs (after one warm-up run each, so the
sample's disk cache and numba's cache exist) and the ratio to the typer + rich import.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def median_seconds(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True, check=False)  # warm-up: caches, page cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    alphamine = str(BIN / "alphamine")
    cases = {
        'python -c "import typer, rich"': [sys.executable, "-c", "import typer, rich"],
        "alphamine --help": [alphamine, "--help"],
        "alphamine lint 'rank(close)'": [alphamine, "lint", "rank(close)"],
        "alphamine lint --builtin 'rank(close)'": [alphamine, "lint", "--builtin", "rank(close)"],
        "alphamine lint '-rank(close)' --json": [alphamine, "lint", "-rank(close)", "--json"],
    }
    base = None
    print(f"{dt.date.today()} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
          f"Python {platform.python_version()} · median of {args.runs} runs\n")
    print("| command | median s | x import typer, rich |")
    print("|---|---|---|")
    for label, cmd in cases.items():
        s = median_seconds(cmd, args.runs)
        base = base or s
        print(f"| `{label}` | {s:.3f} | {s / base:.1f} |")


if __name__ == "__main__":
    main()

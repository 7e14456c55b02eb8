"""Start-up time of the CLI (issue 11): `alphamine --help` and `alphamine lint 'rank(close)'` against
`python -c "import typer, rich"` in the same environment. A script, never a timed test.

Usage: .venv/bin/python benchmarks/startup.py [--runs 15]
Prints the median wall time of each command over `--runs` runs (after one warm-up run each, so the
sample's disk cache, numba's cache and the bytecode caches exist) and the ratio to the typer + rich
import. Commands run as on a user's machine: PYTHONDONTWRITEBYTECODE (set on some CI and sandbox
machines) is removed from their environment, since without .pyc files every start recompiles the
project's modules; `--keep-env` measures with the environment as it is.
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


def median_seconds(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(cmd, capture_output=True, check=False, env=env)  # warm-up: caches, page cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep-env", action="store_true", help="keep PYTHONDONTWRITEBYTECODE if set")
    args = parser.parse_args()
    env = dict(os.environ)
    if not args.keep_env:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
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
          f"Python {platform.python_version()} · median of {args.runs} runs"
          f"{' · environment kept' if args.keep_env else ''}\n")
    print("| command | median s | x import typer, rich |")
    print("|---|---|---|")
    for label, cmd in cases.items():
        s = median_seconds(cmd, args.runs, env)
        base = base or s
        print(f"| `{label}` | {s:.3f} | {s / base:.1f} |")


if __name__ == "__main__":
    main()

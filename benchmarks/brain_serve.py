"""Throughput through the local BRAIN-compatible server vs the same simulations without HTTP (issue 12).

A script, never a timed test. The bundled sample; N distinct expressions (the `simulate_file`
benchmark's list); default settings. Two measurements on the same LocalBackend configuration:
- direct: `LocalBackend.simulate_many` over all N (what `alphamine simulate --file` runs);
- HTTP: a real uvicorn server (`alphamine.brain.server`) on 127.0.0.1 and `--concurrency` client
  threads, each posting multi-simulations of `--multi` alphas (POST /simulations, then polling the
  Location with its Retry-After, then GET /alphas/{id} of each child), as a BRAIN client does.
The HTTP path's cost is 1 - rate(HTTP) / rate(direct); target <= 25 %.

Usage: .venv/bin/python benchmarks/brain_serve.py [--n 200] [--concurrency 8] [--multi 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from simulate_file import distinct_expressions

from alphamine.backends.local import LocalBackend
from alphamine.brain.server import create_app, serve_in_thread
from alphamine.data.sample import load_sample
from alphamine.sim.batch import SimFailure, SimSpec, clear_caches, close_workers
from alphamine.sim.settings import make_settings

EMAIL, PASSWORD = "bench@alphamine.local", "bench-password"
SETTINGS = {"region": "USA", "universe": "TOP500", "delay": 1, "decay": 0, "neutralization": "INDUSTRY",
            "truncation": 0.08}  # fmt: skip


def wait(client: httpx.Client, url: str) -> httpx.Response:
    while True:
        r = client.get(url)
        r.raise_for_status()
        if "Retry-After" not in r.headers:
            return r
        time.sleep(float(r.headers["Retry-After"]))


def client_thread(base: str, batches: list[list[str]], done: list[int]) -> None:
    with httpx.Client(base_url=base, timeout=120) as c:
        c.post("/authentication", auth=(EMAIL, PASSWORD)).raise_for_status()
        for batch in batches:
            body = [{"type": "REGULAR", "settings": SETTINGS, "regular": e} for e in batch]
            r = c.post("/simulations", json=body if len(body) > 1 else body[0])
            r.raise_for_status()
            parent = wait(c, r.headers["Location"]).json()
            children = parent.get("children") or [parent["id"]]
            for child in children:
                sim = wait(c, f"/simulations/{child}").json()
                if sim.get("alpha"):
                    c.get(f"/alphas/{sim['alpha']}").raise_for_status()
                done.append(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--multi", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    panel = load_sample()
    exprs = distinct_expressions(args.n)
    settings = make_settings(SETTINGS)
    backend = LocalBackend(panel, workers=args.workers)
    specs = [SimSpec(e, settings) for e in exprs]
    t_direct = float("inf")
    for _ in range(2):  # the first pass forks and warms the workers; the faster pass is reported
        clear_caches()  # no pass profits from an earlier one's sub-expressions
        t0 = time.perf_counter()
        direct = backend.simulate_many(specs)
        t_direct = min(t_direct, time.perf_counter() - t0)
    assert not any(isinstance(r, SimFailure) for r in direct[:5])
    close_workers()
    with tempfile.TemporaryDirectory() as d:
        app = create_app(
            LocalBackend(panel, workers=args.workers), db_path=Path(d) / "b.sqlite3", users={EMAIL: PASSWORD},
            retry_after=0.05, max_concurrent=args.concurrency, daily_quota=10**6, batch_size=args.multi * args.concurrency,
        )  # fmt: skip
        with serve_in_thread(app) as base:
            chunks = [exprs[i : i + args.multi] for i in range(0, len(exprs), args.multi)]
            per_thread: list[list[list[str]]] = [chunks[k :: args.concurrency] for k in range(args.concurrency)]
            warm: list[int] = []
            client_thread(base, chunks, warm)  # the server's workers fork and warm up, as above
            clear_caches()
            done: list[int] = []
            threads = [threading.Thread(target=client_thread, args=(base, b, done)) for b in per_thread if b]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            t_http = time.perf_counter() - t0
    rate_direct, rate_http = args.n / t_direct, len(done) / t_http
    print(f"{dt.date.today()} · {platform.machine()} · {os.cpu_count()} cores · {args.workers} workers\n")
    print("| path | alphas | seconds | alphas/s |")
    print("|---|---|---|---|")
    print(
        f"| direct `LocalBackend.simulate_many` (= `simulate --file`) | {args.n} | {t_direct:.2f} | "
        f"{rate_direct:.1f} |"
    )
    print(
        f"| HTTP: `brain serve`, {args.concurrency} clients x multi-simulations of {args.multi} | {len(done)} | "
        f"{t_http:.2f} | {rate_http:.1f} |"
    )
    print(f"\nHTTP cost: {1 - rate_http / rate_direct:.1%} of the direct throughput (target <= 25 %)")


if __name__ == "__main__":
    main()

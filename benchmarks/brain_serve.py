"""Throughput through the local BRAIN-compatible server vs the same simulations without HTTP (issue 12).

A script, never a timed test. The bundled sample; N distinct expressions (the `simulate_file`
benchmark's list, minus those the panel's catalogue rejects: a multi-simulation with a bad expression
cancels its siblings, so HTTP would simulate fewer alphas than direct); default settings. Two paths,
each on its own `LocalBackend` with the same worker count:
- direct: `LocalBackend.simulate_many` over all N (what `alphamine simulate --file` runs);
- HTTP: a real uvicorn server (`alphamine.brain.server`) on 127.0.0.1 and `--concurrency` client
  sessions, each posting multi-simulations of `--multi` alphas (POST /simulations, then polling the
  Location with its Retry-After, then GET /simulations/{child} and GET /alphas/{id} of each child),
  as a BRAIN client does.

Fairness: both backends fork their workers and run one untimed pass first; every timed pass starts
with `clear_caches()`; the passes alternate (direct, HTTP, direct, ...) and the best of `--repeats`
of each is compared (the median is printed too, and the CPU other processes used meanwhile: the
cores may be shared). Clients log in before the clock, as a BRAIN client logs in once per session.
By default they run in a separate process, as BRAIN clients do (on the same cores, competing with
the workers, but not for the server's GIL); `--in-process-clients` runs them as threads of the
server's process, the harness of this script's first version.
The HTTP path's cost is 1 - rate(HTTP) / rate(direct); target <= 25 %.

Usage: .venv/bin/python benchmarks/brain_serve.py [--n 200] [--concurrency 8] [--multi 10] [--workers 2]
       [--repeats 5] [--in-process-clients]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from simulate_file import distinct_expressions

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


class Clients:
    """`concurrency` BRAIN client sessions against `base`, logged in at construction."""

    def __init__(self, base: str, concurrency: int) -> None:
        self.sessions = [httpx.Client(base_url=base, timeout=120) for _ in range(concurrency)]
        for c in self.sessions:
            c.post("/authentication", auth=(EMAIL, PASSWORD)).raise_for_status()

    def run(self, batches: list[list[str]]) -> tuple[float, int]:
        """(seconds, COMPLETE alphas read) for all `batches`, dealt round-robin to the sessions."""
        n = len(self.sessions)
        done: list[int] = []
        threads = [
            threading.Thread(target=self._session, args=(c, batches[k::n], done)) for k, c in enumerate(self.sessions)
        ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0, len(done)

    @staticmethod
    def _session(c: httpx.Client, batches: list[list[str]], done: list[int]) -> None:
        for batch in batches:
            body = [{"type": "REGULAR", "settings": SETTINGS, "regular": e} for e in batch]
            r = c.post("/simulations", json=body if len(body) > 1 else body[0])
            r.raise_for_status()
            parent = wait(c, r.headers["Location"]).json()
            for child in parent.get("children") or [parent["id"]]:
                sim = wait(c, f"/simulations/{child}").json()
                if sim["status"] == "COMPLETE":
                    c.get(f"/alphas/{sim['alpha']}").raise_for_status()
                    done.append(1)

    def close(self) -> None:
        for c in self.sessions:
            c.close()


def client_process(conn: Connection) -> None:
    """The clients in their own process: ('login', base, concurrency), then ('run', batches)... ('stop',)."""
    clients: Clients | None = None
    while True:
        msg = conn.recv()
        if msg[0] == "login":
            clients = Clients(msg[1], msg[2])
            conn.send("ready")
        elif msg[0] == "run" and clients is not None:
            conn.send(clients.run(msg[1]))
        else:
            if clients is not None:
                clients.close()
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--multi", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--in-process-clients", action="store_true")
    args = parser.parse_args()
    conn: Connection | None = None
    if not args.in_process_clients:  # forked first, while this process has one thread and no workers
        conn, child_end = mp.get_context("fork").Pipe()
        proc = mp.get_context("fork").Process(target=client_process, args=(child_end,), daemon=True)
        proc.start()

    from alphamine.backends.local import LocalBackend
    from alphamine.brain.server import create_app, serve_in_thread
    from alphamine.data.sample import load_sample
    from alphamine.expr import check
    from alphamine.sim.batch import SimFailure, SimSpec, clear_caches
    from alphamine.sim.settings import make_settings

    panel = load_sample()
    ok = [e for e in distinct_expressions(2 * args.n) if not any(d.is_error for d in check(e, panel.catalogue))]
    exprs = ok[: args.n]
    assert len(exprs) == args.n, "not enough expressions that simulate on the sample"
    specs = [SimSpec(e, make_settings(SETTINGS)) for e in exprs]
    chunks = [exprs[i : i + args.multi] for i in range(0, len(exprs), args.multi)]
    direct_backend = LocalBackend(panel, workers=args.workers)
    times: dict[str, list[float]] = {"direct": [], "http": []}
    others = OtherCpu([] if conn is None else [proc.pid])
    with tempfile.TemporaryDirectory() as d, LocalBackend(panel, workers=args.workers) as served:
        app = create_app(
            served, db_path=Path(d) / "b.sqlite3", users={EMAIL: PASSWORD}, retry_after=0.05,
            max_concurrent=args.concurrency, daily_quota=10**7, batch_size=args.multi * args.concurrency,
        )  # fmt: skip
        with serve_in_thread(app) as base:
            clients: Clients | None = None
            if conn is not None:
                conn.send(("login", base, args.concurrency))
                assert conn.recv() == "ready"
            else:
                clients = Clients(base, args.concurrency)

            def http_pass() -> tuple[float, int]:
                if conn is not None:
                    conn.send(("run", chunks))
                    result: tuple[float, int] = conn.recv()
                    return result
                assert clients is not None
                return clients.run(chunks)

            for timed in [False] + [True] * args.repeats:  # the untimed pass warms both paths
                clear_caches()
                if timed:
                    others.start(direct_backend.worker_pids() + served.worker_pids())
                t0 = time.perf_counter()
                direct = direct_backend.simulate_many(specs)
                t_direct = time.perf_counter() - t0
                assert not any(isinstance(r, SimFailure) for r in direct)
                clear_caches()
                t_http, n_http = http_pass()
                if timed:
                    others.stop()
                assert n_http == args.n, f"{n_http} of {args.n} simulations completed over HTTP"
                if timed:
                    times["direct"].append(t_direct)
                    times["http"].append(t_http)
            if conn is not None:
                conn.send(("stop",))
            elif clients is not None:
                clients.close()
    direct_backend.close()
    report(args, times, others)


class OtherCpu:
    """CPU seconds the rest of the machine used during the timed passes (Linux /proc; else 0): the
    busy time of all cores minus that of this benchmark's processes (itself, its client process and
    the workers, which live through every timed pass)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.used, self.wall = [os.getpid(), *pids], 0.0, 0.0
        self._start: tuple[float, float, float, list[int]] | None = None

    @staticmethod
    def _seconds(ticks: float) -> float:
        return ticks / os.sysconf("SC_CLK_TCK")

    def _machine(self) -> float:
        try:
            v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        except (OSError, ValueError):
            return 0.0
        return self._seconds(sum(v) - v[3] - v[4])  # all but idle and iowait

    def _own(self, workers: list[int]) -> float:
        total = 0.0
        for pid in [*self.pids, *workers]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += self._seconds(int(fields[11]) + int(fields[12]))
            except (OSError, IndexError, ValueError):
                pass
        return total

    def start(self, workers: list[int]) -> None:
        self._start = (self._machine(), self._own(workers), time.perf_counter(), workers)

    def stop(self) -> None:
        assert self._start is not None
        machine, own, t0, workers = self._start
        self.used += max(0.0, (self._machine() - machine) - (self._own(workers) - own))
        self.wall += time.perf_counter() - t0


def report(args: Any, times: dict[str, list[float]], others: OtherCpu) -> None:
    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    where = "in the server's process" if args.in_process_clients else "in their own process"
    print(f"{dt.date.today()} · {platform.machine()} · {os.cpu_count()} cores · {args.workers} workers · "
          f"best of {args.repeats} alternating passes\n")  # fmt: skip
    print("| path | alphas | best s | median s | alphas/s (best) |")
    print("|---|---|---|---|---|")
    print(
        f"| direct `LocalBackend.simulate_many` (= `simulate --file`) | {args.n} | {best['direct']:.2f} | "
        f"{median['direct']:.2f} | {args.n / best['direct']:.1f} |"
    )
    print(
        f"| HTTP: `brain serve`, {args.concurrency} clients ({where}) x multi-simulations of {args.multi} | "
        f"{args.n} | {best['http']:.2f} | {median['http']:.2f} | {args.n / best['http']:.1f} |"
    )
    cost, cost_median = 1 - best["direct"] / best["http"], 1 - median["direct"] / median["http"]
    print(f"\nHTTP cost: {cost:.1%} of the direct throughput (medians: {cost_median:.1%}; target <= 25 %)")
    share = others.used / (others.wall * (os.cpu_count() or 1)) if others.wall else 0.0
    print(f"Other processes used {others.used:.1f} CPU seconds during the timed passes ({share:.0%} of the machine)")


if __name__ == "__main__":
    main()

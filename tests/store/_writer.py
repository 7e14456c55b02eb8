"""Child process for the crash and concurrency tests (run as a script, never imported by pytest).

Modes:
PATH is a SQLite file or a database URL (`Store.open`).

  hold PATH N       open a transaction, write a stage, N candidates and N results (spilling uncommitted
                    pages into SQLite's WAL), print WRITTEN, then wait on stdin: "commit" commits, EOF or a
                    kill leaves it uncommitted.
  loop PATH TAG N   print READY, wait for a line on stdin, then N transactions, each adding a task and
                    finishing it plus a candidate with a read-before-write (the dedup check), so
                    concurrent writers must queue on the lock.
"""

from __future__ import annotations

import sys

import numpy as np

from alphamine.generate.candidate import Candidate, Thesis
from alphamine.sim.periods import Periods
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from alphamine.store import Store

SETTINGS = make_settings({"universe": "TOP40"})
THESIS = Thesis("other", "test", "test")


def fake_result(i: int, rng: np.random.Generator) -> SimResult:
    T = 300
    dates = np.datetime64("2015-01-01") + np.arange(T)
    z = np.zeros(T)
    return SimResult(
        expression=f"rank(close) * {i}",
        settings=SETTINGS,
        dates=dates,
        daily_pnl=rng.normal(size=T),
        traded=z,
        long_counts=z,
        short_counts=z,
        periods=Periods(0, (0, 240), (240, T), (0, 240), (240, 240)),
        metrics={k: {"sharpe": 1.0} for k in ("is", "os", "train", "test")},
        yearly_rows=[],
        checks=[],
        data_fingerprint="fp",
    )


def candidate(expr: str) -> Candidate:
    return Candidate(expression=expr, settings=SETTINGS, generator="test", thesis=THESIS)


def hold(path: str, n: int) -> None:
    store = Store.open(path)
    rng = np.random.default_rng(0)
    with store.transaction() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size=20")  # tiny page cache: uncommitted pages spill to the WAL
        store.start_stage("r1", 0, "SIMULATE", conn=conn)
        for i in range(n):
            expr = f"rank(close) * {i}"
            store.add_candidate("r1", 0, candidate(expr), canonical=expr, expr_hash=f"h{i}", conn=conn)
            store.put_result(fake_result(i, rng), expr_hash=f"h{i}", conn=conn)
        store.finish_stage("r1", 0, "SIMULATE", {"n": n}, conn=conn)
        print("WRITTEN", flush=True)
        if sys.stdin.readline().strip() != "commit":
            raise SystemExit(3)  # rolls back
    print("COMMITTED", flush=True)
    store.close()


def loop(path: str, tag: str, n: int) -> None:
    store = Store.open(path)
    print("READY", flush=True)
    sys.stdin.readline()  # start together with the other writer
    for i in range(n):
        with store.transaction() as conn:
            tid = store.add_task("r1", "SIMULATE", tag, payload={"i": i}, conn=conn)
            expr = f"{tag}_{i}"
            if store.find_candidate(f"{tag}{i}", SETTINGS.key(), run_id="r1", conn=conn) is None:
                store.add_candidate("r1", 0, candidate(expr), canonical=expr, expr_hash=f"{tag}{i}", conn=conn)
            store.finish_task(tid, "done", conn=conn)
    print("DONE", flush=True)
    store.close()


if __name__ == "__main__":
    mode, path, *rest = sys.argv[1:]
    if mode == "hold":
        hold(path, int(rest[0]))
    else:
        loop(path, rest[0], int(rest[1]))

"""SIGKILL of a process in the middle of a `simulate_many` batch (what `kill -9` of `alphamine run`
does): its forked workers must go away at once and without a word. They used to finish their chunk
and die printing BrokenPipeError tracebacks into the terminal the user had left (issue #11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from alphamine.data.synthetic import synthetic
    from alphamine.sim.batch import simulate_many, worker_pids

    panel = synthetic(50, 300)
    settings = {"universe": "TOP50"}
    simulate_many(["rank(-returns)", "zscore(volume)"] * 2, panel, settings, workers=2)  # fork, warm up
    Path(sys.argv[1]).write_text(" ".join(map(str, worker_pids())))
    exprs = [f"rank(ts_mean(close, {a}) - ts_mean(open, {b}))" for a in range(2, 80) for b in range(2, 60)]
    simulate_many(exprs, panel, settings, workers=2)  # the same workers, busy for many seconds
    print("the batch finished before the kill", file=sys.stderr)
    """
)


def _alive(pid: int) -> bool:
    """Running or sleeping; a zombie (dead, waiting for a reaper that may never come) is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_workers_of_a_killed_parent_exit_at_once_and_silently(tmp_path: Path) -> None:
    pids_file, err_file = tmp_path / "pids", tmp_path / "stderr"
    with err_file.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(pids_file)],
            stdout=subprocess.DEVNULL,
            stderr=err,  # inherited by the forked workers
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    workers: list[int] = []
    try:
        assert _wait(lambda: pids_file.exists() and pids_file.read_text().strip() != "", 120), err_file.read_text()
        workers = [int(p) for p in pids_file.read_text().split()]
        assert len(workers) == 2
        time.sleep(1.0)  # well inside the long batch: both workers are in the middle of a chunk
        assert proc.poll() is None, err_file.read_text()
        assert all(_alive(w) for w in workers)
        before_kill = err_file.stat().st_size
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert _wait(lambda: not any(_alive(w) for w in workers), 5.0), "a worker outlived its parent"
        time.sleep(0.5)  # anything a dying worker would print has been written by now
        after = err_file.read_bytes()[before_kill:].decode(errors="replace")
        assert after == "", after
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in workers:  # a failing run must not leave our own workers behind
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_workers_forked_by_a_thread_that_ends_keep_working() -> None:
    """The kernel also sends the parent-death signal when only the forking *thread* ends (the local
    BRAIN server runs batches on runner threads that stop and restart): the kept workers must stay
    and serve the next batch."""
    import threading

    from alphamine.data.synthetic import synthetic
    from alphamine.sim.batch import SimFailure, close_workers, simulate_many, worker_pids

    panel = synthetic(50, 300)
    settings = {"universe": "TOP50"}
    exprs = ["rank(-returns)", "zscore(volume)", "ts_mean(close, 5)", "rank(ts_delta(close, 3))"]
    first: list = []
    try:
        thread = threading.Thread(target=lambda: first.extend(simulate_many(exprs, panel, settings, workers=2)))
        thread.start()
        thread.join(120)
        assert not thread.is_alive() and len(first) == len(exprs)
        assert not any(isinstance(r, SimFailure) for r in first), first
        pids = worker_pids()
        assert len(pids) == 2
        time.sleep(0.5)  # the signal, if any, has been delivered and handled
        assert all(_alive(p) for p in pids)
        again = simulate_many(exprs, panel, settings, workers=2)  # reuses the same workers
        assert worker_pids() == pids
        assert [r.metrics["is"]["sharpe"] for r in again] == [r.metrics["is"]["sharpe"] for r in first]
    finally:
        close_workers()

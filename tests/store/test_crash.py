"""Crash safety and concurrency, for real: child processes, SIGKILL, WAL readers; on SQLite files and
on PostgreSQL (where a killed client's transaction is rolled back by the server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alphamine.sim.settings import Settings
from alphamine.store import Store
from alphamine.store.schema import CANDIDATES, SIM_RESULTS, STAGES, TASKS

from .conftest import add, new_run

WRITER = Path(__file__).with_name("_writer.py")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def expect(proc: subprocess.Popen[str], word: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != word:
        proc.kill()
        _, err = proc.communicate(timeout=30)
        raise AssertionError(f"child said {line!r}, expected {word!r}; stderr:\n{err}")


def counts(store: Store) -> tuple[int, int, int]:
    with store.engine.connect() as c:
        return (
            int(c.execute(select(func.count()).select_from(CANDIDATES)).scalar_one()),
            int(c.execute(select(func.count()).select_from(SIM_RESULTS)).scalar_one()),
            int(c.execute(select(func.count()).select_from(STAGES)).scalar_one()),
        )


def integrity(store: Store) -> str:
    """SQLite's own verdict on the file; "ok" elsewhere (a server keeps its files to itself)."""
    if store.dialect != "sqlite":
        return "ok"
    with store.engine.connect() as c:
        return str(c.exec_driver_sql("PRAGMA integrity_check").scalar())


def test_sigkill_mid_transaction_leaves_nothing(store_target: str, settings: Settings) -> None:
    path = store_target
    with Store.open(path) as store:
        new_run(store, "r1")
        kept = add(store, "r1", "rank(open)", settings)
    proc = spawn("hold", str(path), "400")
    try:
        expect(proc, "WRITTEN")
        if "://" not in path:
            wal = Path(f"{path}-wal")
            assert wal.exists() and wal.stat().st_size > 500_000  # uncommitted pages really reached the WAL
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    with Store.open(path) as store:
        assert integrity(store) == "ok"
        assert counts(store) == (1, 0, 0)  # the stage, its candidates and results: all or nothing
        assert [c.id for c in store.candidates()] == [kept]
        assert store.finished_stages("r1") == set()
        # the store is writable again (no stale lock) and the killed work can simply be redone
        add(store, "r1", "rank(close)", settings)
        assert counts(store)[0] == 2


def test_readers_are_not_blocked_by_an_open_write_and_never_see_it(store_target: str) -> None:
    path = store_target
    with Store.open(path) as store:
        new_run(store, "r1")
    proc = spawn("hold", str(path), "50")
    try:
        expect(proc, "WRITTEN")
        with Store.open(path) as reader:
            t0 = time.monotonic()
            assert counts(reader) == (0, 0, 0)
            assert reader.candidates(run_id="r1") == [] and reader.get_run("r1") is not None
            assert time.monotonic() - t0 < 5  # no waiting on the writer's lock
            assert proc.stdin is not None
            proc.stdin.write("commit\n")
            proc.stdin.flush()
            expect(proc, "COMMITTED")
            assert counts(reader) == (50, 50, 1)
            assert reader.finished_stages("r1") == {(0, "SIMULATE")}
            assert integrity(reader) == "ok"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def test_concurrent_writers_queue_and_readers_see_only_whole_transactions(store_target: str) -> None:
    path = store_target
    n = 100
    with Store.open(path) as store:
        new_run(store, "r1")
    writers = [spawn("loop", str(path), tag, str(n)) for tag in ("a", "b")]
    seen_running = 0
    last = -1
    try:
        for w in writers:
            expect(w, "READY")
        for w in writers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        with Store.open(path) as reader:
            while any(w.poll() is None for w in writers):
                with reader._read(None) as c:  # one snapshot for the three counts
                    done = int(c.execute(select(func.count()).select_from(TASKS)).scalar_one())
                    running = int(
                        c.execute(
                            select(func.count()).select_from(TASKS).where(TASKS.c.status == "running")
                        ).scalar_one()
                    )
                    cands = int(c.execute(select(func.count()).select_from(CANDIDATES)).scalar_one())
                seen_running += running
                assert cands == done  # each transaction adds one task and one candidate together
                assert done >= last
                last = done
                time.sleep(0.005)
        for w in writers:
            out, err = w.communicate(timeout=60)
            assert w.returncode == 0, err
            assert out.strip() == "DONE"
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
    assert seen_running == 0
    with Store.open(path) as store:
        assert len(store.tasks("r1")) == 2 * n and {t.status for t in store.tasks("r1")} == {"done"}
        assert len(store.candidates(run_id="r1")) == 2 * n
        assert integrity(store) == "ok"


def test_keyboard_interrupt_rolls_back(store: Store, settings: Settings) -> None:
    new_run(store)
    with pytest.raises(KeyboardInterrupt), store.transaction() as conn:
        store.start_stage("r1", 0, "GENERATE", conn=conn)
        store.finish_stage("r1", 0, "GENERATE", {}, conn=conn)
        raise KeyboardInterrupt
    assert store.stages("r1") == [] and store.finished_stages("r1") == set()


def _child_writes(store: Store, expr: str, settings: Settings) -> None:
    add(store, "r1", expr, settings)


def test_store_survives_fork_and_threads(store: Store, settings: Settings) -> None:
    """A forked child (a process-pool worker) may use the store it inherited, and so may threads; the
    parent's pooled connections are not disturbed."""
    import multiprocessing
    from concurrent.futures import ThreadPoolExecutor

    new_run(store)
    add(store, "r1", "rank(open)", settings)  # the parent holds a pooled connection now
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_child_writes, args=(store, "rank(close)", settings))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda e: add(store, "r1", e, settings), [f"rank(ts_delta(close, {d}))" for d in range(2, 10)]))
    assert len(store.candidates(run_id="r1")) == 10
    assert integrity(store) == "ok"

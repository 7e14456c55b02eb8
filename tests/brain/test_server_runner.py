"""The local BRAIN server's simulation path (issue 12): workers forked up front and reused from runner
threads, jobs written as soon as they are whole, Retry-After from the backlog, reads beside writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from alphamine.backends import LocalBackend
from alphamine.backends.base import Outcome, Progress
from alphamine.brain.server.common import plain
from alphamine.brain.server.db import ServerDB
from alphamine.brain.server.runner import ETA_SHARE, Job, Leaf, Runner
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.sim.batch import SimFailure, SimSpec, simulate_many
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from tests.brain.test_server_support import POLL_LIMIT_S, DelegatingBackend, login, poll, regular, running_server

CODES = ["rank(-ts_delta(close, 5))", "ts_corr(rank(open), rank(volume), 10)", "zscore(ts_mean(close, 7))",
         "group_neutralize(rank(-returns), industry)", "-ts_rank(volume / adv20, 10)"]  # fmt: skip


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(40, 300)


def _local(panel: Panel, code: str) -> dict[str, Any]:
    out = simulate_many([SimSpec(code, make_settings({"universe": "TOP40"}))], panel, workers=1)[0]
    assert isinstance(out, SimResult)
    return plain(out.to_json())  # type: ignore[no-any-return]




def test_workers_are_forked_by_create_app_and_reused_by_the_runner(panel: Panel, tmp_path: Path) -> None:
    """`create_app` forks the backend's workers in the thread that builds it (before any server thread
    exists); concurrent clients' batches, of every size, run on those same processes and give the
    numbers of a direct one-worker simulation."""
    with LocalBackend(panel, workers=2) as backend:
        assert backend.worker_pids() == []
        with running_server(backend, tmp_path / "s.sqlite3") as url:
            pids = backend.worker_pids()
            assert len(pids) == 2
            results: dict[str, dict[str, Any]] = {}

            def client(payload: Any) -> None:
                with login(url) as c:
                    r = c.post("/simulations", json=payload)
                    assert r.status_code == 201, r.text
                    top = poll(c, r.headers["location"]).json()
                    for child in top.get("children") or [top["id"]]:
                        sim = c.get(f"/simulations/{child}").json()
                        assert sim["status"] == "COMPLETE", sim
                        results[sim["regular"]] = c.get(f"/alphas/{sim['alpha']}").json()

            payloads = [[regular(c) for c in CODES[:3]], [regular(c) for c in CODES[3:]], regular(CODES[0] + " * 2")]
            threads = [threading.Thread(target=client, args=(p,)) for p in payloads]
            for t in threads:
                t.start()
            for t in threads:
                t.join(POLL_LIMIT_S)
            assert backend.worker_pids() == pids  # no fork for a batch of 1, 2 or 5
        for code in [*CODES, CODES[0] + " * 2"]:
            expected = _local(panel, code)
            for block in ("is", "os", "train", "test"):
                assert results[code][block] == expected[block], (code, block)


class _StagedBackend(DelegatingBackend):
    """The first batch waits for `hold`; later batches report their first `first` outcomes, then wait
    for `gate` before reporting the rest."""

    def __init__(self, inner: LocalBackend, first: int) -> None:
        super().__init__(inner)
        self.first = first
        self.hold, self.entered, self.half, self.gate = (threading.Event() for _ in range(4))
        self.batches: list[int] = []

    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        self.batches.append(len(specs))
        if len(self.batches) == 1:
            self.entered.set()
            assert self.hold.wait(POLL_LIMIT_S)
        outcomes = self.inner.simulate_many(specs)
        for k, outcome in enumerate(outcomes):
            if len(self.batches) > 1 and k == self.first:
                self.half.set()
                assert self.gate.wait(POLL_LIMIT_S)
            if progress:
                progress(k + 1, len(specs), outcome)
        return outcomes


def test_a_job_is_written_as_soon_as_its_last_result_arrives(panel: Panel, tmp_path: Path) -> None:
    """Two multi-simulations in one batch: the first is COMPLETE, with its alphas, while the batch is
    still running the second (a client waits for its whole job before posting the next one)."""
    backend = _StagedBackend(LocalBackend(panel, workers=1), first=2)
    with running_server(backend, tmp_path / "s.sqlite3", runner_threads=1) as url, login(url) as c:
        blocker = c.post("/simulations", json=regular(CODES[4]))
        assert backend.entered.wait(POLL_LIMIT_S)  # the runner thread is busy: the next two queue up
        a = c.post("/simulations", json=[regular(CODES[0]), regular(CODES[1])]).headers["location"]
        b = c.post("/simulations", json=[regular(CODES[2]), regular(CODES[3])]).headers["location"]
        backend.hold.set()
        assert backend.half.wait(POLL_LIMIT_S)  # a's two results are in, b's are not
        first = c.get(a)
        assert "retry-after" not in first.headers and first.json()["status"] == "COMPLETE"
        for child in first.json()["children"]:
            sim = c.get(f"/simulations/{child}").json()
            assert sim["status"] == "COMPLETE" and c.get(f"/alphas/{sim['alpha']}").status_code == 200
        second = c.get(b)
        assert "retry-after" in second.headers and set(second.json()) == {"progress"}
        backend.gate.set()
        assert poll(c, b).json()["status"] == "COMPLETE"
        assert poll(c, blocker.headers["location"]).json()["status"] == "COMPLETE"
        assert backend.batches == [1, 4]  # the two jobs really shared one batch


class _PacedBackend(DelegatingBackend):
    """Reports one failure per spec every `pace` seconds (no simulation): a backend of known speed."""

    def __init__(self, inner: LocalBackend, pace: float) -> None:
        super().__init__(inner)
        self.pace = pace

    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        out: list[Outcome] = []
        for k, spec in enumerate(specs):
            time.sleep(self.pace)
            out.append(SimFailure(spec.expression, spec.settings, "paced"))
            if progress:
                progress(k + 1, len(specs), out[-1])
        return out


def test_eta_is_the_backlog_times_the_measured_pace(panel: Panel, tmp_path: Path) -> None:
    pace = 0.02
    db = ServerDB(tmp_path / "s.sqlite3")
    runner = Runner(_PacedBackend(LocalBackend(panel, workers=1), pace), db, threads=1, batch_size=10)
    settings = make_settings({"universe": "TOP40"})
    jobs = [Job(f"top{k}", "u", tuple(Leaf(f"leaf{k}-{i}", CODES[0], settings) for i in range(10)), True)
            for k in range(3)]  # fmt: skip
    for job in jobs:
        runner.enqueue(job)
    assert runner.eta("top2") == 0.0  # nothing measured yet: the server's floor applies
    runner.start()
    try:
        deadline = time.monotonic() + POLL_LIMIT_S
        while runner.progress("top0") < 0.9:  # nine outcomes measured
            assert time.monotonic() < deadline
            time.sleep(0.005)
        e1, e2 = runner.eta("top1"), runner.eta("leaf2-3")  # a leaf answers for its job
        assert 0 < e1 < e2
        per_job = (e2 - e1) / ETA_SHARE / 10  # job 2's ten leaves, at the measured pace
        assert pace * 0.8 < per_job < pace * 4, per_job
        assert runner.eta("no-such-simulation") == 0.0
        while runner.progress("top2") < 1.0 and runner.eta("top2") > 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        runner.stop()
        db.close()


def test_reads_do_not_wait_for_a_writers_transaction(tmp_path: Path) -> None:
    """A poll answered on the event loop reads on its own connection: a long transaction of the runner
    (holding the write lock) neither blocks it nor shows it uncommitted rows."""
    db = ServerDB(tmp_path / "s.sqlite3")
    db.bump("u", "posts")
    inside, release = threading.Event(), threading.Event()

    def writer() -> None:
        with db.tx() as conn:
            conn.execute("UPDATE counters SET value = 5 WHERE user = 'u'")
            inside.set()
            release.wait(30)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert inside.wait(30)
        t0 = time.monotonic()
        assert db.one("SELECT value FROM counters WHERE user = 'u'") == {"value": 1}
        assert time.monotonic() - t0 < 1.0
    finally:
        release.set()
        t.join(30)
    assert db.one("SELECT value FROM counters WHERE user = 'u'") == {"value": 5}
    db.close()
    with pytest.raises(Exception, match="closed"):
        db.one("SELECT 1")


def test_memory_database_reads_under_the_lock() -> None:
    db = ServerDB(":memory:")
    db.bump("u", "posts", 3)
    assert db.all("SELECT user, value FROM counters") == [{"user": "u", "value": 3}]
    db.close()


def test_polls_follow_the_advertised_retry_after(panel: Panel, tmp_path: Path) -> None:
    """A client that sleeps the advertised Retry-After polls a job behind a backlog a few times, not
    once per `retry_after` for the whole wait."""
    pace = 0.02
    backend = _PacedBackend(LocalBackend(panel, workers=1), pace)
    with running_server(backend, tmp_path / "s.sqlite3", runner_threads=1, batch_size=10) as url, login(url) as c:
        locations = [
            c.post("/simulations", json=[regular(code) for code in CODES] * 2).headers["location"] for _ in range(6)
        ]
        polls = 0
        while True:
            r = c.get(locations[-1])
            if "retry-after" not in r.headers:
                break
            polls += 1
            time.sleep(float(r.headers["retry-after"]))
        # 60 simulations at 20 ms: ~1.2 s, which polling every 0.1 s (as before) took ~12 polls to see
        assert r.json()["status"] == "ERROR" and polls <= 8, polls

"""SIGKILL during platform simulations, then `alphamine resume`: the resumed run re-attaches to the
simulations the killed process had started (their URLs were committed at once) and finds among the
account's alphas those it had posted without recording the answer, so the server counts no duplicated
and no lost simulation, wherever the kill fell."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest
from tests.brain.test_server_support import GatedBackend

from alphamine.backends.local import LocalBackend
from alphamine.brain.server import create_app, serve_in_thread
from alphamine.data.synthetic import synthetic
from alphamine.store.status import SIMULATED_STATUSES, CandidateStatus

pytestmark = pytest.mark.slow
EMAIL, PASSWORD = "quant@example.com", "resume-secret"
ARGS = [
    "--synthetic", "60,400", "--seed", "2", "--universe", "TOP60", "--max-iterations", "1", "--candidates", "8",
    "--max-variant-alphas", "1", "--max-variants-per-alpha", "2", "--max-enhance-alphas", "1", "--quiet",
    "--reconcile-wait", "20",
]  # fmt: skip
CLI = [sys.executable, "-c", "from alphamine.cli.main import main; main()"]


def _recorded(db, key: str = "submitted") -> int:
    """Entries under `key` (submitted URLs, or POSTs begun) in the running tasks' payloads."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as c:
            rows = c.execute("select payload from tasks where status = 'running'").fetchall()
    except sqlite3.OperationalError:
        return 0
    return sum(len(json.loads(p).get(key) or {}) for (p,) in rows)


def _submitted_urls(db) -> int:
    return _recorded(db, "submitted")


@pytest.mark.parametrize("kill_at", ["running", "posting"])
def test_sigkill_then_resume_neither_duplicates_nor_loses_platform_simulations(tmp_path, kill_at: str) -> None:
    """`running`: killed once the platform simulates (URLs recorded, maybe not all of them);
    `posting`: killed the moment a POST is begun (before, during or just after the platform's answer)."""
    gated = GatedBackend(LocalBackend(synthetic(60, 400, seed=2), workers=1))
    app = create_app(gated, db_path=tmp_path / "srv.sqlite3", users={EMAIL: PASSWORD}, retry_after=0.05)
    root = tmp_path / "rt"
    db = root / "alphamine.sqlite3"
    env = {**os.environ, "BRAIN_EMAIL": EMAIL, "BRAIN_PASSWORD": PASSWORD}
    with serve_in_thread(app) as url:
        cmd = [*CLI, "run", *ARGS, "--backend", "brain", "--brain-url", url, "--run-id", "k", "--runtime-root",
               str(root)]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        started = (lambda: _recorded(db, "posting") > 0) if kill_at == "posting" else (
            lambda: _submitted_urls(db) > 0 and gated.entered.is_set())  # fmt: skip
        while not started():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the run never started platform simulations"
            time.sleep(0.002 if kill_at == "posting" else 0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        in_flight = _submitted_urls(db)
        before = httpx.get(f"{url}/_alphamine/stats").json()["simulations"]
        assert before >= in_flight and (in_flight > 0 or kill_at == "posting")
        gated.gate.set()  # the platform finishes what it was given
        resumed = subprocess.run(
            [*CLI, "resume", "--run-id", "k", "--runtime-root", str(root), "--quiet"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        total = httpx.get(f"{url}/_alphamine/stats").json()["simulations"]
    with sqlite3.connect(db) as c:
        statuses = [s for (s,) in c.execute("select status from candidates")]
        tasks = dict(c.execute("select status, count(*) from tasks group by status").fetchall())
    reached = sum(s in SIMULATED_STATUSES or s == CandidateStatus.FAILED for s in statuses)
    assert total == reached  # every simulated candidate cost exactly one platform simulation
    assert CandidateStatus.QUEUED not in statuses  # nothing lost
    assert tasks.get("resumed", 0) >= 1 and "running" not in tasks

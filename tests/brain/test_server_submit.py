"""Checks and the submit protocol of the local BRAIN server, and what survives a restart.

Submissions are local only: they run the checks and record the outcome in the server's database.
A repeated POST while a submission runs is a poll, never a second submission (brain.md §7.3, §7.5).
"""

from __future__ import annotations

import re
import socket
import sqlite3
import time
from pathlib import Path

import pytest

from alphamine.data.panel import Panel
from alphamine.data.synthetic import SignalStrengths, synthetic
from tests.brain.test_server_support import login, poll, regular, running_server, simulate

STRONG = "rank(-ts_sum(returns, 5))"


@pytest.fixture(scope="module")
def small() -> Panel:
    return synthetic(40, 300)


@pytest.fixture(scope="module")
def strong() -> Panel:
    """800 days (IS long enough for DATA_LENGTH) with a strong planted reversal: STRONG passes every check."""
    return synthetic(60, 800, signals=SignalStrengths(reversal=0.08, value=0.0, sentiment=0.0))


def _started(db: Path, alpha_id: str) -> float:
    with sqlite3.connect(db) as conn:
        return float(conn.execute("SELECT started FROM submissions WHERE alpha = ?", (alpha_id,)).fetchone()[0])


def test_failed_submission_and_poll_semantics(small: Panel, tmp_path: Path) -> None:
    db = tmp_path / "server.sqlite3"
    with running_server(small, db, submit_seconds=1.0) as url, login(url) as c:
        alpha_id = simulate(c, regular("rank(-returns)"))["alpha"]
        checks = c.get(f"/alphas/{alpha_id}/check")
        assert checks.status_code == 200
        by_name = {x["name"]: x for x in checks.json()["is"]["checks"]}
        assert by_name["SELF_CORRELATION"]["result"] == "PASS"  # nothing submitted yet
        assert by_name["DATA_LENGTH"]["result"] == "FAIL"  # 300 days cannot pass
        assert c.get(f"/alphas/{alpha_id}/submit").status_code == 404  # no submission yet

        t0 = time.monotonic()
        first = c.post(f"/alphas/{alpha_id}/submit")
        assert first.status_code == 201
        assert re.fullmatch(re.escape(url) + f"/alphas/{alpha_id}/submit", first.headers["location"])
        assert float(first.headers["retry-after"]) > 0
        started = _started(db, alpha_id)
        again = c.post(f"/alphas/{alpha_id}/submit")  # a poll, not a second submission
        assert again.status_code == 200 and again.content == b"" and float(again.headers["retry-after"]) > 0
        polled = c.get(f"/alphas/{alpha_id}/submit")
        assert polled.status_code == 200 and "retry-after" in polled.headers
        assert _started(db, alpha_id) == started
        final = poll(c, f"/alphas/{alpha_id}/submit", method="POST")
        assert time.monotonic() - t0 >= 1.0
        assert final.status_code == 403
        failed = {x["name"]: x["result"] for x in final.json()["is"]["checks"]}
        assert failed["DATA_LENGTH"] == "FAIL"
        assert c.get(f"/alphas/{alpha_id}/submit").status_code == 403  # the outcome stays readable
        alpha = c.get(f"/alphas/{alpha_id}").json()
        assert (alpha["status"], alpha["stage"], alpha["dateSubmitted"]) == ("UNSUBMITTED", "IS", None)
        retry = c.post(f"/alphas/{alpha_id}/submit")  # a failure was delivered: this is a new attempt
        assert retry.status_code == 201 and _started(db, alpha_id) > started


def test_successful_submission_and_self_correlation(strong: Panel, tmp_path: Path) -> None:
    with running_server(strong, tmp_path / "server.sqlite3") as url, login(url, "submitter@example.com", "y") as c:
        settings = {"universe": "TOP60", "neutralization": "MARKET"}
        first = simulate(c, regular(STRONG, **settings))["alpha"]
        twin = simulate(c, regular(STRONG, decay=3, **settings))["alpha"]
        assert not [x for x in c.get(f"/alphas/{first}/check").json()["is"]["checks"] if x["result"] == "FAIL"]
        assert c.post(f"/alphas/{first}/submit").status_code == 201
        done = poll(c, f"/alphas/{first}/submit")
        assert done.status_code == 200 and "retry-after" not in done.headers
        assert all(x["result"] != "FAIL" for x in done.json()["is"]["checks"])
        alpha = c.get(f"/alphas/{first}").json()
        assert (alpha["status"], alpha["stage"]) == ("ACTIVE", "OS") and alpha["dateSubmitted"]
        repeat = c.post(f"/alphas/{first}/submit")  # idempotent once ACTIVE
        assert repeat.status_code == 200 and "retry-after" not in repeat.headers
        active = c.get("/users/self/alphas", params={"status": "ACTIVE"}).json()
        assert [a["id"] for a in active["results"]] == [first]

        # the decayed twin now correlates with an ACTIVE alpha of higher Sharpe
        corr = {x["name"]: x for x in c.get(f"/alphas/{twin}/check").json()["is"]["checks"]}["SELF_CORRELATION"]
        assert corr["result"] == "FAIL" and corr["value"] > 0.7 and corr["correlatedWith"] == first
        pending = {x["name"]: x for x in c.get(f"/alphas/{twin}").json()["is"]["checks"]}["SELF_CORRELATION"]
        assert pending["result"] == "PENDING"  # GET /alphas shows the checks as of simulation
        assert c.post(f"/alphas/{twin}/submit").status_code == 201
        refused = poll(c, f"/alphas/{twin}/submit", method="POST")
        assert refused.status_code == 403
        assert {x["name"]: x["result"] for x in refused.json()["is"]["checks"]}["SELF_CORRELATION"] == "FAIL"
        assert c.get(f"/alphas/{twin}").json()["status"] == "UNSUBMITTED"


def test_restart_keeps_alphas_and_finishes_interrupted_simulations(small: Panel, tmp_path: Path) -> None:
    db = tmp_path / "server.sqlite3"
    with running_server(small, db) as url, login(url) as c:
        sim = simulate(c, regular("rank(-returns)"))
        before = c.get(f"/alphas/{sim['alpha']}").json()
        kept = simulate(c, regular("rank(close)"))["alpha"]
    with pytest.raises(OSError):  # the server is gone
        socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1).close()
    with sqlite3.connect(db) as conn:  # what a process killed mid-simulation leaves behind
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute("DELETE FROM alphas WHERE id = ?", (sim["alpha"],))
        conn.execute("UPDATE simulations SET status = 'SIMULATING', alpha = NULL WHERE id = ?", (sim["id"],))
    with running_server(small, db) as url, login(url) as c:
        assert c.get(f"/alphas/{kept}").json()["regular"]["code"] == "rank(close)"
        again = poll(c, f"{url}/simulations/{sim['id']}").json()
        assert again["status"] == "COMPLETE" and again["alpha"] and again["alpha"] != sim["alpha"]
        assert c.get(f"/alphas/{again['alpha']}").json()["is"] == before["is"]
        stats = c.get("/_alphamine/stats").json()
        assert stats["running"] == 0

"""Quota, concurrency, fault injection and the alphamine-only stats of the local BRAIN server.

"In flight" is held open by `GatedBackend` (a real LocalBackend behind a gate), so the concurrency
tests do not race the simulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alphamine.backends import LocalBackend
from alphamine.brain.server import create_app, parse_faults
from alphamine.brain.server.app import path_template
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from tests.brain.test_server_support import EMAIL, PASSWORD, USERS, GatedBackend, login, poll, regular, running_server

DAILY = "Daily simulation limit reached. Please try tomorrow (EST)"
CONCURRENT = "CONCURRENT_SIMULATION_LIMIT_EXCEEDED"


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(40, 300)


@pytest.fixture()
def gated(panel: Panel) -> Iterator[GatedBackend]:
    backend = GatedBackend(LocalBackend(panel, workers=1))
    yield backend
    backend.gate.set()


def _remaining(r: httpx.Response) -> int:
    return int(r.headers["x-ratelimit-remaining"])


def test_concurrency_cap_and_daily_quota(gated: GatedBackend, tmp_path: Path) -> None:
    with running_server(gated, tmp_path / "s.sqlite3", daily_quota=6, max_concurrent=2) as url, login(url) as c:
        a = c.post("/simulations", json=regular("rank(close)"))
        assert a.status_code == 201 and _remaining(a) == 5
        assert int(a.headers["x-ratelimit-limit"]) == 6 and int(a.headers["x-ratelimit-reset"]) > 0
        assert gated.entered.wait(10)
        b = c.post("/simulations", json=[regular("rank(open)"), regular("rank(volume)")])
        assert b.status_code == 201 and _remaining(b) == 3  # each child counts
        refused = c.post("/simulations", json=regular("rank(high)"))
        assert refused.status_code == 429 and refused.json() == {"detail": CONCURRENT}
        assert "location" not in refused.headers and _remaining(refused) == 3
        assert c.get("/authentication").status_code == 200  # a 429 never ends the session
        assert "retry-after" in c.get(a.headers["location"]).headers  # still in flight
        gated.gate.set()
        assert poll(c, a.headers["location"]).json()["status"] == "COMPLETE"
        assert poll(c, b.headers["location"]).json()["status"] == "COMPLETE"
        over = c.post("/simulations", json=[regular(f"rank(close) + {i}") for i in range(4)])
        assert over.status_code == 429 and over.json() == {"detail": DAILY} and _remaining(over) == 3
        last = c.post("/simulations", json=[regular(f"rank(low) * {i + 1}") for i in range(3)])
        assert last.status_code == 201 and _remaining(last) == 0
        poll(c, last.headers["location"])
        empty = c.post("/simulations", json=regular("rank(vwap)"))
        assert empty.status_code == 429 and empty.json() == {"detail": DAILY}
        with login(url, "other@example.com", USERS["other@example.com"]) as other:  # quotas are per user
            assert other.post("/simulations", json=regular("rank(vwap)")).status_code == 201
        stats = c.get("/_alphamine/stats").json()
        mine = stats["users"][EMAIL]
        assert mine["simulations"] == 6 and mine["usedToday"] == 6 and mine["maxConcurrent"] == 2
        assert mine["postsByPath"] == {"/authentication": 1, "/simulations": 6}
        assert mine["posts"] == 7 and stats["limits"] == {"dailyQuota": 6, "maxConcurrent": 2}


def test_a_finished_simulation_frees_its_slot_before_anyone_sees_it_finished(panel: Panel, tmp_path: Path) -> None:
    with running_server(panel, tmp_path / "s.sqlite3", max_concurrent=1) as url, login(url) as c:
        for i in range(5):
            r = c.post("/simulations", json=regular(f"rank(close) * {i + 1}"))
            assert r.status_code == 201, r.text  # never a stale CONCURRENT_SIMULATION_LIMIT_EXCEEDED
            assert poll(c, r.headers["location"]).json()["status"] == "COMPLETE"
        assert c.get("/_alphamine/stats").json()["users"][EMAIL]["maxConcurrent"] == 1


FAULTS = "429=0.3,500=0.1,latency=0.01,expire=7"


def _fault_trace(url: str) -> list[int]:
    """A sequential client: 25 requests, re-login on 401, everything recorded."""
    trace: list[int] = []
    with httpx.Client(base_url=url, timeout=30) as c:
        for i in range(25):
            if i == 0 or (trace and trace[-1] == 401):
                r = c.post("/authentication", auth=(EMAIL, PASSWORD))
            else:
                r = c.get("/data-sets")
            trace.append(r.status_code)
            if r.status_code == 429:
                assert r.json()["detail"] and float(r.headers["retry-after"]) > 0
    return trace


def test_faults_are_seeded_and_deterministic(panel: Panel, tmp_path: Path) -> None:
    traces = []
    for i, seed in enumerate((3, 3, 4)):
        backend = LocalBackend(panel, workers=1)
        with running_server(backend, tmp_path / f"f{i}.sqlite3", faults=FAULTS, seed=seed) as url:
            traces.append(_fault_trace(url))
            with httpx.Client(base_url=url) as plain_client:
                stats = plain_client.get("/_alphamine/stats").json()  # never faulted
            assert stats["faults"]["expired"] == 25 // 7
    assert traces[0] == traces[1]
    assert traces[0] != traces[2]
    assert {429, 500, 401} <= set(traces[0]) and {200, 201} & set(traces[0])


def test_fault_specs_are_validated(panel: Panel, tmp_path: Path) -> None:
    spec = parse_faults(" 429=0.3, 503=0.1 ,latency=0.2,expire=20")
    assert spec.rates == ((429, 0.3), (503, 0.1)) and spec.latency == 0.2 and spec.expire_every == 20
    assert not parse_faults(None).active and not parse_faults("").active
    for bad, part in (
        ("429=1.5", "429=1.5"), ("404=0.1", "404=0.1"), ("latency=-1", "latency=-1"), ("expire=0", "expire=0"),
        ("expire=2.5", "expire=2.5"), ("jitter=1", "jitter"), ("429", "429"), ("500=abc", "abc"),
        ("429=0.7,500=0.5", "more than 1"),
    ):
        with pytest.raises(ValueError, match=part):
            parse_faults(bad)
    with pytest.raises(ValueError, match="nonsense"):
        create_app(LocalBackend(panel, workers=1), db_path=tmp_path / "x.sqlite3", users=USERS, faults="nonsense=1")


def test_path_template_names_routes_not_ids() -> None:
    assert path_template("/alphas/Ab12Cd34/submit") == "/alphas/{id}/submit"
    assert path_template("/simulations/xyz") == "/simulations/{id}"
    assert path_template("/simulations") == "/simulations"

"""The local BRAIN server over HTTP: authentication, simulations, alphas, record sets.

A real uvicorn server in a thread over a real LocalBackend on synthetic(40, 300), driven by httpx
exactly as a BRAIN client would (brain.md §7, §7.5).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from alphamine.brain.server.common import plain
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.sim.batch import SimSpec, simulate_many
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from tests.brain.test_server_support import (
    EMAIL,
    OTHER,
    OTHER_PASSWORD,
    PASSWORD,
    login,
    poll,
    regular,
    running_server,
    simulate,
)


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(40, 300)


@pytest.fixture(scope="module")
def base_url(panel: Panel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(panel, tmp_path_factory.mktemp("brain") / "server.sqlite3") as url:
        yield url


@pytest.fixture()
def client(base_url: str) -> Iterator[httpx.Client]:
    with login(base_url) as c:
        yield c


def _local(panel: Panel, code: str, settings: dict[str, Any]) -> SimResult:
    out = simulate_many([SimSpec(code, make_settings(settings))], panel, workers=1)[0]
    assert isinstance(out, SimResult)
    return out


# ---------------------------------------------------------------------------------- authentication
def test_login_sets_a_host_only_plain_http_session_cookie(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        r = c.post("/authentication", auth=(EMAIL, PASSWORD))
        assert r.status_code == 201
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("t=")
        assert "domain" not in cookie.lower() and "secure" not in cookie.lower()
        body = r.json()
        assert set(body) == {"user", "token", "permissions"}
        assert re.fullmatch(r"[A-Z]{2}\d{5}", body["user"]["id"])
        assert body["token"]["expiry"] == 14400.0
        assert "MULTI_SIMULATION" in body["permissions"]
        assert c.cookies.get("t")  # the client stored it for 127.0.0.1 and sends only the cookie below
        me = c.get("/authentication")
        assert me.status_code == 200 and me.json()["user"] == body["user"]
        assert c.get("/users/self/alphas").status_code == 200
        assert c.delete("/authentication").status_code == 204
        assert c.get("/authentication").status_code == 204
        after = c.get("/users/self/alphas")
        assert after.status_code == 401 and "detail" in after.json()


def test_bad_or_missing_credentials_are_401(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        bad = c.post("/authentication", auth=(EMAIL, "wrong"))
        assert bad.status_code == 401 and bad.json()["detail"]
        assert bad.headers["www-authenticate"].lower().startswith("basic")
        assert c.post("/authentication", auth=("nobody@example.com", PASSWORD)).status_code == 401
        assert c.post("/authentication").status_code == 401
        assert c.get("/authentication").status_code == 204
        for method, path in (("GET", "/users/self/alphas"), ("POST", "/simulations"), ("GET", "/operators")):
            r = c.request(method, path)
            assert r.status_code == 401, (method, path)
        c.cookies.set("t", "forged-token")
        assert c.get("/data-sets").status_code == 401


def test_expired_session_is_401_never_403(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        r = c.post("/authentication", auth=(EMAIL, PASSWORD), json={"expiry": 1})
        assert r.status_code == 201 and r.json()["token"]["expiry"] == 1
        assert c.get("/operators").status_code == 200
        time.sleep(1.2)
        r = c.get("/operators")
        assert r.status_code == 401
        assert c.get("/authentication").status_code == 204
        assert c.post("/authentication", auth=(EMAIL, PASSWORD)).status_code == 201  # re-login works
        assert c.get("/operators").status_code == 200


# ---------------------------------------------------------------------------------- simulations
def test_simulation_protocol_and_alpha_equal_local_result(client: httpx.Client, base_url: str, panel: Panel) -> None:
    payload = regular("rank(-ts_delta(close, 5))", decay=2, neutralization="SECTOR", truncation=0.1)
    r = client.post("/simulations", json=payload)
    assert r.status_code == 201 and r.content == b""
    location = r.headers["location"]
    assert re.fullmatch(re.escape(base_url) + r"/simulations/[A-Za-z0-9]+", location)  # absolute, own origin
    assert float(r.headers["retry-after"]) > 0
    first = client.get(location)
    if "retry-after" in first.headers:
        assert set(first.json()) == {"progress"} and 0 <= first.json()["progress"] <= 1
    done = poll(client, location)
    sim = done.json()
    assert sim["status"] == "COMPLETE" and sim["id"] == location.rsplit("/", 1)[1]
    assert sim["regular"] == payload["regular"] and sim["type"] == "REGULAR"
    assert set(sim) >= {"id", "type", "settings", "regular", "status", "alpha"}

    alpha = client.get(f"/alphas/{sim['alpha']}")
    assert alpha.status_code == 200 and "retry-after" not in alpha.headers
    a = alpha.json()
    local = _local(panel, payload["regular"], payload["settings"])
    expected = plain(local.to_json())
    for block in ("is", "os", "train", "test"):
        assert a[block] == expected[block], block
    assert a["settings"] == expected["settings"] == sim["settings"]
    assert a["regular"]["code"] == payload["regular"] and a["regular"]["operatorCount"] >= 2
    assert a["id"] == sim["alpha"] and len(a["id"]) == 8
    assert (a["status"], a["stage"], a["type"]) == ("UNSUBMITTED", "IS", "REGULAR")
    for key in ("dateCreated", "name", "color", "tags", "category", "favorite", "hidden", "author"):
        assert key in a

    daily = client.get(f"/alphas/{a['id']}/recordsets/daily-pnl").json()
    assert [p["name"] for p in daily["schema"]["properties"]] == ["date", "pnl"]
    first_day = local.periods.first
    assert [v for _, v in daily["records"]] == local.daily_pnl[first_day:].tolist()
    assert daily["records"][0][0] == str(local.dates[first_day])
    cumulative = client.get(f"/alphas/{a['id']}/recordsets/pnl").json()["records"]
    np.testing.assert_allclose([v for _, v in cumulative], np.cumsum(local.daily_pnl[first_day:]))
    yearly = client.get(f"/alphas/{a['id']}/recordsets/yearly-stats").json()
    columns = [p["name"] for p in yearly["schema"]["properties"]]
    assert [dict(zip(columns, rec, strict=True)) for rec in yearly["records"]] == plain(local.yearly_rows)
    listed = client.get(f"/alphas/{a['id']}/recordsets").json()
    assert {x["name"] for x in listed["results"]} == {"pnl", "daily-pnl", "yearly-stats"}
    assert client.get(f"/alphas/{a['id']}/recordsets/coverage").status_code == 404


def test_expression_errors_arrive_asynchronously(client: httpx.Client) -> None:
    for code, words in (("rank(nosuchfield)", "nosuchfield"), ("rank(close", "")):
        r = client.post("/simulations", json=regular(code))
        assert r.status_code == 201 and r.headers["location"]
        sim = poll(client, r.headers["location"]).json()
        assert sim["status"] == "ERROR" and sim["alpha"] is None
        assert words in sim["message"] and sim["message"]
        assert sim["location"]["property"] == "regular" and sim["location"]["line"] == 1


def test_malformed_settings_are_synchronous_400s(client: httpx.Client) -> None:
    r = client.post("/simulations", json=regular("rank(close)", region="XXX", universe="TOP9999", delay=2))
    assert r.status_code == 400 and "location" not in r.headers
    errors = r.json()["settings"]
    assert errors["region"] == ['"XXX" is not a valid choice.']
    assert errors["universe"] == ['"TOP9999" is not a valid choice.']
    assert errors["delay"] == ['"2" is not a valid choice.']
    assert r.headers["x-ratelimit-limit"]
    missing = client.post("/simulations", json={"type": "REGULAR", "settings": {"universe": "TOP40"}})
    assert missing.status_code == 400 and missing.json() == {"regular": ["This field is required."]}
    items = client.post("/simulations", json=[regular("rank(close)"), regular("rank(open)", decay=-1)])
    assert items.status_code == 400
    assert items.json()[0] == {} and "decay" in items.json()[1]["settings"]
    for body in ([regular("rank(close)")], [regular("rank(close)")] * 11, "text", 5):
        assert client.post("/simulations", json=body).status_code == 400
    mixed = client.post("/simulations", json=[regular("rank(close)"), regular("rank(open)", delay=0)])
    assert mixed.status_code == 400 and "share" in mixed.json()["detail"]
    not_json = client.post("/simulations", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    ignored = client.post("/simulations", json=regular("rank(close)", maxPosition="OFF", startDate="2010-01-01"))
    assert ignored.status_code == 201  # BRAIN settings the engine does not model are accepted


def test_multi_simulation_parent_and_children(client: httpx.Client, panel: Panel) -> None:
    codes = ["rank(-returns)", "rank(volume / adv20)", "-rank(ts_std_dev(returns, 20))"]
    parent = simulate(client, [regular(c, universe=u) for c, u in zip(codes, ["TOP40", "TOP20", "TOP40"], strict=True)])
    assert parent["status"] == "COMPLETE" and len(parent["children"]) == 3
    alphas = []
    for child_id, code in zip(parent["children"], codes, strict=True):
        child = client.get(f"/simulations/{child_id}").json()
        assert child["parent"] == parent["id"] and child["status"] == "COMPLETE" and child["regular"] == code
        alphas.append(client.get(f"/alphas/{child['alpha']}").json())
    assert len({a["id"] for a in alphas}) == 3
    assert alphas[1]["settings"]["universe"] == "TOP20"
    expected = plain(_local(panel, codes[1], {"universe": "TOP20"}).to_json())
    assert alphas[1]["is"] == expected["is"]

    broken = simulate(client, [regular("rank(close)"), regular("rank(nosuch)"), regular("rank(open)")])
    assert broken["status"] == "ERROR" and "nosuch" in broken["message"]
    statuses = [client.get(f"/simulations/{c}").json()["status"] for c in broken["children"]]
    assert statuses == ["CANCELLED", "ERROR", "CANCELLED"]


# ---------------------------------------------------------------------------------- alphas
def test_alpha_patch_not_found_and_privacy(client: httpx.Client, base_url: str) -> None:
    alpha_id = simulate(client, regular("rank(close / vwap)"))["alpha"]
    patch = {
        "name": "close-vwap", "color": "GREEN", "tags": ["reversal", "test"], "category": "PRICE_REVERSION",
        "favorite": True, "hidden": True, "regular": {"description": "Idea: intraday reversal."},
    }
    r = client.patch(f"/alphas/{alpha_id}", json=patch)
    assert r.status_code == 200
    got = client.get(f"/alphas/{alpha_id}").json()
    assert (got["name"], got["color"], got["tags"], got["category"]) == ("close-vwap", "GREEN", ["reversal", "test"],
                                                                         "PRICE_REVERSION")
    assert got["favorite"] is True and got["hidden"] is True
    assert got["regular"]["description"] == "Idea: intraday reversal."
    assert got["regular"]["code"] == "rank(close / vwap)"
    bad = client.patch(f"/alphas/{alpha_id}", json={"color": "PINK", "tags": "x"})
    assert bad.status_code == 400 and set(bad.json()) == {"color", "tags"}
    for path in ("/alphas/NOPE1234", "/alphas/NOPE1234/check", "/alphas/NOPE1234/recordsets/pnl",
                 "/simulations/nope"):
        r = client.get(path)
        assert r.status_code == 404 and r.json() == {"detail": "Not found."}
    assert client.patch("/alphas/NOPE1234", json={"name": "x"}).status_code == 404
    with login(base_url, OTHER, OTHER_PASSWORD) as other:
        assert other.get(f"/alphas/{alpha_id}").status_code == 404
        assert other.post(f"/alphas/{alpha_id}/submit").status_code == 404
        assert alpha_id not in {a["id"] for a in other.get("/users/self/alphas?limit=100").json()["results"]}

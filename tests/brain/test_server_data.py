"""Data discovery, operators and the alpha list (filters on the raw query string, paging) of the
local BRAIN server, plus the filter parser itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from alphamine.brain.server.filters import Filter, order, parse_query, select
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.ops.registry import all_operators
from tests.brain.test_server_support import login, regular, running_server, simulate

LISTER = ("lister@example.com", "x")


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(40, 300)


@pytest.fixture(scope="module")
def server(panel: Panel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(panel, tmp_path_factory.mktemp("data") / "s.sqlite3") as url:
        yield url


@pytest.fixture(scope="module")
def listed(server: str) -> list[dict[str, Any]]:
    """Seven alphas of the lister (one multi-simulation of 5 and 2 singles), as GET /alphas shows them."""
    codes = ["rank(-returns)", "rank(volume)", "-rank(close)", "rank(high - low)", "ts_rank(close, 20)"]
    with login(server, *LISTER) as c:
        parent = simulate(c, [regular(x, universe=u) for x, u in zip(codes, ["TOP40", "TOP20"] * 3, strict=False)])
        ids = [c.get(f"/simulations/{k}").json()["alpha"] for k in parent["children"]]
        ids += [simulate(c, regular(x))["alpha"] for x in ("rank(open)", "rank(vwap / close)")]
        return [c.get(f"/alphas/{i}").json() for i in ids]


def _all(c: httpx.Client, raw_query: str) -> tuple[int, list[str]]:
    """(count, ids) of every page of /users/self/alphas?<raw_query>, following `next`."""
    r = c.get(f"/users/self/alphas?{raw_query}")
    assert r.status_code == 200, r.text
    body = r.json()
    ids = [a["id"] for a in body["results"]]
    while body["next"]:
        assert body["next"].startswith(str(c.base_url))
        body = c.get(body["next"]).json()
        ids += [a["id"] for a in body["results"]]
    assert len(ids) == body["count"] == len(set(ids))
    return body["count"], ids


def test_data_sets_fields_and_operators(server: str, panel: Panel) -> None:
    with login(server) as c:
        sets = c.get("/data-sets", params={"instrumentType": "EQUITY", "region": "USA", "delay": 1,
                                           "universe": "TOP40"}).json()
        assert set(sets) == {"count", "results"}
        assert {d["id"] for d in sets["results"]} == {f.dataset for f in panel.catalogue.values()}
        assert sum(d["fieldCount"] for d in sets["results"]) == len(panel.catalogue)
        first = c.get("/data-fields", params={"limit": 1}).json()
        assert first["count"] == len(panel.catalogue) and len(first["results"]) == 1  # count ignores limit
        pages = [c.get("/data-fields", params={"limit": 10, "offset": o}).json()["results"] for o in range(0, 30, 10)]
        assert sorted(f["id"] for p in pages for f in p) == sorted(panel.catalogue)
        pv = c.get("/data-fields", params={"dataset.id": "pv1", "limit": 50}).json()
        assert pv["count"] == sum(f.dataset == "pv1" for f in panel.catalogue.values()) == len(pv["results"])
        groups = c.get("/data-fields", params={"type": "GROUP"}).json()
        assert {f["id"] for f in groups["results"]} == {"market", "sector", "industry", "subindustry"}
        close = c.get("/data-fields", params={"search": "CLOSE"}).json()["results"]
        assert "close" in {f["id"] for f in close}
        one = c.get("/data-fields/close").json()
        assert one["type"] == "MATRIX" and one["dataset"]["id"] == "pv1" and 0 < one["coverage"] <= 1
        assert c.get("/data-fields/nope").status_code == 404
        for params in ({"limit": 51}, {"theme": "ALL"}, {"region": "EUR"}, {"universe": "TOP3000"}, {"delay": 2}):
            bad = c.get("/data-fields", params=params)
            assert bad.status_code == 400 and set(bad.json()) <= {"limit", "theme", "region", "universe", "delay"}
        ops = c.get("/operators").json()
        assert isinstance(ops, list)
        assert [o["name"] for o in ops] == [o.name for o in all_operators()]
        assert {"name", "category", "scope", "definition", "description"} <= set(ops[0])
        ts_mean = next(o for o in ops if o["name"] == "ts_mean")
        assert ts_mean["category"] == "Time Series" and ts_mean["definition"].startswith("ts_mean(")
        options = c.options("/simulations").json()["actions"]["POST"]["settings"]["children"]
        assert [x["value"] for x in options["universe"]["choices"]["instrumentType"]["EQUITY"]["region"]["USA"]] == [
            "TOP40", "TOP20", "TOP8"]


def test_alpha_list_paging_and_filters(server: str, listed: list[dict[str, Any]]) -> None:
    ids = {a["id"] for a in listed}
    sharpe = {a["id"]: a["is"]["sharpe"] for a in listed}
    with login(server, *LISTER) as c:
        head = c.get("/users/self/alphas?limit=1").json()
        assert head["count"] == 7 and len(head["results"]) == 1 and head["previous"] is None and head["next"]
        assert set(_all(c, "limit=3")[1]) == ids
        middle = c.get("/users/self/alphas?limit=3&offset=3").json()
        assert middle["previous"] and "offset=0" in middle["previous"]

        cut = sorted(sharpe.values())[3]
        count, got = _all(c, f"is.sharpe%3E={cut}&limit=2")  # >= in the name, percent-encoded
        assert count == 4 and set(got) == {i for i, s in sharpe.items() if s >= cut}
        _, got = _all(c, f"is.sharpe%3E{cut}")  # exclusive: no '=' at all
        assert set(got) == {i for i, s in sharpe.items() if s > cut}
        _, got = _all(c, f"is.sharpe%3C={cut}&is.sharpe%3E=-100")
        assert set(got) == {i for i, s in sharpe.items() if s <= cut}

        _, ordered = _all(c, "order=-is.sharpe&limit=4")
        assert ordered == sorted(sharpe, key=lambda i: -sharpe[i])
        _, ordered = _all(c, "order=is.sharpe")
        assert ordered == sorted(sharpe, key=lambda i: sharpe[i])

        assert _all(c, "dateCreated%3C2999-01-01T00:00:00%2B00:00")[0] == 7  # exclusive bound, '+' encoded
        assert _all(c, "dateCreated%3C2000-01-01T00:00:00-05:00")[0] == 0
        assert _all(c, "dateCreated%3E=2000-01-01")[0] == 7
        assert _all(c, "status=UNSUBMITTED%1FACTIVE")[0] == 7  # \x1f joins several values
        assert _all(c, "status=ACTIVE")[0] == 0
        assert _all(c, "settings.universe=TOP20")[0] == 2
        assert _all(c, "type!=SUPER&stage=IS")[0] == 7

        hidden = listed[0]["id"]
        assert c.patch(f"/alphas/{hidden}", json={"hidden": True, "tags": ["keep"]}).status_code == 200
        _, visible = _all(c, "hidden=false")
        assert set(visible) == ids - {hidden}
        assert _all(c, "tags=keep")[1] == [hidden]
        assert _all(c, "competition=ABC")[0] == 7  # a platform parameter alpha JSON has no key for: ignored
        assert c.get("/users/self/alphas?limit=101").status_code == 400


def test_parse_query_reads_operators_from_the_raw_names() -> None:
    filters, paging = parse_query(
        "limit=5&offset=10&order=-is.sharpe&is.sharpe%3E=1.58&is.fitness%3C1&dateCreated%3C2026-12-05T10:41:16%2B00:00"
        "&status=UNSUBMITTED%1FACTIVE&type!=SUPER&name=my+alpha&dateSubmitted%3E%3D2026-01-01T00:00:00+00:00"
    )
    assert paging == {"limit": "5", "offset": "10", "order": "-is.sharpe"}
    assert filters == [
        Filter("is.sharpe", ">=", ("1.58",)),
        Filter("is.fitness", "<", ("1",)),
        Filter("dateCreated", "<", ("2026-12-05T10:41:16+00:00",)),
        Filter("status", "=", ("UNSUBMITTED", "ACTIVE")),
        Filter("type", "!=", ("SUPER",)),
        Filter("name", "=", ("my alpha",)),
        Filter("dateSubmitted", ">=", ("2026-01-01T00:00:00+00:00",)),
    ]


def test_select_and_order_on_records() -> None:
    records = [
        {"id": "a", "is": {"sharpe": 1.0}, "tags": ["x"], "hidden": False, "dateCreated": "2026-01-02T00:00:00-05:00"},
        {"id": "b", "is": {"sharpe": None}, "tags": [], "hidden": True, "dateCreated": "2026-01-01T00:00:00-05:00"},
        {"id": "c", "is": {"sharpe": 2.0}, "tags": ["x", "y"], "hidden": False, "dateCreated": "2026-01-03T12:00:00Z"},
    ]

    def ids(filters: list[Filter]) -> list[str]:
        return [str(r["id"]) for r in select(records, filters)]

    assert ids([Filter("is.sharpe", ">", ("1",))]) == ["c"]
    assert ids([Filter("is.sharpe", "!=", ("1",))]) == ["b", "c"]  # missing passes only !=
    assert ids([Filter("tags", "=", ("y",))]) == ["c"]
    assert ids([Filter("hidden", "=", ("false",))]) == ["a", "c"]
    assert ids([Filter("dateCreated", "<", ("2026-01-02",))]) == ["b"]  # a zone-less date is US Eastern
    assert ids([Filter("unknownParam", "=", ("z",))]) == ["a", "b", "c"]
    assert [r["id"] for r in order(list(records), "-is.sharpe")] == ["c", "a", "b"]  # missing last
    assert [r["id"] for r in order(list(records), "is.sharpe")] == ["a", "c", "b"]
    assert [r["id"] for r in order(list(records), "-dateCreated")] == ["c", "a", "b"]

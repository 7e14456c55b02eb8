"""Data discovery the way BRAIN serves it: `/data-sets`, `/data-fields`, `/data-categories`, `/operators`.

Why: research clients list datasets and fields before they write expressions, and learn the operator
set from `/operators`; against the local server they must see what the local engine can actually
simulate, the backend's catalogue and `alphamine.ops.registry`.

Contract (brain.md §7.4, §7.5):
- `GET /data-sets` and `GET /data-fields` take `instrumentType`, `region`, `delay`, `universe`
  (defaults: EQUITY, the backend's first region, 1, its first universe; other values than the
  backend offers -> 400 field-keyed), `limit` (1..50, default 20) and `offset`, plus `search`
  (case-insensitive substring of id, name or description) and `category`; `/data-fields` also
  `dataset.id` and `type`. `theme` accepts true/false only (`theme=ALL` -> 400). The answer is
  `{count, results}` with `count` the total before paging.
- `GET /data-sets/{id}`, `GET /data-fields/{id}`: one record or 404.
- `GET /operators`: a bare JSON list of `{name, category, scope, definition, description,
  documentation, level}`. All of these need a session, like the platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from alphamine.brain.server.auth import current_user
from alphamine.brain.server.common import choice_error, not_found
from alphamine.brain.server.state import ServerState, get_state
from alphamine.data.fields import FieldInfo

router = APIRouter(dependencies=[Depends(current_user)])

MAX_LIMIT = 50
DEFAULT_LIMIT = 20
DATASET_NAMES = {
    "pv1": "Price Volume Data for Equity",
    "fundamental": "Company Fundamental Data for Equity",
    "universe": "Universes",
}


class QueryError(ValueError):
    def __init__(self, body: dict[str, list[str]]) -> None:
        super().__init__(str(body))
        self.body = body


def _scope(q: Mapping[str, str], state: ServerState) -> dict[str, Any]:
    """instrumentType/region/delay/universe of a data query, validated against the backend."""
    regions, universes = list(state.backend.regions()), list(state.backend.universes())
    scope: dict[str, Any] = {
        "instrumentType": q.get("instrumentType", "EQUITY"),
        "region": q.get("region", regions[0] if regions else "USA").upper(),
        "delay": q.get("delay", "1"),
        "universe": q.get("universe", universes[0] if universes else "").upper(),
    }
    errors: dict[str, list[str]] = {}
    if scope["instrumentType"] != "EQUITY":
        errors["instrumentType"] = [choice_error(scope["instrumentType"])]
    if scope["region"] not in regions:
        errors["region"] = [choice_error(scope["region"])]
    if scope["delay"] not in ("0", "1"):
        errors["delay"] = [choice_error(scope["delay"])]
    if scope["universe"] not in universes:
        errors["universe"] = [choice_error(scope["universe"])]
    theme = q.get("theme")
    if theme is not None and theme.lower() not in ("true", "false"):
        errors["theme"] = [choice_error(theme)]
    if errors:
        raise QueryError(errors)
    scope["delay"] = int(scope["delay"])
    return scope


def _paging(q: Mapping[str, str]) -> tuple[int, int]:
    try:
        limit = int(q.get("limit", DEFAULT_LIMIT))
        offset = int(q.get("offset", 0))
    except ValueError:
        raise QueryError({"limit": ["A valid integer is required."]}) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError({"limit": [f"Ensure this value is between 1 and {MAX_LIMIT}."]})
    if offset < 0:
        raise QueryError({"offset": ["Ensure this value is greater than or equal to 0."]})
    return limit, offset


def _named(key: str) -> dict[str, str]:
    return {"id": key, "name": DATASET_NAMES.get(key, key.replace("_", " ").title())}


def field_record(info: FieldInfo, scope: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": info.name,
        "description": info.description,
        "dataset": _named(info.dataset),
        "category": {"id": info.category, "name": info.category.replace("_", " ").title()},
        "subcategory": {"id": f"{info.category}-{info.dataset}", "name": _named(info.dataset)["name"]},
        **{k: scope[k] for k in ("region", "delay", "universe")},
        "type": info.type.value,
        "coverage": info.coverage,
        "dateCoverage": info.date_coverage,
        "userCount": 0,
        "alphaCount": 0,
        "pyramidMultiplier": 1.0,
        "themes": [],
        "unit": info.unit.value,
        "approximate": info.approximate,
    }


def dataset_records(catalogue: Mapping[str, FieldInfo], scope: Mapping[str, Any]) -> list[dict[str, Any]]:
    grouped: dict[str, list[FieldInfo]] = {}
    for info in catalogue.values():
        grouped.setdefault(info.dataset, []).append(info)
    out = []
    for key in sorted(grouped):
        infos = grouped[key]
        out.append({
            **_named(key),
            "description": f"{len(infos)} fields of the local panel",
            "category": {"id": infos[0].category, "name": infos[0].category.replace("_", " ").title()},
            "subcategory": {"id": f"{infos[0].category}-{key}", "name": _named(key)["name"]},
            **{k: scope[k] for k in ("region", "delay", "universe")},
            "coverage": sum(i.coverage for i in infos) / len(infos),
            "dateCoverage": sum(i.date_coverage for i in infos) / len(infos),
            "valueScore": None,
            "userCount": 0,
            "alphaCount": 0,
            "fieldCount": len(infos),
            "themes": [],
            "researchPapers": [],
            "pyramidMultiplier": None,
        })
    return out


def _matches(record: Mapping[str, Any], search: str | None) -> bool:
    if not search:
        return True
    s = search.lower()
    return any(s in str(record.get(k) or "").lower() for k in ("id", "name", "description"))


def _page(records: list[dict[str, Any]], q: Mapping[str, str]) -> JSONResponse:
    limit, offset = _paging(q)
    return JSONResponse({"count": len(records), "results": records[offset : offset + limit]})


def _answer(request: Request, build: Any) -> JSONResponse:
    try:
        response: JSONResponse = build(dict(request.query_params), get_state(request))
        return response
    except QueryError as e:
        return JSONResponse(e.body, status_code=400)


@router.get("/data-sets")
def data_sets(request: Request) -> JSONResponse:
    def build(q: dict[str, str], state: ServerState) -> JSONResponse:
        scope = _scope(q, state)
        records = [r for r in dataset_records(state.backend.catalogue(), scope) if _matches(r, q.get("search"))]
        if q.get("category"):
            records = [r for r in records if r["category"]["id"] == q["category"]]
        return _page(records, q)

    return _answer(request, build)


@router.get("/data-sets/{dataset_id}")
def data_set(dataset_id: str, request: Request) -> JSONResponse:
    state = get_state(request)
    scope = _scope({}, state)
    for r in dataset_records(state.backend.catalogue(), scope):
        if r["id"] == dataset_id:
            return JSONResponse(r)
    raise not_found()


@router.get("/data-fields")
def data_fields(request: Request) -> JSONResponse:
    def build(q: dict[str, str], state: ServerState) -> JSONResponse:
        scope = _scope(q, state)
        records = [field_record(i, scope) for i in state.backend.catalogue().values()]
        records = [r for r in records if _matches(r, q.get("search"))]
        if q.get("dataset.id"):
            records = [r for r in records if r["dataset"]["id"] == q["dataset.id"]]
        if q.get("type"):
            records = [r for r in records if r["type"] == q["type"].upper()]
        if q.get("category"):
            records = [r for r in records if r["category"]["id"] == q["category"]]
        return _page(records, q)

    return _answer(request, build)


@router.get("/data-fields/{field_id}")
def data_field(field_id: str, request: Request) -> JSONResponse:
    state = get_state(request)
    info = state.backend.catalogue().get(field_id)
    if info is None:
        raise not_found()
    return JSONResponse(field_record(info, _scope({}, state)))


@router.get("/data-categories")
def data_categories(request: Request) -> JSONResponse:
    cats: dict[str, dict[str, Any]] = {}
    for info in get_state(request).backend.catalogue().values():
        c = cats.setdefault(info.category, {"id": info.category, "name": info.category.title(), "fields": 0,
                                             "datasets": set()})
        c["fields"] += 1
        c["datasets"].add(info.dataset)
    return JSONResponse([
        {"id": c["id"], "name": c["name"], "fieldCount": c["fields"], "datasetCount": len(c["datasets"])}
        for c in sorted(cats.values(), key=lambda c: c["id"])
    ])


@router.get("/operators")
def operators() -> JSONResponse:
    from alphamine.ops.registry import all_operators

    return JSONResponse([
        {
            "name": op.name,
            "category": op.category.value.replace("_", " ").title(),
            "scope": ["REGULAR"],
            "definition": op.signature,
            "description": op.doc,
            "documentation": None,
            "level": "ALL",
        }
        for op in all_operators()
    ])

"""Alpha routes of the local server: `GET/PATCH /alphas/{id}`, record sets, `GET /users/self/alphas`.

Why: after a simulation clients read its alpha (metrics and checks), its PnL record sets, tag and
name it, and list their alphas with BRAIN's filter syntax; all of it must look like the platform so
an unmodified client works (brain.md §3.3, §7.3, §7.5).

Contract: every route needs a session and sees only the session user's alphas (another user's id is
404 `{"detail": "Not found."}`). `GET /alphas/{id}` is complete as soon as the simulation is (no
Retry-After). `PATCH` accepts `name`, `color` (RED/YELLOW/GREEN/BLUE/PURPLE or null), `tags` (list of
strings), `category` (BRAIN's categories or null), `favorite`, `hidden` and `regular.description`;
a bad value is a field-keyed 400, other keys are ignored; the answer is the updated alpha.
`/users/self/alphas` is `{count, next, previous, results}` with `count` independent of `limit`
(1..100, default 10), `offset`, `order` (default `-dateCreated`) and the filters of `filters.py`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from alphamine.brain.server.alpha_json import RECORDSETS, VIEW_COLUMNS, alpha_view, recordset
from alphamine.brain.server.auth import current_user, session_user
from alphamine.brain.server.common import choice_error, iso, not_found, now_eastern
from alphamine.brain.server.db import dumps
from alphamine.brain.server.filters import order, parse_query, select
from alphamine.brain.server.state import get_state
from alphamine.brain.server.submit import alpha_row, settle, submission_due

router = APIRouter()

COLORS = ("RED", "YELLOW", "GREEN", "BLUE", "PURPLE")
CATEGORIES = (
    "PRICE_REVERSION", "PRICE_MOMENTUM", "VOLUME", "FUNDAMENTAL", "ANALYST", "PRICE_VOLUME", "RELATION",
    "SENTIMENT",
)
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
DEFAULT_ORDER = "-dateCreated"


async def get_alpha(request: Request) -> JSONResponse:
    """Every client reads each alpha it simulated, so it is lean like `GET /simulations/{id}`: async
    (two indexed selects on the event loop's own connection, `db.py`) and a plain Starlette route;
    only a due submission's checks go to a thread."""
    user, alpha_id = session_user(request), request.path_params["alpha_id"]
    state = get_state(request)
    if submission_due(state.db, alpha_id):
        await run_in_threadpool(settle, state, alpha_id)
    return JSONResponse(alpha_view(alpha_row(state.db, alpha_id, user, VIEW_COLUMNS)))


router.add_route("/alphas/{alpha_id}", get_alpha, methods=["GET"])


def _patch_columns(body: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(column -> new value, field errors) of a PATCH body."""
    if not isinstance(body, dict):
        return {}, {"non_field_errors": ["Expected an object."]}
    cols: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "name" in body:
        name = body["name"]
        if name is not None and not isinstance(name, str):
            errors["name"] = ["Not a valid string."]
        else:
            cols["name"] = name
    for key, allowed in (("color", COLORS), ("category", CATEGORIES)):
        if key in body:
            value = body[key]
            if value is not None and value not in allowed:
                errors[key] = [choice_error(value)]
            else:
                cols[key] = value
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            errors["tags"] = ["Expected a list of strings."]
        else:
            cols["tags"] = dumps(tags)
    for key in ("favorite", "hidden"):
        if key in body:
            if not isinstance(body[key], bool):
                errors[key] = ["Must be a valid boolean."]
            else:
                cols[key] = int(body[key])
    regular = body.get("regular")
    if regular is not None:
        if not isinstance(regular, dict):
            errors["regular"] = ["Expected an object."]
        elif "description" in regular:
            desc = regular["description"]
            if desc is not None and not isinstance(desc, str):
                errors["regular"] = ["description: Not a valid string."]
            else:
                cols["description"] = desc
    return cols, errors


@router.patch("/alphas/{alpha_id}")
def patch_alpha(
    alpha_id: str, request: Request, body: Any = Body(None), user: str = Depends(current_user)
) -> JSONResponse:
    state = get_state(request)
    alpha_row(state.db, alpha_id, user)
    cols, errors = _patch_columns(body)
    if errors:
        return JSONResponse(errors, status_code=400)
    if cols:
        cols["date_modified"] = iso(now_eastern())
        assignments = ", ".join(f"{c} = ?" for c in cols)
        state.db.execute(f"UPDATE alphas SET {assignments} WHERE id = ?", (*cols.values(), alpha_id))
    return JSONResponse(alpha_view(alpha_row(state.db, alpha_id, user)))


@router.get("/alphas/{alpha_id}/recordsets")
def recordsets(alpha_id: str, request: Request, user: str = Depends(current_user)) -> JSONResponse:
    alpha_row(get_state(request).db, alpha_id, user)
    results = [{"name": n, "title": n.replace("-", " ").title()} for n in RECORDSETS]
    return JSONResponse({"count": len(results), "results": results})


@router.get("/alphas/{alpha_id}/recordsets/{name}")
def get_recordset(alpha_id: str, name: str, request: Request, user: str = Depends(current_user)) -> JSONResponse:
    body = recordset(name, alpha_row(get_state(request).db, alpha_id, user))
    if body is None:
        raise not_found()
    return JSONResponse(body)


def _page_url(request: Request, limit: int, offset: int) -> str:
    kept = [p for p in request.url.query.split("&") if p and p.split("=", 1)[0] not in ("limit", "offset")]
    query = "&".join([*kept, f"limit={limit}", f"offset={offset}"])
    return f"{str(request.base_url).rstrip('/')}{request.url.path}?{query}"


@router.get("/users/self/alphas")
def list_alphas(request: Request, user: str = Depends(current_user)) -> JSONResponse:
    state = get_state(request)
    filters, paging = parse_query(request.url.query)
    try:
        limit = int(paging.get("limit", DEFAULT_LIMIT))
        offset = int(paging.get("offset", 0))
    except ValueError:
        return JSONResponse({"limit": ["A valid integer is required."]}, status_code=400)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        return JSONResponse({"limit": [f"Ensure 1 <= limit <= {MAX_LIMIT} and offset >= 0."]}, status_code=400)
    running = state.db.all("SELECT alpha FROM submissions WHERE user = ? AND status = 'RUNNING'", (user,))
    for r in running:
        settle(state, r["alpha"])
    rows = state.db.all("SELECT * FROM alphas WHERE user = ?", (user,))
    records = order(select([alpha_view(r) for r in rows], filters), paging.get("order") or DEFAULT_ORDER)
    count = len(records)
    return JSONResponse({
        "count": count,
        "next": _page_url(request, limit, offset + limit) if offset + limit < count else None,
        "previous": _page_url(request, limit, max(0, offset - limit)) if offset > 0 else None,
        "results": records[offset : offset + limit],
    })

"""Simulation routes of the local server: `POST /simulations`, `GET /simulations/{id}`, `OPTIONS`.

Why this exact protocol (brain.md §7.2, §7.5): clients POST, take the absolute `Location`, and poll it
while `Retry-After` is present; they re-POST any answer without `Location`. So malformed settings
are the only synchronous failure (400); expression errors arrive later as status ERROR; refusals
for quota or concurrency are 429 and never end the session.

Contract:
- `POST /simulations` with one object, or a list of 2..10 (multi-simulation: a parent whose
  `children` are the items) -> 201, empty body, `Location: <this server's origin>/simulations/<id>`,
  numeric `Retry-After`, and the `X-Ratelimit-*` quota headers (also on 400 and 429).
- `Retry-After` (seconds, two decimals) is the runner's estimate of the time the simulation still
  needs (`Runner.eta`), at least the server's `retry_after` and at most `MAX_RETRY_AFTER`: a client
  that follows it polls a job about twice, not every `retry_after` seconds for the whole run.
- `GET /simulations/{id}` while WAITING/SIMULATING -> 200 `{"progress": 0..1}` + `Retry-After`;
  finished -> `{id, type, settings, regular, status, alpha}` (`message` and `location` on ERROR,
  `parent` on a child); a parent -> `{id, type, settings, status, children, [message]}`, without
  Retry-After. Another user's id -> 404.
- `OPTIONS /simulations` -> `actions.POST.settings.children` with the choices the backend offers,
  in the nested shape clients read (`choices.instrumentType.EQUITY.region.USA`).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse

from alphamine.brain.server.auth import current_user, session_user
from alphamine.brain.server.common import new_id, not_found
from alphamine.brain.server.db import dumps, loads
from alphamine.brain.server.quota import Refusal
from alphamine.brain.server.runner import TERMINAL, Job, Leaf
from alphamine.brain.server.state import ServerState, get_state
from alphamine.brain.server.validation import Item, PayloadError, validate
from alphamine.sim.settings import Neutralization

router = APIRouter()

SIMULATION_ID_LENGTH = 23
MAX_RETRY_AFTER = 5.0


def _retry_after(state: ServerState, sim_id: str) -> str:
    """The `Retry-After` for a live simulation (module doc)."""
    seconds = max(state.retry_after, min(state.runner.eta(sim_id), MAX_RETRY_AFTER), 0.01)
    return f"{seconds:.2f}"


def _insert(state: ServerState, user: str, items: list[Item]) -> Job:
    now = time.time()
    ids = [new_id(SIMULATION_ID_LENGTH) for _ in items]
    multi = len(items) > 1
    top = new_id(SIMULATION_ID_LENGTH) if multi else ids[0]
    sql = (
        "INSERT INTO simulations (id, user, parent, children, type, settings, regular, status, created) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'WAITING', ?)"
    )
    with state.db.tx() as conn:
        if multi:
            conn.execute(sql, (top, user, None, dumps(ids), "REGULAR", dumps(items[0].settings.to_brain()), None, now))
        for sim_id, item in zip(ids, items, strict=True):
            parent = top if multi else None
            settings = dumps(item.settings.to_brain())
            conn.execute(sql, (sim_id, user, parent, None, item.type, settings, item.regular, now))
    leaves = tuple(Leaf(i, it.regular, it.settings) for i, it in zip(ids, items, strict=True))
    return Job(top, user, leaves, multi)


@router.post("/simulations")
def create_simulation(request: Request, body: Any = Body(None), user: str = Depends(current_user)) -> Response:
    state = get_state(request)
    try:
        items = validate(body, state.backend)
    except PayloadError as e:
        return JSONResponse(e.body, status_code=400, headers=state.limits.headers(user))
    job = state.limits.admit(user, len(items), lambda: _insert(state, user, items))
    if isinstance(job, Refusal):
        headers = state.limits.headers(user)
        if job.retry_after is not None:
            headers["Retry-After"] = job.retry_after
        return JSONResponse({"detail": job.detail}, status_code=429, headers=headers)
    state.runner.enqueue(job)
    location = f"{str(request.base_url).rstrip('/')}/simulations/{job.top}"
    headers = {"Location": location, "Retry-After": _retry_after(state, job.top), **state.limits.headers(user)}
    return Response(status_code=201, headers=headers)


def simulation_view(row: dict[str, Any]) -> dict[str, Any]:
    """The finished simulation's JSON (module doc)."""
    out: dict[str, Any] = {"id": row["id"], "type": row["type"], "settings": loads(row["settings"])}
    children = loads(row["children"])
    if children is not None:
        out["status"] = row["status"]
        out["children"] = children
    else:
        out.update({"regular": row["regular"], "status": row["status"], "alpha": row["alpha"]})
        if row["parent"]:
            out["parent"] = row["parent"]
        if row["location"]:
            out["location"] = loads(row["location"])
    if row["message"]:
        out["message"] = row["message"]
    return out


async def get_simulation(request: Request) -> Response:
    """The poll clients repeat most, so it is lean: async (one indexed select on the event loop's own
    connection, `db.py`) and a plain Starlette route (FastAPI's dependency solving and parameter
    validation cost ~40 % of its CPU)."""
    user, sim_id = session_user(request), request.path_params["sim_id"]
    state = get_state(request)
    row = state.db.one("SELECT * FROM simulations WHERE id = ? AND user = ?", (sim_id, user))
    if row is None:
        raise not_found()
    if row["status"] not in TERMINAL:
        progress = round(state.runner.progress(sim_id), 4)
        return JSONResponse({"progress": progress}, headers={"Retry-After": _retry_after(state, sim_id)})
    return JSONResponse(simulation_view(row))


router.add_route("/simulations/{sim_id}", get_simulation, methods=["GET"])


def _choices(values: list[Any]) -> list[dict[str, Any]]:
    return [{"value": v, "label": str(v)} for v in values]


@router.options("/simulations")
def simulation_options(request: Request, user: str = Depends(current_user)) -> JSONResponse:
    backend = get_state(request).backend
    regions, universes = list(backend.regions()), list(backend.universes())
    neutralizations = [n.value for n in Neutralization]

    def per_region(values: list[Any]) -> dict[str, Any]:
        return {"instrumentType": {"EQUITY": {"region": {r: _choices(values) for r in regions}}}}

    children = {
        "instrumentType": {"type": "choice", "choices": _choices(["EQUITY"])},
        "region": {"type": "choice", "choices": {"instrumentType": {"EQUITY": _choices(regions)}}},
        "universe": {"type": "choice", "choices": per_region(universes)},
        "delay": {"type": "choice", "choices": per_region([1, 0])},
        "neutralization": {"type": "choice", "choices": per_region(neutralizations)},
        "decay": {"type": "integer", "min_value": 0, "max_value": 512},
        "truncation": {"type": "float", "min_value": 0.0, "max_value": 1.0},
        "pasteurization": {"type": "choice", "choices": _choices(["ON", "OFF"])},
        "nanHandling": {"type": "choice", "choices": _choices(["ON", "OFF"])},
        "unitHandling": {"type": "choice", "choices": _choices(["VERIFY"])},
        "maxTrade": {"type": "choice", "choices": _choices(["ON", "OFF"])},
        "language": {"type": "choice", "choices": _choices(["FASTEXPR"])},
        "visualization": {"type": "boolean"},
        "testPeriod": {"type": "string"},
    }
    return JSONResponse({"name": "Simulations", "actions": {"POST": {"settings": {"children": children}}}})

"""Submission checks and the submit protocol of the local server (`/alphas/{id}/check`, `/submit`).

Why local and safe: the server plays the platform for clients under test, so "submitting" runs the
checks and records the outcome in the server's own database; nothing is ever forwarded anywhere.

Contract (brain.md §4, §7.3, §7.5):
- `full_checks(db, row)` is the check set of `GET /alphas/{id}/check`: the checks stored with the
  simulation, with SELF_CORRELATION computed against the user's ACTIVE alphas of the same region
  (daily PnL over the last 4 IS years, `alphamine.sim.checks.self_correlation`).
- `POST /alphas/{id}/submit` starts a submission: 201, absolute `Location` (…/alphas/{id}/submit),
  `Retry-After`. It stays running for `submit_seconds`; meanwhile a GET or a repeated POST is a poll
  (200, empty, `Retry-After`), never a second submission. Then the checks are final: any FAIL ->
  403 `{"is": {"checks": [...]}}`; none -> the alpha becomes ACTIVE / stage OS and the answer is 200
  `{"is": {"checks": [...]}}` without Retry-After. Once ACTIVE, every POST or GET answers that 200
  again (idempotent). A failure is delivered once to a POST; a later POST starts a new attempt.
- `settle(state, alpha_id)` makes a due submission final; every route that shows an alpha calls it,
  so its status is right whoever asks first (`submission_due` is the cheap test an async route makes
  before it hands `settle`, which computes checks, to a thread).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from alphamine.brain.server.alpha_json import pnl_series
from alphamine.brain.server.auth import current_user
from alphamine.brain.server.common import iso, not_found, now_eastern, plain
from alphamine.brain.server.db import ServerDB, dumps, loads, unpack_dates, unpack_floats
from alphamine.brain.server.state import ServerState, get_state
from alphamine.sim.checks import PoolEntry, self_correlation

router = APIRouter()


def alpha_row(db: ServerDB, alpha_id: str, user: str, columns: str = "*") -> dict[str, Any]:
    """The user's alpha row (`columns`, default all), or the platform's 404."""
    row = db.one(f"SELECT {columns} FROM alphas WHERE id = ? AND user = ?", (alpha_id, user))
    if row is None:
        raise not_found()
    return row


def full_checks(db: ServerDB, row: dict[str, Any]) -> list[dict[str, Any]]:
    """The simulation's checks with SELF_CORRELATION computed (module doc)."""
    body = loads(row["body"])
    checks: list[dict[str, Any]] = body["is"].get("checks", [])
    pool = []
    others = db.all(
        "SELECT id, body, dates, pnl, first FROM alphas "
        "WHERE user = ? AND region = ? AND status = 'ACTIVE' AND id != ?",
        (row["user"], row["region"], row["id"]),
    )
    for other in others:
        dates, pnl = pnl_series(other)
        sharpe = loads(other["body"])["is"].get("sharpe")
        pool.append(PoolEntry(other["id"], dates, pnl, float(sharpe) if sharpe is not None else 0.0))
    sharpe = body["is"].get("sharpe")
    corr = self_correlation(
        unpack_dates(row["dates"]), unpack_floats(row["pnl"]), max(int(row["first"]), int(row["is_lo"])),
        int(row["is_hi"]), float(sharpe) if sharpe is not None else 0.0, pool,
    )
    out = [c for c in checks if c.get("name") != "SELF_CORRELATION"]
    out.append(plain(corr))
    return out


def submission_due(db: ServerDB, alpha_id: str) -> bool:
    """The alpha has a running submission whose time has come (`settle` has work to do)."""
    sub = db.one("SELECT status, due FROM submissions WHERE alpha = ?", (alpha_id,))
    return sub is not None and sub["status"] == "RUNNING" and sub["due"] <= time.time()


def settle(state: ServerState, alpha_id: str) -> None:
    """Finish a running submission whose time has come (module doc)."""
    db = state.db
    if not submission_due(db, alpha_id):
        return
    with db.tx() as conn:
        still = conn.execute("SELECT status FROM submissions WHERE alpha = ?", (alpha_id,)).fetchone()
        if still is None or still["status"] != "RUNNING":
            return
        row = dict(conn.execute("SELECT * FROM alphas WHERE id = ?", (alpha_id,)).fetchone())
        checks = full_checks(db, row)
        passed = not any(c.get("result") == "FAIL" for c in checks)
        conn.execute(
            "UPDATE submissions SET status = ?, finished = ?, checks = ? WHERE alpha = ?",
            ("PASSED" if passed else "FAILED", time.time(), dumps(checks), alpha_id),
        )
        if passed:
            now = iso(now_eastern())
            conn.execute(
                "UPDATE alphas SET status = 'ACTIVE', stage = 'OS', date_submitted = ?, date_modified = ? WHERE id = ?",
                (now, now, alpha_id),
            )


def _running(state: ServerState) -> Response:
    return Response(status_code=200, headers={"Retry-After": f"{state.retry_after:.1f}"})


def _terminal(db: ServerDB, alpha_id: str, sub: dict[str, Any]) -> Response:
    db.execute("UPDATE submissions SET delivered = 1 WHERE alpha = ?", (alpha_id,))
    body = {"is": {"checks": loads(sub["checks"]) or []}}
    return JSONResponse(body, status_code=200 if sub["status"] == "PASSED" else 403)


@router.get("/alphas/{alpha_id}/check")
def check(alpha_id: str, request: Request, user: str = Depends(current_user)) -> JSONResponse:
    state = get_state(request)
    settle(state, alpha_id)
    row = alpha_row(state.db, alpha_id, user)
    return JSONResponse({"is": {"checks": full_checks(state.db, row)}})


@router.post("/alphas/{alpha_id}/submit")
def submit(alpha_id: str, request: Request, user: str = Depends(current_user)) -> Response:
    state = get_state(request)
    db = state.db
    alpha_row(db, alpha_id, user)
    settle(state, alpha_id)
    sub = db.one("SELECT * FROM submissions WHERE alpha = ?", (alpha_id,))
    if sub is not None:
        if sub["status"] == "RUNNING":
            return _running(state)
        if sub["status"] == "PASSED" or (sub["status"] == "FAILED" and not sub["delivered"]):
            return _terminal(db, alpha_id, sub)
    now = time.time()
    db.execute(
        "INSERT INTO submissions (alpha, user, status, started, due, finished, checks, delivered) "
        "VALUES (?, ?, 'RUNNING', ?, ?, NULL, NULL, 0) ON CONFLICT (alpha) DO UPDATE SET status = 'RUNNING', "
        "started = excluded.started, due = excluded.due, finished = NULL, checks = NULL, delivered = 0",
        (alpha_id, user, now, now + state.submit_seconds),
    )
    location = f"{str(request.base_url).rstrip('/')}/alphas/{alpha_id}/submit"
    return Response(status_code=201, headers={"Location": location, "Retry-After": f"{state.retry_after:.1f}"})


@router.get("/alphas/{alpha_id}/submit")
def submit_status(alpha_id: str, request: Request, user: str = Depends(current_user)) -> Response:
    state = get_state(request)
    alpha_row(state.db, alpha_id, user)
    settle(state, alpha_id)
    sub = state.db.one("SELECT * FROM submissions WHERE alpha = ?", (alpha_id,))
    if sub is None:
        raise not_found()
    if sub["status"] == "RUNNING":
        return _running(state)
    return _terminal(state.db, alpha_id, sub)

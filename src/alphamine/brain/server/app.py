"""`create_app`: the local BRAIN-compatible server as a FastAPI application.

Why a local BRAIN: clients (alphamine's own BrainBackend, users' scripts, third-party libraries) are
tested against a real HTTP server that behaves like the platform (brain.md §7), and a user can run
their BRAIN scripts against their own data without spending the platform's quota. The simulations
come from a `Backend` (in practice `LocalBackend`).

Contract: `create_app(backend, db_path=..., users={email: password}, ...)` returns the app; its
lifespan starts the simulation runner (re-queuing simulations a previous process left unfinished)
and stops it and closes the database at shutdown. The caller owns the backend (closes it). A backend
with worker processes to start (`LocalBackend.start_workers`) forks them here, in the thread that
builds the app, before uvicorn's and the runner's threads exist (`alphamine.sim.batch`). Every
BRAIN path answers as the platform does (see the route modules: `auth`, `simulations`, `alphas`,
`submit`, `data`); errors are `{"detail": ...}` with 404 `"Not found."`; a body that is not JSON is
400. A middleware (plain ASGI: Starlette's `BaseHTTPMiddleware` cost ~0.3 ms of CPU a request)
counts POSTs per user and applies the fault spec (`faults.py`). One path is
alphamine's own and not BRAIN's: `GET /_alphamine/stats` (no session needed) returns the counters of
`quota.Limits.stats` for tests and operators.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from alphamine.backends.base import Backend
from alphamine.brain.server import alphas, auth, data, simulations, submit
from alphamine.brain.server.common import NOT_FOUND
from alphamine.brain.server.db import ServerDB
from alphamine.brain.server.faults import INJECTED_DETAIL, FaultInjector, parse_faults
from alphamine.brain.server.quota import Limits
from alphamine.brain.server.runner import Runner
from alphamine.brain.server.state import ServerState, get_state

DEFAULT_DAILY_QUOTA = 10_000
DEFAULT_MAX_CONCURRENT = 8
"""Consultants' cap on the platform (8 multi-simulations of up to 10); regular users have 3."""
STATS_PATH = "/_alphamine/stats"
ANONYMOUS = "(anonymous)"
_ID_SEGMENT = re.compile(r"^/(alphas|simulations|data-sets|data-fields)/[^/]+")


def path_template(path: str) -> str:
    """`/alphas/Ab12Cd34/submit` -> `/alphas/{id}/submit`: how POSTs are counted."""
    return _ID_SEGMENT.sub(lambda m: f"/{m.group(1)}/{{id}}", path)


def create_app(
    backend: Backend,
    *,
    db_path: str | Path,
    users: Mapping[str, str],
    faults: str | None = None,
    daily_quota: int = DEFAULT_DAILY_QUOTA,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
    seed: int = 0,
    retry_after: float = 1.0,
    submit_seconds: float = 1.0,
    runner_threads: int = 2,
    batch_size: int = 32,
) -> FastAPI:
    """The server (module doc). `faults`: see `faults.parse_faults` (ValueError when invalid); `seed`
    seeds the fault RNG; `retry_after`: the seconds advertised while work runs; `submit_seconds`: how
    long a submission runs; `runner_threads` x `batch_size`: the runner's threads and batch size."""
    spec = parse_faults(faults)
    if retry_after <= 0 or submit_seconds < 0:
        raise ValueError("retry_after must be > 0 and submit_seconds >= 0")
    start_workers = getattr(backend, "start_workers", None)
    if callable(start_workers):
        start_workers()
    sessions = auth.Sessions(users)
    db = ServerDB(db_path)
    limits = Limits(db, daily_quota=daily_quota, max_concurrent=max_concurrent)
    runner = Runner(backend, db, threads=runner_threads, batch_size=batch_size)
    state = ServerState(
        backend=backend, db=db, sessions=sessions, limits=limits, runner=runner,
        faults=FaultInjector(spec, seed), retry_after=retry_after, submit_seconds=submit_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        try:
            yield
        finally:
            await run_in_threadpool(runner.stop)
            db.close()

    app = FastAPI(title="alphamine local BRAIN", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.brain = state
    for module in (auth, simulations, alphas, submit, data):
        app.include_router(module.router)
    _install_handlers(app)
    app.add_middleware(BrainMiddleware, state=state)
    app.add_api_route(STATS_PATH, _stats, methods=["GET"])
    return app


def _stats(request: Request) -> JSONResponse:
    state = get_state(request)
    return JSONResponse(state.limits.stats(state.faults.counts))


class BrainMiddleware:
    """Count POSTs per user, then apply the fault spec (latency, session expiry, injected status); the
    alphamine-only paths pass untouched, and so does every request when it is neither a POST nor
    faulted (no Request object is even built)."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        if scope["type"] != "http" or scope["path"].startswith("/_alphamine/"):
            await self.app(scope, receive, send)
            return
        post = scope["method"] == "POST"
        if post or state.faults.spec.active:
            request = Request(scope)
            if post:
                user = state.sessions.user_of(request) or ANONYMOUS
                await run_in_threadpool(state.limits.record_post, user, path_template(scope["path"]))
            answer = await _fault(state) if state.faults.spec.active else None
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _fault(state: ServerState) -> Response | None:
    """The injected answer for this request, if the fault RNG picks one (after any latency)."""
    verdict = state.faults.decide()
    if state.faults.spec.latency:
        await asyncio.sleep(state.faults.spec.latency)
    if verdict.expire_sessions:
        state.sessions.expire_all()
    if verdict.status is None:
        return None
    headers = {"Retry-After": "1"} if verdict.status == 429 else {}
    detail = INJECTED_DETAIL.get(verdict.status, "Server error")
    return JSONResponse({"detail": detail}, status_code=verdict.status, headers=headers)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            detail = NOT_FOUND
        elif exc.status_code == 405:
            detail = f'Method "{request.method}" not allowed.'
        else:
            detail = exc.detail
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_body(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        return JSONResponse({"detail": f"JSON parse error - {first.get('msg', 'invalid body')}"}, status_code=400)

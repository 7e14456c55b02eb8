"""The dashboard's FastAPI app: server-rendered pages over the store, GET only.

Why server-rendered HTML and no script: one request gives a whole page that works offline, in a
headless browser and under a Content-Security-Policy that forbids every script and every inline
style; charts are inline SVG (`dashboard.charts`), the stylesheet is package data under `static/`.
A page about a running run (or the runs list while one runs or a worker holds live claims) reloads
itself every `refresh_s` seconds with `<meta http-equiv="refresh">`: that is the live view.

Contract: `create_app(runtime_root, db=None, token=None, *, refresh_s=5)` opens the store (the
runtime root's SQLite file, or `db`, any SQLAlchemy URL; a missing SQLite file would be created, so
`alphamine serve` refuses one first) and closes it at shutdown; no route writes to it.
Routes (GET only): `/` runs and workers; `/runs/{id}` progress, stage timings, cost per ready alpha
and live work; `/runs/{id}/candidates` the table (query string: status (repeatable), family,
generator, sort, order, limit, offset); `/runs/{id}/correlation` the ready set's heatmap;
`/candidates/{id}` one candidate; `/memory` the alpha memory (dataset, region); `/static/{file}`.
Unknown ids are 404 pages, malformed parameters 400 pages, any other method 405. Access rules:
`dashboard.security` (`token` None: loopback Host only; else the token on every request). FastAPI's
own docs routes are off (they load scripts from a CDN).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.exceptions import HTTPException

from alphamine.dashboard import candidate as cv
from alphamine.dashboard import queries as q
from alphamine.dashboard.security import guard
from alphamine.runtime import DB_FILENAME
from alphamine.store import NotFoundError, Store
from alphamine.store.status import CandidateStatus

DEFAULT_REFRESH_S = 5
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".txt": "text/plain; charset=utf-8"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a ?token= URL never leaks through a Referer
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STATUSES = tuple(s.value for s in CandidateStatus)


def _f(x: Any, digits: int = 2) -> str:
    return "–" if x is None or not isinstance(x, int | float) or x != x else f"{x:.{digits}f}"


def _pct(x: Any, digits: int = 0) -> str:
    return "–" if x is None or not isinstance(x, int | float) or x != x else f"{100 * x:.{digits}f}%"


def _money(x: Any) -> str:
    return "–" if x is None or not isinstance(x, int | float) or x != x else f"{x / 1e6:+.2f} $M"


def _seconds(x: Any) -> str:
    if x is None:
        return "–"
    s = float(x)
    return f"{s:.2f} s" if s < 60 else f"{s / 60:.1f} min" if s < 3600 else f"{s / 3600:.2f} h"


def environment() -> Environment:
    """The pages' Jinja environment: autoescaped (store text is data, never markup), strict (a template
    asking for a missing attribute fails the test instead of printing an empty cell), number filters."""
    env = Environment(loader=PackageLoader("alphamine.dashboard", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)  # fmt: skip
    env.filters.update(f=_f, pct=_pct, money=_money, seconds=_seconds)
    env.globals["qs"] = lambda params: urlencode(params, doseq=True)
    return env


def _static_files() -> dict[str, bytes]:
    folder = resources.files("alphamine.dashboard") / "static"
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and Path(p.name).suffix in STATIC_TYPES}


def create_app(runtime_root: str | Path, db: str | None = None, token: str | None = None, *,
               refresh_s: int = DEFAULT_REFRESH_S) -> FastAPI:  # fmt: skip
    """The dashboard over the store of `runtime_root` (or `db`), guarded by `token` (module doc)."""
    root = Path(runtime_root)
    store = Store.open(db if db else root / DB_FILENAME)
    env = environment()
    static = _static_files()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = FastAPI(title="alphamine dashboard", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.store = store
    app.middleware("http")(guard(token))

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    def page(name: str, status_code: int = 200, *, refresh: bool = False, **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(refresh=refresh_s if refresh and refresh_s > 0 else None,
                                             store_url=store.url, **ctx)  # fmt: skip
        return HTMLResponse(html, status_code=status_code)

    def require_run(run_id: str) -> Any:
        run = store.get_run(run_id)
        if run is None:
            raise HTTPException(404, f"no run {run_id!r} in this store")
        return run

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> Response:
        title = {400: "bad request", 404: "not found", 405: "method not allowed"}.get(exc.status_code, "error")
        response = page("error.html.j2", exc.status_code, title=title, message=str(exc.detail), code=exc.status_code)
        if exc.status_code == 405:
            response.headers["Allow"] = "GET"
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return page("error.html.j2", 400, title="bad request", message=where or "malformed request", code=400)

    @app.get("/", response_class=HTMLResponse)
    def runs_page() -> HTMLResponse:
        runs = q.run_summaries(store)
        workers = q.worker_claims(store)
        live = any(r.live for r in runs) or any(w.live for w in workers)
        return page("runs.html.j2", refresh=live, title="runs", runs=runs, workers=workers)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(run_id: str) -> HTMLResponse:
        detail = q.run_detail(store, require_run(run_id), root)
        return page("run.html.j2", refresh=detail.summary.live, title=f"run {run_id}", d=detail)

    @app.get("/runs/{run_id}/candidates", response_class=HTMLResponse)
    def candidates_page(run_id: str, request: Request) -> HTMLResponse:
        run = require_run(run_id)
        params: dict[str, Any] = dict(request.query_params)
        params["status"] = request.query_params.getlist("status")
        try:
            query = q.parse_table_query(params, STATUSES)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        table = q.candidate_table(store, run_id, query)
        return page("candidates.html.j2", title=f"candidates of {run_id}", run=run, t=table, statuses=STATUSES,
                    sorts=q.SORTS, columns=q.TABLE_METRICS, periods=q.PERIODS)  # fmt: skip

    @app.get("/runs/{run_id}/correlation", response_class=HTMLResponse)
    def correlation_page(run_id: str) -> HTMLResponse:
        run = require_run(run_id)
        return page("correlation.html.j2", title=f"ready set of {run_id}", run=run,
                    c=cv.ready_correlation(store, run_id))  # fmt: skip

    @app.get("/candidates/{candidate_id}", response_class=HTMLResponse)
    def candidate_page(candidate_id: int) -> HTMLResponse:
        try:
            view = cv.candidate_view(store, candidate_id)
        except NotFoundError:
            raise HTTPException(404, f"no candidate {candidate_id} in this store") from None
        return page("candidate.html.j2", title=f"candidate #{candidate_id}", v=view, periods=q.PERIODS)

    @app.get("/memory", response_class=HTMLResponse)
    def memory_page(dataset: str | None = None, region: str | None = None) -> HTMLResponse:
        summary = cv.memory_summary(root, dataset, region)
        return page("memory.html.j2", title="alpha memory", m=summary, dataset=dataset or "", region=region or "")

    @app.get("/static/{name}")
    def static_file(name: str) -> Response:
        body = static.get(name)
        if body is None:
            raise HTTPException(404, f"no static file {name!r}")
        return Response(body, media_type=STATIC_TYPES[Path(name).suffix],
                        headers={"Cache-Control": "max-age=3600"})  # fmt: skip

    return app

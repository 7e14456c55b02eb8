"""Running the local server: `serve_in_thread` (tests, other processes' clients) and `serve` (CLI).

Why a thread helper: client tests need a real HTTP server on 127.0.0.1 with an ephemeral port, up
before the first request and gone after the last, without a subprocess (which would need the data
twice). The socket, thread and uvicorn handling is `alphamine.serving`'s, shared with the dashboard.

Contract: `serve_in_thread(app)` binds `host:port` (port 0 = a free port), starts uvicorn, waits until
it accepts connections (the app's lifespan has run), yields the base URL `http://host:port`, and on
exit asks uvicorn to stop and joins the thread (the lifespan's shutdown stops the runner and closes
the database). A startup failure raises RuntimeError. `serve(host, port, backend, ...)` builds the
app with `create_app` and blocks until Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from alphamine.backends.base import Backend
from alphamine.brain.server.app import create_app
from alphamine.serving import serve_in_thread as _serve_in_thread
from alphamine.serving import uvicorn_config


@contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> Iterator[str]:
    """The base URL of `app` served by uvicorn in a background thread (`alphamine.serving`)."""
    with _serve_in_thread(app, host, port, name="the local BRAIN server", log_level=log_level) as url:
        yield url


def serve(
    host: str,
    port: int,
    backend: Backend,
    *,
    db_path: str | Path,
    users: Mapping[str, str],
    log_level: str = "info",
    **options: Any,
) -> None:
    """Serve until interrupted; `options` go to `create_app` (faults, daily_quota, max_concurrent, ...)."""
    app = create_app(backend, db_path=db_path, users=users, **options)
    uvicorn.Server(uvicorn_config(app, host, port, log_level)).run()

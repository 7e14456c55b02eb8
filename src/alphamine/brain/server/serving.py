"""Running the local server: `serve_in_thread` (tests, other processes' clients) and `serve` (CLI).

Why a thread helper: client tests need a real HTTP server on 127.0.0.1 with an ephemeral port, up
before the first request and gone after the last, without a subprocess (which would need the data
twice). uvicorn runs in a background thread on a socket bound here, so the port is known at once.

Contract: `serve_in_thread(app)` binds `host:port` (port 0 = a free port), starts uvicorn, waits until
it accepts connections (the app's lifespan has run), yields the base URL `http://host:port`, and on
exit asks uvicorn to stop and joins the thread (the lifespan's shutdown stops the runner and closes
the database). A startup failure raises RuntimeError. `serve(host, port, backend, ...)` builds the
app with `create_app` and blocks until Ctrl-C.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from alphamine.backends.base import Backend
from alphamine.brain.server.app import create_app

STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 30.0


def _config(app: FastAPI, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on", access_log=False)


@contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> Iterator[str]:
    """The base URL of `app` served by uvicorn in a background thread (module doc)."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for sockets whose
    # proto says TCP; with proto 0 every keep-alive answer waited ~40 ms for a delayed ACK (measured)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, host, bound, log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="brain-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the local BRAIN server did not start on {host}:{bound}")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound}" if ":" not in host else f"http://[{host}]:{bound}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        sock.close()


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
    uvicorn.Server(_config(app, host, port, log_level)).run()

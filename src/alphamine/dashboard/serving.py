"""Serving the dashboard: `serve` (the CLI, blocking) and `serve_in_thread` (tests, embedding).

Why a thread helper of its own: tests need a real HTTP server on 127.0.0.1 with an ephemeral port, up
before the first request and gone after the last; uvicorn runs in a background thread on a socket
bound here, so the port is known at once (the brain server's helper does the same for its app, but
importing it would pull in the simulation backends).

Contract: `serve_in_thread(app, host, port=0)` yields the base URL once uvicorn accepts connections and
stops it (running the app's shutdown, which closes the store) on exit; a startup failure is a
RuntimeError. `serve(app, host, port)` blocks until Ctrl-C.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 30.0


def _config(app: FastAPI, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on", access_log=False)


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0, *,
                    log_level: str = "warning") -> Iterator[str]:  # fmt: skip
    """The base URL of `app` served by uvicorn in a background thread (module doc)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = int(sock.getsockname()[1])
    server = uvicorn.Server(_config(app, host, bound, log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the dashboard did not start on {host}:{bound}")
        time.sleep(0.01)
    try:
        yield url_of(host, bound)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        sock.close()


def serve(app: FastAPI, host: str, port: int, *, log_level: str = "warning") -> None:
    """Serve until interrupted."""
    uvicorn.Server(_config(app, host, port, log_level)).run()

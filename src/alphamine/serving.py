"""Serving an ASGI app over real HTTP: `serve_in_thread` (tests, embedding) and `serve` (the CLI).

Why one module for every app alphamine serves (the local BRAIN-compatible server, the dashboard):
tests need a real HTTP server on 127.0.0.1 with an ephemeral port, up before the first request and
gone after the last, without a subprocess; uvicorn runs in a background thread on a socket bound here,
so the port is known at once. It imports only uvicorn and FastAPI, so neither app pulls in the other.

Contract: `serve_in_thread(app, host, port=0, name=...)` binds `host:port` (0: a free port), starts
uvicorn, waits until it accepts connections (the app's lifespan startup has run), yields the base URL
(`http://host:port`, IPv6 hosts in brackets), and on exit asks uvicorn to stop and joins the thread
(the lifespan's shutdown runs). A startup failure raises RuntimeError naming `name`. `serve(app, host,
port)` blocks until Ctrl-C.
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


def uvicorn_config(app: FastAPI, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on", access_log=False)


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int = 0, *, name: str = "the server", log_level: str = "warning"
) -> Iterator[str]:
    """The base URL of `app` served by uvicorn in a background thread (module doc)."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for sockets whose
    # proto says TCP; with proto 0 every keep-alive answer waited ~40 ms for a delayed ACK (measured)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn_config(app, host, bound, log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"{name} did not start on {host}:{bound}")
        time.sleep(0.01)
    try:
        yield url_of(host, bound)
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        sock.close()


def serve(app: FastAPI, host: str, port: int, *, log_level: str = "warning") -> None:
    """Serve until interrupted."""
    uvicorn.Server(uvicorn_config(app, host, port, log_level)).run()

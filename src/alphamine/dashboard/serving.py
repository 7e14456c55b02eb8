"""Serving the dashboard: `serve` (the CLI, blocking) and `serve_in_thread` (tests, embedding), both
from `alphamine.serving` (the one uvicorn helper every served app uses); the thread is named
"the dashboard" in a startup error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from alphamine.serving import serve, url_of
from alphamine.serving import serve_in_thread as _serve_in_thread

__all__ = ["serve", "serve_in_thread", "url_of"]


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0, *,
                    log_level: str = "warning") -> Iterator[str]:  # fmt: skip
    """The dashboard's base URL, served in a background thread (`alphamine.serving.serve_in_thread`)."""
    with _serve_in_thread(app, host, port, name="the dashboard", log_level=log_level) as url:
        yield url

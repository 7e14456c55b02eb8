"""Helpers for the local BRAIN server tests (no tests here): real servers on 127.0.0.1, httpx clients.

Every server is a real uvicorn in a thread (`serve_in_thread`) over a real `LocalBackend`; the
only wrapper is `GatedBackend`, a Backend that holds batches until a test opens its gate, so that
"in flight" is a state a test controls instead of a race.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from alphamine.backends import LocalBackend
from alphamine.backends.base import Backend, Outcome, Progress
from alphamine.brain.server import create_app, serve_in_thread
from alphamine.data.fields import FieldInfo
from alphamine.data.panel import Panel
from alphamine.sim.batch import SimSpec

EMAIL, PASSWORD = "quant@example.com", "local-secret"
OTHER, OTHER_PASSWORD = "other@example.com", "other-secret"
USERS = {EMAIL: PASSWORD, OTHER: OTHER_PASSWORD, "lister@example.com": "x", "submitter@example.com": "y"}
POLL_LIMIT_S = 30.0


class DelegatingBackend:
    """The Backend protocol answered by a real LocalBackend; subclasses change `simulate_many` only."""

    name = "local"

    def __init__(self, inner: LocalBackend) -> None:
        self.inner = inner

    def catalogue(self) -> Mapping[str, FieldInfo]:
        return self.inner.catalogue()

    def universes(self) -> Sequence[str]:
        return self.inner.universes()

    def regions(self) -> Sequence[str]:
        return self.inner.regions()

    def fingerprint(self) -> str | None:
        return self.inner.fingerprint()

    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        return self.inner.simulate_many(specs, progress)

    def checks(self, alpha_id: str) -> list[dict[str, Any]] | None:
        return None

    def close(self) -> None:
        self.inner.close()


class GatedBackend(DelegatingBackend):
    """A LocalBackend whose batches wait for `gate` (module doc); `entered` is set when one waits."""

    def __init__(self, inner: LocalBackend) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        self.entered.set()
        if not self.gate.wait(POLL_LIMIT_S):
            raise TimeoutError("the test never opened the gate")
        return self.inner.simulate_many(specs, progress)

    def close(self) -> None:
        self.gate.set()
        self.inner.close()


@contextmanager
def running_server(
    backend: Backend | Panel, db_path: Path, **options: Any
) -> Iterator[str]:
    """A real server over `backend` (a Panel gets a one-worker LocalBackend); yields its base URL."""
    be: Backend = LocalBackend(backend, workers=1) if isinstance(backend, Panel) else backend
    options = {"retry_after": 0.05, "submit_seconds": 0.3, **options}
    app = create_app(be, db_path=db_path, users=USERS, **options)
    with serve_in_thread(app) as url:
        yield url


@contextmanager
def login(url: str, email: str = EMAIL, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """An httpx client holding a fresh session of `email`."""
    with httpx.Client(base_url=url, timeout=30.0) as client:
        r = client.post("/authentication", auth=(email, password))
        assert r.status_code == 201, r.text
        yield client


def poll(client: httpx.Client, location: str, method: str = "GET") -> httpx.Response:
    """Follow `Retry-After` until an answer without it (bounded)."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while True:
        r = client.request(method, location)
        retry = r.headers.get("retry-after")
        if retry is None:
            return r
        assert float(retry) > 0
        assert time.monotonic() < deadline, f"{location} still running after {POLL_LIMIT_S}s"
        time.sleep(float(retry))


def simulate(client: httpx.Client, payload: Any) -> dict[str, Any]:
    """POST a simulation and return its finished JSON."""
    r = client.post("/simulations", json=payload)
    assert r.status_code == 201, r.text
    done = poll(client, r.headers["location"])
    assert done.status_code == 200
    body: dict[str, Any] = done.json()
    return body


def regular(code: str, **settings: Any) -> dict[str, Any]:
    """A REGULAR simulation body with BRAIN's settings spelling (TOP40 unless given)."""
    return {"type": "REGULAR", "settings": {"region": "USA", "universe": "TOP40", **settings}, "regular": code}

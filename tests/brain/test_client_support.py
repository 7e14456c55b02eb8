"""Helpers for the BRAIN client, lease, usage and BrainBackend tests (no tests here).

Every client test talks HTTP to a real local BRAIN-compatible server (`alphamine.brain.server`,
uvicorn in a thread on 127.0.0.1) over a real `LocalBackend`. `SlowBackend` is a LocalBackend that
takes a fixed extra time per batch, so that "several simulations in flight" is a state the tests
can observe instead of a race. Clients get a fast, seeded retry policy so fault storms end quickly.
If the server package cannot be imported, the HTTP tests skip with that reason (`needs_server`).
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from alphamine.backends import LocalBackend
from alphamine.backends.base import Outcome, Progress
from alphamine.brain.client import BrainClient
from alphamine.brain.credentials import Credentials
from alphamine.brain.retry import CircuitBreaker, RetryPolicy
from alphamine.data.panel import Panel
from alphamine.sim.batch import SimSpec
from tests.brain.test_server_support import DelegatingBackend

try:
    from alphamine.brain.server import create_app, serve_in_thread

    SERVER_ERROR: str | None = None
except ImportError as e:  # the server is another engineer's package: say why these tests cannot run
    SERVER_ERROR = f"alphamine.brain.server cannot be imported ({e}); the client's HTTP tests need it"

needs_server = pytest.mark.skipif(SERVER_ERROR is not None, reason=SERVER_ERROR or "")

EMAIL, PASSWORD = "quant@example.com", "client-test-password"
USERS = {EMAIL: PASSWORD}
REPO = Path(__file__).resolve().parents[2]


class SlowBackend(DelegatingBackend):
    """A LocalBackend whose batches take `seconds` longer (module doc)."""

    def __init__(self, inner: LocalBackend, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds

    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        time.sleep(self.seconds)
        return self.inner.simulate_many(specs, progress)


@contextmanager
def brain_server(
    panel: Panel, db_path: Path, *, users: Mapping[str, str] = USERS, slow: float = 0.0, **options: Any
) -> Iterator[str]:
    """A real local BRAIN server over `panel` (one worker); yields its base URL."""
    local = LocalBackend(panel, workers=1)
    backend: Any = SlowBackend(local, slow) if slow else local
    options = {"retry_after": 0.05, "submit_seconds": 0.2, **options}
    app = create_app(backend, db_path=db_path, users=dict(users), **options)
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        local.close()


def fast_policy() -> RetryPolicy:
    """Retries in milliseconds; Retry-After honoured up to 50 ms (the server asks for 1 s)."""
    return RetryPolicy(max_attempts=12, base=0.01, cap=0.05, jitter=0.5, retry_after_cap=0.05)


def fast_client(url: str, *, email: str = EMAIL, password: str = PASSWORD, **options: Any) -> BrainClient:
    """A client with fast retries, a quick breaker and a seeded RNG."""
    kwargs: dict[str, Any] = {
        "retry": fast_policy(),
        "breaker": CircuitBreaker(threshold=8, pause=0.05, pause_budget=2.0),
        "rng": random.Random(7),
        "timeout": 30.0,
        "max_poll_interval": 0.2,
        **options,
    }
    return BrainClient(Credentials.of(email, password), base_url=url, **kwargs)


def stats(url: str) -> dict[str, Any]:
    """The server's alphamine-only counters (`GET /_alphamine/stats`)."""
    body: dict[str, Any] = httpx.get(f"{url}/_alphamine/stats", timeout=10).json()
    return body


def user_stats(url: str, email: str = EMAIL) -> dict[str, Any]:
    users: dict[str, Any] = stats(url)["users"]
    return users.get(email, {"posts": 0, "postsByPath": {}, "simulations": 0, "maxConcurrent": 0})


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start `python -c code args...` in the repository root (imports `tests.*` and `alphamine`)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )

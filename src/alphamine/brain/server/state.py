"""The local server's state, shared by its route modules through `app.state.brain`.

Why one object: routes are plain functions; everything they need (the backend, the database,
sessions, limits, the simulation runner, fault injection, timing options) hangs off one attribute of
the FastAPI app, set by `create_app` and read with `get_state(request)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from alphamine.backends.base import Backend
    from alphamine.brain.server.auth import Sessions
    from alphamine.brain.server.db import ServerDB
    from alphamine.brain.server.faults import FaultInjector
    from alphamine.brain.server.quota import Limits
    from alphamine.brain.server.runner import Runner


@dataclass
class ServerState:
    """What every route may use. `retry_after`: seconds advertised while a simulation runs;
    `submit_seconds`: how long a submission stays "running" before its checks are final."""

    backend: Backend
    db: ServerDB
    sessions: Sessions
    limits: Limits
    runner: Runner
    faults: FaultInjector
    retry_after: float
    submit_seconds: float


def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.brain
    return state

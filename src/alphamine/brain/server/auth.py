"""Authentication the way BRAIN does it: HTTP Basic once, then a session cookie `t`.

Why these details matter (brain.md §7.1, §7.5): real clients send credentials only to
`POST /authentication`, keep the cookie their HTTP library stores, re-login on 204/401/429 and treat
403 as a hard failure. So the cookie is host-only (no `Domain`) and not `Secure` (the local server
speaks plain http on 127.0.0.1 or localhost), a missing or expired session is always 401, and
nothing but logout, expiry or an injected `expire` fault ends a session (a 429 never does).

Contract:
- `POST /authentication` (Basic email:password; optional JSON body `{"expiry": seconds}`, 1..14400)
  -> 201, cookie `t`, body `{user:{id}, token:{expiry}, permissions:[...]}`; bad credentials -> 401
  `{"detail": ...}` with `WWW-Authenticate: Basic realm="api"` (clients read that header on 401).
- `GET /authentication` -> 200 with the same body (remaining expiry) or 204 without a session.
- `DELETE /authentication` -> 204, session gone, cookie cleared.
- `current_user` (an async FastAPI dependency: no thread hop) and `session_user` (for the plain
  Starlette routes of the polls) are the session's email, or 401.
Passwords are compared in constant time and never logged or stored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from alphamine.brain.server.common import user_id
from alphamine.brain.server.state import get_state

COOKIE = "t"
MAX_EXPIRY = 14400.0
PERMISSIONS = ["CONSULTANT", "MULTI_SIMULATION", "VISUALIZATION"]
NO_CREDENTIALS = "Authentication credentials were not provided."
BAD_SESSION = "Incorrect authentication credentials."
BAD_LOGIN = "Invalid username or password."

router = APIRouter()


@dataclass
class Session:
    token: str
    email: str
    expires: float  # time.monotonic() deadline


class Sessions:
    """Known users (email -> password) and live sessions (token -> Session). Thread-safe."""

    def __init__(self, users: Mapping[str, str]) -> None:
        if not users:
            raise ValueError("the server needs at least one user (email -> password)")
        self._users = {e.strip().lower(): p for e, p in users.items()}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def check_password(self, email: str, password: str) -> bool:
        known = self._users.get(email.strip().lower())
        # compare against a dummy on unknown emails too, so timing does not reveal which emails exist
        return hmac.compare_digest((known or "\0" + password).encode(), password.encode()) and known is not None

    def login(self, email: str, expiry: float) -> Session:
        s = Session(secrets.token_urlsafe(32), email.strip().lower(), time.monotonic() + expiry)
        with self._lock:
            self._sessions[s.token] = s
        return s

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            s = self._sessions.get(token)
            if s is not None and s.expires <= time.monotonic():
                del self._sessions[token]
                s = None
            return s

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def expire_all(self) -> None:
        with self._lock:
            self._sessions.clear()

    def user_of(self, request: Request) -> str | None:
        """The email behind a request: its session cookie, or for a login its Basic credentials' email."""
        s = self.get(request.cookies.get(COOKIE))
        if s is not None:
            return s.email
        basic = parse_basic(request.headers.get("authorization"))
        return basic[0].strip().lower() if basic else None


def parse_basic(header: str | None) -> tuple[str, str] | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        text = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, sep, password = text.partition(":")
    return (email, password) if sep else None


def _body(s: Session) -> dict[str, Any]:
    remaining = max(0.0, round(s.expires - time.monotonic(), 1))
    return {"user": {"id": user_id(s.email)}, "token": {"expiry": remaining}, "permissions": list(PERMISSIONS)}


async def current_user(request: Request) -> str:
    """FastAPI dependency: `session_user`. Async because it only reads memory: a sync dependency costs
    a hop to the thread pool on every request."""
    return session_user(request)


def session_user(request: Request) -> str:
    """The email of the request's session, else 401 (never 403); the hot plain routes call it."""
    token = request.cookies.get(COOKIE)
    s = get_state(request).sessions.get(token)
    if s is None:
        raise HTTPException(status_code=401, detail=BAD_SESSION if token else NO_CREDENTIALS)
    return s.email


async def _requested_expiry(request: Request) -> float:
    try:
        data = await request.json()
    except Exception:  # no body or not JSON: the default
        return MAX_EXPIRY
    value = data.get("expiry") if isinstance(data, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= MAX_EXPIRY:
        return float(value)
    return MAX_EXPIRY


@router.post("/authentication")
async def login(request: Request) -> Response:
    sessions = get_state(request).sessions
    creds = parse_basic(request.headers.get("authorization"))
    if creds is None or not sessions.check_password(*creds):
        return JSONResponse({"detail": BAD_LOGIN}, status_code=401, headers={"WWW-Authenticate": 'Basic realm="api"'})
    expiry = await _requested_expiry(request)
    s = sessions.login(creds[0], expiry)
    response = JSONResponse({**_body(s), "token": {"expiry": expiry}}, status_code=201)
    response.set_cookie(COOKIE, s.token, max_age=int(expiry), path="/", httponly=True, samesite="lax")
    return response


@router.get("/authentication")
def who_am_i(request: Request) -> Response:
    s = get_state(request).sessions.get(request.cookies.get(COOKIE))
    if s is None:
        return Response(status_code=204)
    return JSONResponse(_body(s))


@router.delete("/authentication")
def logout(request: Request) -> Response:
    get_state(request).sessions.logout(request.cookies.get(COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response

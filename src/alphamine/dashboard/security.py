"""Who may read the dashboard: loopback by default, a token for anything else.

Why: the dashboard shows every alpha a user mined (expressions, PnL, theses) over plain HTTP. On
loopback only the user's own processes reach it; a web page the user visits can still aim requests
at 127.0.0.1 through a DNS name it controls (DNS rebinding), so a loopback server without a token
answers only requests whose `Host` names the loopback. Binding anywhere else is refused unless the
user says `--allow-remote`, and then every request needs the token.

Contract:
- `is_loopback(host)`: `localhost`, or an IPv4/IPv6 literal in the loopback range; a DNS name is
  never trusted to resolve to the loopback.
- `bind_token(host, allow_remote, token)` -> the token the server requires (None: none), generating
  one when remote access is allowed and none was given; `BindRefused` (one line, says what to do) for
  a non-loopback host without `allow_remote`.
- `guard(token)` -> the ASGI middleware function: with a token, a request must carry it as
  `?token=`, `Authorization: Bearer`, the `X-Alphamine-Token` header or the cookie `TOKEN_COOKIE`
  (compared in constant time), else 401; a correct `?token=` also sets the cookie, so the page's
  links and stylesheet work without repeating it. Without a token, a non-loopback `Host` is 403.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

TOKEN_COOKIE = "alphamine_dashboard_token"
TOKEN_HEADER = "x-alphamine-token"
TOKEN_BYTES = 24

Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


class BindRefused(ValueError):
    """The dashboard will not listen there (the message is one line for the terminal)."""


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an IP literal, IPv6 with or without brackets) is the loopback."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bind_token(host: str, allow_remote: bool, token: str | None) -> str | None:
    """The token to require when serving on `host` (module doc)."""
    if token is not None and not token.strip():
        raise BindRefused("--token must not be empty")
    if not is_loopback(host) and not allow_remote:
        raise BindRefused(
            f"refusing to serve on {host} (not a loopback address): the dashboard shows every mined alpha; "
            "pass --allow-remote to serve it there behind a token"
        )
    if allow_remote and token is None:
        return secrets.token_urlsafe(TOKEN_BYTES)
    return token


def _host_name(header: str) -> str:
    """The host part of a `Host` header (`name:port`, `[v6]:port`)."""
    return urlsplit(f"//{header}").hostname or ""


def _presented(request: Request) -> tuple[str | None, bool]:
    """(the token the request carries, whether it came in the query string)."""
    query = request.query_params.get("token")
    if query:
        return query, True
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    header = request.headers.get(TOKEN_HEADER)
    if header:
        return header, False
    return request.cookies.get(TOKEN_COOKIE), False


def guard(token: str | None) -> Middleware:
    """The HTTP middleware enforcing the module's rules for `token` (None: loopback Host only)."""

    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if token is None:
            if not is_loopback(_host_name(request.headers.get("host", ""))):
                return PlainTextResponse("403: this dashboard answers only requests addressed to the loopback\n",
                                         status_code=403)  # fmt: skip
            return await call_next(request)
        given, in_query = _presented(request)
        if given is None or not secrets.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse(
                "401: this dashboard needs its token: open the URL printed by `alphamine serve` (?token=...)\n",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        response = await call_next(request)
        if in_query:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    return middleware

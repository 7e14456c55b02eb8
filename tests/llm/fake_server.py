"""A real OpenAI-compatible HTTP server for the LLM tests: scripted answers, recorded requests.

Not a mock: a small FastAPI app (`POST /v1/chat/completions`, `GET /v1/models`, and Ollama's
`GET /api/tags`) served by uvicorn in a thread on 127.0.0.1 with a free port (the project's
`serve_in_thread`), so the `openai` SDK inside `LLMClient` goes through its whole HTTP stack.

Contract:
- `server.script(*items)` queues answers, consumed one per chat request in order. An item is a
  `Scripted` (status, content or error message, delay, Retry-After, usage, error type/code, or a
  `raw` text/html body) or a
  plain string (a 200 answer with that content).
- With the queue empty, `server.responder(body) -> str | Scripted` answers (so an agent test can
  script a whole mining run); with no responder either, the answer is HTTP 500 "nothing scripted".
- Every chat request is recorded in `server.requests` (`Recorded`: path, headers without
  `authorization`, JSON body) before anything else, the 401s included.
- The bearer token must equal `server.key`, else 401 with an OpenAI-shaped error that does not
  echo the token. A `delay` sleeps in small steps and stops early when the client disconnects
  (a timed-out request does not hold the server's shutdown).
- Usage: the scripted figures, else deterministic estimates (characters / 4, rounded up).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from alphamine.brain.server.serving import serve_in_thread

DEFAULT_KEY = "sk-fake-server-key-0000"
MODEL = "fake-model"


@dataclass(frozen=True)
class Scripted:
    """One answer of the fake server (module doc). `content` for 2xx, `error` for the rest."""

    status: int = 200
    content: str = ""
    error: str = "scripted error"
    error_type: str | None = None
    error_code: str | None = None
    delay: float = 0.0
    retry_after: str | None = None
    usage: tuple[int, int] | None = None  # (prompt, completion) tokens
    raw: str | None = None  # sent as-is as text/html (a base URL that points at a web page)

    @classmethod
    def ok(cls, content: str, *, usage: tuple[int, int] | None = None, delay: float = 0.0) -> Scripted:
        return cls(200, content, usage=usage, delay=delay)

    @classmethod
    def fail(
        cls, status: int, error: str = "scripted error", *, retry_after: str | float | None = None, **kw: Any
    ) -> Scripted:
        return cls(status, error=error, retry_after=None if retry_after is None else str(retry_after), **kw)


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it (the Authorization header removed)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    authorized: bool


Responder = Callable[[dict[str, Any]], "str | Scripted"]


@dataclass
class FakeLLMServer:
    """State shared between the test and the app (module doc). `url` ends with /v1."""

    key: str = DEFAULT_KEY
    url: str = ""
    root: str = ""
    responder: Responder | None = None
    _queue: deque[Scripted] = field(default_factory=deque)
    _requests: list[Recorded] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, *items: Scripted | str) -> None:
        with self._lock:
            self._queue.extend(Scripted.ok(i) if isinstance(i, str) else i for i in items)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
        self.responder = None

    def _record(self, request: Request, body: dict[str, Any]) -> bool:
        authorized = request.headers.get("authorization") == f"Bearer {self.key}"
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        with self._lock:
            self._requests.append(Recorded(request.url.path, headers, body, authorized))
        return authorized

    def _next(self, body: dict[str, Any]) -> Scripted:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is not None:
            return item
        if self.responder is None:
            return Scripted.fail(500, "nothing scripted and no responder installed")
        answer = self.responder(body)
        return Scripted.ok(answer) if isinstance(answer, str) else answer


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _error(status: int, message: str, type_: str | None, code: str | None, headers: dict[str, str]) -> JSONResponse:
    error = {"message": message, "type": type_ or "scripted_error", "code": code, "param": None}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _completion(body: dict[str, Any], item: Scripted) -> dict[str, Any]:
    prompt_text = "".join(str(m.get("content") or "") for m in body.get("messages", []))
    prompt, completion = item.usage or (_tokens(prompt_text), _tokens(item.content))
    return {
        "id": f"chatcmpl-fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", MODEL),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": item.content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def create_app(state: FakeLLMServer) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        if not state._record(request, body if isinstance(body, dict) else {}):
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key", {})
        item = state._next(body)
        deadline = time.monotonic() + item.delay
        while time.monotonic() < deadline:
            if await request.is_disconnected():
                return JSONResponse({}, status_code=499)
            await asyncio.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        headers = {"retry-after": item.retry_after} if item.retry_after is not None else {}
        if item.raw is not None:
            return HTMLResponse(item.raw, status_code=item.status, headers=headers)
        if item.status >= 400:
            return _error(item.status, item.error, item.error_type, item.error_code, headers)
        return JSONResponse(_completion(body, item), status_code=item.status, headers=headers)

    @app.get("/v1/models")
    async def models(request: Request) -> JSONResponse:
        if not state._record(request, {}):
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key", {})
        return JSONResponse(
            {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "fake"}]}
        )

    @app.get("/api/tags")
    async def tags() -> JSONResponse:  # Ollama's model list, for detect_ollama
        return JSONResponse({"models": [{"name": "llama3.1:latest"}]})

    return app


@contextmanager
def fake_llm_server(key: str = DEFAULT_KEY) -> Iterator[FakeLLMServer]:
    """A running fake server; `.url` is the OpenAI base URL (`http://127.0.0.1:PORT/v1`)."""
    state = FakeLLMServer(key=key)
    with serve_in_thread(create_app(state)) as root:
        state.root, state.url = root, f"{root}/v1"
        yield state

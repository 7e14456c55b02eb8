"""One client for any OpenAI-compatible chat endpoint: our retries, JSON answers validated by pydantic
with one repair, every call accounted in a `Budget`, and a key that never leaves the HTTP header.

Why: the research agents must work with OpenAI, DeepSeek, Moonshot, Ollama or any compatible server,
all of which rate-limit, fail transiently and sometimes answer prose instead of JSON. The SDK's own
retries are off (`max_retries=0`) so that backoff, Retry-After, the budget and the log are ours and
testable; a model's invalid answer gets exactly one repair call quoting the validation error, then
a clear failure (the caller falls back to the deterministic generators).

Contract:
- `LLMClient(config, budget=None, *, retry=None, sleep=time.sleep, rng=None)`; `LLMNotConfigured`
  when `config.problem` is set. Each call first asks `budget.check()` and raises `LLMPaused(reason)`
  without any request when it gives a reason.
- Retried with `RetryPolicy.delay` (exponential backoff with jitter, numeric Retry-After honoured up
  to `retry_after_cap`, `sleep` injected): HTTP 408, 429 (unless the provider says the quota or
  balance is spent), 500, 502, 503, 504, timeouts and connection errors. Every other status is final
  at once (`LLMAuthError` for 401/403, `LLMHTTPError` otherwise); retries exhausted is
  `LLMUnavailable`. Messages name the provider, endpoint and status, never the key (the provider's
  detail is scrubbed of the key and of anything shaped like one) and carry no chained SDK exception.
- `chat_json(agent, system, user, schema, *, temperature=0.2, max_tokens=1500)` asks for one JSON
  object (`response_format=json_object` when the provider supports it; the schema is always in the
  system prompt), parses it (tolerating code fences and surrounding prose) and validates it with
  `schema`; on failure makes one repair call quoting the error, then raises `LLMInvalidResponse`.
  `chat_text` returns free text; `tiny_call()` is the doctor's one-token round trip (`Ping`).
- Budget accounting: every completion is one call; `record_success` for a usable answer,
  `record_failure` (with the tokens it spent) for an unusable one or a final HTTP failure.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from alphamine.brain.retry import RetryPolicy, parse_retry_after
from alphamine.llm.budget import Budget, PriceTable, Usage
from alphamine.llm.config import ENV_KEY, ENV_URL, LLMConfig
from alphamine.store.clean import scrub

log = logging.getLogger("alphamine.llm.client")

T = TypeVar("T", bound=BaseModel)
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_RETRY = RetryPolicy(max_attempts=5, base=1.0, cap=30.0, jitter=0.5, retry_after_cap=60.0)
NO_KEY_PLACEHOLDER = "not-needed"  # the SDK insists on a key; never let it read OPENAI_API_KEY instead
NOT_A_COMPLETION = f"an answer that is not a chat completion (is {ENV_URL} the OpenAI-compatible .../v1 endpoint?)"
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


class LLMError(RuntimeError):
    """Base of the client's errors; the text never contains the API key."""


class LLMNotConfigured(LLMError):
    """The config cannot make calls (no key, no model); the text says what to set."""


class LLMPaused(LLMError):
    """The budget paused the LLM for this run (`reason`); no request was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"LLM paused: {reason}")
        self.reason = reason


class LLMHTTPError(LLMError):
    """A final HTTP answer (not retried): `status`, `provider` and the scrubbed `detail`."""

    def __init__(self, message: str, *, status: int, provider: str, detail: str = "") -> None:
        super().__init__(message)
        self.status, self.provider, self.detail = status, provider, detail


class LLMAuthError(LLMHTTPError):
    """The provider refused the key (401) or the access (403)."""


class LLMUnavailable(LLMError):
    """Transient failures (429, 5xx, timeouts, connection errors) outlasted the retries."""


class LLMInvalidResponse(LLMError):
    """The model's answer was not usable (invalid JSON or schema) even after the repair call."""


@dataclass(frozen=True)
class Ping:
    """The doctor's tiny call: what the endpoint answered, how fast, and the tokens it spent."""

    model: str
    reply: str
    latency_s: float
    usage: Usage


@dataclass(frozen=True)
class _Failure:
    """A failed attempt: whether to retry, the Retry-After, and the key-free description."""

    retry: bool
    status: int | None
    what: str
    detail: str = ""
    retry_after: float | None = None


def extract_json(text: str) -> Any:
    """The JSON value in a model's answer: the whole text, else inside code fences, else the span
    from the first `{` to the last `}`. Raises ValueError when none parses."""
    candidates = [text.strip(), _FENCE.sub("", text.strip())]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError("the answer is not valid JSON")


def _validation_text(error: ValidationError) -> str:
    parts = [f"{'.'.join(str(x) for x in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()]
    return "; ".join(parts)[:1000]


class LLMClient:
    """Chat completions against `config`'s endpoint (module doc)."""

    def __init__(
        self,
        config: LLMConfig,
        budget: Budget | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if config.problem is not None:
            raise LLMNotConfigured(config.problem)
        self.config, self.budget = config, budget
        self.retry = retry if retry is not None else DEFAULT_RETRY
        self._sleep, self._rng = sleep, rng if rng is not None else random.Random()
        self._sdk = openai.OpenAI(
            api_key=config.api_key.reveal() or NO_KEY_PLACEHOLDER,
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=0,
        )

    def __repr__(self) -> str:
        return f"LLMClient({self.config.describe()})"

    def close(self) -> None:
        self._sdk.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public calls -------------------------------------------------------------------------------

    def chat_json(
        self, agent: str, system: str, user: str, schema: type[T], *, temperature: float = 0.2, max_tokens: int = 1500
    ) -> T:
        """`schema` validated from the model's JSON answer, with one repair call (module doc)."""
        instructions = (
            "Answer with one JSON object only (no prose, no code fences) that validates against this JSON "
            f"Schema:\n{json.dumps(schema.model_json_schema(), separators=(',', ':'))}"
        )
        messages: list[dict[str, str]] = [
            {"role": "system", "content": f"{system.rstrip()}\n\n{instructions}"},
            {"role": "user", "content": user},
        ]
        error = ""
        for attempt in (1, 2):
            content, usage = self._complete(agent, messages, temperature, max_tokens, json_mode=self.config.json_mode)
            try:
                value = schema.model_validate(extract_json(content))
            except ValidationError as e:
                error = f"the JSON does not match the schema: {_validation_text(e)}"
            except ValueError as e:
                error = str(e)
            else:
                self._success(agent, usage)
                return value
            self._failure(agent, f"invalid answer: {error}", usage)
            log.warning("LLM %s: %s (%s)", agent, error, "asking for a repair" if attempt == 1 else "giving up")
            messages = [
                *messages,
                {"role": "assistant", "content": content},
                {
                    "role": "user",
                    "content": f"Your answer was invalid: {error}\nReply again with only the corrected JSON object.",
                },
            ]
        raise LLMInvalidResponse(f"LLM agent {agent!r}: the model's answer was invalid twice (last: {error})")

    def chat_text(
        self,
        agent: str,
        system: str,
        user: str,
        *,
        temperature: float = 0.2,
        max_tokens: int = 1500,
    ) -> str:
        """The model's free-text answer (an empty answer is `LLMInvalidResponse`)."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        content, usage = self._complete(agent, messages, temperature, max_tokens, json_mode=False)
        if not content.strip():
            self._failure(agent, "empty answer", usage)
            raise LLMInvalidResponse(f"LLM agent {agent!r}: the model answered nothing")
        self._success(agent, usage)
        return content

    def tiny_call(self) -> Ping:
        """One minimal round trip (for `alphamine doctor --check-llm`)."""
        start = time.monotonic()
        messages = [{"role": "user", "content": "Reply with the single word: pong"}]
        content, usage = self._complete("doctor", messages, 0.0, 5, json_mode=False)
        priced = self._success("doctor", usage)
        if priced.cost is None:
            priced = Usage(usage.prompt_tokens, usage.completion_tokens, PriceTable().cost(self.config.model, usage))
        return Ping(self.config.model, content.strip(), time.monotonic() - start, priced)

    # -- internals ----------------------------------------------------------------------------------

    def _success(self, agent: str, usage: Usage) -> Usage:
        if self.budget is None:
            return usage
        return self.budget.record_success(agent, usage, self.config.model)

    def _failure(self, agent: str, error: str, usage: Usage | None = None) -> None:
        if self.budget is not None:
            self.budget.record_failure(agent, error, usage=usage, model=self.config.model)

    def _complete(
        self, agent: str, messages: list[dict[str, str]], temperature: float, max_tokens: int, *, json_mode: bool
    ) -> tuple[str, Usage]:
        """(content, usage) of one completion, retried (module doc); final failures are recorded."""
        if self.budget is not None:
            reason = self.budget.check()
            if reason is not None:
                raise LLMPaused(reason)
        request: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        if json_mode:
            request["response_format"] = {"type": "json_object"}
        failure: _Failure | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            response, failure = self._attempt(request)
            if response is not None:
                return self._content(response)
            assert failure is not None
            if not failure.retry or attempt == self.retry.max_attempts:
                break
            wait = self.retry.delay(attempt, self._rng, failure.retry_after)
            log.warning(
                "LLM %s: %s%s from %s; retry %d/%d in %.2fs",
                agent,
                failure.what,
                f" ({failure.detail})" if failure.detail else "",
                self.config.provider,
                attempt,
                self.retry.max_attempts - 1,
                wait,
            )
            self._sleep(wait)
        assert failure is not None
        error = self._final_error(failure, attempts=attempt)
        self._failure(agent, str(error))
        raise error

    def _attempt(self, request: dict[str, Any]) -> tuple[Any, _Failure | None]:
        """One HTTP request: (response, None) or (None, the failure). No SDK exception escapes, so
        none is chained to ours (its text may quote what the server echoed)."""
        try:
            response = self._sdk.chat.completions.create(**request)
            if isinstance(getattr(response, "choices", None), list):
                return response, None
            return None, _Failure(False, None, NOT_A_COMPLETION)
        except openai.APIStatusError as e:
            return None, self._status_failure(e)
        except openai.APITimeoutError:
            return None, _Failure(True, None, f"timeout after {self.config.timeout:g}s")
        except openai.APIConnectionError as e:
            cause = type(e.__cause__).__name__ if e.__cause__ is not None else "connection error"
            return None, _Failure(True, None, f"connection error ({cause})")
        except openai.APIResponseValidationError:
            return None, _Failure(False, None, NOT_A_COMPLETION)

    def _status_failure(self, e: openai.APIStatusError) -> _Failure:
        body = e.body if isinstance(e.body, dict) else {}
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message") if isinstance(inner, dict) else None
        detail = scrub(str(message if message is not None else e.body or "")[:300], self.config.api_key.reveal())
        kind = " ".join(str(inner.get(k) or "") for k in ("type", "code")) if isinstance(inner, dict) else ""
        quota = e.status_code == 429 and ("quota" in kind or "insufficient" in kind or "balance" in kind)
        retry_after = parse_retry_after(e.response.headers.get("retry-after"))
        return _Failure(
            e.status_code in RETRYABLE_STATUS and not quota, e.status_code, f"HTTP {e.status_code}", detail, retry_after
        )

    def _final_error(self, failure: _Failure, *, attempts: int) -> LLMError:
        where = f"LLM provider {self.config.provider!r} ({self.config.base_url}, model {self.config.model})"
        detail = f": {failure.detail}" if failure.detail else ""
        status = failure.status
        if status in (401, 403):
            hint = f'check {ENV_KEY} or the "llm" section of the secret file' if status == 401 else "check the account"
            return LLMAuthError(
                f"{where} refused the request with HTTP {status} ({'authentication' if status == 401 else 'permission'}"
                f" failed){detail}; {hint}",
                status=status,
                provider=self.config.provider,
                detail=failure.detail,
            )
        if status is not None and not failure.retry:
            return LLMHTTPError(
                f"{where} answered HTTP {status}{detail}",
                status=status,
                provider=self.config.provider,
                detail=failure.detail,
            )
        if status is None and not failure.retry:
            return LLMError(f"{where} sent {failure.what}")
        return LLMUnavailable(f"{where}: {failure.what}{detail} after {attempts} attempt(s)")

    @staticmethod
    def _content(response: Any) -> tuple[str, Usage]:
        choices = getattr(response, "choices", None) or []
        message = getattr(choices[0], "message", None) if choices else None
        content = getattr(message, "content", None) or ""
        u = getattr(response, "usage", None)
        usage = Usage(int(getattr(u, "prompt_tokens", 0) or 0), int(getattr(u, "completion_tokens", 0) or 0))
        return str(content), usage

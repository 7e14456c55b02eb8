"""Retries and the circuit breaker of the BRAIN client, and the client's error types.

Why: the platform answers 429 (rate or concurrency limits), 5xx and slow requests as a matter of
course (brain.md §7.2, §7.4). A client that retries at once hammers a struggling service; one that
gives up at the first 503 loses hours of work. So every transient failure is retried after a
capped exponential backoff with jitter (`RetryPolicy.delay`), a numeric `Retry-After` is honoured
(up to `retry_after_cap`), and after `threshold` consecutive failures the `CircuitBreaker` stops all
of the client's threads for a pause, says so in the log, probes once, and after `pause_budget`
seconds of pauses without a single success raises `BrainUnavailable` instead of trying forever.

Contract: `RetryPolicy.delay(attempt, rng, retry_after)` is a pure function of its arguments (the
RNG is injected and seeded by the caller, so tests are reproducible): attempt 1 waits about `base`,
each further attempt doubles it up to `cap`, scaled by a factor drawn uniformly from
[1 - jitter, 1]; a Retry-After raises the wait to at least min(retry_after, retry_after_cap).
`CircuitBreaker` is thread-safe; `before_request()` blocks while it is open and raises
`BrainUnavailable` once the pause budget is spent; `record_success()` closes it and resets the
budget; `record_failure(what)` counts. `what` must never contain a secret (callers pass a status
line or an exception class name).

Errors (here because every brain module raises them, and the breaker's verdict is one): `BrainError`
(base; its text never holds a password), `BrainUnavailable`, `BrainAuthError` (credentials refused:
final), `BrainQuotaExceeded` (the daily quota is spent: final), `BrainHTTPError` (an unusable
answer, with status and the platform's detail), `SubmissionNotConfirmed`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("alphamine.brain.client")


class BrainError(RuntimeError):
    """Base of every error the BRAIN client raises; its text never contains a password."""


class BrainUnavailable(BrainError):
    """The platform kept failing (5xx, timeouts, connection errors, rate limits) past the retry and
    pause budgets; nothing more will be tried until the caller tries again."""


class BrainAuthError(BrainError):
    """BRAIN refused the credentials (or wants a biometric check): final, never retried."""


class BrainQuotaExceeded(BrainError):
    """The account's daily simulation quota is spent (the platform's 429 says so)."""


class SubmissionNotConfirmed(BrainError):
    """`submit` was called without `confirmed=True`; nothing was sent."""


class BrainHTTPError(BrainError):
    """An answer the call cannot use (e.g. 403, 404): method, path, status and the platform's detail."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {detail}")
        self.status, self.detail = status, detail


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried (module doc). All times in seconds."""

    max_attempts: int = 10
    base: float = 1.0
    cap: float = 60.0
    jitter: float = 0.5
    retry_after_cap: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base < 0 or self.cap < self.base or not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy needs max_attempts >= 1, 0 <= base <= cap and jitter in [0, 1]")
        if self.retry_after_cap < 0:
            raise ValueError("RetryPolicy.retry_after_cap must be >= 0")

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1 = the first retry)."""
        backoff = min(self.cap, self.base * 2.0 ** max(0, attempt - 1))
        wait = backoff * (1.0 - self.jitter * rng.random())
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.retry_after_cap))
        return wait


def parse_retry_after(value: str | None) -> float | None:
    """A numeric `Retry-After` header ("5.0", "1") in seconds; None when absent or not a number
    (HTTP-date forms are not used by BRAIN and are treated as absent)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds else None


class CircuitBreaker:
    """Stops the client after `threshold` consecutive failures (module doc).

    `pause`: seconds the breaker stays open each time it opens; `pause_budget`: total seconds of
    pauses allowed since the last success before `BrainUnavailable`; `sleep` / `clock` are
    injectable for tests; `on_open(message)` is called (besides a log warning) whenever it opens.
    """

    def __init__(
        self,
        threshold: int = 6,
        pause: float = 30.0,
        pause_budget: float = 600.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_open: Callable[[str], None] | None = None,
    ) -> None:
        if threshold < 1 or pause < 0 or pause_budget < 0:
            raise ValueError("CircuitBreaker needs threshold >= 1, pause >= 0 and pause_budget >= 0")
        self.threshold, self.pause, self.pause_budget = threshold, pause, pause_budget
        self._sleep, self._clock, self._on_open = sleep, clock, on_open
        self._lock = threading.Lock()
        self._consecutive = 0
        self._open_until: float | None = None
        self._paused = 0.0  # seconds of pauses since the last success
        self._last_failure = ""
        self._broken: str | None = None
        self.opened = 0  # how many times it opened (for reports and tests)

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive

    def before_request(self) -> None:
        """Wait while the breaker is open; raise `BrainUnavailable` once the pause budget is spent."""
        while True:
            with self._lock:
                if self._broken is not None:
                    raise BrainUnavailable(self._broken)
                if self._open_until is None:
                    return
                wait = self._open_until - self._clock()
                if wait <= 0:
                    self._open_until = None  # half-open: this request is the probe
                    return
            self._sleep(min(wait, 1.0))

    def record_success(self) -> None:
        with self._lock:
            self._consecutive = 0
            self._paused = 0.0
            self._open_until = None

    def record_failure(self, what: str) -> None:
        """Count one failed attempt (`what`: a status line or exception name, never a secret)."""
        message = None
        with self._lock:
            self._consecutive += 1
            self._last_failure = what
            if self._consecutive < self.threshold or self._open_until is not None or self._broken is not None:
                return
            if self._paused + self.pause > self.pause_budget:
                self._broken = (
                    f"BRAIN unavailable: {self._consecutive} consecutive failed requests and "
                    f"{self._paused:.0f}s of pauses without a success (last failure: {what}); giving up"
                )
                message = self._broken
            else:
                self._paused += self.pause
                self._open_until = self._clock() + self.pause
                self.opened += 1
                message = (
                    f"BRAIN looks unavailable: {self._consecutive} consecutive failed requests "
                    f"(last: {what}); pausing {self.pause:g}s before trying again"
                )
        log.warning("%s", message)
        if self._on_open is not None:
            self._on_open(message)

    def reset(self) -> None:
        """Close the breaker and forget every failure (a caller decided to try again)."""
        with self._lock:
            self._consecutive, self._paused, self._open_until, self._broken = 0, 0.0, None, None

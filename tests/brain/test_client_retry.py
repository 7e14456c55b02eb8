"""retry.py: backoff arithmetic, Retry-After parsing, and the circuit breaker's states (pure logic with
an injected clock; the client's use of them over HTTP is tested in test_client*.py)."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from alphamine.brain.retry import BrainUnavailable, CircuitBreaker, RetryPolicy, parse_retry_after


def test_backoff_is_capped_exponential_with_seeded_jitter() -> None:
    policy = RetryPolicy(base=1.0, cap=8.0, jitter=0.5)
    waits = [policy.delay(a, random.Random(3)) for a in range(1, 8)]
    again = [policy.delay(a, random.Random(3)) for a in range(1, 8)]
    assert waits == again  # a seeded RNG reproduces every wait
    for attempt, w in enumerate(waits, start=1):
        full = min(8.0, 2.0 ** (attempt - 1))
        assert 0.5 * full <= w <= full
    assert max(waits) <= 8.0
    no_jitter = RetryPolicy(base=0.5, cap=3.0, jitter=0.0)
    assert [no_jitter.delay(a, random.Random(0)) for a in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]


def test_retry_after_is_a_floor_up_to_its_cap() -> None:
    policy = RetryPolicy(base=0.1, cap=1.0, jitter=0.0, retry_after_cap=5.0)
    rng = random.Random(0)
    assert policy.delay(1, rng, retry_after=2.0) == 2.0
    assert policy.delay(1, rng, retry_after=60.0) == 5.0  # a huge Retry-After is capped
    assert policy.delay(4, rng, retry_after=0.01) == 0.8  # backoff wins when longer


def test_policy_validation() -> None:
    bads: list[dict[str, Any]] = [{"max_attempts": 0}, {"base": 2.0, "cap": 1.0}, {"jitter": 1.5},
                                    {"retry_after_cap": -1}]
    for bad in bads:
        with pytest.raises(ValueError):
            RetryPolicy(**bad)


@pytest.mark.parametrize(
    ("header", "seconds"), [("5.0", 5.0), ("0.5", 0.5), (" 1 ", 1.0), ("0", 0.0), (None, None), ("soon", None),
                            ("Wed, 21 Oct 2015 07:28:00 GMT", None), ("-3", None), ("nan", None)],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


class FakeTime:
    """A manual clock: `sleep` advances it (the breaker's time source, injected)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_breaker_opens_after_threshold_pauses_then_gives_up() -> None:
    t = FakeTime()
    reports: list[str] = []
    breaker = CircuitBreaker(3, pause=10.0, pause_budget=25.0, sleep=t.sleep, clock=t.clock, on_open=reports.append)
    for _ in range(2):
        breaker.before_request()
        breaker.record_failure("GET /x: HTTP 503")
    breaker.before_request()
    assert t.slept == []  # still closed below the threshold
    breaker.record_failure("GET /x: HTTP 503")
    assert breaker.opened == 1 and "pausing 10s" in reports[0] and "HTTP 503" in reports[0]
    breaker.before_request()  # waits out the pause, then lets one probe through
    assert t.now == pytest.approx(10.0)
    breaker.record_failure("GET /x: HTTP 503")  # the probe failed: open again
    breaker.before_request()
    assert t.now == pytest.approx(20.0) and breaker.opened == 2
    breaker.record_failure("GET /x: timed out (ReadTimeout)")  # a third pause would exceed 25 s
    with pytest.raises(BrainUnavailable, match="giving up") as e:
        breaker.before_request()
    assert "ReadTimeout" in str(e.value)
    with pytest.raises(BrainUnavailable):  # stays broken until reset
        breaker.before_request()
    breaker.reset()
    breaker.before_request()


def test_a_success_closes_the_breaker_and_restores_the_budget() -> None:
    t = FakeTime()
    breaker = CircuitBreaker(2, pause=5.0, pause_budget=5.0, sleep=t.sleep, clock=t.clock)
    for _ in range(3):  # each round: open, pause, succeed
        breaker.record_failure("x")
        breaker.record_failure("x")
        breaker.before_request()
        breaker.record_success()
        assert breaker.consecutive_failures == 0
    assert breaker.opened == 3 and t.now == pytest.approx(15.0)


def test_breaker_is_shared_by_threads() -> None:
    breaker = CircuitBreaker(100, pause=0.0, pause_budget=0.0)

    def fail_20() -> None:
        for _ in range(20):
            breaker.record_failure("x")

    threads = [threading.Thread(target=fail_20) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert breaker.consecutive_failures == 80

"""Fault injection for the local server: 429s, 5xx, latency and session expiry, reproducibly.

Why: a BRAIN client must survive rate limits, server errors, slow answers and sessions that expire
mid-run; against the real platform those are rare and unrepeatable. `faults="429=0.3,500=0.1,
latency=0.2,expire=20"` makes the local server produce them at known rates from a seeded RNG, so a
client test fails the same way every time.

Contract of the spec string (comma-separated `key=value`, spaces ignored):
- `<status>=<rate>` with status 429 or 500..599 and rate in [0, 1]: that fraction of requests is
  answered with that status before the request is handled (nothing is created or changed). The rates
  together must not exceed 1.
- `latency=<seconds>`: every request waits that long (float >= 0) before it is handled.
- `expire=<n>`: every n-th request (n >= 1 integer) first invalidates every session, as if the
  token's expiry had passed; that request and later ones answer 401 until the client logs in again.
Invalid parts raise `ValueError` naming the part. Requests are numbered in arrival order; one draw of
the seeded RNG per request decides its fate, so a sequential client sees the same sequence every run.
The alphamine-only paths (`/_alphamine/...`) are never faulted or counted.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

INJECTED_DETAIL = {
    429: "API rate limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}
"""Bodies of injected answers (`{"detail": ...}`), worded like a gateway's."""


@dataclass(frozen=True)
class FaultSpec:
    """A parsed fault string: status -> rate, latency seconds, expire-every-n (0 = never)."""

    rates: tuple[tuple[int, float], ...] = ()
    latency: float = 0.0
    expire_every: int = 0

    @property
    def active(self) -> bool:
        return bool(self.rates) or self.latency > 0 or self.expire_every > 0


def parse_faults(spec: str | None) -> FaultSpec:
    """`"429=0.3,500=0.1,latency=0.2,expire=20"` -> FaultSpec (module doc); ValueError names a bad part."""
    if spec is None or not spec.strip():
        return FaultSpec()
    rates: dict[int, float] = {}
    latency, expire = 0.0, 0
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not key or not value:
            raise ValueError(f"fault {part!r}: expected key=value (e.g. 429=0.3, latency=0.2, expire=20)")
        if key == "latency":
            latency = _number(part, value, minimum=0.0)
        elif key == "expire":
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"fault {part!r}: expire takes a whole number of requests >= 1")
            expire = int(value)
        elif key.isdigit():
            code = int(key)
            if code != 429 and not 500 <= code <= 599:
                raise ValueError(f"fault {part!r}: only 429 and 5xx statuses can be injected")
            rate = _number(part, value, minimum=0.0)
            if rate > 1:
                raise ValueError(f"fault {part!r}: a rate is a fraction in [0, 1]")
            rates[code] = rate
        else:
            raise ValueError(f"fault {part!r}: unknown key {key!r} (use 429, 5xx, latency, expire)")
    if sum(rates.values()) > 1 + 1e-12:
        raise ValueError(f"faults {spec!r}: the status rates add up to more than 1")
    return FaultSpec(tuple(sorted(rates.items())), latency, expire)


def _number(part: str, value: str, *, minimum: float) -> float:
    try:
        x = float(value)
    except ValueError:
        raise ValueError(f"fault {part!r}: {value!r} is not a number") from None
    if not x >= minimum:  # also rejects NaN
        raise ValueError(f"fault {part!r}: must be >= {minimum}")
    return x


@dataclass
class Verdict:
    """What the injector decided for one request."""

    number: int
    status: int | None = None  # an injected status, or None to handle the request
    expire_sessions: bool = False


@dataclass
class FaultInjector:
    """Numbers requests and draws their fate from `random.Random(seed)` (module doc). Thread-safe."""

    spec: FaultSpec
    seed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False)
    _n: int = field(init=False, default=0)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def decide(self) -> Verdict:
        """The next request's fate: its number, an injected status (or None), a session expiry."""
        with self._lock:
            self._n += 1
            verdict = Verdict(self._n)
            if self.spec.expire_every and self._n % self.spec.expire_every == 0:
                verdict.expire_sessions = True
                self._count("expired")
            if self.spec.rates:
                u, edge = self._rng.random(), 0.0
                for code, rate in self.spec.rates:
                    edge += rate
                    if u < edge:
                        verdict.status = code
                        self._count(str(code))
                        break
            return verdict

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

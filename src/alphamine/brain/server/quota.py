"""Per-user limits of the local server: the daily simulation quota and the concurrency cap; and the
counters behind the alphamine-only `GET /_alphamine/stats`.

Why: a client that is polite on the real platform (spends its quota, keeps under the concurrency
cap, backs off on 429) must be testable; the server enforces both limits the way BRAIN does
(brain.md §7.2) and counts what a client did so a test can assert it (POSTs, simulations, the
highest concurrency reached).

Contract:
- Daily quota: every simulation counts, each child of a multi-simulation included, on the US-Eastern
  day of the POST; a POST that would exceed `daily_quota` is refused whole with 429 `{"detail": "Daily
  simulation limit reached. Please try tomorrow (EST)"}`. Every answer to POST /simulations past
  authentication carries `X-Ratelimit-Limit`, `X-Ratelimit-Remaining` and `X-Ratelimit-Reset`
  (seconds to the next Eastern midnight).
- Concurrency: a user may have `max_concurrent` top-level simulations in flight (a multi-simulation
  is one, as on the platform where consultants run 8 multi-simulations of 10); one more answers 429
  `{"detail": "CONCURRENT_SIMULATION_LIMIT_EXCEEDED"}`. In flight = the database says WAITING or
  SIMULATING, so a simulation leaves flight at the very moment a poll can see it finished, and
  admission creates the rows under the same lock that counted them (two POSTs cannot both take the
  last slot).
- Counters persist in the server's database (`counters` table): `posts` and `posts:<path>` per POST
  received (before any fault is injected), `simulations` (children included), `maxConcurrent`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from alphamine.brain.server.common import quota_day, seconds_to_reset
from alphamine.brain.server.db import ServerDB

DAILY_LIMIT_DETAIL = "Daily simulation limit reached. Please try tomorrow (EST)"
CONCURRENT_DETAIL = "CONCURRENT_SIMULATION_LIMIT_EXCEEDED"
IN_FLIGHT = "parent IS NULL AND status IN ('WAITING', 'SIMULATING')"
T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why a POST /simulations was refused (status 429 and its detail)."""

    detail: str
    retry_after: str | None


class Limits:
    """Quota and concurrency bookkeeping for every user (module doc). Thread-safe."""

    def __init__(self, db: ServerDB, *, daily_quota: int, max_concurrent: int) -> None:
        if daily_quota < 1 or max_concurrent < 1:
            raise ValueError("daily_quota and max_concurrent must be >= 1")
        self.db = db
        self.daily_quota = daily_quota
        self.max_concurrent = max_concurrent
        self._lock = threading.Lock()

    def used_today(self, user: str) -> int:
        row = self.db.one("SELECT count FROM quota WHERE user = ? AND day = ?", (user, quota_day()))
        return int(row["count"]) if row else 0

    def headers(self, user: str) -> dict[str, str]:
        remaining = max(0, self.daily_quota - self.used_today(user))
        return {
            "X-Ratelimit-Limit": str(self.daily_quota),
            "X-Ratelimit-Remaining": str(remaining),
            "X-Ratelimit-Reset": str(seconds_to_reset()),
        }

    def in_flight(self, user: str) -> int:
        row = self.db.one(f"SELECT COUNT(*) AS n FROM simulations WHERE user = ? AND {IN_FLIGHT}", (user,))
        return int(row["n"]) if row else 0

    def admit(self, user: str, n_simulations: int, create: Callable[[], T]) -> T | Refusal:
        """Charge `n_simulations` of today's quota and run `create` (which inserts the WAITING rows), or
        say why not; both under one lock with the in-flight count (module doc)."""
        with self._lock:
            running = self.in_flight(user)
            if running >= self.max_concurrent:
                return Refusal(CONCURRENT_DETAIL, "5")
            day = quota_day()
            if self.used_today(user) + n_simulations > self.daily_quota:
                return Refusal(DAILY_LIMIT_DETAIL, None)
            created = create()
            self.db.execute(
                "INSERT INTO quota (user, day, count) VALUES (?, ?, ?) "
                "ON CONFLICT (user, day) DO UPDATE SET count = count + excluded.count",
                (user, day, n_simulations),
            )
            self.db.bump(user, "simulations", n_simulations)
            self.db.raise_to(user, "maxConcurrent", running + 1)
            return created

    def running(self) -> dict[str, int]:
        """user -> top-level simulations in flight."""
        rows = self.db.all(f"SELECT user, COUNT(*) AS n FROM simulations WHERE {IN_FLIGHT} GROUP BY user")
        return {r["user"]: int(r["n"]) for r in rows}

    def record_post(self, user: str, path: str) -> None:
        self.db.bump(user, "posts")
        self.db.bump(user, f"posts:{path}")

    def stats(self, faults: dict[str, int]) -> dict[str, Any]:
        """The `/_alphamine/stats` body: totals, then per user (posts by path, simulations, concurrency)."""
        running = self.running()
        users: dict[str, Any] = {}
        for user, counters in self.db.counters().items():
            users[user] = {
                "posts": counters.get("posts", 0),
                "postsByPath": {k[6:]: v for k, v in counters.items() if k.startswith("posts:")},
                "simulations": counters.get("simulations", 0),
                "maxConcurrent": counters.get("maxConcurrent", 0),
                "running": running.get(user, 0),
                "usedToday": self.used_today(user),
            }
        for user, n in running.items():
            users.setdefault(user, {"posts": 0, "postsByPath": {}, "simulations": 0, "maxConcurrent": 0,
                                    "running": n, "usedToday": self.used_today(user)})
        return {
            "posts": sum(u["posts"] for u in users.values()),
            "simulations": sum(u["simulations"] for u in users.values()),
            "maxConcurrent": max((u["maxConcurrent"] for u in users.values()), default=0),
            "running": sum(running.values()),
            "faults": dict(faults),
            "limits": {"dailyQuota": self.daily_quota, "maxConcurrent": self.max_concurrent},
            "users": users,
        }

"""How many platform simulations this account spent: the daily usage ledger shared by every
alphamine process of a runtime root, and the per-run `SimulationBudget` (`--max-sim-alphas`).

Why: the platform's quota is daily and per account (every simulation counts, each child of a
multi-simulation included, brain.md §7.2); a user running several processes needs one number per
day for all of them (`alphamine usage`), and a run needs a hard cap it can never overshoot.

Contract:
- `UsageLedger(root)`: `<root>/daily_simulation_usage.json`, updated under the flock of its
  sibling `.lock` (`leases.locked_json`). `record(n)` adds n simulations to this process's entry
  (`host:pid`) of today's local date and returns the day's total; `total(day)` sums every process of
  a day (default today); `by_process(day)` and `days()` break it down. Days older than
  `keep_days` are dropped when recording.
- `SimulationBudget(max_alphas)`: a thread-safe counter; `take(n)` grants up to n of what is left
  (0 when spent; everything when `max_alphas` is None), `refund(n)` gives back what was not used.
- `SharedSimulationBudget(root, run_id, max_alphas, spent=)`: the same, counted in
  `<root>/run_budgets/<run id>.json` under a flock, so a run's controller and every `alphamine worker`
  on it draw from one budget. The file keeps the larger of its count and `spent` (what the store says
  the run spent): grants a killed process took and never used stay spent, so the cap is never
  overshot (at worst a crash leaves a few simulations of the budget unused).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import socket
import threading
from pathlib import Path

from alphamine.brain.leases import locked_json

FILENAME = "daily_simulation_usage.json"
BUDGETS_DIR = "run_budgets"
KEEP_DAYS = 400


def _day(day: dt.date | str | None) -> str:
    if day is None:
        return dt.date.today().isoformat()
    if isinstance(day, dt.date):
        return day.isoformat()
    try:
        return dt.date.fromisoformat(day).isoformat()
    except ValueError:
        raise ValueError(f"a day is YYYY-MM-DD (got {day!r})") from None


class UsageLedger:
    """The daily simulation ledger of one runtime root (module doc)."""

    def __init__(self, root: str | Path, *, host: str | None = None, keep_days: int = KEEP_DAYS) -> None:
        self.root = Path(root)
        self.path = self.root / FILENAME
        self.process = f"{host or socket.gethostname()}:{os.getpid()}"
        self.keep_days = keep_days

    def __repr__(self) -> str:
        return f"UsageLedger({str(self.path)!r})"

    def record(self, n: int, *, day: dt.date | str | None = None) -> int:
        """Add `n` simulations for this process on `day` (today); the day's total over processes."""
        if n < 0:
            raise ValueError(f"cannot record {n} simulations")
        key = _day(day)
        with locked_json(self.path, {"version": 1, "days": {}}) as doc:
            days = doc.setdefault("days", {})
            entry = days.setdefault(key, {})
            if n:
                entry[self.process] = int(entry.get(self.process, 0)) + n
            cutoff = (dt.date.today() - dt.timedelta(days=self.keep_days)).isoformat()
            for old in [d for d in days if d < cutoff]:
                del days[old]
            return sum(int(v) for v in entry.values())

    def by_process(self, day: dt.date | str | None = None) -> dict[str, int]:
        """`host:pid` -> simulations recorded on `day`."""
        with locked_json(self.path, {"version": 1, "days": {}}) as doc:
            return {k: int(v) for k, v in doc.get("days", {}).get(_day(day), {}).items()}

    def total(self, day: dt.date | str | None = None) -> int:
        return sum(self.by_process(day).values())

    def days(self) -> dict[str, int]:
        """date -> total, oldest first."""
        with locked_json(self.path, {"version": 1, "days": {}}) as doc:
            return {d: sum(int(v) for v in e.values()) for d, e in sorted(doc.get("days", {}).items())}


class SimulationBudget:
    """At most `max_alphas` simulations for one run (None: unlimited). Thread-safe."""

    def __init__(self, max_alphas: int | None) -> None:
        if max_alphas is not None and max_alphas < 0:
            raise ValueError(f"--max-sim-alphas must be >= 0 (got {max_alphas})")
        self.max_alphas = max_alphas
        self._used = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SimulationBudget(max_alphas={self.max_alphas}, used={self._used})"

    @property
    def used(self) -> int:
        return self._used

    @property
    def remaining(self) -> int | None:
        return None if self.max_alphas is None else max(0, self.max_alphas - self.used)

    @property
    def exhausted(self) -> bool:
        return self.max_alphas is not None and self.used >= self.max_alphas

    def take(self, n: int) -> int:
        """Grant up to `n` simulations of what is left."""
        with self._lock:
            granted = n if self.max_alphas is None else max(0, min(n, self.max_alphas - self._used))
            self._used += granted
            return granted

    def refund(self, n: int) -> None:
        with self._lock:
            self._used = max(0, self._used - n)


def budget_path(root: str | Path, run_id: str) -> Path:
    """`<root>/run_budgets/<run id>.json` (unsafe characters replaced, a short hash keeps ids apart)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)[:80]
    return Path(root) / BUDGETS_DIR / f"{safe}-{hashlib.blake2b(run_id.encode(), digest_size=4).hexdigest()}.json"


class SharedSimulationBudget(SimulationBudget):
    """A run's budget shared by every process of a runtime root (module doc)."""

    def __init__(
        self, root: str | Path, run_id: str, max_alphas: int | None, *, spent: int = 0
    ) -> None:
        super().__init__(max_alphas)
        self.path = budget_path(root, run_id)
        with locked_json(self.path, {"used": 0}) as doc:
            doc["used"] = max(int(doc.get("used", 0)), int(spent))

    def __repr__(self) -> str:
        return f"SharedSimulationBudget({str(self.path)!r}, max_alphas={self.max_alphas})"

    @property
    def used(self) -> int:
        with locked_json(self.path, {"used": 0}) as doc:
            return int(doc.get("used", 0))

    def take(self, n: int) -> int:
        with self._lock, locked_json(self.path, {"used": 0}) as doc:
            used = int(doc.get("used", 0))
            granted = n if self.max_alphas is None else max(0, min(n, self.max_alphas - used))
            doc["used"] = used + granted
            return granted

    def refund(self, n: int) -> None:
        with self._lock, locked_json(self.path, {"used": 0}) as doc:
            doc["used"] = max(0, int(doc.get("used", 0)) - n)

"""What the LLM agents may spend, what they spent, and the kill switch that stops them.

Why: an LLM call costs money and time and can fail in loops (a revoked key, a provider outage, a
model that keeps answering garbage). A mining run must never depend on it: when a limit is reached
or calls keep failing, the LLM is paused for the rest of the run and the run carries on with the
deterministic generators. Several alphamine processes share a provider's daily limits, so the daily
call count lives in a ledger file under the runtime root, like the simulation ledger.

Contract:
- `Usage(prompt_tokens, completion_tokens, cost)`: one call's tokens and its USD cost (None when
  the model's price is unknown).
- `PriceTable`: model -> `ModelPrice` (USD per 1M prompt / completion tokens). `DEFAULT_PRICES`
  are approximate list prices when written; `PriceTable.load(path)` overlays a JSON file shaped
  `{"model": {"prompt": 0.15, "completion": 0.6}}`. `cost(model, usage)` is None for an unknown
  model (tokens are still counted).
- `DailyCallLedger(path)`: `<runtime-root>/llm_daily_calls.json` (`daily_ledger_path(root)`),
  updated under the flock of its `.lock` sibling with an atomic replace (`brain.leases.locked_json`).
  `record(n)` adds to this process's entry of today and returns the day's total over processes.
- `Budget(token_budget, max_calls, daily_limit, daily_ledger, max_consecutive_failures=3)`:
  thread-safe. A call is one completion the client asked for (its retries included; a repair call
  is another call). `record_success(agent, usage, model)` counts a usable answer and resets the
  failure streak; `record_failure(agent, error, usage=None, model=None)` counts a call whose answer
  could not be used (final HTTP error, or invalid JSON, whose tokens were still spent).
  `check()` is None while calls may be made, else the reason: the token budget reached, max calls
  reached, the daily call limit reached (ledger total over every process; per process when no
  ledger), N consecutive failures, or `pause(reason)`. The first reason sticks for the life of the
  Budget: that is the kill switch. Limits are checked before a call and counted after it, so
  concurrent callers can overshoot by the calls in flight (and the token budget by one answer).
- `summary()`: calls, failures, tokens, cost per agent and in total, the limits and the paused
  reason, as plain JSON-able data for reports.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from alphamine.brain.leases import locked_json

DAILY_LEDGER_FILENAME = "llm_daily_calls.json"
KEEP_DAYS = 60


@dataclass(frozen=True)
class Usage:
    """One call's token counts and its USD cost (None: the price of the model is unknown)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1M tokens."""

    prompt: float
    completion: float


DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(0.15, 0.60),
    "gpt-4o": ModelPrice(2.50, 10.00),
    "gpt-4.1-mini": ModelPrice(0.40, 1.60),
    "gpt-4.1": ModelPrice(2.00, 8.00),
    "deepseek-chat": ModelPrice(0.27, 1.10),
    "deepseek-reasoner": ModelPrice(0.55, 2.19),
}


class PriceTable:
    """Model name (case-insensitive) -> `ModelPrice` (module doc)."""

    def __init__(self, prices: Mapping[str, ModelPrice] | None = None) -> None:
        self._prices = {k.lower(): v for k, v in (DEFAULT_PRICES if prices is None else prices).items()}

    def __repr__(self) -> str:
        return f"PriceTable({len(self._prices)} models)"

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and model.lower() in self._prices

    def price(self, model: str) -> ModelPrice | None:
        return self._prices.get(model.lower())

    def cost(self, model: str, usage: Usage) -> float | None:
        """USD for `usage` on `model`, or None when the model has no price."""
        p = self.price(model)
        if p is None:
            return None
        return (usage.prompt_tokens * p.prompt + usage.completion_tokens * p.completion) / 1_000_000

    def with_prices(self, prices: Mapping[str, ModelPrice]) -> PriceTable:
        """A copy with `prices` added or replacing existing entries."""
        return PriceTable({**self._prices, **{k.lower(): v for k, v in prices.items()}})

    @classmethod
    def load(cls, path: str | Path, *, base: PriceTable | None = None) -> PriceTable:
        """`base` (the defaults) overlaid with the JSON file at `path` (module doc); a ValueError
        naming the file and the entry when it is unreadable or malformed."""
        p = Path(path).expanduser()
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as e:
            raise ValueError(f"cannot read the LLM price file {p}: {e.strerror or type(e).__name__}") from None
        except ValueError:
            raise ValueError(
                f'the LLM price file {p} is not valid JSON; expected {{"model": {{"prompt": ..., '
                '"completion": ...}}} in USD per 1M tokens'
            ) from None
        if not isinstance(data, dict):
            raise ValueError(f"the LLM price file {p} must hold a JSON object of models")
        prices: dict[str, ModelPrice] = {}
        for model, entry in data.items():
            try:
                prompt, completion = float(entry["prompt"]), float(entry["completion"])
            except (TypeError, KeyError, ValueError):
                raise ValueError(
                    f'the LLM price file {p}: "{model}" needs numeric "prompt" and "completion" (USD per 1M tokens)'
                ) from None
            if prompt < 0 or completion < 0:
                raise ValueError(f'the LLM price file {p}: "{model}" has a negative price')
            prices[model] = ModelPrice(prompt, completion)
        return (base or cls()).with_prices(prices)


def daily_ledger_path(runtime_root: str | Path) -> Path:
    """Where the processes of one runtime root count their LLM calls per day."""
    return Path(runtime_root) / DAILY_LEDGER_FILENAME


class DailyCallLedger:
    """LLM calls per day and process, shared by every process of a runtime root (module doc)."""

    def __init__(self, path: str | Path, *, host: str | None = None) -> None:
        self.path = Path(path)
        self.process = f"{host or socket.gethostname()}:{os.getpid()}"

    def __repr__(self) -> str:
        return f"DailyCallLedger({str(self.path)!r})"

    def record(self, n: int = 1, *, day: dt.date | None = None) -> int:
        """Add `n` calls for this process on `day` (today); the day's total over processes."""
        key = (day or dt.date.today()).isoformat()
        with locked_json(self.path, {"version": 1, "days": {}}) as doc:
            days = doc.setdefault("days", {})
            entry = days.setdefault(key, {})
            if n:
                entry[self.process] = int(entry.get(self.process, 0)) + n
            cutoff = (dt.date.today() - dt.timedelta(days=KEEP_DAYS)).isoformat()
            for old in [d for d in days if d < cutoff]:
                del days[old]
            return sum(int(v) for v in entry.values())

    def total(self, day: dt.date | None = None) -> int:
        with locked_json(self.path, {"version": 1, "days": {}}) as doc:
            entry = doc.get("days", {}).get((day or dt.date.today()).isoformat(), {})
            return sum(int(v) for v in entry.values())


@dataclass
class Totals:
    """Counters of one agent, or of the whole run."""

    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None  # sum over priced calls; None while no call had a price
    unpriced_calls: int = 0  # calls whose model had no price (their cost is not in `cost`)

    def add(self, usage: Usage | None, *, failed: bool) -> None:
        self.calls += 1
        self.failures += int(failed)
        if usage is None:
            return
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        if usage.cost is None:
            self.unpriced_calls += 1
        else:
            self.cost = (self.cost or 0.0) + usage.cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failures": self.failures,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.prompt_tokens + self.completion_tokens,
            "cost": None if self.cost is None else round(self.cost, 6),
            "unpriced_calls": self.unpriced_calls,
        }


@dataclass
class _State:
    total: Totals = field(default_factory=Totals)
    agents: dict[str, Totals] = field(default_factory=dict)
    day_calls: int = 0  # this process's calls today when there is no ledger
    consecutive_failures: int = 0
    last_error: str = ""
    paused: str | None = None


class Budget:
    """Limits, totals and the kill switch of one run's LLM calls (module doc). None = no limit."""

    def __init__(
        self,
        token_budget: int | None = None,
        max_calls: int | None = None,
        daily_limit: int | None = None,
        daily_ledger: str | Path | None = None,
        max_consecutive_failures: int = 3,
        *,
        prices: PriceTable | None = None,
    ) -> None:
        for name, value in (("token_budget", token_budget), ("max_calls", max_calls), ("daily_limit", daily_limit)):
            if value is not None and value < 0:
                raise ValueError(f"LLM {name} must be >= 0 (got {value})")
        if max_consecutive_failures < 1:
            raise ValueError(f"max_consecutive_failures must be >= 1 (got {max_consecutive_failures})")
        self.token_budget, self.max_calls, self.daily_limit = token_budget, max_calls, daily_limit
        self.max_consecutive_failures = max_consecutive_failures
        self.ledger = DailyCallLedger(daily_ledger) if daily_ledger is not None else None
        self.prices = prices if prices is not None else PriceTable()
        self._lock = threading.Lock()
        self._state = _State()

    def __repr__(self) -> str:
        s = self._state
        return (
            f"Budget(calls={s.total.calls}, tokens={s.total.prompt_tokens + s.total.completion_tokens}, "
            f"paused={s.paused!r})"
        )

    @property
    def paused(self) -> str | None:
        return self._state.paused

    def pause(self, reason: str) -> None:
        """Stop every further call of this run (the first reason is kept)."""
        with self._lock:
            self._state.paused = self._state.paused or reason

    def check(self) -> str | None:
        """None while a call may be made, else why the LLM is paused (sticky; module doc)."""
        day_total = self.ledger.total() if self.ledger is not None and self.daily_limit is not None else None
        with self._lock:
            s = self._state
            if s.paused is None:
                s.paused = self._reason(s, day_total)
            return s.paused

    def _reason(self, s: _State, day_total: int | None) -> str | None:
        tokens = s.total.prompt_tokens + s.total.completion_tokens
        if s.consecutive_failures >= self.max_consecutive_failures:
            return f"{s.consecutive_failures} consecutive LLM failures (last: {s.last_error})"
        if self.token_budget is not None and tokens >= self.token_budget:
            return f"LLM token budget reached ({tokens} of {self.token_budget} tokens used)"
        if self.max_calls is not None and s.total.calls >= self.max_calls:
            return f"LLM max calls reached ({s.total.calls} of {self.max_calls} calls)"
        if self.daily_limit is not None:
            today = s.day_calls if day_total is None else day_total
            if today >= self.daily_limit:
                where = f" (all processes, {self.ledger.path})" if self.ledger is not None else " (this process)"
                return f"daily LLM call limit reached ({today} of {self.daily_limit} calls today{where})"
        return None

    def price(self, model: str, usage: Usage) -> Usage:
        """`usage` with its cost filled in from the price table when it has none."""
        return usage if usage.cost is not None else replace(usage, cost=self.prices.cost(model, usage))

    def record_success(self, agent: str, usage: Usage, model: str) -> Usage:
        """Count a call whose answer was usable; returns `usage` priced."""
        priced = self.price(model, usage)
        self._record(agent, priced, failed=False, error="")
        return priced

    def record_failure(
        self, agent: str, error: str | BaseException, *, usage: Usage | None = None, model: str | None = None
    ) -> None:
        """Count a call whose answer could not be used. `error` must not hold a secret (the client
        passes its own key-free message)."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        priced = self.price(model, usage) if usage is not None and model is not None else usage
        self._record(agent, priced, failed=True, error=text[:300])

    def _record(self, agent: str, usage: Usage | None, *, failed: bool, error: str) -> None:
        if self.ledger is not None:
            self.ledger.record(1)
        with self._lock:
            s = self._state
            s.total.add(usage, failed=failed)
            s.agents.setdefault(agent, Totals()).add(usage, failed=failed)
            s.day_calls += 1
            if failed:
                s.consecutive_failures += 1
                s.last_error = error
                if s.consecutive_failures >= self.max_consecutive_failures and s.paused is None:
                    s.paused = self._reason(s, None)
            else:
                s.consecutive_failures = 0

    def totals(self, agent: str | None = None) -> Totals:
        """A copy of the run's totals, or of one agent's (zeros for an agent that made no call)."""
        with self._lock:
            t = self._state.total if agent is None else self._state.agents.get(agent, Totals())
            return replace(t)

    def summary(self) -> dict[str, Any]:
        """Totals per agent and in all, limits and the paused reason (module doc)."""
        with self._lock:
            s = self._state
            return {
                **s.total.as_dict(),
                "agents": {name: t.as_dict() for name, t in sorted(s.agents.items())},
                "consecutive_failures": s.consecutive_failures,
                "paused": s.paused,
                "limits": {
                    "token_budget": self.token_budget,
                    "max_calls": self.max_calls,
                    "daily_limit": self.daily_limit,
                    "daily_ledger": None if self.ledger is None else str(self.ledger.path),
                    "max_consecutive_failures": self.max_consecutive_failures,
                },
            }

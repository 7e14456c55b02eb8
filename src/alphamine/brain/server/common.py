"""Small helpers every part of the local server shares: ids, the platform's clock, JSON hygiene, the
platform's error bodies.

Why here: BRAIN's conventions (8-character alpha ids, US-Eastern timestamps and quota days,
`{"detail": "Not found."}`, no NaN in JSON) must be spelled once for every route module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
import string
from collections.abc import Mapping
from typing import Any

import numpy as np
from fastapi import HTTPException

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    EASTERN: dt.tzinfo = ZoneInfo("America/New_York")
except (ImportError, ZoneInfoNotFoundError):  # no tz database: fixed EST, off by an hour in summer
    EASTERN = dt.timezone(dt.timedelta(hours=-5), "EST")

ALPHABET = string.ascii_letters + string.digits
NOT_FOUND = "Not found."


def new_id(length: int) -> str:
    """A random id of letters and digits (alpha ids have 8 characters on BRAIN)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def user_id(email: str) -> str:
    """A stable platform-style user id for an email (two letters and five digits)."""
    h = hashlib.blake2b(email.strip().lower().encode(), digest_size=8).digest()
    n = int.from_bytes(h, "big")
    return "LA" + f"{n % 100000:05d}"


def now_eastern() -> dt.datetime:
    return dt.datetime.now(EASTERN)


def iso(t: dt.datetime) -> str:
    """BRAIN's timestamp spelling: `2026-02-10T10:41:16-05:00`."""
    return t.isoformat(timespec="seconds")


def quota_day(t: dt.datetime | None = None) -> str:
    """The platform's quota day (US Eastern date) of an instant (default now)."""
    return (t or now_eastern()).astimezone(EASTERN).date().isoformat()


def seconds_to_reset(t: dt.datetime | None = None) -> int:
    """Whole seconds until the next US-Eastern midnight (`X-Ratelimit-Reset`)."""
    now = (t or now_eastern()).astimezone(EASTERN)
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=EASTERN)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


def plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars and arrays to Python, NaN and ±inf to None, tuples to lists."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def not_found() -> HTTPException:
    """The platform's 404 (`{"detail": "Not found."}`)."""
    return HTTPException(status_code=404, detail=NOT_FOUND)


def choice_error(value: Any) -> str:
    """The platform's wording for a value outside a choice list."""
    return f'"{value}" is not a valid choice.'

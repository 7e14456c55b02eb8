"""The local server's own SQLite file: simulations, alphas, submissions, quotas and counters.

Why its own file (not the alphamine store): the server plays the platform, whose records belong to
it, not to a research run; a client run against it keeps its results in its own store exactly as it
would against BRAIN. Why plain sqlite3: five small tables and a handful of statements; SQLite in WAL
mode lets a second process (a test, `sqlite3` on the command line) read while the server writes.

Contract: one connection shared by the server's threads, every statement under one lock (`tx()` for
several statements in one transaction). JSON columns hold text; PnL arrays are little-endian float64
bytes and dates int64 days since 1970-01-01. The schema is created when missing, so an existing file
is reopened with its alphas and counters (a restart keeps them).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS simulations (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    parent TEXT,
    children TEXT,
    type TEXT NOT NULL,
    settings TEXT NOT NULL,
    regular TEXT,
    status TEXT NOT NULL,
    message TEXT,
    location TEXT,
    alpha TEXT,
    created REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS simulations_parent ON simulations (parent);
CREATE TABLE IF NOT EXISTS alphas (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    simulation TEXT NOT NULL,
    date_created TEXT NOT NULL,
    date_modified TEXT NOT NULL,
    date_submitted TEXT,
    status TEXT NOT NULL,
    stage TEXT NOT NULL,
    name TEXT,
    color TEXT,
    category TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    favorite INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    region TEXT NOT NULL,
    body TEXT NOT NULL,
    yearly TEXT NOT NULL,
    extra TEXT NOT NULL,
    dates BLOB NOT NULL,
    pnl BLOB NOT NULL,
    first INTEGER NOT NULL,
    is_lo INTEGER NOT NULL,
    is_hi INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alphas_user ON alphas (user, date_created);
CREATE TABLE IF NOT EXISTS submissions (
    alpha TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    status TEXT NOT NULL,
    started REAL NOT NULL,
    due REAL NOT NULL,
    finished REAL,
    checks TEXT,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS quota (
    user TEXT NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (user, day)
);
CREATE TABLE IF NOT EXISTS counters (
    user TEXT NOT NULL,
    key TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (user, key)
);
"""


class ServerDB:
    """The server's SQLite file (module doc). Rows come back as dicts."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Several statements in one transaction, under the lock (rolled back on error)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One statement (autocommit); the number of rows it changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._conn.execute(sql, params).fetchall()]

    # ------------------------------------------------------------------ counters
    def bump(self, user: str, key: str, by: int = 1) -> None:
        self.execute(
            "INSERT INTO counters (user, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (user, key) DO UPDATE SET value = value + excluded.value",
            (user, key, by),
        )

    def raise_to(self, user: str, key: str, value: int) -> None:
        """counter := max(counter, value)."""
        self.execute(
            "INSERT INTO counters (user, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (user, key) DO UPDATE SET value = max(value, excluded.value)",
            (user, key, value),
        )

    def counters(self) -> dict[str, dict[str, int]]:
        """user -> key -> value."""
        out: dict[str, dict[str, int]] = {}
        for row in self.all("SELECT user, key, value FROM counters ORDER BY user, key"):
            out.setdefault(row["user"], {})[row["key"]] = int(row["value"])
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def dumps(value: Any) -> str:
    """Compact JSON for a column (NaN must already be gone: see `alpha_json.plain`)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def pack_floats(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f8").tobytes()


def unpack_floats(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<f8")


def pack_dates(d: np.ndarray) -> bytes:
    return np.ascontiguousarray(np.asarray(d).astype("datetime64[D]").astype("<i8")).tobytes()


def unpack_dates(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype="<i8").astype("datetime64[D]")

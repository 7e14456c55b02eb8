"""The local server's own SQLite file: simulations, alphas, submissions, quotas and counters.

Why its own file (not the alphamine store): the server plays the platform, whose records belong to
it, not to a research run; a client run against it keeps its results in its own store exactly as it
would against BRAIN. Why plain sqlite3: five small tables and a handful of statements; SQLite in WAL
mode lets a second process (a test, `sqlite3` on the command line) read while the server writes.

Contract: writes go through one connection shared by the server's threads, every statement under one
lock (`tx()` for several statements in one transaction). Reads (`one`, `all`) use a connection of
the calling thread, so a poll answered on the event loop never waits behind a writer's transaction
(WAL readers see the last commit; a `:memory:` database has one connection and reads under the
lock). JSON columns hold text; PnL arrays are little-endian float64 bytes and dates int64 days since
1970-01-01. The schema is created when missing, so an existing file is reopened with its alphas and
counters (a restart keeps them).
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
        self._conn = _connect(path)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []  # every thread's read connection, closed by close()
        self._readers_lock = threading.Lock()  # not the write lock: a writer's transaction may be long
        self._closed = False
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read connection (None for `:memory:`: read the shared one under the lock)."""
        if str(self.path) == ":memory:":
            return None
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._readers_lock:
                if self._closed:
                    raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
                conn = _connect(self.path)
                self._readers.append(conn)
            self._local.conn = conn
        return conn

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
        """One row (a read: this thread's connection, the last commit)."""
        rows = self._read(sql, params, 1)
        return rows[0] if rows else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row (a read: this thread's connection, the last commit)."""
        return self._read(sql, params, None)

    def _read(self, sql: str, params: Sequence[Any], limit: int | None) -> list[dict[str, Any]]:
        conn = self._reader()
        if conn is None:
            with self._lock:
                cur = self._conn.execute(sql, params)
                return [dict(r) for r in (cur.fetchmany(limit) if limit else cur.fetchall())]
        cur = conn.execute(sql, params)
        rows = [dict(r) for r in (cur.fetchmany(limit) if limit else cur.fetchall())]
        cur.close()  # ends the read transaction: the next read sees later commits
        return rows

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
        with self._readers_lock:
            self._closed = True
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        with self._lock:
            self._conn.close()


def _connect(path: str | Path) -> sqlite3.Connection:
    """A connection usable from any thread (each is used by one at a time: the lock, or its owner)."""
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


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

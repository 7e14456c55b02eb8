"""Connecting and transactions: the part of the store that knows about SQLite and PostgreSQL.

Why the SQLite event hooks: Python's sqlite3 driver starts transactions lazily (only before INSERT/
UPDATE/DELETE), which makes DDL non-transactional and reads inconsistent. Following SQLAlchemy's
documented recipe the driver's own handling is switched off and the store emits `BEGIN` itself:
`BEGIN IMMEDIATE` for write transactions (the write lock is taken up front, so waiting writers queue on
`busy_timeout` instead of failing with SQLITE_BUSY when upgrading a read) and a deferred `BEGIN` for
reads (a consistent snapshot; in WAL mode readers never block the writer nor wait for it).
Pragmas per connection: WAL journal (persistent), `foreign_keys=ON`, `synchronous=NORMAL` (in WAL mode
a commit survives a process crash; only an OS crash/power loss may lose the last commits, never corrupt
the file), `busy_timeout`. Other dialects get none of this: their defaults are already transactional.

PostgreSQL (`postgresql://` URLs; docs/postgres.md): a bare `postgresql://` or `postgres://` means the
psycopg 3 driver (the `postgres` extra). There is no database-wide write lock to emulate `BEGIN
IMMEDIATE`, so the store keeps SQLite's guarantees by other means, each where it is needed: reads run
in a `REPEATABLE READ, READ ONLY` transaction (one consistent snapshot, like SQLite's deferred BEGIN);
read-modify-write paths lock the rows they rewrite (`FOR NO KEY UPDATE`, ignored by SQLite); inserts
that may race another writer run in a SAVEPOINT (`savepoint`), because an error aborts the whole
PostgreSQL transaction; and the few operations that must see every committed write before deciding
(claiming, migrating) take a transaction-scoped advisory lock (`exclusive`). Lock waits give up after
the same 30 s as SQLite's `busy_timeout` (`lock_timeout`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.pool import StaticPool

from alphamine.runtime import DB_FILENAME, DEFAULT_RUNTIME_ROOT
from alphamine.store.damage import translate_damage
from alphamine.store.errors import StoreError

BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "alphamine_begin"
T = TypeVar("T")


def default_db_path(runtime_root: str | Path = DEFAULT_RUNTIME_ROOT) -> Path:
    """`<runtime-root>/alphamine.sqlite3`, the store used when no `--db` is given."""
    return Path(runtime_root) / DB_FILENAME


def utcnow() -> str:
    """Now as a UTC ISO-8601 string with microseconds (sorts as text)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def mask_url(url: URL | str) -> str:
    """The URL as text with any password replaced by `***`."""
    return (make_url(url) if isinstance(url, str) else url).render_as_string(hide_password=True)


_PG_DEFAULT_DRIVER = ("postgresql", "postgres")


def resolve_url(target: str | Path) -> URL:
    """A string containing `://` is an SQLAlchemy URL (a bare `postgresql://`/`postgres://` uses psycopg 3,
    the driver the `postgres` extra installs; name another with `postgresql+DRIVER://`); `":memory:"` a
    private in-memory SQLite database
    (tests, throw-away runs: one shared connection, so inside `transaction()` pass `conn=` to reads too);
    anything else a SQLite file path (an existing directory means
    `<dir>/alphamine.sqlite3`). Parent directories of a SQLite file are created."""
    if isinstance(target, str) and "://" in target:
        url = make_url(target)
        if url.drivername in _PG_DEFAULT_DRIVER:
            url = url.set(drivername="postgresql+psycopg")
        db = url.database or ""
        if url.get_backend_name() == "sqlite" and db not in ("", ":memory:") and not db.startswith("file:"):
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return url
    if str(target) == ":memory:":
        return make_url("sqlite://")
    path = Path(target).expanduser()
    if path.is_dir():
        path = path / DB_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    return URL.create("sqlite", database=str(path.resolve()))


def make_engine(url: URL) -> Engine:
    """An engine for `url`; SQLite gets the pragmas and explicit-BEGIN hooks (module doc), and its
    damage errors become `StoreUnreadableError` (`store.damage`); PostgreSQL gets `lock_timeout`.

    Pooled connections are kept (closing the last connection to a WAL database checkpoints it, which
    made every short transaction ~15x slower with a non-pooling engine); a forked child drops the
    inherited pool without closing the parent's connections, as SQLAlchemy prescribes."""
    if url.get_backend_name() != "sqlite":
        engine = create_engine(url, pool_pre_ping=True)
        _dispose_in_forked_children(engine)
        if url.get_backend_name() == "postgresql":
            _postgres_session(engine)
        return engine
    if url.database in (None, "", ":memory:"):  # one shared connection, or each would see its own database
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    _dispose_in_forked_children(engine)
    translate_damage(engine, url)  # a damaged file: StoreUnreadableError naming it, wherever it shows

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver stops issuing BEGIN/COMMIT on its own
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def _postgres_session(engine: Engine) -> None:
    """Per connection: lock waits (rows, advisory locks) fail after `BUSY_TIMEOUT_MS`, as a SQLite writer
    gives up after `busy_timeout`, instead of hanging a worker forever behind a stalled process."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"SET lock_timeout = {BUSY_TIMEOUT_MS}")
        finally:
            cur.close()
        dbapi_conn.commit()


def is_sqlite(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "sqlite"


def savepoint(conn: Connection) -> AbstractContextManager[Any]:
    """Wrap a statement that may fail on a constraint another writer raced us to (an insert whose
    pre-check saw nothing): on PostgreSQL any error aborts the whole transaction, so the statement runs
    in a SAVEPOINT and only it is rolled back, leaving the caller free to catch the `IntegrityError`
    and go on. On SQLite a no-op: writers are serialized (`BEGIN IMMEDIATE`), so the race cannot
    happen, and a failed statement never poisons the transaction there anyway."""
    return nullcontext() if is_sqlite(conn) else conn.begin_nested()


def exclusive(conn: Connection, name: str) -> None:
    """Hold the database-wide lock `name` until `conn`'s transaction ends, for decisions that must see
    every write committed before them and exclude concurrent ones (claiming work, migrating): what
    `BEGIN IMMEDIATE` gives every SQLite write. PostgreSQL: a transaction-scoped advisory lock keyed by
    `name` (per database, so stores sharing a server do not contend). SQLite: nothing more to do."""
    if conn.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"alphamine:{name}".encode(), digest_size=8).digest(), "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _dispose_in_forked_children(engine: Engine) -> None:
    ref = weakref.ref(engine)

    def after_fork() -> None:
        e = ref()
        if e is not None:
            e.dispose(close=False)

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=after_fork)


def chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Slices of at most `size` (keeps `IN (...)` lists under every backend's parameter limit)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


class StoreBase:
    """Engine, transactions and the `conn=` convention shared by the store's parts.

    Every public method runs in its own transaction unless given `conn=` (a connection from
    `transaction()`), in which case it joins that transaction and commits or rolls back with it."""

    engine: Engine
    _local: threading.local

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic write transaction: everything done with the yielded connection commits together
        when the block exits normally and is rolled back on any exception (Ctrl-C included) or if the
        process dies.

        Not re-entrant: inside the block, pass `conn=` to every write. A nested `transaction()` or a
        write without `conn=` in the same thread raises `StoreError` at once, because on SQLite it would
        wait for the enclosing transaction's lock, i.e. for itself. (Reads without `conn=` are allowed;
        they see the last committed state, not the block's own writes.)"""
        local = self.__dict__.setdefault("_local", threading.local())
        if getattr(local, "open", False):
            raise StoreError(
                "a write transaction is already open in this thread; pass conn= (the connection from "
                "Store.transaction()) to join it instead of starting another"
            )
        local.open = True
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
                with conn.begin():
                    yield conn
        finally:
            local.open = False

    @contextmanager
    def _write(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.transaction() as c:
                yield c

    @contextmanager
    def _read(self, conn: Connection | None) -> Iterator[Connection]:
        """`conn` itself, or a fresh read transaction that sees one consistent snapshot throughout (SQLite:
        a deferred BEGIN; PostgreSQL: REPEATABLE READ, READ ONLY, which never waits for writers nor fails
        for them) so a method reading several tables never mixes two committed states."""
        if conn is not None:
            yield conn
        else:
            with self.engine.connect() as c, c.begin():
                if c.dialect.name == "postgresql":
                    c.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield c

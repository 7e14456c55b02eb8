"""Versioned schema: an ordered list of migrations, applied on open, one transaction each.

Why hand-written (no Alembic): the schema is small and owned by one package; each step is a Python
function `(Connection) -> None` taking the database from version N to N+1 with SQLAlchemy Core only, so
it runs on SQLite and PostgreSQL alike. `MIGRATIONS[n]` goes from n to n+1 (0 = empty database). Each
step and its `schema_version` row commit together (DDL is transactional on SQLite and PostgreSQL alike),
so a crash mid-migration leaves the previous version intact, and concurrent openers re-read the version
inside their write-locked transaction (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the `migrate` advisory
lock, `base.exclusive`) and skip a step someone else already applied. A database whose version is
above `LATEST_VERSION` was written by a newer alphamine: opening it raises `SchemaTooNewError` instead
of guessing.

Adding a migration: gate the new column/index in `schema.build_metadata` on `version >= N+1`, append a
function here, bump `schema.LATEST_VERSION`; the test that compares a stepwise-migrated database with a
freshly created one keeps the two in sync.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from sqlalchemy import Connection, func, insert, inspect, select, text

from alphamine.store.base import exclusive
from alphamine.store.errors import SchemaTooNewError, StoreUnreadableError
from alphamine.store.schema import LATEST_VERSION, SCHEMA_VERSION, build_metadata

Migration = Callable[[Connection], None]
_OURS = ("runs", "candidates", "sim_results")


def _v0_to_v1(conn: Connection) -> None:
    """Create every table and index of version 1."""
    build_metadata(1).create_all(conn)


def _v1_to_v2(conn: Connection) -> None:
    """Add `runs.notes` (free text a researcher attaches to a run) and the index behind the cross-run
    ready pool, `candidates (status, region)`."""
    md = build_metadata(2)
    notes = md.tables["runs"].c.notes
    prep = conn.dialect.identifier_preparer
    col_type = notes.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {prep.quote('runs')} ADD COLUMN {prep.quote('notes')} {col_type}"))
    for index in md.tables["candidates"].indexes:
        if index.name == "ix_candidates_status_region":
            index.create(conn)


def _v2_to_v3(conn: Connection) -> None:
    """Add `claims` (one row per candidate a worker process holds, with an expiry), the table behind
    `alphamine worker`: several processes drain one store without simulating a candidate twice."""
    build_metadata(3).tables["claims"].create(conn)


MIGRATIONS: list[Migration] = [_v0_to_v1, _v1_to_v2, _v2_to_v3]
assert len(MIGRATIONS) == LATEST_VERSION


def current_version(conn: Connection, where: str = "(unnamed)") -> int:
    """The database's schema version (0 when it has no alphamine tables yet). A database with some of
    alphamine's tables but no version table raises `StoreUnreadableError` naming `where`."""
    insp = inspect(conn)
    if not insp.has_table("schema_version"):
        present = set(insp.get_table_names())
        if present.intersection(_OURS):
            raise StoreUnreadableError(
                where,
                f"it has tables {', '.join(sorted(present.intersection(_OURS)))} but no schema_version "
                "table: it was not created by alphamine's store",
            )
        return 0
    return int(conn.execute(select(func.max(SCHEMA_VERSION.c.version))).scalar() or 0)


def check_not_newer(version: int, latest: int = LATEST_VERSION, where: str | None = None) -> None:
    """`SchemaTooNewError` (naming the store `where` when given) if `version` is above `latest`."""
    if version > latest:
        subject = f"the store {where}" if where else "the database"
        raise SchemaTooNewError(
            f"{subject} has schema version {version} but this alphamine knows only up to {latest}; "
            "upgrade alphamine (or point --db/--runtime-root at another store)"
        )


def migrate(
    begin: Callable[[], AbstractContextManager[Connection]],
    *,
    read: Callable[[], AbstractContextManager[Connection]] | None = None,
    target: int = LATEST_VERSION,
    migrations: list[Migration] | None = None,
    where: str | None = None,
) -> int:
    """Bring the database to `target`, one committed transaction per step; returns the final version.

    `begin` opens a write transaction (the store's `transaction`), `read` a read-only one: an up-to-date
    database is only read, so opening a store never waits for a run that is busy writing. `target`
    below the latest is for tests that build an old database. `where` names the store in errors."""
    steps = MIGRATIONS if migrations is None else migrations
    label = where or "(unnamed)"
    if read is not None:
        with read() as conn:
            version = current_version(conn, label)
        check_not_newer(version, len(steps), where)
        if version >= target:
            return version
    while True:
        with begin() as conn:
            exclusive(conn, "migrate")  # before reading the version: see every step committed before us
            version = current_version(conn, label)
            check_not_newer(version, len(steps), where)
            if version >= target:
                return version
            steps[version](conn)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
            conn.execute(insert(SCHEMA_VERSION).values(version=version + 1, applied_at=now))


def applied(conn: Connection) -> Iterator[tuple[int, str]]:
    """(version, applied_at) rows, oldest first."""
    sv = SCHEMA_VERSION.c
    rows = conn.execute(select(sv.version, sv.applied_at).order_by(sv.version))
    for v, at in rows:
        yield int(v), str(at)

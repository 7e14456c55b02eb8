"""`Store`: the one object the pipeline, reports and dashboard talk to.

Opening a store connects (SQLite file or any SQLAlchemy URL; PostgreSQL is tested, docs/postgres.md),
applies pending migrations and exposes the repositories of `runs`, `candidates` and `results` as
methods. Crash safety comes from the database: every method is one transaction, `transaction()` groups
several, and neither SQLite in WAL mode nor a PostgreSQL server ever exposes an uncommitted write, even
when the writer is SIGKILLed (the server rolls back a dropped connection's transaction).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import URL, Engine, text
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

from alphamine.store.base import make_engine, mask_url, resolve_url
from alphamine.store.candidates import CandidatesMixin
from alphamine.store.claims import ClaimsMixin
from alphamine.store.clean import mask_url_passwords
from alphamine.store.damage import store_label
from alphamine.store.errors import StoreError
from alphamine.store.migrations import LATEST_VERSION, migrate
from alphamine.store.results import ResultsMixin
from alphamine.store.runs import RunsMixin


class Store(RunsMixin, CandidatesMixin, ResultsMixin, ClaimsMixin):
    """Persistent record of runs, candidates, results and gate decisions (see the package doc)."""

    url: str  # password masked: safe to log and print
    where: str  # how messages name the store: the SQLite file's path, else `url`
    schema_version: int

    def __init__(self, engine: Engine, url: URL, *, migrate_to: int = LATEST_VERSION) -> None:
        """Prefer `Store.open`. `migrate_to` below the latest exists only to build old databases in tests."""
        self.engine = engine
        self.url = mask_url(url)
        self.where = store_label(url)
        self.dialect = engine.dialect.name
        try:
            self.schema_version = migrate(
                self.transaction, read=lambda: self._read(None), target=migrate_to, where=self.where
            )
        except (OperationalError, InterfaceError) as e:
            engine.dispose()
            if self.dialect == "sqlite":
                raise
            lines = str(e.orig or e).strip().splitlines()
            reason = mask_url_passwords(lines[0]) if lines else type(e).__name__
            raise StoreError(
                f"cannot open the store {self.where} ({reason}); check that the server is running and "
                "reachable, and the URL's host, port, database, user and password"
            ) from e
        except BaseException:
            engine.dispose()
            raise

    @classmethod
    def open(cls, target: str | Path, *, migrate_to: int = LATEST_VERSION) -> Store:
        """Open (creating and migrating as needed) the store at `target`: a filesystem path means a
        SQLite file (an existing directory means `<dir>/alphamine.sqlite3`; parents are created), a
        string containing `://` an SQLAlchemy URL.

        Every failure is a `StoreError` whose message names the store and says what to do:
        `SchemaTooNewError` for a database written by a newer alphamine, `StoreUnreadableError` for a
        file that is not an alphamine database or is damaged (also raised by any later operation that
        reaches damage, `store.damage`), a plain `StoreError` for a path that cannot be created or
        opened, a malformed URL, a missing database driver or a database server that cannot be reached
        (the URL in messages has its password masked). The file is never written when opening fails."""
        try:
            url = resolve_url(target)
        except OSError as e:
            why = f"{e.strerror}: {e.filename}" if e.strerror and e.filename else str(e)
            raise StoreError(f"cannot create the store at {target} ({why})") from e
        except ArgumentError as e:
            raise StoreError(f"the store URL is not a valid SQLAlchemy URL ({e})") from e
        try:
            engine = make_engine(url)
        except ArgumentError as e:  # NoSuchModuleError: an unknown dialect
            raise StoreError(f"cannot use the store {mask_url(url)} ({e})") from e
        except ImportError as e:
            raise StoreError(f"the database driver for {mask_url(url)} is not installed ({e})") from e
        return cls(engine, url, migrate_to=migrate_to)

    def health(self) -> dict[str, Any]:
        """What `alphamine doctor` shows about the database: `ok`, the backend, and what makes it safe to
        use. SQLite: the journal mode (WAL, or `memory` for an in-memory store) and whether foreign keys
        are enforced (the connection pragmas took). PostgreSQL: the server's version and the database
        (the pragmas have no counterpart there: its defaults are already what the store needs)."""
        with self._read(None) as c:
            if self.dialect == "sqlite":
                journal = str(c.exec_driver_sql("PRAGMA journal_mode").scalar())
                foreign_keys = bool(c.exec_driver_sql("PRAGMA foreign_keys").scalar())
                ok = foreign_keys and journal in ("wal", "memory")
                return {"ok": ok, "backend": "sqlite", "journal_mode": journal, "foreign_keys": foreign_keys}
            out: dict[str, Any] = {"ok": True, "backend": self.dialect}
            if self.dialect == "postgresql":
                out["server_version"] = str(c.execute(text("SHOW server_version")).scalar())
                out["database"] = str(c.execute(text("SELECT current_database()")).scalar())
            return out

    def close(self) -> None:
        """Release every connection. Committed data is already durable; nothing is flushed here."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r}, schema_version={self.schema_version})"

"""`Store`: the one object the pipeline, reports and dashboard talk to.

Opening a store connects (SQLite file or any SQLAlchemy URL), applies pending migrations and exposes
the repositories of `runs`, `candidates` and `results` as methods. Crash safety comes from the database:
every method is one transaction, `transaction()` groups several, and SQLite in WAL mode never exposes
an uncommitted write, even when the writer is SIGKILLed.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from sqlalchemy import URL, Engine

from alphamine.store.base import make_engine, mask_url, resolve_url
from alphamine.store.candidates import CandidatesMixin
from alphamine.store.migrations import LATEST_VERSION, migrate
from alphamine.store.results import ResultsMixin
from alphamine.store.runs import RunsMixin


class Store(RunsMixin, CandidatesMixin, ResultsMixin):
    """Persistent record of runs, candidates, results and gate decisions (see the package doc)."""

    url: str  # password masked: safe to log and print
    schema_version: int

    def __init__(self, engine: Engine, url: URL, *, migrate_to: int = LATEST_VERSION) -> None:
        """Prefer `Store.open`. `migrate_to` below the latest exists only to build old databases in tests."""
        self.engine = engine
        self.url = mask_url(url)
        self.dialect = engine.dialect.name
        try:
            self.schema_version = migrate(self.transaction, read=lambda: self._read(None), target=migrate_to)
        except BaseException:
            engine.dispose()
            raise

    @classmethod
    def open(cls, target: str | Path, *, migrate_to: int = LATEST_VERSION) -> Store:
        """Open (creating and migrating as needed) the store at `target`: a filesystem path means a
        SQLite file (an existing directory means `<dir>/alphamine.sqlite3`; parents are created), a
        string containing `://` an SQLAlchemy URL. Raises `SchemaTooNewError` for a database written by
        a newer alphamine."""
        url = resolve_url(target)
        return cls(make_engine(url), url, migrate_to=migrate_to)

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

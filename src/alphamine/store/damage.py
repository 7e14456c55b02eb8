"""Turning the database driver's "this file is damaged" errors into `StoreUnreadableError`.

Why at the engine: a damaged SQLite file (random bytes, a truncated copy, overwritten pages, some
other file at the store's path) fails wherever SQLite first reads the damaged part: while connecting,
while `Store.open` reads the schema version, or much later in a query. Each of those surfaced as a
`sqlalchemy.exc.DatabaseError` traceback without the file's name. One `handle_error` listener on the
engine sees every one of them (connect-time errors included) and replaces it with an error that names
the file and the remedy, so no store method needs its own try/except.

Contract: only SQLite's own verdicts are translated: `SQLITE_CORRUPT` and `SQLITE_NOTADB` become
`StoreUnreadableError`; `SQLITE_CANTOPEN` (a directory or an unreachable path) becomes a `StoreError`
naming the path. Everything else (constraint violations the store relies on, "database is locked",
other dialects' errors) passes through untouched. Translation never writes to the database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, Engine, event

from alphamine.store.errors import StoreError, StoreUnreadableError

SQLITE_CORRUPT = 11
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


def store_label(url: URL) -> str:
    """How messages name the store: a SQLite file by its path, anything else by its URL with the
    password masked."""
    if url.get_backend_name() == "sqlite":
        return url.database if url.database not in (None, "", ":memory:") else "(in-memory SQLite database)"
    return url.render_as_string(hide_password=True)


def translate(error: BaseException, where: str) -> StoreError | None:
    """The store error that `error` (a DBAPI exception) stands for, or None when it is not one of the
    damage codes in the module contract. `where` names the store in the message."""
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    primary = code & 0xFF  # extended codes (e.g. SQLITE_CORRUPT_INDEX) keep the primary one in the low byte
    reason = str(error) or getattr(error, "sqlite_errorname", "damaged")
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StoreUnreadableError(where, reason)
    if primary == SQLITE_CANTOPEN:
        return StoreError(f"cannot open the store {where} ({reason}); check that it is a file you can read and write")
    return None


def translate_damage(engine: Engine, url: URL) -> None:
    """Install the listener on `engine` (see the module doc)."""
    where = store_label(url)

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> BaseException | None:
        return translate(context.original_exception, where)

"""Store errors: one base class so callers can catch everything the store raises on purpose.

Every message is meant to be shown to a person as it is (the CLI prints it as one line): it names the
store (a file path, or the URL with its password masked) whenever the problem is the store itself.
"""

from __future__ import annotations

UNREADABLE_REMEDY = "move it aside and start a new one, or restore a backup"


class StoreError(RuntimeError):
    """A store operation cannot be done as asked (bad target, schema too new, invalid argument)."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer alphamine (its schema version is above the code's latest)."""


class StoreUnreadableError(StoreError):
    """The store's database cannot be read as an alphamine store: the file is not an SQLite database
    (random bytes, some other kind of file), it is damaged (truncated, overwritten pages), or it holds
    tables alphamine did not create.

    Why a type of its own: the database driver reports this as a low-level `DatabaseError` with a
    traceback and no file name; a person needs the file and what to do. Raised by `Store.open` and by
    any later store operation that reaches the damage. `where` is the file (or masked URL), `reason`
    the database's own words; the message is ``the store WHERE is not a readable alphamine database
    (REASON); move it aside and start a new one, or restore a backup``."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"the store {where} is not a readable alphamine database ({reason}); {UNREADABLE_REMEDY}")
        self.where = where
        self.reason = reason

    def __reduce__(self) -> tuple[type[StoreUnreadableError], tuple[str, str]]:
        return type(self), (self.where, self.reason)


class NotFoundError(StoreError, KeyError):
    """A row the caller named by id does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else "not found"


class DuplicateCandidateError(StoreError):
    """A candidate with the same (run_id, expr_hash, settings_key) is already in the run.

    `existing_id` is that candidate's id, so a caller can decide to reuse it."""

    def __init__(self, message: str, existing_id: int) -> None:
        super().__init__(message)
        self.existing_id = existing_id

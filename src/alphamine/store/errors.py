"""Store errors: one base class so callers can catch everything the store raises on purpose."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A store operation cannot be done as asked (bad target, schema too new, invalid argument)."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer alphamine (its schema version is above the code's latest)."""


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

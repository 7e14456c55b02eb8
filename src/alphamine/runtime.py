"""The runtime root: where a user's store, run folders, presets and ledgers live by default.

One definition for the store, the pipeline and the CLI (a light module: the CLI reads it to print
`--help` without importing the store's database layer).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_RUNTIME_ROOT = Path(".alphamine")
"""Relative to the working directory, like `.git`; every command takes `--runtime-root`."""

DB_FILENAME = "alphamine.sqlite3"
"""The SQLite store inside a runtime root (unless `--db` names another database)."""

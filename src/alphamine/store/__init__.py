"""alphamine.store: runs, stages, tasks, artifacts, candidates, simulation results and gate decisions.

SQLite in WAL mode at `<runtime-root>/alphamine.sqlite3` by default, any SQLAlchemy URL (PostgreSQL for
a shared team store) with `--db`; SQLAlchemy Core only, versioned schema with migrations applied on open.
Contracts:
- atomic: every method is one transaction, or joins the caller's via `conn=` from `Store.transaction()`;
  a stage writes its results and its `finish_stage` marker together, so resume never sees half a stage;
- nothing simulated twice: results are keyed by (expression hash, settings key, data fingerprint,
  backend) and shared across runs;
- no secrets: JSON written to the store is redacted (`clean.redact`), and `Store.url` masks passwords;
- readable failures: everything the store raises on purpose is a `StoreError` whose message names the
  store; a damaged or foreign file is `StoreUnreadableError` wherever the damage shows (`store.damage`).
"""

from alphamine.store.base import DB_FILENAME, DEFAULT_RUNTIME_ROOT, default_db_path, mask_url, utcnow
from alphamine.store.candidates import UNSIMULATED
from alphamine.store.clean import REDACTED, is_secret_key, redact
from alphamine.store.codec import pack_array, pack_dates, unpack_array, unpack_dates
from alphamine.store.errors import (
    DuplicateCandidateError,
    NotFoundError,
    SchemaTooNewError,
    StoreError,
    StoreUnreadableError,
)
from alphamine.store.rows import ArtifactRow, CandidateRow, GateRow, ResultRow, RunRow, StageRow, TaskRow
from alphamine.store.runs import RUN_STATUSES, STAGES_ORDER
from alphamine.store.schema import LATEST_VERSION
from alphamine.store.store import Store

__all__ = [
    "DB_FILENAME",
    "DEFAULT_RUNTIME_ROOT",
    "LATEST_VERSION",
    "REDACTED",
    "RUN_STATUSES",
    "STAGES_ORDER",
    "UNSIMULATED",
    "ArtifactRow",
    "CandidateRow",
    "DuplicateCandidateError",
    "GateRow",
    "NotFoundError",
    "ResultRow",
    "RunRow",
    "SchemaTooNewError",
    "StageRow",
    "Store",
    "StoreError",
    "StoreUnreadableError",
    "TaskRow",
    "default_db_path",
    "is_secret_key",
    "mask_url",
    "pack_array",
    "pack_dates",
    "redact",
    "unpack_array",
    "unpack_dates",
    "utcnow",
]

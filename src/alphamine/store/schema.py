"""The store's tables (SQLAlchemy Core), as of any schema version.

Why a function of the version: migrations must create *exactly* what version N had, while the store
queries the latest tables. `build_metadata(v)` is the single definition both use; a column or index
added by migration N+1 appears here gated on `version >= N+1`, and a test checks that a database
migrated step by step equals one created at the latest version.

Portability: only generic types (Integer, BigInteger, Float, String(n), Text, JSON, LargeBinary) so any
SQLAlchemy backend works; indexed strings have lengths (MySQL needs them). Timestamps are UTC ISO-8601
strings with microseconds (`2024-05-01T12:00:00.000001+00:00`): they sort as text and read the same on
every backend.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

LATEST_VERSION = 3
TS = String(40)  # ISO timestamp
ID = String(128)  # run ids
HASH = String(64)  # expression hashes, settings keys
FP = String(128)  # data fingerprints
WORD = String(64)  # statuses, stages, kinds, backends

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def build_metadata(version: int = LATEST_VERSION) -> MetaData:
    """All tables as they are at schema `version` (1 .. LATEST_VERSION)."""
    if not 1 <= version <= LATEST_VERSION:
        raise ValueError(f"no schema version {version}")
    md = MetaData(naming_convention=NAMING)
    Table(
        "schema_version",
        md,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("applied_at", TS, nullable=False),
    )
    Table(
        "runs",
        md,
        Column("run_id", ID, primary_key=True),
        Column("status", WORD, nullable=False),
        Column("config", JSON, nullable=False),
        Column("seed", BigInteger, nullable=False),
        Column("data_fingerprint", FP, nullable=False),
        Column("runtime_root", Text, nullable=False),
        Column("iteration", Integer, nullable=False, default=0),
        Column("created_at", TS, nullable=False),
        Column("updated_at", TS, nullable=False),
        Column("finished_at", TS, nullable=True),
        *([Column("notes", Text, nullable=True)] if version >= 2 else []),
    )
    Table(
        "stages",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", ID, ForeignKey("runs.run_id"), nullable=False),
        Column("iteration", Integer, nullable=False),
        Column("stage", WORD, nullable=False),
        Column("status", WORD, nullable=False),
        Column("started_at", TS, nullable=False),
        Column("finished_at", TS, nullable=True),
        Column("summary", JSON, nullable=True),
        UniqueConstraint("run_id", "iteration", "stage"),
    )
    Table(
        "tasks",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", ID, ForeignKey("runs.run_id"), nullable=False, index=True),
        Column("stage", WORD, nullable=False),
        Column("kind", WORD, nullable=False),
        Column("status", WORD, nullable=False),
        Column("payload", JSON, nullable=False),
        Column("result", JSON, nullable=True),
        Column("log_path", Text, nullable=True),
        Column("created_at", TS, nullable=False),
        Column("finished_at", TS, nullable=True),
    )
    Table(
        "artifacts",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", ID, ForeignKey("runs.run_id"), nullable=False, index=True),
        Column("kind", WORD, nullable=False),
        Column("path", Text, nullable=False),
        Column("meta", JSON, nullable=False),
        Column("created_at", TS, nullable=False),
    )
    candidates = Table(
        "candidates",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", ID, ForeignKey("runs.run_id"), nullable=False),
        Column("iteration", Integer, nullable=False),
        Column("expression", Text, nullable=False),  # canonical text
        Column("source", Text, nullable=False),  # what the generator wrote
        Column("expr_hash", HASH, nullable=False),
        Column("settings", JSON, nullable=False),  # BRAIN spelling
        Column("settings_key", HASH, nullable=False),
        Column("region", WORD, nullable=False),
        Column("generator", String(200), nullable=False),
        Column("thesis_type", WORD, nullable=False),
        Column("thesis_rationale", Text, nullable=False),
        Column("thesis_failure_mode", Text, nullable=False),
        Column("parent_id", Integer, ForeignKey("candidates.id"), nullable=True, index=True),
        Column("root_id", Integer, nullable=True),  # lineage root (itself for a root)
        Column("depth", Integer, nullable=False, default=0),  # generations below the root
        Column("strategy", String(200), nullable=True),
        Column("params", JSON, nullable=False),
        Column("tags", JSON, nullable=False),
        Column("priority", Float, nullable=False, default=0.0),
        Column("status", WORD, nullable=False),
        Column("reasons", JSON, nullable=False),
        Column("fields", JSON, nullable=False),
        Column("operators", JSON, nullable=False),
        Column("created_at", TS, nullable=False),
        Column("updated_at", TS, nullable=False),
        UniqueConstraint("run_id", "expr_hash", "settings_key"),
        Index(None, "expr_hash", "settings_key"),
        Index(None, "run_id", "status"),
    )
    if version >= 2:
        Index(None, candidates.c.status, candidates.c.region)  # the cross-run ready pool
    Table(
        "sim_results",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("expr_hash", HASH, nullable=False),
        Column("settings_key", HASH, nullable=False),
        Column("data_fingerprint", FP, nullable=False),
        Column("backend", WORD, nullable=False),
        Column("expression", Text, nullable=False),
        Column("settings", JSON, nullable=False),
        Column("metrics", JSON, nullable=False),  # {"is", "os", "train", "test"}
        Column("yearly", JSON, nullable=False),
        Column("checks", JSON, nullable=False),
        Column("periods", JSON, nullable=False),  # first, is/os/train/test ranges
        Column("truncation_rounds", Integer, nullable=False, default=0),
        Column("sharpe", Float, nullable=True),  # IS copies for SQL sorting/filtering
        Column("fitness", Float, nullable=True),
        Column("turnover", Float, nullable=True),
        Column("dates", LargeBinary, nullable=False),  # codec.pack_dates
        Column("pnl", LargeBinary, nullable=False),  # codec.pack_array(float64)
        Column("created_at", TS, nullable=False),
        UniqueConstraint("expr_hash", "settings_key", "data_fingerprint", "backend"),
    )
    Table(
        "gate_checks",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("candidate_id", Integer, ForeignKey("candidates.id"), nullable=False, index=True),
        Column("run_id", ID, ForeignKey("runs.run_id"), nullable=False, index=True),
        Column("checks", JSON, nullable=False),
        Column("verdict", WORD, nullable=False),
        Column("reasons", JSON, nullable=False),
        Column("created_at", TS, nullable=False),
    )
    if version >= 3:  # workers' claims on candidates (store.claims)
        Table(
            "claims",
            md,
            Column("candidate_id", Integer, ForeignKey("candidates.id"), primary_key=True, autoincrement=False),
            Column("worker", String(200), nullable=False, index=True),
            Column("claimed_at", TS, nullable=False),
            Column("expires_at", TS, nullable=False, index=True),
        )
    return md


METADATA = build_metadata(LATEST_VERSION)
SCHEMA_VERSION = METADATA.tables["schema_version"]
RUNS = METADATA.tables["runs"]
STAGES = METADATA.tables["stages"]
TASKS = METADATA.tables["tasks"]
ARTIFACTS = METADATA.tables["artifacts"]
CANDIDATES = METADATA.tables["candidates"]
SIM_RESULTS = METADATA.tables["sim_results"]
GATE_CHECKS = METADATA.tables["gate_checks"]
CLAIMS = METADATA.tables["claims"]

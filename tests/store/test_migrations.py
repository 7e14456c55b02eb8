from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, insert, inspect, text

from alphamine.sim.settings import Settings
from alphamine.store import LATEST_VERSION, SchemaTooNewError, Store, StoreError
from alphamine.store.migrations import MIGRATIONS, applied, current_version, migrate
from alphamine.store.schema import SCHEMA_VERSION

from .conftest import add, new_run


def schema_of(path: Path) -> dict[str, Any]:
    """Tables, columns (name, type, nullable), indexes, unique constraints and foreign keys."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        insp = inspect(engine)
        out: dict[str, Any] = {}
        for t in sorted(insp.get_table_names()):
            out[t] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)
                ),
                "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(t)),
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in insp.get_foreign_keys(t)),
            }
        return out
    finally:
        engine.dispose()


def test_v1_database_migrates_to_latest_keeping_data(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "old.sqlite3"
    with Store.open(path, migrate_to=1) as old:
        assert old.schema_version == 1
        new_run(old, "r1", "fp")
        cid = add(old, "r1", "rank(-returns)", settings)
    cols = {c[0] for c in schema_of(path)["runs"]["columns"]}
    assert "notes" not in cols
    with Store.open(path) as store:
        assert store.schema_version == LATEST_VERSION == 3
        run = store.get_run("r1")
        assert run is not None and run.data_fingerprint == "fp" and run.notes is None
        assert store.get_candidate(cid).expression == "rank(-returns)"
        store.set_run_notes("r1", "migrated")
        assert store.get_run("r1").notes == "migrated"  # type: ignore[union-attr]
        with store.engine.connect() as c:
            assert [v for v, _ in applied(c)] == [1, 2, 3]
    assert "ix_candidates_status_region" in {i[0] for i in schema_of(path)["candidates"]["indexes"]}


def test_stepwise_migration_equals_fresh_creation(tmp_path: Path) -> None:
    with Store.open(tmp_path / "stepwise.sqlite3", migrate_to=1):
        pass
    with Store.open(tmp_path / "stepwise.sqlite3"):
        pass
    with Store.open(tmp_path / "fresh.sqlite3"):
        pass
    assert schema_of(tmp_path / "stepwise.sqlite3") == schema_of(tmp_path / "fresh.sqlite3")


def test_version_one_has_the_required_constraints(tmp_path: Path) -> None:
    with Store.open(tmp_path / "v1.sqlite3", migrate_to=1):
        pass
    s = schema_of(tmp_path / "v1.sqlite3")
    assert set(s) == {
        "schema_version",
        "runs",
        "stages",
        "tasks",
        "artifacts",
        "candidates",
        "sim_results",
        "gate_checks",
    }
    assert ("run_id", "expr_hash", "settings_key") in s["candidates"]["unique"]
    assert ("ix_candidates_expr_hash_settings_key", ("expr_hash", "settings_key"), False) in s["candidates"]["indexes"]
    assert ("expr_hash", "settings_key", "data_fingerprint", "backend") in s["sim_results"]["unique"]
    for t in ("stages", "tasks", "artifacts", "candidates"):
        assert (("run_id",), "runs") in s[t]["fks"]
    assert (("parent_id",), "candidates") in s["candidates"]["fks"]
    assert {(("candidate_id",), "candidates"), (("run_id",), "runs")} <= set(s["gate_checks"]["fks"])


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with Store.open(path) as store, store.transaction() as c:
        c.execute(insert(SCHEMA_VERSION).values(version=LATEST_VERSION + 5, applied_at="2099-01-01T00:00:00+00:00"))
    with pytest.raises(SchemaTooNewError, match=f"version {LATEST_VERSION + 5}.*upgrade alphamine"):
        Store.open(path)


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    def broken(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        conn.execute(text("ALTER TABLE runs ADD COLUMN extra TEXT"))
        raise RuntimeError("migration bug")

    store = Store.open(tmp_path / "m.sqlite3", migrate_to=1)
    try:
        with pytest.raises(RuntimeError, match="migration bug"):
            migrate(store.transaction, target=2, migrations=[MIGRATIONS[0], broken])
        with store.engine.connect() as c:
            assert current_version(c) == 1
        names = inspect(store.engine).get_table_names()
        assert "half_done" not in names  # DDL rolled back with the failed step
        assert "extra" not in {c["name"] for c in inspect(store.engine).get_columns("runs")}
    finally:
        store.close()


def test_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "foreign.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as c:
        c.execute(text("CREATE TABLE runs (id INTEGER)"))
    engine.dispose()
    with pytest.raises(StoreError, match="not created by alphamine"):
        Store.open(path)


def test_reopen_is_a_no_op(tmp_path: Path) -> None:
    for _ in range(3):
        with Store.open(tmp_path / "x.sqlite3") as store:
            assert store.schema_version == LATEST_VERSION
    with store.engine.connect() as c:
        assert [v for v, _ in applied(c)] == list(range(1, LATEST_VERSION + 1))

"""Migrations on both backends (`store_target`: a SQLite file, or an empty PostgreSQL database): from an
empty database, step by step from old versions, under concurrent openers, and refusals."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, insert, inspect, text

from alphamine.sim.settings import Settings
from alphamine.store import LATEST_VERSION, SchemaTooNewError, Store, StoreError
from alphamine.store.base import resolve_url
from alphamine.store.migrations import MIGRATIONS, applied, current_version, migrate
from alphamine.store.schema import SCHEMA_VERSION

from .conftest import add, new_run


def schema_of(target: str | Path) -> dict[str, Any]:
    """Tables, columns (name, type, nullable), indexes, unique constraints and foreign keys."""
    engine = create_engine(resolve_url(str(target)))
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


def test_v1_database_migrates_to_latest_keeping_data(store_target: str, settings: Settings) -> None:
    path = store_target
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


@pytest.fixture
def second_target(store_target: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Another empty store on the same backend as `store_target`."""
    if "://" in store_target:
        server = request.getfixturevalue("postgres_server")
        url = str(server.create_database())
        request.addfinalizer(lambda: server.drop_database(url))
        return url
    return str(tmp_path / "fresh.sqlite3")


def test_stepwise_migration_equals_fresh_creation(store_target: str, second_target: str) -> None:
    with Store.open(store_target, migrate_to=1):
        pass
    with Store.open(store_target):
        pass
    with Store.open(second_target):
        pass
    assert schema_of(store_target) == schema_of(second_target)


def test_version_one_has_the_required_constraints(store_target: str) -> None:
    with Store.open(store_target, migrate_to=1):
        pass
    s = schema_of(store_target)
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


def test_newer_database_is_refused(store_target: str) -> None:
    path = store_target
    with Store.open(path) as store, store.transaction() as c:
        c.execute(insert(SCHEMA_VERSION).values(version=LATEST_VERSION + 5, applied_at="2099-01-01T00:00:00+00:00"))
    with pytest.raises(SchemaTooNewError, match=f"version {LATEST_VERSION + 5}.*upgrade alphamine"):
        Store.open(path)


def test_a_failing_migration_leaves_the_previous_version(store_target: str) -> None:
    def broken(conn: Connection) -> None:
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        conn.execute(text("ALTER TABLE runs ADD COLUMN extra TEXT"))
        raise RuntimeError("migration bug")

    store = Store.open(store_target, migrate_to=1)
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


def test_foreign_database_is_refused(store_target: str) -> None:
    path = store_target
    engine = create_engine(resolve_url(path))
    with engine.begin() as c:
        c.execute(text("CREATE TABLE runs (id INTEGER)"))
    engine.dispose()
    with pytest.raises(StoreError, match="not created by alphamine"):
        Store.open(path)


def test_reopen_is_a_no_op(store_target: str) -> None:
    for _ in range(3):
        with Store.open(store_target) as store:
            assert store.schema_version == LATEST_VERSION
    with store.engine.connect() as c:
        assert [v for v, _ in applied(c)] == list(range(1, LATEST_VERSION + 1))


def test_concurrent_openers_of_an_empty_database_migrate_it_once(store_target: str) -> None:
    """Processes starting together on a new store (workers on several machines): each step is applied
    once, nobody fails, everyone ends at the latest version."""
    start = threading.Barrier(6)
    versions: list[int] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait(30)
            with Store.open(store_target) as s:
                versions.append(s.schema_version)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and versions == [LATEST_VERSION] * 6
    with Store.open(store_target) as store, store.engine.connect() as c:
        assert [v for v, _ in applied(c)] == list(range(1, LATEST_VERSION + 1))

"""Damaged and foreign store files become `StoreError`s that name the file (issue #11): on opening,
and later wherever the damage is first read; the file itself is never written."""

from __future__ import annotations

import pickle
import random
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import DatabaseError, IntegrityError

from alphamine.store import LATEST_VERSION, SchemaTooNewError, Store, StoreError, StoreUnreadableError
from alphamine.store.damage import store_label, translate
from alphamine.store.schema import RUNS, SCHEMA_VERSION

from .conftest import new_run


def _healthy(path: Path, runs: int = 1) -> bytes:
    with Store.open(path) as store:
        for i in range(runs):
            store.create_run(f"r{i}", config={"note": "x" * 400}, seed=0, data_fingerprint="fp", runtime_root="/rt")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("truncated", "malformed"), ("random", "file is not a database"), ("text", "file is not a database")],
)
def test_open_names_the_file_and_the_remedy_and_writes_nothing(kind: str, reason: str, tmp_path: Path) -> None:
    healthy = _healthy(tmp_path / "healthy.sqlite3", runs=20)
    content = {
        "truncated": healthy[: len(healthy) * 2 // 3],
        "random": random.Random(3).randbytes(16384),
        "text": b"name,price\nbread,2\n" * 100,
    }[kind]
    folder = tmp_path / "rt"
    folder.mkdir()
    db = folder / "alphamine.sqlite3"
    db.write_bytes(content)
    with pytest.raises(StoreUnreadableError) as info:
        Store.open(db)
    e = info.value
    assert isinstance(e, StoreError)
    assert e.where == str(db.resolve()) and reason in e.reason
    assert str(e) == (
        f"the store {db.resolve()} is not a readable alphamine database ({e.reason}); "
        "move it aside and start a new one, or restore a backup"
    )
    assert isinstance(e.__cause__, DatabaseError | sqlite3.DatabaseError)  # kept for debugging
    assert db.read_bytes() == content
    assert [p.name for p in folder.iterdir()] == ["alphamine.sqlite3"]  # no -wal / -shm left behind


def test_damage_met_by_a_later_operation_is_translated_too(tmp_path: Path) -> None:
    db = tmp_path / "alphamine.sqlite3"
    data = bytearray(_healthy(db, runs=120))
    data[-5 * 4096 :] = b"\xff" * (5 * 4096)  # the last pages hold rows of `runs`, not the schema
    db.write_bytes(bytes(data))
    with Store.open(db) as store:
        assert store.schema_version == LATEST_VERSION  # the schema pages are intact
        with pytest.raises(StoreUnreadableError, match="malformed") as info:
            store.list_runs()
        assert info.value.where == str(db.resolve()) == store.where
        with pytest.raises(StoreUnreadableError):  # a write transaction meets it as well
            store.set_run_status("r119", "failed")
    assert db.read_bytes() == bytes(data)


def test_schema_too_new_names_the_store(tmp_path: Path) -> None:
    db = tmp_path / "alphamine.sqlite3"
    with Store.open(db) as store, store.transaction() as conn:
        conn.execute(SCHEMA_VERSION.insert().values(version=LATEST_VERSION + 1, applied_at="later"))
    with pytest.raises(SchemaTooNewError, match="upgrade alphamine") as info:
        Store.open(db)
    assert str(info.value).startswith(f"the store {db.resolve()} has schema version {LATEST_VERSION + 1}")


def test_a_foreign_database_with_our_table_names_is_unreadable(tmp_path: Path) -> None:
    db = tmp_path / "other.sqlite3"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, what TEXT)")
    con.commit()
    con.close()
    with pytest.raises(StoreUnreadableError, match="not created by alphamine") as info:
        Store.open(db)
    assert info.value.where == str(db.resolve()) and "runs" in info.value.reason


def test_paths_that_cannot_be_a_store_are_store_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"cannot create the store at .*file/sub/alphamine.sqlite3"):
        Store.open(blocker / "sub" / "alphamine.sqlite3")
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(StoreError, match=f"cannot open the store {folder}"):
        Store.open(f"sqlite:///{folder}")
    with pytest.raises(StoreError, match="cannot use the store nosuchdialect://"):
        Store.open("nosuchdialect://host/db")
    assert blocker.read_text() == "x" and list(folder.iterdir()) == []


def test_only_damage_is_translated(store: Store) -> None:
    """Constraint violations (the store relies on IntegrityError) and other driver errors pass
    through unchanged."""
    new_run(store, "r1")
    with pytest.raises(IntegrityError), store.transaction() as conn:
        conn.execute(RUNS.insert().values(run_id="r1", status="running", config={}, seed=1))
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5  # type: ignore[attr-defined]
    assert translate(locked, "x") is None
    assert translate(ValueError("not a driver error"), "x") is None
    corrupt_index = sqlite3.DatabaseError("database disk image is malformed")
    corrupt_index.sqlite_errorcode = 779  # type: ignore[attr-defined]  # SQLITE_CORRUPT_INDEX
    assert isinstance(translate(corrupt_index, "x"), StoreUnreadableError)


def test_labels_and_pickling(tmp_path: Path) -> None:
    from sqlalchemy import make_url

    assert store_label(make_url(f"sqlite:///{tmp_path}/a.db")) == f"{tmp_path}/a.db"
    assert store_label(make_url("postgresql://me:secret@db/x")) == "postgresql://me:***@db/x"
    assert "in-memory" in store_label(make_url("sqlite://"))
    e = StoreUnreadableError("/x/alphamine.sqlite3", "file is not a database")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is StoreUnreadableError and str(back) == str(e) and back.where == e.where

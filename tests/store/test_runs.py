from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from alphamine.store import REDACTED, NotFoundError, Store, StoreError
from alphamine.store.schema import LATEST_VERSION

from .conftest import new_run


def test_open_creates_sqlite_in_wal_with_pragmas(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "alphamine.sqlite3"
    with Store.open(target) as store:
        assert target.exists()
        assert store.url == f"sqlite:///{target.resolve()}"
        assert store.schema_version == LATEST_VERSION
        with store.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert (c.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000


def test_open_directory_and_url(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        assert store.url.endswith("/alphamine.sqlite3")
    url = f"sqlite:///{tmp_path}/sub/x.db"
    with Store.open(url) as store:
        assert (tmp_path / "sub" / "x.db").exists()
        new_run(store)
    with Store.open(str(tmp_path / "sub" / "x.db")) as again:  # a plain string path too
        assert again.get_run("r1") is not None


def test_url_password_is_masked() -> None:
    from alphamine.store import mask_url
    from alphamine.store.base import resolve_url

    url = resolve_url("postgresql://alice:hunter2@db.example:5432/alpha")
    assert "hunter2" not in mask_url(url) and "***" in mask_url(url)


def test_run_round_trip_and_status(store: Store) -> None:
    store.create_run(
        "r1", config={"n": 3, "nested": {"x": [1, 2]}}, seed=42, data_fingerprint="fp1", runtime_root="/rt"
    )
    run = store.get_run("r1")
    assert run is not None
    assert (run.status, run.config, run.seed, run.data_fingerprint, run.runtime_root, run.iteration) == (
        "running",
        {"n": 3, "nested": {"x": [1, 2]}},
        42,
        "fp1",
        "/rt",
        0,
    )
    assert run.finished_at is None and run.created_at == run.updated_at
    store.set_run_status("r1", "interrupted", iteration=2)
    run = store.get_run("r1")
    assert run is not None and (run.status, run.iteration, run.finished_at) == ("interrupted", 2, None)
    store.set_run_status("r1", "finished")
    run = store.get_run("r1")
    assert run is not None and run.status == "finished" and run.finished_at is not None and run.iteration == 2
    store.set_run_status("r1", "running")  # resumed
    assert store.get_run("r1").finished_at is None  # type: ignore[union-attr]
    with pytest.raises(StoreError, match="one of"):
        store.set_run_status("r1", "done")
    with pytest.raises(NotFoundError):
        store.set_run_status("nope", "failed")
    with pytest.raises(StoreError, match="already exists"):
        store.create_run("r1", config={}, seed=1, data_fingerprint="fp", runtime_root="/rt")
    assert store.get_run("nope") is None
    store.set_run_notes("r1", "baseline run")
    assert store.get_run("r1").notes == "baseline run"  # type: ignore[union-attr]


def test_list_runs_newest_first(store: Store) -> None:
    for rid in ("a", "c", "b"):
        new_run(store, rid)
        time.sleep(0.002)
    assert [r.run_id for r in store.list_runs()] == ["b", "c", "a"]


def test_stages_finish_and_restart(store: Store) -> None:
    new_run(store)
    sid = store.start_stage("r1", 0, "GENERATE")
    store.finish_stage("r1", 0, "GENERATE", {"generated": 12})
    sim = store.start_stage("r1", 0, "SIMULATE")
    assert store.finished_stages("r1") == {(0, "GENERATE")}
    again = store.start_stage("r1", 0, "SIMULATE")  # interrupted, restarted on resume
    assert again == sim
    store.finish_stage("r1", 0, "SIMULATE", {"simulated": 10})
    store.finish_stage("r1", 1, "GENERATE", {})  # without start_stage
    stages = store.stages("r1")
    assert [(s.iteration, s.stage, s.status) for s in stages] == [
        (0, "GENERATE", "finished"),
        (0, "SIMULATE", "finished"),
        (1, "GENERATE", "finished"),
    ]
    assert stages[0].id == sid and stages[0].summary == {"generated": 12} and stages[0].finished_at is not None
    assert store.finished_stages("r1") == {(0, "GENERATE"), (0, "SIMULATE"), (1, "GENERATE")}
    assert store.finished_stages("other") == set()


def test_tasks_and_artifacts(store: Store) -> None:
    new_run(store)
    tid = store.add_task("r1", "SIMULATE", "simulate_batch", payload={"n": 5}, log_path="logs/t1.log")
    store.finish_task(tid, "done", result={"ok": 5, "token": "abc"})
    (task,) = store.tasks("r1")
    assert (task.id, task.stage, task.kind, task.status, task.payload, task.log_path) == (
        tid,
        "SIMULATE",
        "simulate_batch",
        "done",
        {"n": 5},
        "logs/t1.log",
    )
    assert task.result == {"ok": 5, "token": REDACTED} and task.finished_at is not None
    with pytest.raises(NotFoundError):
        store.finish_task(999, "done")
    a1 = store.add_artifact("r1", "report", "report.md", meta={"bytes": 10})
    a2 = store.add_artifact("r1", "plot", "plots/a.png")
    arts = store.artifacts("r1")
    assert [(a.id, a.kind, a.path, a.meta) for a in arts] == [
        (a1, "report", "report.md", {"bytes": 10}),
        (a2, "plot", "plots/a.png", {}),
    ]
    assert store.artifacts("other") == []


def test_foreign_keys_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.add_task("no-such-run", "SIMULATE", "x", payload={})
    with pytest.raises(IntegrityError):
        store.start_stage("no-such-run", 0, "GENERATE")


def test_secrets_never_reach_the_database_file(tmp_path: Path) -> None:
    secrets = ("sk-live-SECRET123", "hunter2-PASSWORD", "tok-XYZ987", "pg-pass-777")
    with Store.open(tmp_path / "s.sqlite3") as store:
        store.create_run(
            "r1",
            config={
                "llm": {"api_key": secrets[0], "max_tokens": 256, "api_key_env": "OPENAI_API_KEY"},
                "brain": {"email": "me@example.com", "password": secrets[1]},
                "headers": {"Authorization-Token": secrets[2]},
                "db": f"postgresql://me:{secrets[3]}@host/db",
            },
            seed=1,
            data_fingerprint="fp",
            runtime_root=str(tmp_path),
        )
        store.add_task("r1", "GENERATE", "llm", payload={"apiKey": secrets[0]})
        store.add_artifact("r1", "log", "x.log", meta={"password": secrets[1]})
        run = store.get_run("r1")
        assert run is not None
        assert run.config["llm"] == {"api_key": REDACTED, "max_tokens": 256, "api_key_env": "OPENAI_API_KEY"}
        assert run.config["brain"] == {"email": "me@example.com", "password": REDACTED}
        assert run.config["db"] == "postgresql://me:***@host/db"
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("s.sqlite3"))
    assert raw  # the file (and any WAL) was read
    for s in secrets:
        assert s.encode() not in raw


def test_nested_transaction_and_conn_less_write_inside_are_refused(store: Store) -> None:
    new_run(store)
    with store.transaction() as conn:
        with pytest.raises(StoreError, match="pass conn="), store.transaction():
            pass
        with pytest.raises(StoreError, match="pass conn="):
            store.add_task("r1", "GENERATE", "x", payload={})
        assert store.get_run("r1") is not None  # a read without conn= is fine
        store.add_task("r1", "GENERATE", "x", payload={}, conn=conn)
    assert len(store.tasks("r1")) == 1
    with store.transaction():  # usable again after the block
        pass


def test_another_thread_waits_for_the_open_transaction(sqlite_store: Store) -> None:
    """SQLite's database-wide write lock (PostgreSQL's writers only wait for the rows they share:
    test_postgres.py)."""
    import threading

    store = sqlite_store
    new_run(store)
    done = threading.Event()

    def writer() -> None:
        store.add_task("r1", "SIMULATE", "from-thread", payload={})
        done.set()

    with store.transaction() as conn:
        store.add_task("r1", "SIMULATE", "from-main", payload={}, conn=conn)
        t = threading.Thread(target=writer)
        t.start()
        assert not done.wait(0.3)  # queued on the write lock, not failing
    t.join(30)
    assert done.is_set()
    assert [task.kind for task in store.tasks("r1")] == ["from-main", "from-thread"]


def test_in_memory_store() -> None:
    with Store.open(":memory:") as store:
        assert store.url == "sqlite://" and store.schema_version == LATEST_VERSION
        new_run(store)
        with store.transaction() as conn:
            store.start_stage("r1", 0, "GENERATE", conn=conn)
            store.finish_stage("r1", 0, "GENERATE", {}, conn=conn)
        assert store.finished_stages("r1") == {(0, "GENERATE")}

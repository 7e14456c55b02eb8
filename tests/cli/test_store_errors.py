"""A damaged store through every command that opens it: one red line on stderr naming the file and
the remedy, exit code 2, no traceback, and the damaged file left exactly as it was (issue #11)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from alphamine.cli.main import app
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.presets import resolve_settings
from alphamine.store import LATEST_VERSION, Store
from alphamine.store.schema import SCHEMA_VERSION

runner = CliRunner()
DB = "alphamine.sqlite3"

COMMANDS = [
    ["status"],
    ["status", "--run-id", "r1"],
    ["candidates", "list"],
    ["candidates", "show", "1"],
    ["report", "--run-id", "r1"],
    ["gate", "--run-id", "r1"],
    ["export", "--out", "{tmp}/out.json"],
    ["run", "--synthetic", "50,300", "--universe", "TOP50", "--max-iterations", "1", "--workers", "1"],
    ["resume", "--run-id", "r1"],
]


def _healthy_store_bytes(folder: Path) -> bytes:
    """A real alphamine store holding one run (written, closed, checkpointed) as bytes."""
    settings = resolve_settings(folder, None, {"universe": "TOP50"})
    config = RunConfig(settings=settings.to_brain(), data=DataSource(kind="synthetic", n_instruments=50, n_days=300))
    path = folder / "healthy.sqlite3"
    with Store.open(path) as store:
        store.create_run(
            "r1", config=config.model_dump(mode="json"), seed=0, data_fingerprint="fp", runtime_root=str(folder)
        )
    data = path.read_bytes()
    assert len(data) > 8192 and data.startswith(b"SQLite format 3\x00")
    return data


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _healthy_store_bytes(tmp_path_factory.mktemp("healthy"))


def _damaged(kind: str, healthy: bytes) -> bytes:
    if kind == "truncated":
        return healthy[: len(healthy) // 2]
    if kind == "random":
        return random.Random(11).randbytes(12288)
    assert kind == "text"
    return b"this is a shopping list, not a database\n" * 50


@pytest.mark.parametrize("kind", ["truncated", "random", "text"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_damaged_store_is_one_line_exit_2_and_left_untouched(
    kind: str, command: list[str], healthy: bytes, tmp_path: Path
) -> None:
    root = tmp_path / "rt"
    root.mkdir()
    db = root / DB
    db.write_bytes(_damaged(kind, healthy))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    res = runner.invoke(app, [*args, "--runtime-root", str(root)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: the store ") and str(db.resolve()) in lines[0]
    assert "is not a readable alphamine database" in lines[0]
    assert "move it aside" in lines[0] and "restore a backup" in lines[0]
    assert "Traceback" not in res.output
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # the same bytes
    assert sorted(p.name for p in root.iterdir()) == [DB]  # no -wal/-shm/-journal beside it


def test_damage_found_after_opening_is_one_line_too(healthy: bytes, tmp_path: Path) -> None:
    """The schema pages are intact (the store opens) but the runs table's pages are overwritten: the
    first command to read a run meets the damage mid-query."""
    root = tmp_path / "rt"
    root.mkdir()
    db = root / DB
    with Store.open(db) as store:
        for i in range(120):
            store.create_run(f"r{i}", config={"note": "x" * 400}, seed=0, data_fingerprint="fp", runtime_root=str(root))
    data = bytearray(db.read_bytes())
    data[-5 * 4096 :] = b"\xff" * (5 * 4096)  # the last pages hold runs rows
    db.write_bytes(bytes(data))
    with Store.open(db) as store:  # precondition: opening alone does not see the damage
        assert store.schema_version == LATEST_VERSION
    before = db.read_bytes()
    res = runner.invoke(app, ["status", "--runtime-root", str(root)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(db.resolve()) in lines[0] and "malformed" in lines[0], res.stderr
    assert "Traceback" not in res.output
    assert db.read_bytes() == before


@pytest.mark.parametrize("command", [["status"], ["candidates", "list"], ["resume", "--run-id", "r1"]])
def test_a_store_from_a_newer_alphamine_is_one_line(command: list[str], tmp_path: Path) -> None:
    root = tmp_path / "rt"
    db = root / DB
    with Store.open(db) as store, store.transaction() as conn:
        conn.execute(insert(SCHEMA_VERSION).values(version=LATEST_VERSION + 3, applied_at="2099-01-01"))
    before = db.read_bytes()
    res = runner.invoke(app, [*command, "--runtime-root", str(root)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert str(db.resolve()) in lines[0] and f"schema version {LATEST_VERSION + 3}" in lines[0]
    assert "upgrade alphamine" in lines[0] and "Traceback" not in res.output
    assert db.read_bytes() == before


def test_a_runtime_root_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    root = tmp_path / "not-a-folder"
    root.write_text("x")
    res = runner.invoke(app, ["status", "--runtime-root", str(root)])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and str(root) in lines[0] and "Traceback" not in res.output
    assert root.read_text() == "x"


def test_a_healthy_store_still_works(healthy: bytes, tmp_path: Path) -> None:
    """The control: the same commands on the undamaged bytes succeed (so the failures above are the
    damage, not the test's store)."""
    root = tmp_path / "rt"
    root.mkdir()
    (root / DB).write_bytes(healthy)
    res = runner.invoke(app, ["status", "--json", "--runtime-root", str(root)])
    assert res.exit_code == 0, res.output
    assert '"r1"' in res.stdout
    res = runner.invoke(app, ["candidates", "list", "--json", "--run-id", "r1", "--runtime-root", str(root)])
    assert res.exit_code == 0 and res.stdout.strip() == "[]", res.output


def test_a_locked_store_is_one_line_when_a_run_cannot_even_be_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the store's write lock past the busy timeout: `run` cannot record the
    run at all, so there is nothing to mark and nothing to resume: one line, exit 2."""
    import sqlite3

    from alphamine.store import base as store_base

    root = tmp_path / "rt"
    Store.open(root / DB).close()
    monkeypatch.setattr(store_base, "BUSY_TIMEOUT_MS", 200)
    con = sqlite3.connect(root / DB, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    try:
        res = runner.invoke(
            app,
            ["run", "--synthetic", "50,300", "--universe", "TOP50", "--run-id", "x", "--runtime-root", str(root)],
        )
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert lines == ["error: the store failed: OperationalError: database is locked"], res.stderr
    with Store.open(root / DB) as store:
        assert store.get_run("x") is None


def test_an_error_outside_a_started_run_says_nothing_was_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from alphamine.cli.errors import crashed

    try:
        {}["missing"]  # a real exception with a real traceback
    except KeyError as e:
        exit_ = crashed(e)
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: KeyError: 'missing'\n")
    assert "no run was marked failed and no error.log was written; the traceback follows:" in err
    assert "Traceback (most recent call last):" in err and '{}["missing"]' in err

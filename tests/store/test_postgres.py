"""What only PostgreSQL can show, on a real server (`postgres_support`): URLs and errors, writers that
race instead of queueing on a database-wide lock (each race forced deterministically: the second
writer is seen waiting on the first's lock before the first commits), the column types, and one
mining run drained by two `alphamine worker` processes.

The rest of the store's suite runs on PostgreSQL too, through the `store`/`store_target` fixtures."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import create_engine, func, inspect, select, text

from alphamine.expr import canonical, fields_used, operators_used, parse, structural_hash
from alphamine.generate.candidate import Candidate, Thesis
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings, make_settings
from alphamine.store import DuplicateCandidateError, Store, StoreError
from alphamine.store.base import resolve_url
from alphamine.store.schema import SIM_RESULTS

from .conftest import add, make_candidate, new_run
from .postgres_support import PostgresServer

EXPRS = [f"rank(ts_mean(close, {a}) - ts_mean(open, {b}))" for a in range(2, 42) for b in range(2, 7)]  # 200


# ---------------------------------------------------------------- without a server
def test_bare_postgres_urls_use_psycopg_and_others_are_kept() -> None:
    for bare in ("postgresql://u:pw@h:5432/db", "postgres://u:pw@h:5432/db"):
        url = resolve_url(bare)
        assert (url.drivername, url.host, url.port, url.database, url.password) == (
            "postgresql+psycopg", "h", 5432, "db", "pw",
        )  # fmt: skip
    assert resolve_url("postgresql+psycopg2://h/db").drivername == "postgresql+psycopg2"
    assert resolve_url("sqlite:///x.db").drivername == "sqlite"


def test_an_unreachable_server_is_a_store_error_naming_the_masked_url() -> None:
    pytest.importorskip("psycopg")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError) as caught:
        Store.open(f"postgresql://me:hunter2@127.0.0.1:{port}/nodb")
    message = str(caught.value)
    assert f"cannot open the store postgresql+psycopg://me:***@127.0.0.1:{port}/nodb" in message
    assert "hunter2" not in message and "server is running" in message


def test_without_server_programs_the_reason_names_the_remedy(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    from . import postgres_support

    monkeypatch.delenv(postgres_support.ENV_URL, raising=False)
    monkeypatch.setattr(postgres_support, "find_bin_dir", lambda: None)
    with pytest.raises(postgres_support.PostgresUnavailable, match=r"no PostgreSQL server programs.*make postgres"):
        postgres_support.start()


# ---------------------------------------------------------------- on the server
def test_health_and_column_types(postgres_url: str) -> None:
    with Store.open(postgres_url) as store:
        health = store.health()
        assert health["ok"] is True and health["backend"] == "postgresql"
        assert health["server_version"][:2].isdigit() and health["database"] == resolve_url(postgres_url).database
    engine = create_engine(resolve_url(postgres_url))
    try:
        cols = {c["name"]: str(c["type"]) for c in inspect(engine).get_columns("sim_results")}
        assert (cols["pnl"], cols["dates"], cols["metrics"], cols["sharpe"]) == (
            "BYTEA", "BYTEA", "JSON", "DOUBLE PRECISION",
        )  # fmt: skip
    finally:
        engine.dispose()


def wait_until_blocked(url: str, timeout: float = 30) -> None:
    """Return once some session of this database waits on a lock (the racing writer is where we want
    it); fail after `timeout` seconds."""
    engine = create_engine(resolve_url(url))
    q = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    try:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with engine.connect() as c:
                if int(c.execute(q).scalar() or 0) > 0:
                    return
            time.sleep(0.01)
    finally:
        engine.dispose()
    raise AssertionError("the second writer never waited for the first")


def race(url: str, first: Callable[[Store, Any], Any], second: Callable[[Store, Any], Any]) -> tuple[Any, Any]:
    """`first` writes in an open transaction; `second` (another store, another thread) writes the same
    thing in its own transaction and blocks on it; then `first` commits. Returns both results."""
    written, results, errors = threading.Event(), {}, []

    def one(name: str, fn: Callable[[Store, Any], Any], before_commit: Callable[[], None]) -> None:
        try:
            with Store.open(url) as s, s.transaction() as conn:
                results[name] = fn(s, conn)
                before_commit()
        except BaseException as e:
            errors.append(e)
            written.set()

    go = threading.Event()

    def hold() -> None:
        written.set()
        assert go.wait(60)

    a = threading.Thread(target=one, args=("first", first, hold))
    b = threading.Thread(target=one, args=("second", second, lambda: None))
    a.start()
    assert written.wait(60) and not errors, errors
    b.start()
    try:
        wait_until_blocked(url)
    finally:
        go.set()
        a.join(60)
        b.join(60)
    assert not errors, errors
    return results["first"], results["second"]


def test_racing_put_result_gives_both_writers_the_first_id_and_keeps_the_transaction(
    postgres_url: str, sims: dict[str, SimResult]
) -> None:
    sim = sims["rank(-returns)"]
    h = structural_hash(sim.expression)
    with Store.open(postgres_url) as store:
        new_run(store)

    def second(s: Store, conn: Any) -> int:
        rid = s.put_result(sim, expr_hash=h, conn=conn)  # waits, loses, reads the winner
        s.add_task("r1", "SIMULATE", "after-the-race", payload={}, conn=conn)  # the transaction goes on
        return rid

    first_id, second_id = race(postgres_url, lambda s, c: s.put_result(sim, expr_hash=h, conn=c), second)
    assert first_id == second_id
    with Store.open(postgres_url) as store, store.engine.connect() as c:
        assert int(c.execute(select(func.count()).select_from(SIM_RESULTS)).scalar_one()) == 1
        assert [t.kind for t in store.tasks("r1")] == ["after-the-race"]


def test_racing_add_candidate_is_a_duplicate_and_the_transaction_goes_on(postgres_url: str, settings: Settings) -> None:
    with Store.open(postgres_url) as store:
        new_run(store)
    expr = "rank(-returns)"
    kw: dict[str, Any] = {"canonical": canonical(expr), "expr_hash": structural_hash(expr)}

    def second(s: Store, conn: Any) -> tuple[int, int]:
        with pytest.raises(DuplicateCandidateError) as dup:
            s.add_candidate("r1", 0, make_candidate(expr, settings), conn=conn, **kw)
        other = s.add_candidate("r1", 0, make_candidate("rank(close)", settings), canonical="rank(close)",
                                expr_hash=structural_hash("rank(close)"), conn=conn)  # fmt: skip
        return dup.value.existing_id, other

    first_id, (existing, other) = race(
        postgres_url, lambda s, c: s.add_candidate("r1", 0, make_candidate(expr, settings), conn=c, **kw), second
    )
    assert existing == first_id
    with Store.open(postgres_url) as store:
        assert [r.id for r in store.candidates(run_id="r1")] == sorted([first_id, other])


def test_racing_create_run_and_start_stage(postgres_url: str) -> None:
    def create(s: Store, conn: Any) -> str:
        s.create_run("r1", config={}, seed=1, data_fingerprint="fp", runtime_root="/rt", conn=conn)
        return "created"

    def create_again(s: Store, conn: Any) -> str:
        with pytest.raises(StoreError, match="already exists"):
            create(s, conn)
        s.start_stage("r1", 0, "GENERATE", conn=conn)  # the transaction goes on
        return "refused"

    assert race(postgres_url, create, create_again) == ("created", "refused")
    first, second = race(
        postgres_url,
        lambda s, c: s.start_stage("r1", 1, "SIMULATE", conn=c),
        lambda s, c: s.start_stage("r1", 1, "SIMULATE", conn=c),  # reuses the row the first inserted
    )
    assert first == second
    race(
        postgres_url,
        lambda s, c: s.finish_stage("r1", 2, "DECIDE", {"by": "first"}, conn=c),
        lambda s, c: s.finish_stage("r1", 2, "DECIDE", {"by": "second"}, conn=c),  # updates it
    )
    with Store.open(postgres_url) as store:
        stages = {(st.iteration, st.stage): st for st in store.stages("r1")}
        assert set(stages) == {(0, "GENERATE"), (1, "SIMULATE"), (2, "DECIDE")}
        assert stages[(2, "DECIDE")].summary == {"by": "second"}


def test_claimers_take_turns_so_each_sees_the_claims_committed_before_it(postgres_url: str, settings: Settings) -> None:
    """Row locks alone are not enough (claims.py's doc): the second claimer must wait for the first to
    commit, then skip what it claimed."""
    with Store.open(postgres_url) as store:
        new_run(store)
        ids = [add(store, "r1", e, settings, status="queued") for e in EXPRS[:8]]
    first, second = race(
        postgres_url,
        lambda s, c: [r.id for r in s.claim_batch("r1", "A", 3, 60, conn=c)],
        lambda s, c: [r.id for r in s.claim_batch("r1", "B", 3, 60, conn=c)],
    )
    assert (first, second) == (ids[:3], ids[3:6])


def test_concurrent_status_changes_and_tags_all_land(postgres_url: str, settings: Settings) -> None:
    """Read-modify-write of a JSON history: without row locks two writers would overwrite each other."""
    with Store.open(postgres_url) as store:
        new_run(store)
        cid = add(store, "r1", "rank(-returns)", settings)
    per_thread = 15

    def change(k: int) -> None:
        with Store.open(postgres_url) as s:
            for i in range(per_thread):
                s.set_candidate_status([cid], "queued", reason=f"t{k}-{i}")
                s.add_tags({cid: [f"t{k}-{i}"]})

    threads = [threading.Thread(target=change, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with Store.open(postgres_url) as store:
        row = store.get_candidate(cid)
    reasons = [r["reason"] for r in row.reasons[1:]]
    assert len(reasons) == 4 * per_thread and len(set(reasons)) == 4 * per_thread
    assert set(row.tags) == set(reasons)


def test_writers_wait_only_for_the_rows_they_share(postgres_url: str) -> None:
    """The counterpart of test_runs' SQLite test: no database-wide write lock, so an unrelated write
    commits while another transaction is open."""
    with Store.open(postgres_url) as store:
        new_run(store)
        done = threading.Event()

        def writer() -> None:
            store.add_task("r1", "SIMULATE", "from-thread", payload={})
            done.set()

        with store.transaction() as conn:
            store.add_task("r1", "SIMULATE", "from-main", payload={}, conn=conn)
            t = threading.Thread(target=writer)
            t.start()
            assert done.wait(30)
            assert [task.kind for task in store.tasks("r1")] == ["from-thread"]  # ours is not committed yet
        t.join(30)
        assert sorted(task.kind for task in store.tasks("r1")) == ["from-main", "from-thread"]


# ---------------------------------------------------------------- a mining run, two workers


def _worker(root: Path, url: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "alphamine", "worker", "--run-id", "r1", "--runtime-root", str(root), "--db", url,
           "--json", "--quiet", "--workers", "1", "--batch-size", "4", "--optimize-every-alphas", "0"]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_mining_run_drained_by_two_workers_simulates_every_candidate_once(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.create_database()
    try:
        _mine_and_drain(url, tmp_path)
    finally:
        postgres_server.drop_database(url)


def _mine_and_drain(url: str, root: Path) -> None:
    from alphamine.pipeline.config import DataSource, RunConfig
    from alphamine.pipeline.controller import start_run
    from alphamine.pipeline.worker import STAGE

    cfg = RunConfig(
        seed=1,
        settings=make_settings({"universe": "TOP100", "decay": 2}).to_brain(),
        data=DataSource(kind="synthetic", n_instruments=100, n_days=800, seed=5),
        workers=1,
        batch_size=4,
        candidates_per_iteration=8,
        max_iterations=1,
    )
    out = start_run(cfg, runtime_root=root, db=url, run_id="r1", console=Console(quiet=True), quiet=True)
    assert out.status == "finished" and out.iterations == 1
    settings = make_settings(cfg.settings)
    queued: list[int] = []
    with Store.open(url) as store:
        mined = {r.id for r in store.candidates(run_id="r1")}
        assert mined and all(r.status not in ("generated", "queued") for r in store.candidates(run_id="r1"))
        thesis = Thesis("momentum", "trend", "reversals")
        for e in EXPRS[:100]:
            tree = parse(e)
            with contextlib.suppress(DuplicateCandidateError):  # the run mined this one already
                queued.append(store.add_candidate(
                    "r1", 1, Candidate(e, settings, "template:test", thesis), canonical=canonical(e),
                    expr_hash=structural_hash(e), status="queued", fields=sorted(fields_used(tree)),
                    operators=sorted(operators_used(tree)),
                ))  # fmt: skip
    procs = [_worker(root, url) for _ in range(2)]
    reports = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr
        reports.append(json.loads(stdout.strip().splitlines()[-1]))
    assert sum(r["taken"] for r in reports) == len(queued)
    assert all(r["taken"] > 0 and r["stopped"] == "empty" for r in reports), reports  # both did work
    with Store.open(url) as store:
        rows = store.candidates(run_id="r1")
        simulations = Counter({r.id: sum(e["status"] == "simulated" for e in r.reasons) for r in rows})
        assert all(simulations[i] == 1 for i in queued)  # each drained candidate simulated exactly once
        assert max(simulations.values()) <= 1
        assert not any(r.status == "queued" for r in rows)
        results = store.results_for([r.id for r in rows])
        assert set(queued) <= set(results)
        batched = [cid for t in store.tasks("r1") if t.stage == STAGE for cid in t.payload["candidates"]]
        assert sorted(batched) == sorted(queued)
        assert store.claims() == [] and all(t.status != "running" for t in store.tasks("r1"))
        keys = {(r.expr_hash, r.settings_key) for r in rows if simulations[r.id]}
        with store.engine.connect() as c:
            assert int(c.execute(select(func.count()).select_from(SIM_RESULTS)).scalar_one()) == len(keys)
    exported = root / "export.json"
    done = subprocess.run(
        [sys.executable, "-m", "alphamine", "export", "--out", str(exported), "--db", url, "--run-id", "r1"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    records = json.loads(exported.read_text())
    assert {r["id"] for r in records} == mined | set(queued)
    assert all(r["is_sharpe"] is not None for r in records if r["id"] in set(queued))

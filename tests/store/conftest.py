"""Real stores on real SQLite files and on a real PostgreSQL server, and real simulation results from
the synthetic market.

Backends: `store` and `store_target` are parametrized over `sqlite` (a file in `tmp_path`) and
`postgresql` (a fresh database on the session's server, `postgres_support`), so every test written
against them runs on both; `sqlite_store` is for the few tests about SQLite itself (pragmas, the WAL,
the database-wide write lock). Without a PostgreSQL server the `postgresql` cases skip with the reason
(`ALPHAMINE_TEST_POSTGRES_REQUIRED=1` makes that a failure).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alphamine.data import synthetic
from alphamine.expr import canonical, fields_used, operators_used, parse, structural_hash
from alphamine.generate.candidate import Candidate, Thesis
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings, make_settings
from alphamine.sim.simulate import simulate
from alphamine.store import Store

from .postgres_support import PostgresServer, PostgresUnavailable, required
from .postgres_support import start as start_postgres

BACKENDS = ("sqlite", "postgresql")
EXPRESSIONS = ("rank(-returns)", "-ts_delta(close, 5)", "rank(volume/adv20)")
THESIS = Thesis("reversal", "short-term overreaction mean-reverts", "fails in trending markets")


@pytest.fixture(scope="session")
def panel() -> Any:
    return synthetic(40, 300, seed=0)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings({"universe": "TOP40"})


@pytest.fixture(scope="session")
def sims(panel: Any, settings: Settings) -> dict[str, SimResult]:
    return {e: simulate(e, panel, settings) for e in EXPRESSIONS}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (started on first use, stopped and deleted at the
    end); skips, or fails when required, with the reason when none can be had."""
    try:
        server = start_postgres()
    except PostgresUnavailable as e:
        if required():
            pytest.fail(f"PostgreSQL is required for these tests but unavailable: {e}")
        pytest.skip(f"PostgreSQL unavailable: {e}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    url = postgres_server.create_database()
    try:
        yield url
    finally:
        postgres_server.drop_database(url)


@pytest.fixture(params=BACKENDS)
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """What `Store.open` takes for a new, empty store on each backend: a SQLite file path, or the URL
    of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "rt" / "alphamine.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_target: str) -> Iterator[Store]:
    with Store.open(store_target) as s:
        yield s


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "rt" / "alphamine.sqlite3") as s:
        yield s


def make_candidate(expression: str, settings: Settings, **kw: Any) -> Candidate:
    return Candidate(expression=expression, settings=settings, generator="template:test", thesis=THESIS, **kw)


def add(store: Store, run_id: str, expression: str, settings: Settings, *, iteration: int = 0, **kw: Any) -> int:
    """Insert a candidate the way the pipeline will: canonical text, hash, fields and operators from expr."""
    status = kw.pop("status", "generated")
    tree = parse(expression)
    return store.add_candidate(
        run_id,
        iteration,
        make_candidate(expression, settings, **kw),
        canonical=canonical(expression),
        expr_hash=structural_hash(expression),
        status=status,
        fields=fields_used(tree),
        operators=operators_used(tree),
    )


def new_run(store: Store, run_id: str = "r1", fingerprint: str = "fp", **config: Any) -> str:
    store.create_run(run_id, config=config, seed=7, data_fingerprint=fingerprint, runtime_root="/tmp/rt")
    return run_id

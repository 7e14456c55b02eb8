"""Real stores on real SQLite files, and real simulation results from the synthetic market."""

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


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
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

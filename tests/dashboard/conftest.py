"""A store holding a real small mining run on a synthetic market, plus a hand-made running run, served
by the dashboard on loopback.

The mined run ("mined"): two iterations on a market with strong planted signals, so it has ready
alphas, variants (lineage families), trial-aware gate records, stage timings and an alpha memory.
The running run ("live"): what a person watching a run mid-way sees: a stage running, queued
candidates of which a worker holds one, a running task, and a candidate whose expression carries
HTML (it must come out escaped) and which has no simulation.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from alphamine.data.synthetic import SignalStrengths, synthetic
from alphamine.generate.candidate import Thesis
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.sim.settings import make_settings
from alphamine.store import Store

N, T = 100, 900
MINED, LIVE = "mined", "live"
WORKER = "worker-a"
HOSTILE = 'rank(close) < 1 && "<script>alert(1)</script>"'


@dataclass(frozen=True)
class Mined:
    root: Path
    db: Path
    live_claimed: int  # the live run's candidate held by WORKER
    unsimulated: int  # the live run's candidate with HTML in its expression and no result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _live_run(store: Store, root: Path) -> tuple[int, int]:
    mined = store.get_run(MINED)
    assert mined is not None
    store.create_run(LIVE, config={"max_iterations": 3, "target_ready": 5, "backend": "local"}, seed=1,
                     data_fingerprint=mined.data_fingerprint, runtime_root=str(root))  # fmt: skip
    copied = []
    for row in store.candidates(run_id=MINED, status="ready")[:2]:
        cand = dataclasses.replace(row.to_candidate(), parent_id=None)
        copied.append(store.add_candidate(LIVE, 0, cand, canonical=row.expression, expr_hash=row.expr_hash,
                                          status="queued"))  # fmt: skip
    claimed = [r.id for r in store.claim_batch(LIVE, WORKER, 1, ttl_s=3600)]
    assert len(claimed) == 1 and claimed[0] in copied
    template = store.get_candidate(copied[0])
    odd = dataclasses.replace(
        template.to_candidate(),
        parent_id=None,
        expression=HOSTILE,
        generator="llm:test",
        thesis=Thesis("<b>bold</b> idea", "prices <revert> & volume confirms", "crowding"),
    )
    unsimulated = store.add_candidate(LIVE, 0, odd, canonical=HOSTILE, expr_hash="0" * 16, status="generated")
    store.start_stage(LIVE, 0, "GENERATE")
    store.finish_stage(LIVE, 0, "GENERATE", {"generated": 3})
    store.start_stage(LIVE, 0, "SIMULATE")
    store.add_task(LIVE, "SIMULATE", "simulate_batch", payload={"candidates": copied})
    return claimed[0], unsimulated


@pytest.fixture(scope="session")
def mined(tmp_path_factory: pytest.TempPathFactory) -> Mined:
    root = tmp_path_factory.mktemp("dashboard")
    panel = synthetic(N, T, seed=5, signals=SignalStrengths(reversal=0.05, value=0.03, sentiment=0.03))
    cfg = RunConfig(
        seed=3,
        settings=make_settings({"universe": f"TOP{N}", "decay": 2}).to_brain(),
        data=DataSource(kind="synthetic", n_instruments=N, n_days=T, seed=5),
        max_iterations=2,
        target_ready=50,
        candidates_per_iteration=16,
        max_variant_alphas=2,
        max_variants_per_alpha=2,
        max_enhance_alphas=1,
        workers=1,
        batch_size=4,
    )
    out = start_run(cfg, runtime_root=root, run_id=MINED, panel=panel, console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    db = root / "alphamine.sqlite3"
    with Store.open(db) as store:
        assert store.candidates(run_id=MINED, status="ready"), "the synthetic run found nothing ready"
        claimed, unsimulated = _live_run(store, root)
    return Mined(root, db, claimed, unsimulated)


@pytest.fixture(scope="session")
def store(mined: Mined) -> Iterator[Store]:
    with Store.open(mined.db) as s:
        yield s


@pytest.fixture(scope="session")
def served(mined: Mined) -> Iterator[str]:
    from alphamine.dashboard import create_app, serve_in_thread

    with serve_in_thread(create_app(mined.root)) as url:
        yield url

"""Evolution from a real store: two small mining runs on one synthetic market, parents read from the
search period only, offspring inserted back with their lineage resolving across runs."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from sqlalchemy import select, update

from alphamine.data.panel import Panel
from alphamine.data.sources import DataSource, open_source
from alphamine.expr import canonical, check, fields_used, operators_used, structural_hash
from alphamine.generate import GenerationContext
from alphamine.generate.evolve import EvolutionGenerator, Parent, parents_from_store, search_block
from alphamine.generate.mutate import as_node
from alphamine.pipeline.config import RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.pipeline.presets import resolve_settings
from alphamine.pipeline.trial_gate import search_range
from alphamine.pipeline.validation import search_metrics
from alphamine.store import DuplicateCandidateError, Store, pack_array, unpack_array
from alphamine.store.schema import SIM_RESULTS

DATA = DataSource(kind="synthetic", n_instruments=60, n_days=400, seed=5)


def _run(root: Path, run_id: str, seed: int) -> None:
    settings = resolve_settings(root, None, {"universe": "TOP60", "decay": 2})
    config = RunConfig(seed=seed, settings=settings.to_brain(), data=DATA, max_iterations=1, target_ready=50,
                       candidates_per_iteration=10, max_variant_alphas=1, max_variants_per_alpha=2,
                       max_enhance_alphas=1, workers=1, batch_size=4)
    out = start_run(config, runtime_root=root, run_id=run_id, console=Console(quiet=True), quiet=True)
    assert out.status == "finished"


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs r1 and r2 on the same data, then the best (search fitness) candidate of each marked ready (the
    marking comes last: this market is too short for the gate, which would revoke it)."""
    root = tmp_path_factory.mktemp("evolve")
    _run(root, "r1", 3)
    _run(root, "r2", 4)
    with Store.open(root / "alphamine.sqlite3") as store:
        for run_id in ("r1", "r2"):
            best, _ = parents_from_store(store, run_id, limit=1, include_ready_from_other_runs=False)
            assert best and best[0].candidate_id is not None
            store.set_candidate_status([best[0].candidate_id], "ready", reason="test: a ready alpha")
    return root / "alphamine.sqlite3"


@pytest.fixture(scope="module")
def panel() -> Panel:
    return open_source(DATA)


def _snapshot(parents: list[Parent]) -> list[tuple[object, ...]]:
    return [(p.candidate_id, p.run_id, p.expression, p.settings.key(), p.fitness,
             *(a.tobytes() for a in (p.pnl or ()))) for p in parents]


def test_parents_carry_search_fitness_and_search_pnl(mined: Path) -> None:
    with Store.open(mined) as store:
        parents, ready = parents_from_store(store, "r1", include_ready_from_other_runs=False)
        results = store.results_for([p.candidate_id for p in parents if p.candidate_id is not None])
    assert parents and all(p.run_id == "r1" for p in parents)
    assert [p.fitness for p in parents] == sorted((p.fitness for p in parents), reverse=True)
    for p in parents:
        res = results[p.candidate_id]  # type: ignore[index]
        assert res.test_range[1] > res.test_range[0]  # the run has a validation window
        assert p.fitness == search_metrics(res.metrics, res.test_range)["fitness"] == res.metrics["train"]["fitness"]
        lo, hi = search_range(res)  # the pipeline's search rows
        assert p.pnl is not None and p.pnl[0].size and p.pnl[0].max() < res.dates[res.test_range[0]]
        assert np.array_equal(p.pnl[0], res.dates[lo:hi]) and np.array_equal(p.pnl[1], res.pnl[lo:hi])
    no_window = dataclasses.replace(res, test_range=(res.test_range[1], res.test_range[1]))
    assert search_block(no_window) == search_metrics(no_window.metrics, no_window.test_range) == res.metrics["is"]
    assert [p.run_id for p in ready] == ["r1"]


def test_changing_os_and_validation_leaves_parents_unchanged(mined: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite3"
    with Store.open(mined) as store:
        before = parents_from_store(store, "r2")
    assert before[0] and before[1]
    for suffix in ("", "-wal", "-shm"):  # a closed WAL store has none left, but be safe
        if Path(f"{mined}{suffix}").exists():
            shutil.copy(f"{mined}{suffix}", f"{copy}{suffix}")
    rng = np.random.default_rng(0)
    with Store.open(copy) as store:
        with store.transaction() as conn:
            rows = conn.execute(select(SIM_RESULTS.c.id, SIM_RESULTS.c.metrics, SIM_RESULTS.c.pnl,
                                       SIM_RESULTS.c.periods)).all()
            for rid, metrics, pnl, periods in rows:
                scrambled = {k: {m: float(rng.normal()) for m in v} if k in ("os", "test", "is") else v
                             for k, v in metrics.items()}
                values = unpack_array(pnl).copy()
                held_out = periods["test"][0]  # validation and OS rows
                values[held_out:] = rng.normal(size=values.size - held_out)
                conn.execute(update(SIM_RESULTS).where(SIM_RESULTS.c.id == rid)
                             .values(metrics=scrambled, pnl=pack_array(values), fitness=float(rng.normal())))
        after = parents_from_store(store, "r2")
    assert _snapshot(before[0]) == _snapshot(after[0]) and _snapshot(before[1]) == _snapshot(after[1])


def test_offspring_lineage_resolves_across_runs(mined: Path, panel: Panel) -> None:
    with Store.open(mined) as store:
        parents, ready = parents_from_store(store, "r2")
        earlier = [p for p in parents if p.run_id == "r1"]
        assert earlier and {p.candidate_id for p in earlier} <= {p.candidate_id for p in ready}
        run = store.get_run("r2")
        assert run is not None
        ctx = GenerationContext(panel.catalogue, panel.n_days, parents[0].settings,
                                np.random.default_rng(run.seed))
        out = EvolutionGenerator(parents, ready).generate(ctx, 12) + EvolutionGenerator(earlier, ready).generate(ctx, 6)
        assert out
        crossed = 0
        for cand in out:
            diagnostics = check(cand.expression, panel.catalogue, n_days=panel.n_days)
            assert not [d for d in diagnostics if d.severity == "error"]
            text = canonical(cand.expression)
            try:
                new_id = store.add_candidate("r2", 1, cand, canonical=text, expr_hash=structural_hash(text),
                                             fields=fields_used(as_node(text), panel.catalogue),
                                             operators=operators_used(as_node(text)))
            except DuplicateCandidateError:  # r2 already proposed it: the pipeline skips it too
                continue
            row = store.get_candidate(new_id)
            chain = store.lineage(new_id)
            parent = store.get_candidate(cand.parent_id)  # type: ignore[arg-type]
            assert [r.id for r in chain[-2:]] == [parent.id, new_id] and chain[0].id == parent.root_id
            assert row.generator == cand.generator and row.params["parents"][0] == parent.id
            assert row.params["runs"][0] == parent.run_id and row.root_id == parent.root_id
            if parent.run_id == "r1":
                crossed += 1
                assert chain[0].run_id == "r1" and row.run_id == "r2"
        assert crossed


def test_without_other_runs_and_unknown_run(mined: Path) -> None:
    with Store.open(mined) as store:
        parents, ready = parents_from_store(store, "r2", include_ready_from_other_runs=False)
        assert parents and ready and all(p.run_id == "r2" for p in [*parents, *ready])
        assert len(parents_from_store(store, "r2", limit=2, include_ready_from_other_runs=False)[0]) == 2
        with pytest.raises(LookupError):
            parents_from_store(store, "nope")

"""No peeking, measured on real runs: the two properties the validation window promises.

a. No rule reads OS: a run on a market whose data after the IS end is changed (everything before the
   OS start byte-identical) marks the same candidates ready and writes the same status history for
   every candidate.
b. The search never reads validation: a run on a market whose validation window (the IS `test` rows)
   is changed generates and simulates the same candidates, with the same lineage and the same verdicts
   up to DECIDE, in every stage before SUBMIT_GATE; only the gate's verdicts may differ.

The perturbed markets are rebuilt the way `alphamine.data.synthetic` builds its own: the raw fields
(prices, volume, shares, fundamentals, the event vector) are changed on the chosen rows, then the
derived fields (returns, dollar volume, adv20, cap) and the TOP universes are recomputed from them, so
the market stays consistent. NaN patterns are kept, so the catalogue (coverage) is unchanged too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from alphamine.data.derived import add_derived_fields
from alphamine.data.panel import Panel
from alphamine.data.synthetic import SignalStrengths, synthetic
from alphamine.data.universes import add_top_universes
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.pipeline.validation import resolve_validation, search_checks
from alphamine.sim.periods import os_length, split_periods
from alphamine.sim.settings import make_settings
from alphamine.sim.simulate import simulate
from alphamine.store import Store
from alphamine.store.status import CandidateStatus as CS

N, T, SEED = 100, 900, 5
DERIVED = ("returns", "dollar_volume", "adv20", "cap")  # recomputed by `add_derived_fields`
PRICES = ("open", "high", "low", "close", "vwap")
REPORTED = ("sharesout", "bookvalue", "earnings", "sales", "assets", "debt")
OS_START = T - os_length(T)  # the default IS / OS split (the run sets no isEnd)
PERIOD = resolve_validation("auto", T)


@pytest.fixture(scope="module")
def market() -> Panel:
    """Strong planted signals, so that candidates reach DECIDE's gate_pending and the gate has work."""
    return synthetic(N, T, seed=SEED, signals=SignalStrengths(reversal=0.05, value=0.03, sentiment=0.03))


def val_start(panel: Panel) -> int:
    """First row of the validation window (the IS `test` block) the run's auto period gives."""
    return split_periods(panel.dates, 0, test_period=PERIOD).test_range[0]


def perturbed(panel: Panel, lo: int, hi: int, seed: int, kind: str) -> Panel:
    """`panel` with its raw data on rows [lo, hi) changed (`kind`: "noise" = independent noise on every
    raw field and the event scores; "drift" = a random walk on price levels and noise on volume), and
    the derived fields and universes recomputed. Rows before `lo` are byte-identical (derived fields
    only look back); rows from `hi` on may change through the look-back of derived fields."""
    rng = np.random.default_rng(seed)
    rows = slice(lo, hi)
    shape = (hi - lo, panel.n_instruments)
    raw = {k: np.array(v) for k, v in panel.matrices.items() if k not in DERIVED}
    vectors = {k: np.array(v) for k, v in panel.vectors.items()}
    if kind == "noise":
        price = np.exp(0.05 * rng.standard_normal(shape))  # one factor per cell: low <= vwap <= high holds
        for k in PRICES:
            raw[k][rows] *= price
        raw["volume"][rows] *= np.exp(0.3 * rng.standard_normal(shape))
        for k in REPORTED:
            raw[k][rows] *= np.exp(0.1 * rng.standard_normal(shape))
        for v in vectors.values():
            v[rows] += rng.standard_normal(v[rows].shape)  # NaN padding stays NaN
    elif kind == "drift":
        walk = np.exp(np.cumsum(0.01 * rng.standard_normal(shape), axis=0))
        for k in PRICES:
            raw[k][rows] *= walk
        raw["volume"][rows] *= np.exp(0.2 * rng.standard_normal(shape))
    else:
        raise ValueError(kind)
    sizes = sorted((int(u.removeprefix("TOP")) for u in panel.universes), reverse=True)
    rebuilt = add_top_universes(add_derived_fields(panel.replace(matrices=raw, vectors=vectors, universes={})), sizes)
    # same field order as the original (generators walk the catalogue in order)
    return rebuilt.replace(
        matrices={k: rebuilt.matrices[k] for k in panel.matrices},
        universes={k: rebuilt.universes[k] for k in panel.universes},
    )


def _arrays(panel: Panel) -> dict[str, np.ndarray]:
    return {**panel.matrices, **panel.groups, **panel.vectors, **panel.universes}


def test_the_perturbed_markets_are_what_the_properties_need(market: Panel) -> None:
    assert perturbed(market, 0, 0, 0, "noise").fingerprint() == market.fingerprint()  # the rebuild is exact
    assert 0 < val_start(market) < OS_START < T
    for lo, hi in ((OS_START, T), (val_start(market), OS_START)):
        for kind in ("noise", "drift"):
            other = perturbed(market, lo, hi, 1, kind)
            assert other.fingerprint() != market.fingerprint()
            assert dict(other.catalogue) == dict(market.catalogue)  # NaN patterns, hence coverage, kept
            before, after = _arrays(market), _arrays(other)
            assert list(before) == list(after)
            for name, a in before.items():
                assert a[:lo].tobytes() == after[name][:lo].tobytes(), name  # byte-identical before lo
            for name in ("close", "returns", "volume"):
                assert not np.array_equal(before[name][lo:hi], after[name][lo:hi], equal_nan=True), name


# ---------------------------------------------------------------------------------------------- runs
def _config() -> RunConfig:
    return RunConfig(
        seed=3,
        settings=make_settings({"universe": f"TOP{N}", "decay": 2}).to_brain(),
        data=DataSource(kind="synthetic", n_instruments=N, n_days=T, seed=SEED),
        max_iterations=2,
        target_ready=1000,  # never reached: the number of iterations does not depend on the gate
        candidates_per_iteration=16,
        max_variant_alphas=2,
        max_variants_per_alpha=3,
        max_enhance_alphas=2,
        workers=1,
        batch_size=4,
    )


Key = tuple[str, str]  # (canonical expression, settings key)


def _run(panel: Panel, root: Path) -> dict[Key, dict[str, Any]]:
    """Run the mining loop on `panel`; per candidate: what it is, how it came about, what happened."""
    out = start_run(_config(), runtime_root=root, run_id="np", panel=panel, console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id="np")
        results = store.results_for([r.id for r in rows], backend="local")
        key_of = {r.id: (r.expression, r.settings_key) for r in rows}
        summary: dict[Key, dict[str, Any]] = {}
        for r in rows:
            res = results.get(r.id)
            history = [(h["status"], h["reason"]) for h in r.reasons]
            summary[key_of[r.id]] = {
                "id": r.id,
                "origin": (r.iteration, r.generator, key_of.get(r.parent_id) if r.parent_id else None),
                "status": r.status,
                "history": history,
                "pre_gate": _before_gate(history),
                "metrics": res.metrics if res is not None else None,
                "test_range": tuple(res.test_range) if res is not None else None,
                "gate": [
                    (g.verdict, g.reasons, [(c["name"], c["result"], c.get("value")) for c in g.checks])
                    for g in store.gate_history(r.id)
                ],
            }
    assert len(summary) == len(rows)  # (expression, settings) is unique within a run
    return summary


def _before_gate(history: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The status history up to DECIDE's verdict: SUBMIT_GATE only ever changes a gate_pending one."""
    for i, (status, _reason) in enumerate(history):
        if status == CS.GATE_PENDING:
            return history[: i + 1]
    return history


def _describe(only: set[Key], run: dict[Key, dict[str, Any]]) -> str:
    lines = []
    for key in sorted(only, key=lambda k: run[k]["id"])[:12]:
        it, gen, parent = run[key]["origin"]
        came_from = f"  <- {parent[0][:50]}" if parent else ""
        lines.append(f"    #{run[key]['id']} iter {it} {gen}: {key[0][:70]}{came_from}")
    return "\n".join(lines)


def _same_candidates(a: dict[Key, dict[str, Any]], b: dict[Key, dict[str, Any]], what: str) -> None:
    if set(a) != set(b):
        raise AssertionError(
            f"changing {what} changed the candidates the run generated and simulated:\n"
            f"  only on the original market:\n{_describe(set(a) - set(b), a)}\n"
            f"  only on the changed market:\n{_describe(set(b) - set(a), b)}"
        )
    origin = [k[0][:60] for k in a if a[k]["origin"] != b[k]["origin"]]
    assert not origin, f"changing {what} changed where candidates came from: {origin[:5]}"


@pytest.fixture(scope="module")
def baseline(market: Panel, tmp_path_factory) -> dict[Key, dict[str, Any]]:
    run = _run(market, tmp_path_factory.mktemp("baseline"))
    tested = [v for v in run.values() if v["test_range"] is not None]
    assert tested and all(v["test_range"] == (val_start(market), OS_START) for v in tested)
    assert any(v["gate"] for v in run.values()), "the gate judged nothing: the property would be vacuous"
    assert any(v["status"] == CS.READY for v in run.values())
    return run


@pytest.mark.parametrize(("kind", "seed"), [("noise", 11), ("drift", 12), ("noise", 13)])
def test_no_rule_reads_os(market: Panel, baseline, tmp_path: Path, kind: str, seed: int) -> None:
    other = _run(perturbed(market, OS_START, T, seed, kind), tmp_path)
    # the change reached the simulations: OS numbers moved
    moved = [k for k, v in baseline.items() if v["metrics"] and v["metrics"]["os"] != other.get(k, v)["metrics"]["os"]]
    assert moved
    _same_candidates(baseline, other, "OS data")
    ready = {k for k, v in baseline.items() if v["status"] == CS.READY}
    assert ready == {k for k, v in other.items() if v["status"] == CS.READY}
    for key, v in baseline.items():
        w = other[key]
        assert v["history"] == w["history"], (key[0], v["history"], w["history"])
        assert v["gate"] == w["gate"], key[0]
        if v["metrics"] is not None:
            assert {p: v["metrics"][p] for p in ("is", "train", "test")} == {
                p: w["metrics"][p] for p in ("is", "train", "test")
            }, key[0]


@pytest.mark.parametrize(("kind", "seed"), [("noise", 21), ("drift", 22), ("noise", 23)])
def test_the_search_never_reads_validation(market: Panel, baseline, tmp_path: Path, kind: str, seed: int) -> None:
    other = _run(perturbed(market, val_start(market), OS_START, seed, kind), tmp_path)
    moved = [
        k for k, v in baseline.items() if v["metrics"] and v["metrics"]["test"] != other.get(k, v)["metrics"]["test"]
    ]
    assert moved  # the change reached the validation numbers
    _same_candidates(baseline, other, "the validation window's data")
    for key, v in baseline.items():
        w = other[key]
        assert v["pre_gate"] == w["pre_gate"], (key[0], v["pre_gate"], w["pre_gate"])
        if v["metrics"] is not None:
            assert v["metrics"]["train"] == w["metrics"]["train"], key[0]
    # (the gate's verdicts may differ: it is the one stage that reads validation)


def test_decide_view_never_reads_validation(market: Panel) -> None:
    """DECIDE and ENHANCE read `search_checks`: changing only the validation rows must not change it.
    The market below moves one instrument's price level 1000-fold inside the validation window, so an
    alpha that holds price levels (truncation off, an allowed setting) concentrates its book there."""
    lo = val_start(market)
    raw = {k: np.array(v) for k, v in market.matrices.items() if k not in DERIVED}
    for k in PRICES:
        raw[k][lo:OS_START, 0] *= 1000.0
    sizes = sorted((int(u.removeprefix("TOP")) for u in market.universes), reverse=True)
    other = add_top_universes(add_derived_fields(market.replace(matrices=raw, universes={})), sizes)
    settings = {"universe": f"TOP{N}", "testPeriod": PERIOD, "truncation": 0.0, "decay": 0}
    a, b = simulate("close", market, settings), simulate("close", other, settings)
    assert a.periods.test_range == b.periods.test_range == (lo, OS_START)
    assert a.metrics["train"] == b.metrics["train"]  # the search block is untouched ...
    assert a.metrics["test"] != b.metrics["test"]
    view_a = search_checks(a.checks, a.metrics, a.periods.test_range, "user", 1)
    view_b = search_checks(b.checks, b.metrics, b.periods.test_range, "user", 1)
    # ... and so must be what DECIDE reads
    assert view_a == view_b, [(x, y) for x, y in zip(view_a, view_b, strict=True) if x != y]

"""The trial-aware half of SUBMIT_GATE: the family cap (against an exhaustive search), DATA_FRESHNESS,
the gate's ordering score, and the DEFLATED_SHARPE / VALIDATION_SHARPE objects a real run records,
recomputed by hand from the store."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from alphamine.data.synthetic import SignalStrengths, synthetic
from alphamine.pipeline.config import DataSource, GateConfig, RunConfig
from alphamine.pipeline.controller import start_run
from alphamine.pipeline.trial_gate import (
    TRIAL_CHECKS,
    family_cap,
    freshness_check,
    gate_score,
    over_cap,
    search_range,
)
from alphamine.pipeline.validation import search_metrics
from alphamine.research.sharpe_stats import (
    daily_sharpe,
    daily_sharpes,
    deflated_sharpe_ratio,
    effective_trials,
    pnl_moments,
    probabilistic_sharpe_ratio,
)
from alphamine.sim.settings import make_settings
from alphamine.store import CandidateRow, ResultRow, Store
from alphamine.store.status import CandidateStatus as CS


# ---------------------------------------------------------------------------------------------- family cap
def test_family_cap_examples() -> None:
    assert family_cap(0, 1 / 3) == 1  # at least one
    assert family_cap(2, 1 / 3) == 1
    assert family_cap(3, 1 / 3) == 1
    assert family_cap(6, 1 / 3) == 2
    assert family_cap(9, 1 / 3) == 3
    assert family_cap(100, 0.29) == 29  # 100 * 0.29 = 28.999999999999996 in floating point
    assert family_cap(10, 0.7) == 7
    assert family_cap(5, 1.0) == 5


def _feasible(sizes: list[int], drops: tuple[int, ...], share: float) -> bool:
    """After dropping `drops[i]` members of family i, does every family hold at most its cap of the
    remaining ready set?"""
    left = [s - d for s, d in zip(sizes, drops, strict=True)]
    cap = family_cap(sum(left), share)
    return max(left, default=0) <= cap


def _fewest_drops(sizes: list[int], share: float) -> int:
    """Exhaustive: the fewest members to hold back so that the cap holds. Feasibility depends only on
    how many members each family loses, so enumerating every drop-count vector (0..size per family)
    covers every subset of members."""
    return min(
        sum(drops) for drops in itertools.product(*(range(s + 1) for s in sizes)) if _feasible(sizes, drops, share)
    )


SHARES = (0.2, 0.25, 1 / 3, 0.4, 0.5, 0.6, 1.0)


def _layouts(n: int, seed: int) -> list[tuple[dict[int, list[tuple[float, int]]], float]]:
    """`n` random family layouts: 1-5 families of 1-5 ready members, scores with ties, unique ids."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        next_id = 1
        families: dict[int, list[tuple[float, int]]] = {}
        for _f in range(int(rng.integers(1, 6))):
            root = int(rng.integers(1, 1000))
            while root in families:
                root += 1
            members = []
            for _m in range(int(rng.integers(1, 6))):
                score = float(rng.integers(-3, 4)) / 2 if rng.random() < 0.5 else float(rng.normal())
                members.append((score, next_id))
                next_id += 1
            families[root] = members
        out.append((families, float(rng.choice(SHARES))))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_over_cap_against_an_exhaustive_search(seed: int) -> None:
    for families, share in _layouts(150, seed):
        dropped = over_cap(families, share)
        assert len(dropped) == len(set(dropped))
        sizes = [len(m) for m in families.values()]
        drops = tuple(sum(cid in dropped for _s, cid in members) for members in families.values())
        # 1. after dropping, no family exceeds max(1, floor(n * share)) of the remaining ready set
        assert _feasible(sizes, drops, share), (families, share, dropped)
        # 2. the number held back is the fewest that achieves it (exhaustive over all drop counts)
        assert len(dropped) == _fewest_drops(sizes, share), (families, share, dropped)
        # 3. within a family, the members held back are its lowest-scoring ones
        for members in families.values():
            gone = [s for s, cid in members if cid in dropped]
            kept = [s for s, cid in members if cid not in dropped]
            if gone and kept:
                assert max(gone) <= min(kept), (members, dropped)
        # 4. the answer does not depend on the order families and members are given in
        shuffled = {root: list(reversed(m)) for root, m in reversed(list(families.items()))}
        assert set(over_cap(shuffled, share)) == set(dropped)


def test_over_cap_small_cases() -> None:
    assert over_cap({}, 1 / 3) == []
    assert over_cap({7: [(1.0, 1)]}, 1 / 3) == []  # one ready alpha is never capped
    # one family of three at a third: two are held back, lowest score first
    assert over_cap({7: [(0.5, 1), (2.0, 2), (1.0, 3)]}, 1 / 3) == [1, 3]
    # 3 + 1 + 1 + 1 at a third: cap(6) = 2 -> drop one -> cap(5) = 1 -> drop another -> cap(4) = 1 -> 3rd
    fam = {1: [(3.0, 10), (2.0, 11), (1.0, 12)], 2: [(0.0, 20)], 3: [(0.0, 30)], 4: [(0.0, 40)]}
    assert over_cap(fam, 1 / 3) == [12, 11]
    assert over_cap(fam, 0.5) == []  # cap(6) = 3
    assert over_cap({1: [(1.0, 1), (2.0, 2)], 2: [(5.0, 3), (4.0, 4)]}, 0.5) == []


# ---------------------------------------------------------------------------------------------- freshness
GATE = GateConfig()


def _stale(fields: object) -> dict:
    return {"name": "STALE_DATA", "result": "WARNING", "limit": 0.2, "value": 0.5, "fields": fields}


def test_freshness_fails_on_a_field_stale_in_validation() -> None:
    out = freshness_check([{"name": "LOW_SHARPE", "result": "PASS"}, _stale({"f": {"test": 0.5}})], GATE)
    assert out["name"] == "DATA_FRESHNESS" and out["result"] == "FAIL"
    assert out["limit"] == GATE.stale_max_share and out["value"] == 0.5
    assert "f" in out["message"] and "validation" in out["message"] and "OS" not in out["message"]


def test_freshness_fails_on_a_field_stale_in_os_and_names_the_worst() -> None:
    out = freshness_check([_stale({"a": {"os": 0.3, "is": 0.0}, "b": {"test": 0.25, "os": 0.9}})], GATE)
    assert out["result"] == "FAIL" and out["value"] == 0.9
    assert "a 30% stale in OS" in out["message"]
    assert "b 25% stale in validation" in out["message"] and "b 90% stale in OS" in out["message"]


def test_freshness_at_the_limit_passes() -> None:
    at = GATE.stale_max_share
    out = freshness_check([_stale({"f": {"test": at, "os": at}})], GATE)
    assert out["result"] == "PASS" and out["limit"] == at
    assert freshness_check([_stale({"f": {"test": 0.5}})], GateConfig(stale_max_share=0.5))["result"] == "PASS"
    assert freshness_check([_stale({"f": {"test": 0.51}})], GateConfig(stale_max_share=0.5))["result"] == "FAIL"


def test_freshness_ignores_the_search_period_and_unreadable_shares() -> None:
    # staleness in the search period (train / is) is the search's own evidence, not held back here
    assert freshness_check([_stale({"f": {"is": 0.9, "train": 0.9}})], GATE)["result"] == "PASS"
    for fields in (None, {}, {"f": None}, {"f": {"test": None, "os": "n/a"}}, {"f": {"test": float("nan")}}):
        assert freshness_check([_stale(fields)], GATE)["result"] == "PASS", fields


def test_freshness_without_a_stale_data_check_is_pending() -> None:
    for checks in ([], [{"name": "LOW_SHARPE", "result": "PASS"}]):
        out = freshness_check(checks, GATE)
        assert out["name"] == "DATA_FRESHNESS" and out["result"] == "PENDING"
        assert "STALE_DATA" in out["message"]


# ---------------------------------------------------------------------------------------------- gate score
def _result(metrics: dict, test_range: tuple[int, int]) -> ResultRow:
    return ResultRow(
        id=1, expr_hash="h", settings_key="k", data_fingerprint="f", backend="local", expression="close",
        settings={}, metrics=metrics, yearly=[], checks=[], dates=np.array([], dtype="datetime64[D]"),
        pnl=np.array([]), is_range=(0, 500), train_range=(0, 400), test_range=test_range,
    )  # fmt: skip


def test_gate_score_is_the_smaller_of_search_and_validation_fitness() -> None:
    split, none = (400, 500), (500, 500)
    m = {"is": {"fitness": 9.0}, "train": {"fitness": 1.5}, "test": {"fitness": 0.7}, "os": {"fitness": 99.0}}
    assert gate_score(_result(m, split)) == 0.7
    m = {"is": {"fitness": 9.0}, "train": {"fitness": 0.5}, "test": {"fitness": 2.0}}
    assert gate_score(_result(m, split)) == 0.5
    assert gate_score(_result(m, none)) == 9.0  # no validation window: the IS fitness
    # a missing number cannot certify: last in the order
    assert gate_score(_result({"is": {"fitness": 9.0}, "train": {"fitness": 1.0}, "test": {}}, split)) == -math.inf
    assert gate_score(_result({"is": {"fitness": 9.0}, "train": {"fitness": None}, "test": {"fitness": 1.0}},
                              split)) == -math.inf  # fmt: skip
    assert gate_score(_result({"is": {"fitness": None}}, none)) == -math.inf


# ---------------------------------------------------------------------------------------------- a real run
N, T = 100, 900


@pytest.fixture(scope="module")
def judged(tmp_path_factory) -> tuple[Path, str]:
    """A small trial-aware run on a market with strong planted signals, so the gate has work to do."""
    root = tmp_path_factory.mktemp("trial_gate")
    panel = synthetic(N, T, seed=5, signals=SignalStrengths(reversal=0.05, value=0.03, sentiment=0.03))
    cfg = RunConfig(
        seed=3,
        settings=make_settings({"universe": f"TOP{N}", "decay": 2}).to_brain(),
        data=DataSource(kind="synthetic", n_instruments=N, n_days=T, seed=5),
        max_iterations=2,
        target_ready=50,
        candidates_per_iteration=16,
        max_variant_alphas=2,
        max_variants_per_alpha=3,
        max_enhance_alphas=2,
        workers=1,
        batch_size=4,
    )
    out = start_run(cfg, runtime_root=root, run_id="tg", panel=panel, console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    return root, out.run_id


def _root(row: CandidateRow) -> int:
    return row.root_id if row.root_id is not None else row.id


def _search_rows(res: ResultRow) -> tuple[int, int]:
    """By hand: the train block when a validation window exists, else IS; from the first position day."""
    if res.test_range[1] > res.test_range[0]:
        lo, hi = res.train_range
    else:
        lo, hi = res.is_range
    lo = max(lo, res.first)
    return (lo, hi) if hi > lo else (0, 0)


def _column(res: ResultRow, length: int) -> np.ndarray:
    col = np.full(length, np.nan)
    lo, hi = _search_rows(res)
    col[lo:hi] = res.pnl[lo:hi]
    return col


def _expected(res: ResultRow, columns: list[np.ndarray]) -> dict[str, float]:
    """The deflated Sharpe of `res` against the trials `columns`, from the research formulas."""
    matrix = np.column_stack(columns)
    sharpes = daily_sharpes(matrix)
    finite = sharpes[np.isfinite(sharpes)]
    variance = float(np.var(finite, ddof=1)) if finite.size > 1 else 0.0
    effective = float(effective_trials(matrix)) if matrix.shape[1] > 1 else 1.0
    lo, hi = _search_rows(res)
    pnl = res.pnl[lo:hi]
    sr = daily_sharpe(pnl)
    skew, kurt = pnl_moments(pnl)
    n_obs = int(np.isfinite(pnl).sum())
    return {
        "n": matrix.shape[1],
        "effective_trials": effective,
        "sr_variance_daily": variance,
        "skew": skew,
        "kurtosis": kurt,
        "psr": probabilistic_sharpe_ratio(sr, 0.0, n_obs, skew, kurt),
        "dsr": deflated_sharpe_ratio(sr, n_obs, skew, kurt, effective, variance),
    }


def _close(got: float | None, want: float, tol: float = 1e-9) -> bool:
    if got is None:
        return not math.isfinite(want)
    return math.isfinite(want) and abs(got - want) <= tol * max(1.0, abs(want))


def _judgements(store: Store, run_id: str) -> list[tuple[CandidateRow, object]]:
    out = []
    for row in store.candidates(run_id=run_id):
        for gate in store.gate_history(row.id):
            if gate.checks:  # a family-cap hold-back is recorded without checks
                out.append((row, gate))
    return out


def test_deflated_sharpe_records_family_and_run_trials(judged) -> None:
    root, run_id = judged
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id=run_id)
        results = store.results_for([r.id for r in rows], backend="local")
        judgements = _judgements(store, run_id)
    assert len(judgements) >= 3
    length = max(r.pnl.size for r in results.values())
    multi = 0
    for row, gate in judgements:
        res = results[row.id]
        # the gate of iteration i saw the candidates of iterations <= i
        seen = [r for r in rows if r.iteration <= row.iteration and r.id in results]
        family = [r for r in seen if _root(r) == _root(row)]
        multi += len(family) > 1
        fam = _expected(res, [_column(results[r.id], length) for r in family])
        run = _expected(res, [_column(results[r.id], length) for r in seen])
        obj = next(c for c in gate.checks if c["name"] == "DEFLATED_SHARPE")
        trials, run_trials = obj["trials"], obj["run_trials"]
        for rec in (trials, run_trials):
            assert rec["n_trials_family"] == fam["n"] == len(family)
            assert rec["n_trials_run"] == run["n"] == len(seen)
            assert _close(rec["search_sharpe"], float(search_metrics(res.metrics, res.test_range)["sharpe"]))
        for key in ("effective_trials", "sr_variance_daily", "skew", "kurtosis", "psr", "dsr"):
            assert _close(trials[key], fam[key]), (row.id, key, trials[key], fam[key])
            assert _close(run_trials[key], run[key]), (row.id, key, run_trials[key], run[key])
        assert obj["limit"] == GATE.min_dsr
        assert _close(obj["value"], round(fam["dsr"], 4), 0) and _close(obj["run_dsr"], round(run["dsr"], 4), 0)
        assert _close(obj["psr"], round(fam["psr"], 4), 0)
        assert obj["result"] == ("PASS" if fam["dsr"] >= GATE.min_dsr else "FAIL")
        assert 1.0 <= trials["effective_trials"] <= len(family) and run_trials["effective_trials"] <= len(seen)
    assert multi, "no judged candidate had a family of several trials"


def test_validation_sharpe_reads_the_test_block(judged) -> None:
    root, run_id = judged
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id=run_id)
        results = store.results_for([r.id for r in rows], backend="local")
        judgements = _judgements(store, run_id)
    for row, gate in judgements:
        res = results[row.id]
        assert res.test_range[1] > res.test_range[0]
        obj = next(c for c in gate.checks if c["name"] == "VALIDATION_SHARPE")
        search, val = float(res.metrics["train"]["sharpe"]), float(res.metrics["test"]["sharpe"])
        limit = max(0.0, GATE.min_validation_ratio * search)
        assert _close(obj["value"], round(val, 4), 0) and _close(obj["limit"], round(limit, 4), 0)
        assert obj["result"] == ("PASS" if val > 0 and val >= limit else "FAIL")
        assert search_range(res) == _search_rows(res)


def test_the_gate_judges_best_first_and_caps_families(judged) -> None:
    root, run_id = judged
    with Store.open(root / "alphamine.sqlite3") as store:
        rows = store.candidates(run_id=run_id)
        results = store.results_for([r.id for r in rows], backend="local")
        judgements = _judgements(store, run_id)
        ready = store.candidates(run_id=run_id, status=CS.READY)
    passes: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row, gate in judgements:
        names = [c["name"] for c in gate.checks]
        assert tuple(names[-len(TRIAL_CHECKS) :]) == TRIAL_CHECKS  # after the platform-style checks
        fails = [c["name"] for c in gate.checks if c["result"] == "FAIL"]
        assert (gate.verdict == CS.READY) == (not fails)
        passes[row.iteration].append((gate.id, row.id))
    for judged_in_order in passes.values():
        order = [cid for _gid, cid in sorted(judged_in_order)]
        scores = [gate_score(results[cid]) for cid in order]
        keys = [(-s, cid) for s, cid in zip(scores, order, strict=True)]
        assert keys == sorted(keys), "the gate must judge by gate_score, best first"
    assert ready
    by_family: dict[int, int] = defaultdict(int)
    for r in ready:
        by_family[_root(r)] += 1
    assert max(by_family.values()) <= family_cap(len(ready), GATE.max_family_share)

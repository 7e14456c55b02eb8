"""The submission planner against brute force: every subset, every submission order, replayed with the
simulator's own `self_correlation` check (so the planner's pairwise shortcut is tested, not assumed)."""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Sequence

import numpy as np
import pytest

from alphamine.research.planner import (
    PlanCandidate,
    SkipCause,
    SubmissionPlan,
    _best,
    correlation_matrix,
    plan_submissions,
)
from alphamine.sim.checks import PoolEntry, aligned_correlation, correlation_window, self_correlation

DAYS = np.arange(np.datetime64("2015-01-05"), np.datetime64("2020-06-30"))
DAYS = DAYS[np.is_busday(DAYS)]  # ~5.5 years: the 4-year window really cuts


def _series(rng: np.random.Generator, factors: np.ndarray) -> np.ndarray:
    """One of two cluster factors plus noise: same-cluster correlations spread over ~0.5-0.95."""
    k = int(rng.integers(len(factors)))
    return factors[k] + rng.uniform(0.2, 0.9) * rng.standard_normal(DAYS.size) + 0.05


def _instance(seed: int, n_cand: int, n_pool: int) -> tuple[list[PlanCandidate], list[PoolEntry]]:
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((2, DAYS.size))
    cands = [PlanCandidate(10 + i, f"alpha{i}", DAYS, _series(rng, factors), float(rng.uniform(1.2, 2.0)),
                           float(rng.integers(0, 4)), "ready" if i % 3 else "near_ready") for i in range(n_cand)]
    pool = []
    for j in range(n_pool):  # pool alphas over other spans: alignment on common dates is exercised
        lo, hi = int(rng.integers(0, 300)), DAYS.size - int(rng.integers(0, 200))
        pnl = _series(rng, factors)
        pool.append(PoolEntry(f"P{j}", DAYS[lo:hi], pnl[lo:hi], float(rng.uniform(1.1, 2.0))))
    return cands, pool


class Oracle:
    """`self_correlation` of a candidate against pool + an accepted set, memoized on the set (the check's
    verdict does not depend on the order of its pool)."""

    def __init__(self, cands: Sequence[PlanCandidate], pool: Sequence[PoolEntry]) -> None:
        self.cands, self.pool = list(cands), list(pool)
        self.memo: dict[tuple[int, frozenset[int]], bool] = {}

    def passes(self, x: int, accepted: frozenset[int]) -> bool:
        key = (x, accepted)
        if key not in self.memo:
            c = self.cands[x]
            extra = [PoolEntry(f"#{self.cands[a].id}", self.cands[a].dates, self.cands[a].pnl, self.cands[a].sharpe)
                     for a in sorted(accepted)]
            res = self_correlation(c.dates, c.pnl, 0, len(c.dates), c.sharpe, self.pool + extra)
            self.memo[key] = res["result"] == "PASS"
        return self.memo[key]

    def sequence_ok(self, seq: Sequence[int]) -> bool:
        return all(self.passes(x, frozenset(seq[:k])) for k, x in enumerate(seq))


def _brute(oracle: Oracle, n: int, quota: int) -> tuple[int, float, list[tuple[int, ...]]]:
    """(max accepted count within the quota, best total score at that count, feasible subsets)."""
    best_count, best_score, feasible = 0, 0.0, []
    for size in range(1, min(n, quota) + 1):
        for subset in itertools.combinations(range(n), size):
            if any(oracle.sequence_ok(perm) for perm in itertools.permutations(subset)):
                feasible.append(subset)
                total = sum(oracle.cands[i].score for i in subset)
                if size > best_count or (size == best_count and total > best_score):
                    best_count, best_score = size, total
    return best_count, best_score, feasible


def _replay(plan: SubmissionPlan, cands: Sequence[PlanCandidate], oracle: Oracle) -> bool:
    index = {c.id: i for i, c in enumerate(cands)}
    return oracle.sequence_ok([index[cid] for cid in plan.order])


@pytest.mark.parametrize("seed", range(16))
def test_planner_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    n, n_pool = int(rng.integers(6, 9)), int(rng.integers(0, 5))
    cands, pool = _instance(seed, n, n_pool)
    oracle = Oracle(cands, pool)
    for quota in sorted({n, int(rng.integers(1, n))}):
        plan = plan_submissions(cands, pool, quota)
        count, score, feasible = _brute(oracle, n, quota)
        assert plan.exact
        assert len(plan.entries) == count <= quota
        assert _replay(plan, cands, oracle), "the planned order must pass when replayed"
        planned = sum(c.score for c in cands if c.id in plan.order)
        assert planned == pytest.approx(score)
        assert {s.candidate_id for s in plan.skipped} | set(plan.order) == {c.id for c in cands}
        assert [e.position for e in plan.entries] == list(range(1, count + 1))
        for subset in feasible:  # the lemma: any acceptable set is accepted in ascending Sharpe order
            assert oracle.sequence_ok(sorted(subset, key=lambda i: cands[i].sharpe))


def test_test_data_really_has_conflicts() -> None:
    """Across the seeds: some candidates fail the pool, some pairs conflict both ways, some pairs pass in
    only one order, so the brute-force comparison exercises every branch of the planner."""
    pool_fails = both_fail = one_way = 0
    for seed in range(16):
        rng = np.random.default_rng(1000 + seed)
        n, n_pool = int(rng.integers(6, 9)), int(rng.integers(0, 5))
        cands, pool = _instance(seed, n, n_pool)
        oracle = Oracle(cands, pool)
        pool_fails += sum(not oracle.passes(i, frozenset()) for i in range(n))
        empty = Oracle(cands, [])
        for a, b in itertools.combinations(range(n), 2):
            ab, ba = empty.sequence_ok([a, b]), empty.sequence_ok([b, a])
            both_fail += not (ab or ba)
            one_way += ab != ba
    assert pool_fails >= 3 and both_fail >= 5 and one_way >= 5


def _pair(corr_noise: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    base = rng.standard_normal(DAYS.size)
    return base + 0.05, base + corr_noise * rng.standard_normal(DAYS.size) + 0.05


def test_ascending_sharpe_order_accepts_what_descending_rejects() -> None:
    a, b = _pair()
    low = PlanCandidate(1, "low", DAYS, a, 1.0, 1.0, "ready")
    high = PlanCandidate(2, "high", DAYS, b, 1.5, 1.0, "ready")
    oracle = Oracle([low, high], [])
    assert oracle.sequence_ok([0, 1]) and not oracle.sequence_ok([1, 0])
    plan = plan_submissions([high, low], [], quota=5)
    assert plan.order == [1, 2] and not plan.skipped
    assert "submitted before #2" in plan.entries[0].reason
    assert plan.entries[1].correlated_with == "#1" and plan.entries[1].max_correlation > 0.9
    assert "≥ 1.1 × 1.00" in plan.entries[1].reason


def test_conflict_keeps_the_higher_score() -> None:
    a, b = _pair()
    one = PlanCandidate(1, "one", DAYS, a, 1.50, 1.0, "ready")
    two = PlanCandidate(2, "two", DAYS, b, 1.45, 3.0, "near_ready")
    plan = plan_submissions([one, two], [], quota=5)
    assert plan.order == [2]
    (skip,) = plan.skipped
    assert skip.cause is SkipCause.CONFLICT and skip.blocker == "#2"
    assert "neither Sharpe" in skip.reason and "lower the total score" in skip.reason


def test_candidate_failing_the_pool_names_the_pool_alpha() -> None:
    a, b = _pair()
    pool = [PoolEntry("P3", DAYS, a, 1.4)]
    cand = PlanCandidate(5, "c", DAYS, b, 1.2, 1.0, "ready")
    plan = plan_submissions([cand], pool, quota=3)
    assert not plan.entries and plan.pool_size == 1
    (skip,) = plan.skipped
    assert skip.cause is SkipCause.POOL and skip.blocker == "P3"
    assert "pool alpha P3" in skip.reason and "1.20 < 1.1 × 1.40" in skip.reason


def test_quota_and_json_round_trip() -> None:
    cands, pool = _instance(3, 7, 0)
    plan = plan_submissions(cands, pool, quota=1)
    assert len(plan.entries) == 1 and plan.entries[0].max_correlation != plan.entries[0].max_correlation  # NaN
    assert any(s.cause is SkipCause.QUOTA and "over the quota" in s.reason for s in plan.skipped)
    data = plan.to_json()
    assert data["entries"][0]["max_correlation"] is None
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert plan_submissions(cands, pool, quota=0).order == []


def test_greedy_beyond_exact_max_is_still_valid() -> None:
    for seed in range(4):
        cands, pool = _instance(seed, 7, 2)
        plan = plan_submissions(cands, pool, quota=4, exact_max=0)
        assert not plan.exact and len(plan.entries) <= 4
        assert _replay(plan, cands, Oracle(cands, pool))


def test_different_windows_still_give_a_replayable_plan() -> None:
    rng = np.random.default_rng(11)
    factors = rng.standard_normal((2, DAYS.size))
    cands = [PlanCandidate(i, f"a{i}", DAYS[: DAYS.size - 40 * i], _series(rng, factors)[: DAYS.size - 40 * i],
                           float(rng.uniform(1.2, 2.0)), 1.0, "ready") for i in range(7)]
    oracle = Oracle(cands, [])
    plan = plan_submissions(cands, [], quota=7)
    assert _replay(plan, cands, oracle)
    if plan.exact:
        assert len(plan.entries) == _brute(oracle, 7, 7)[0]


def test_correlation_matrix_equals_the_simulator_measurement() -> None:
    rng = np.random.default_rng(5)
    base = rng.standard_normal(DAYS.size)
    spans = [(0, DAYS.size), (100, DAYS.size - 30), (0, 600), (900, DAYS.size), (50, 52), (10, DAYS.size)]
    series = []
    for k, (lo, hi) in enumerate(spans):
        p = base + rng.uniform(0.1, 2.0) * rng.standard_normal(DAYS.size) + 5.0
        if k == 3:
            p[1000] = np.nan
        if k == 5:
            p[:] = 3.0
        series.append((DAYS[lo:hi], p[lo:hi]))
    got = correlation_matrix(series, series)
    for i, (di, pi) in enumerate(series):
        start, end = correlation_window(di, 0, len(di))
        for j, (dj, pj) in enumerate(series):
            si, sj = (di > start) & (di <= end), (dj > start) & (dj <= end)
            want = aligned_correlation(di[si], pi[si], dj[sj], pj[sj])
            assert (math.isnan(want) and math.isnan(got[i, j])) or got[i, j] == pytest.approx(want, abs=1e-10)
    assert np.isfinite(got).sum() >= 10


def _random_graph(rng: np.random.Generator, n: int, p: float) -> list[int]:
    adj = [0] * n
    for a, b in itertools.combinations(range(n), 2):
        if rng.random() < p:
            adj[a] |= 1 << b
            adj[b] |= 1 << a
    return adj


def test_exact_search_against_subsets_and_its_speed_at_40() -> None:
    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(1, 11))
        adj = _random_graph(rng, n, float(rng.uniform(0.1, 0.6)))
        w = rng.integers(0, 5, n).astype(float).tolist()
        cap = int(rng.integers(0, n + 1))
        best = _best((1 << n) - 1, adj, w, cap, {})
        for size in range(len(best)):
            scores = [sum(w[i] for i in s) for s in itertools.combinations(range(n), size)
                      if all(not adj[a] >> b & 1 for a, b in itertools.combinations(s, 2))]
            assert best[size][0] == max(scores) and best[size][1].bit_count() == size
        assert len(best) - 1 == min(cap, max(len(s) for s in _independent(n, adj)))
    adj = _random_graph(np.random.default_rng(4), 40, 0.08)
    t0 = time.perf_counter()
    best = _best((1 << 40) - 1, adj, [1.0] * 40, 40, {})
    assert time.perf_counter() - t0 < 20 and len(best) > 10


def _independent(n: int, adj: list[int]) -> list[tuple[int, ...]]:
    return [s for k in range(n + 1) for s in itertools.combinations(range(n), k)
            if all(not adj[a] >> b & 1 for a, b in itertools.combinations(s, 2))]


def test_invalid_input_is_refused() -> None:
    c = PlanCandidate(1, "a", DAYS, np.zeros(DAYS.size), 1.0, 1.0, "ready")
    with pytest.raises(ValueError):
        plan_submissions([c, c], [], quota=1)
    with pytest.raises(ValueError):
        plan_submissions([c], [], quota=-1)
    with pytest.raises(ValueError):
        plan_submissions([PlanCandidate(2, "b", DAYS, np.zeros(3), 1.0, 1.0, "ready")], [], quota=1)
    with pytest.raises(ValueError):
        plan_submissions([PlanCandidate(2, "b", DAYS, np.zeros(DAYS.size), 1.0, 1.0, "draft")], [], quota=1)

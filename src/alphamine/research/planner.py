"""Submission planner: which ready / near-ready candidates to submit today, and in which order, so that the
most of them pass SELF_CORRELATION against the accepted pool within the daily quota. It never submits.

Why the order matters, and why a set can still be chosen without trying orders. Write ok(y | x) for "y,
submitted while x is accepted, passes against x": not (corr_y(y, x) >= limit and sharpe_y < ratio x
sharpe_x), corr_y being what `alphamine.sim.checks.self_correlation` measures for y (y's last 4 IS years,
common dates, a NaN correlation never blocks). That check is a conjunction over the accepted alphas, so
a sequence x1..xk is accepted iff every xi passes the existing pool and ok(xj | xi) holds for all i < j.
Hence (1) the pool test does not depend on the order: a candidate failing it is dropped up front; (2) a
set S is accepted in some order iff some linear order of S has ok(later | earlier) for every pair.

Lemma (ratio >= 1, corr symmetric): if exactly one order of x, y works, x first, then sharpe_x <
sharpe_y. Proof: ok(y | x) and not ok(x | y) give corr >= limit, sharpe_x < ratio sharpe_y and (as corr
>= limit) sharpe_y >= ratio sharpe_x. If sharpe_x > 0 then sharpe_y >= ratio sharpe_x >= sharpe_x; if
sharpe_x <= 0 and sharpe_y <= sharpe_x then ratio sharpe_y <= sharpe_y <= sharpe_x, against sharpe_x <
ratio sharpe_y; so sharpe_y >= sharpe_x, and equality would need both sharpe_x < ratio sharpe_x and
sharpe_x >= ratio sharpe_x. So ascending Sharpe order honours every forced order, and: S is accepted in
some order iff (a) each member passes the pool and (b) no pair of S "conflicts" (corr >= limit and
neither Sharpe >= ratio x the other); then ascending Sharpe order works. The best plan is a maximum
independent set of the conflict graph, capped at the quota, ties broken by the higher total score.

corr is symmetric whenever the two candidates' IS spans end on the same day (one panel: the usual case).
In general the forced orders are sorted topologically (ties by ascending Sharpe); if they form a cycle
the planner uses ascending Sharpe, conflicts are judged in that order, and the (still valid) plan is not
claimed optimal. The search is exact when every connected component of the conflict graph has at most
`exact_max` candidates (memoized branching on the highest-degree vertex, components solved apart and
merged per count); beyond that a greedy (fewest remaining conflicts first, then higher score) fills it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from alphamine.sim import checks as C
from alphamine.sim.checks import PoolEntry

STATUSES = ("ready", "near_ready")
RECHECK_MARGIN = 1e-7
"""Vectorized correlations this close to the limit (or on a flat / NaN series) are recomputed with
`aligned_correlation`, so every pass / fail decision matches the simulator's, not just to 1e-15."""
_FLAT = 1e-9
Series = tuple[np.ndarray, np.ndarray]


class SkipCause(StrEnum):
    POOL = "pool"
    CONFLICT = "conflict"
    QUOTA = "quota"


@dataclass(frozen=True, eq=False)
class PlanCandidate:
    """A candidate: its IS-span daily PnL (the `dates[is_lo:is_hi]` slice the simulator checks, dates
    datetime64[D], unique and ascending), its IS Sharpe as the platform measures it, a score (higher is
    better; only breaks ties between plans accepting as many alphas) and its status."""

    id: int
    name: str
    dates: np.ndarray
    pnl: np.ndarray
    sharpe: float
    score: float
    status: str


@dataclass(frozen=True)
class PlanEntry:
    """One submission: `max_correlation` / `correlated_with` against the pool and the earlier entries
    at the moment it is submitted (NaN / None when nothing overlaps)."""

    candidate_id: int
    name: str
    position: int
    sharpe: float
    score: float
    status: str
    max_correlation: float
    correlated_with: str | None
    reason: str


@dataclass(frozen=True)
class Skipped:
    """A candidate left out; `correlation` / `blocker` name what kept it out (NaN / None for the quota)."""

    candidate_id: int
    name: str
    cause: SkipCause
    correlation: float
    blocker: str | None
    reason: str


@dataclass(frozen=True)
class SubmissionPlan:
    """The ordered entries (submit in this order), the skipped candidates, and whether the count / score
    is proven optimal (`exact`) or greedy."""

    entries: tuple[PlanEntry, ...]
    skipped: tuple[Skipped, ...]
    quota: int
    pool_size: int
    exact: bool
    limit: float = C.SELF_CORRELATION_LIMIT
    sharpe_ratio: float = C.SELF_CORRELATION_SHARPE_RATIO

    @property
    def order(self) -> list[int]:
        return [e.candidate_id for e in self.entries]

    def to_json(self) -> dict[str, Any]:
        """submission_plan.json: plain ints / floats / strs / bools / None (NaN and inf become None)."""
        return {
            "quota": self.quota, "pool_size": self.pool_size, "exact": self.exact,
            "limit": _num(self.limit), "sharpe_ratio": _num(self.sharpe_ratio), "order": self.order,
            "entries": [{"candidate_id": e.candidate_id, "name": e.name, "position": e.position,
                         "sharpe": _num(e.sharpe), "score": _num(e.score), "status": e.status,
                         "max_correlation": _num(e.max_correlation), "correlated_with": e.correlated_with,
                         "reason": e.reason} for e in self.entries],
            "skipped": [{"candidate_id": s.candidate_id, "name": s.name, "cause": str(s.cause),
                         "correlation": _num(s.correlation), "blocker": s.blocker, "reason": s.reason}
                        for s in self.skipped],
        }


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# ------------------------------------------------------------------------------------------ correlations
def correlation_matrix(new: Sequence[Series], old: Sequence[Series], limit: float = C.SELF_CORRELATION_LIMIT
                       ) -> np.ndarray:
    """out[i, j]: the correlation SELF_CORRELATION measures when new[i] = (dates, IS pnl) is submitted
    while old[j] is accepted (new[i]'s 4-year window, common dates; NaN when < 2 common days or flat).
    One pairwise-complete matrix product per distinct window; values within RECHECK_MARGIN of `limit`,
    flat series and series with NaN PnL are recomputed exactly with `aligned_correlation`."""
    out = np.full((len(new), len(old)), np.nan)
    if not new or not old:
        return out
    nd = [np.asarray(d, "datetime64[D]") for d, _ in new]
    od = [np.asarray(d, "datetime64[D]") for d, _ in old]
    npnl = [np.asarray(p, float) for _, p in new]
    opnl = [np.asarray(p, float) for _, p in old]
    axis = np.unique(np.concatenate(nd + od))
    nv, nm = _dense(nd, npnl, axis)
    ov, om = _dense(od, opnl, axis)
    groups: dict[tuple[np.datetime64, np.datetime64], list[int]] = {}
    for i, d in enumerate(nd):
        if d.size:  # an empty IS span passes without a measurement
            groups.setdefault(C.correlation_window(d, 0, d.size), []).append(i)
    for (start, end), rows in groups.items():
        cols = (axis > start) & (axis <= end)
        block, recheck = _block(nv[rows][:, cols], nm[rows][:, cols], ov[:, cols], om[:, cols], limit)
        out[rows] = block
        for r, j in zip(*np.nonzero(recheck), strict=True):
            i = rows[r]
            sel = (nd[i] > start) & (nd[i] <= end)
            keep = (od[j] > start) & (od[j] <= end)
            out[i, j] = C.aligned_correlation(nd[i][sel], npnl[i][sel], od[j][keep], opnl[j][keep])
    return out


def _dense(dates: list[np.ndarray], pnl: list[np.ndarray], axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.zeros((len(dates), axis.size))
    mask = np.zeros((len(dates), axis.size), dtype=bool)
    for k, (d, p) in enumerate(zip(dates, pnl, strict=True)):
        idx = np.searchsorted(axis, d)
        values[k, idx], mask[k, idx] = p, True
    return values, mask


def _block(x: np.ndarray, a: np.ndarray, y: np.ndarray, b: np.ndarray, limit: float
           ) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete Pearson of rows of x (present where a) with rows of y (present where b), each
    row centred on its own mean first (correlation is shift invariant; this avoids cancellation), and the
    mask of entries to recompute exactly."""
    bad_x, bad_y = np.isnan(x).any(axis=1), np.isnan(y).any(axis=1)
    x, y = np.where(a & ~np.isnan(x), x, 0.0), np.where(b & ~np.isnan(y), y, 0.0)
    sc_x, sc_y = np.abs(x).max(axis=1, initial=0.0), np.abs(y).max(axis=1, initial=0.0)
    x = (x - (x.sum(axis=1) / np.maximum(a.sum(axis=1), 1))[:, None]) * a
    y = (y - (y.sum(axis=1) / np.maximum(b.sum(axis=1), 1))[:, None]) * b
    af, bf = a.astype(float), b.astype(float)
    n = af @ bf.T
    sx, sy = x @ bf.T, af @ y.T
    with np.errstate(divide="ignore", invalid="ignore"):
        vx, vy = (x * x) @ bf.T - sx * sx / n, af @ (y * y).T - sy * sy / n
        c = np.clip((x @ y.T - sx * sy / n) / np.sqrt(vx * vy), -1.0, 1.0)
    flat = (vx <= n * (_FLAT * sc_x[:, None]) ** 2) | (vy <= n * (_FLAT * sc_y[None, :]) ** 2)
    recheck = (n >= 2) & (flat | bad_x[:, None] | bad_y[None, :] | ~np.isfinite(c)
                          | (np.abs(c - limit) <= RECHECK_MARGIN))
    c[(n < 2) | recheck] = np.nan
    return c, recheck


# ------------------------------------------------------------------------------------------------ search
Best = list[tuple[float, int]]  # index c: (total score, member bitmask) of the best set of c members


def _components(mask: int, adj: list[int]) -> list[int]:
    comps, rest = [], mask
    while rest:
        comp = frontier = rest & -rest
        while frontier:
            bit = frontier & -frontier
            frontier ^= bit
            grow = adj[bit.bit_length() - 1] & rest & ~comp
            comp |= grow
            frontier |= grow
        comps.append(comp)
        rest &= ~comp
    return comps


def _bits(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def _best(mask: int, adj: list[int], w: list[float], cap: int, memo: dict[int, Best]) -> Best:
    """best[c] for c = 0..min(cap, independence number): every count is reachable because a subset of
    an independent set is independent. Exact; exponential only in the largest component."""
    if mask in memo:
        return memo[mask]
    comps = _components(mask, adj)
    res: Best = [(0.0, 0)]
    if len(comps) > 1:
        for comp in comps:
            res = _convolve(res, _best(comp, adj, w, cap, memo), cap)
    elif mask:
        v = max(_bits(mask), key=lambda b: ((adj[b] & mask).bit_count(), -b))
        res = list(_best(mask & ~(1 << v), adj, w, cap, memo))
        for c, (s, m) in enumerate(_best(mask & ~(adj[v] | 1 << v), adj, w, cap, memo)):
            if c + 1 > cap:
                break
            if c + 1 == len(res):
                res.append((s + w[v], m | 1 << v))
            elif s + w[v] > res[c + 1][0]:
                res[c + 1] = (s + w[v], m | 1 << v)
    memo[mask] = res
    return res


def _convolve(a: Best, b: Best, cap: int) -> Best:
    out: Best = []
    for c in range(min(cap, len(a) + len(b) - 2) + 1):
        pairs = [(a[i][0] + b[c - i][0], a[i][1] | b[c - i][1]) for i in range(len(a)) if 0 <= c - i < len(b)]
        out.append(max(pairs, key=lambda p: p[0]))
    return out


def _greedy(mask: int, adj: list[int], w: list[float], cap: int) -> int:
    chosen = 0
    while mask and chosen.bit_count() < cap:
        v = min(_bits(mask), key=lambda b: ((adj[b] & mask).bit_count(), -w[b], b))
        chosen |= 1 << v
        mask &= ~(adj[v] | 1 << v)
    return chosen


def _order(idx: list[int], ok: np.ndarray, key: list[tuple[float, int]]) -> tuple[list[int], bool]:
    """Topological order of the forced orders (i before j when only that order works), ties by ascending
    (Sharpe, id); (ascending order, False) when they form a cycle."""
    forced = ok[np.ix_(idx, idx)].T & ~ok[np.ix_(idx, idx)]  # forced[p, q]: idx[p] must precede idx[q]
    indeg = forced.sum(axis=0).tolist()
    heap = [(key[idx[p]], p) for p in range(len(idx)) if indeg[p] == 0]
    heapq.heapify(heap)
    out: list[int] = []
    while heap:
        _, p = heapq.heappop(heap)
        out.append(idx[p])
        for q in np.nonzero(forced[p])[0].tolist():
            indeg[q] -= 1
            if indeg[q] == 0:
                heapq.heappush(heap, (key[idx[q]], q))
    if len(out) < len(idx):
        return sorted(idx, key=lambda i: key[i]), False
    return out, True


# -------------------------------------------------------------------------------------------------- plan
def plan_submissions(candidates: Sequence[PlanCandidate], pool: Sequence[PoolEntry], quota: int,
                     limit: float = C.SELF_CORRELATION_LIMIT, sharpe_ratio: float = C.SELF_CORRELATION_SHARPE_RATIO,
                     exact_max: int = 40) -> SubmissionPlan:
    """Choose at most `quota` candidates and an order in which every one passes SELF_CORRELATION against
    `pool` plus the earlier picks; the most accepted alphas first, then the highest total score (NaN
    scores count below every finite one). Pure: reads nothing, writes nothing, submits nothing."""
    if quota < 0:
        raise ValueError(f"quota must be >= 0, got {quota}")
    if len({c.id for c in candidates}) != len(candidates):
        raise ValueError("candidate ids must be unique")
    for c in candidates:
        if c.status not in STATUSES or len(c.dates) != len(c.pnl):
            raise ValueError(f"candidate #{c.id}: status {c.status!r} or dates / pnl lengths don't fit")
    n = len(candidates)
    s = np.array([c.sharpe for c in candidates], float)
    sp = np.array([p.sharpe for p in pool], float)
    series = [(c.dates, c.pnl) for c in candidates]
    cp = correlation_matrix(series, [(p.dates, p.pnl) for p in pool], limit)
    cc = correlation_matrix(series, series, limit)
    blocked_pool = (cp >= limit) & (s[:, None] < sharpe_ratio * sp[None, :])
    ok = ~((cc >= limit) & (s[:, None] < sharpe_ratio * s[None, :]))  # ok[j, i]: j passes after i
    finite = [c.score for c in candidates if math.isfinite(c.score)]
    floor = min(finite, default=0.0) - 1.0
    score = [c.score if math.isfinite(c.score) else floor for c in candidates]
    key = [(-math.inf if math.isnan(c.sharpe) else c.sharpe, c.id) for c in candidates]
    survivors = [i for i in range(n) if not blocked_pool[i].any()]
    order, order_exact = _order(survivors, ok, key)
    m = len(order)
    adj = [0] * m
    for p in range(m):
        for q in range(p + 1, m):
            if not ok[order[q], order[p]]:
                adj[p] |= 1 << q
                adj[q] |= 1 << p
    w = [score[i] for i in order]
    full = (1 << m) - 1
    exact = order_exact and all(comp.bit_count() <= exact_max for comp in _components(full, adj))
    if exact:
        best = _best(full, adj, w, quota, {})
        chosen = best[-1][1]
    else:
        chosen = _greedy(full, adj, w, quota)
    picks = [order[p] for p in _bits(chosen)]
    names = [f"#{c.id}" for c in candidates]
    entries = [_entry(k, picks, candidates, pool, cp, cc, ok, names, limit, sharpe_ratio) for k in range(len(picks))]
    skipped: list[Skipped] = []
    for i in range(n):
        c = candidates[i]
        if blocked_pool[i].any():
            j = max(np.nonzero(blocked_pool[i])[0].tolist(), key=lambda j: cp[i, j])
            skipped.append(Skipped(c.id, c.name, SkipCause.POOL, float(cp[i, j]), pool[j].name,
                                   f"correlation {cp[i, j]:.2f} with pool alpha {pool[j].name} and Sharpe "
                                   f"{s[i]:.2f} < {sharpe_ratio:g} × {sp[j]:.2f}"))
        elif i not in picks:
            p = order.index(i)
            rivals = _bits(adj[p] & chosen)
            if not rivals:
                skipped.append(Skipped(c.id, c.name, SkipCause.QUOTA, math.nan, None,
                                       f"over the quota: {quota} submission(s) already planned"))
                continue
            skipped.append(_conflict(i, p, rivals, order, chosen, candidates, cc, ok, w, names, exact, sharpe_ratio))
    return SubmissionPlan(tuple(entries), tuple(skipped), quota, len(pool), exact, limit, sharpe_ratio)


def _entry(k: int, picks: list[int], cands: Sequence[PlanCandidate], pool: Sequence[PoolEntry], cp: np.ndarray,
           cc: np.ndarray, ok: np.ndarray, names: list[str], limit: float, ratio: float) -> PlanEntry:
    """Why picks[k] is in the plan at position k + 1: its worst correlation at submission time (and the
    Sharpe margin when that is >= limit), and the later picks it must precede because only that order
    passes."""
    i, c = picks[k], cands[picks[k]]
    seen = [(float(cp[i, j]), f"pool alpha {p.name}", p.name, p.sharpe) for j, p in enumerate(pool)]
    seen += [(float(cc[i, e]), f"{names[e]} (planned earlier)", names[e], cands[e].sharpe) for e in picks[:k]]
    seen = [t for t in seen if not math.isnan(t[0])]
    corr, who, parts = math.nan, None, ["no PnL overlap with the pool or earlier picks" if pool or k else "first pick"]
    if seen:
        corr, label, who, _ = max(seen, key=lambda t: t[0])
        parts = [f"max correlation {corr:.2f} with {label}"]
        high = [t[3] for t in seen if t[0] >= limit]
        if high:  # passes only through the Sharpe rule: say against whom
            parts[0] += (f", passing because its Sharpe {c.sharpe:.2f} ≥ {ratio:g} × {max(high):.2f}"
                         + (f" (the highest of the {len(high)} alphas it correlates with at ≥ {limit:g})"
                            if len(high) > 1 else ""))
    before = [e for e in picks[k + 1:] if ok[e, i] and not ok[i, e]]
    if before:
        parts.append(f"submitted before {', '.join(names[e] for e in before)} because its Sharpe "
                     f"{c.sharpe:.2f} is lower and only that order passes (correlation "
                     f"{max(cc[e, i] for e in before):.2f})")
    return PlanEntry(c.id, c.name, k + 1, c.sharpe, c.score, c.status, corr, who, "; ".join(parts))


def _conflict(i: int, p: int, rivals: list[int], order: list[int], chosen: int, cands: Sequence[PlanCandidate],
              cc: np.ndarray, ok: np.ndarray, w: list[float], names: list[str], exact: bool,
              ratio: float) -> Skipped:
    """A candidate kept out by planned picks it cannot follow or precede, and what taking it instead of
    them would cost (fewer accepted alphas, or a lower total score)."""
    c = cands[i]
    pairs = [(order[q], i) if q > p else (i, order[q]) for q in rivals]  # (later, earlier) in the order
    later, earlier = max(pairs, key=lambda t: cc[t])
    j = later if later != i else earlier
    corr = float(cc[later, earlier])
    how = (f"neither Sharpe is ≥ {ratio:g} × the other ({c.sharpe:.2f} vs {cands[j].sharpe:.2f})"
           if not ok[earlier, later] else
           f"in the planned order Sharpe {cands[later].sharpe:.2f} < {ratio:g} × {cands[earlier].sharpe:.2f}")
    lost = len(rivals) - 1
    total = sum(w[q] for q in _bits(chosen))
    swap = total - sum(w[q] for q in rivals) + w[p]
    if lost > 0:
        cost = f"taking it instead would accept {lost} fewer alpha{'s' if lost > 1 else ''}"
    elif swap < total:
        cost = f"taking it instead would lower the total score ({total:.2f} → {swap:.2f})"
    else:
        cost = f"the {'exact' if exact else 'greedy'} search kept {', '.join(names[order[q]] for q in rivals)}"
    return Skipped(c.id, c.name, SkipCause.CONFLICT, corr, names[j],
                   f"conflicts with {names[j]} (correlation {corr:.2f}; {how}); {cost}")

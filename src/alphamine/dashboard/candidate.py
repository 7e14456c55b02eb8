"""What the candidate, correlation and memory pages show.

Why its own module: a candidate page is the one place the dashboard decodes a daily PnL (its chart and
period boundaries), walks a lineage family and replays the gate's decisions; the correlation page is
the run report's ready-set matrix (`sim.correlation.correlation_matrix`, the same alignment rules) on
demand; the memory page is `AlphaMemory.summary`, opened only when the memory file exists (a
read-only page must not create one).

Contract: only reads. Periods come from the stored result: search = the IS `train` block when a
validation window exists, else IS; validation = the `test` block; OS = `os_range`; each from the first
position day, as the gate reads them (`pipeline.validation`, `pipeline.trial_gate.search_range`).
A lineage tree holds at most `MAX_TREE` candidates (breadth first from the root).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alphamine.dashboard.charts import Band, heatmap_svg, pnl_chart_svg
from alphamine.dashboard.queries import METRICS, PERIODS, num
from alphamine.pipeline.trial_gate import TRIAL_CHECKS
from alphamine.pipeline.validation import has_validation
from alphamine.store import CandidateRow, GateRow, ResultRow, RunRow, Store
from alphamine.store.status import CandidateStatus

MAX_TREE = 200
BAND_COLORS = {"search": "#2563eb", "validation": "#9333ea", "OS": "#f59e0b"}


@dataclass
class TreeNode:
    id: int
    run_id: str
    status: str
    generator: str
    strategy: str | None
    expression: str
    current: bool
    on_path: bool  # an ancestor of the candidate shown (or the candidate)
    children: list[TreeNode] = field(default_factory=list)


def lineage_tree(store: Store, candidate: CandidateRow, limit: int = MAX_TREE) -> tuple[TreeNode, int]:
    """(the lineage family's tree from its root, nodes in it); breadth first, at most `limit` nodes,
    the path from the root to `candidate` always included."""
    chain = store.lineage(candidate.id)
    path = {r.id for r in chain}

    def node(r: CandidateRow) -> TreeNode:
        return TreeNode(r.id, r.run_id, r.status, r.generator, r.strategy, r.expression, r.id == candidate.id,
                        r.id in path)  # fmt: skip

    root = node(chain[0])
    count, queue = 1, deque([root])
    while queue:
        parent = queue.popleft()
        for child in store.children(parent.id):
            if count >= limit and child.id not in path:
                continue
            n = node(child)
            parent.children.append(n)
            queue.append(n)
            count += 1
    return root, count


def periods_of(res: ResultRow) -> list[Band]:
    """The search, validation and OS blocks of a result as panel row ranges (module doc), with dates."""
    first = res.first
    search = res.train_range if has_validation(res.test_range) else res.is_range
    spans = [("search", search), ("validation", res.test_range), ("OS", res.os_range)]
    out = []
    for name, (lo, hi) in spans:
        lo = max(int(lo), first)
        hi = int(hi)
        if hi > lo:
            out.append(Band(name, lo, hi, str(res.dates[lo])[:10], str(res.dates[hi - 1])[:10], BAND_COLORS[name]))
    return out


@dataclass
class CandidateView:
    row: CandidateRow
    run: RunRow | None
    result: ResultRow | None
    chart: str | None  # inline SVG (id="pnl-chart")
    bands: list[Band]
    metrics: list[dict[str, Any]]  # one row per metric: {name, is, train, test, os}
    yearly: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    gates: list[GateRow]
    tree: TreeNode
    tree_size: int
    final_pnl: float | None  # cumulative PnL over the chart, in $
    trial_checks: tuple[str, ...] = TRIAL_CHECKS


def candidate_view(store: Store, candidate_id: int) -> CandidateView:
    """The candidate page's facts; `NotFoundError` for an unknown id."""
    row = store.get_candidate(candidate_id)
    result = store.results_for([row.id]).get(row.id)
    tree, size = lineage_tree(store, row)
    chart, bands, final = None, [], None
    metrics: list[dict[str, Any]] = []
    if result is not None:
        bands = periods_of(result)
        dates, pnl = result.pnl_series()
        if np.size(pnl) >= 2:
            final = float(np.nansum(pnl))
            chart = pnl_chart_svg(dates, pnl, [b.shifted(result.first) for b in bands], title=f"#{row.id}")
        metrics = [{"name": m, **{p: num((result.metrics.get(p) or {}).get(m)) for p in PERIODS}} for m in METRICS]
    return CandidateView(
        row=row, run=store.get_run(row.run_id), result=result, chart=chart, bands=bands, metrics=metrics,
        yearly=list(result.yearly) if result else [], checks=list(result.checks) if result else [],
        gates=store.gate_history(row.id), tree=tree, tree_size=size, final_pnl=final,
    )  # fmt: skip


# ---------------------------------------------------------------- correlation of the ready set
@dataclass
class CorrelationView:
    ids: list[int]
    matrix: np.ndarray | None
    svg: str | None
    expressions: dict[int, str]
    max_pair: tuple[int, int, float] | None  # the most correlated distinct pair
    missing: list[int]  # ready candidates without a stored result


def ready_correlation(store: Store, run_id: str) -> CorrelationView:
    """The daily-PnL correlation matrix of the run's ready set (the run report's, on demand)."""
    from alphamine.sim.correlation import correlation_matrix

    ready = sorted(store.candidates(run_id=run_id, status=CandidateStatus.READY), key=lambda r: r.id)
    results = store.results_for([r.id for r in ready])
    ids = [r.id for r in ready if r.id in results]
    missing = [r.id for r in ready if r.id not in results]
    if not ids:
        return CorrelationView([], None, None, {}, None, missing)
    matrix = correlation_matrix([results[i].pnl_series() for i in ids])
    best: tuple[int, int, float] | None = None
    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            v = float(matrix[i, j])
            if np.isfinite(v) and (best is None or v > best[2]):
                best = (ids[i], ids[j], v)
    exprs = {r.id: r.expression for r in ready}
    return CorrelationView(ids, matrix, heatmap_svg(ids, matrix), exprs, best, missing)


# ---------------------------------------------------------------- memory
def memory_summary(runtime_root: Path, dataset: str | None, region: str | None) -> Any | None:
    """`AlphaMemory.summary` of the runtime root's memory, or None when no run has filled one yet."""
    from alphamine.store.memory import AlphaMemory
    from alphamine.store.memory_schema import MEMORY_FILENAME

    if not (runtime_root / MEMORY_FILENAME).is_file():
        return None
    with AlphaMemory.at_root(runtime_root) as memory:
        return memory.summary(dataset or None, region or None)

"""What the run pages show, read from the store: the runs list, one run's progress, and the candidates table.

Why some SQL of its own: the list pages must stay fast on stores with thousands of candidates, and the
store's row API decodes every candidate's settings and every result's daily PnL. Counting statuses per
run, reading only the metric blocks of results and grouping worker claims are single queries here,
over the store's own tables (`alphamine.store.schema`), matching results exactly as `results_for`
does: the candidate's (expr_hash, settings key) on its run's data fingerprint, the first stored wins.

Contract: every function only reads; ids and filters come in as plain values (the HTTP layer parses
them); a metric that is missing or not finite is None and sorts last in either order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from alphamine.store import RunRow, Store
from alphamine.store.base import chunks
from alphamine.store.schema import CANDIDATES, CLAIMS, RUNS, SIM_RESULTS
from alphamine.store.status import LINTED_STATUSES, PROMISING_STATUSES, SIMULATED_STATUSES, CandidateStatus

C, R, K = CANDIDATES.c, SIM_RESULTS.c, CLAIMS.c
METRICS = ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin")
PERIODS = {"is": "IS", "train": "search", "test": "validation", "os": "OS"}
TABLE_METRICS = ("is_sharpe", "is_fitness", "is_turnover", "test_sharpe", "os_sharpe", "os_fitness")
PLAIN_SORTS = ("id", "iteration", "status", "generator", "family", "priority")
SORTS = (*PLAIN_SORTS, *(f"{p}_{m}" for p in PERIODS for m in METRICS))
DEFAULT_LIMIT, MAX_LIMIT = 500, 5000


def utc_now() -> str:
    """Now in the store's timestamp format (compares with stored timestamps as text)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def run_dir(run: RunRow, runtime_root: Path) -> Path:
    """Where the run's reports and usage file live (the CLI's convention)."""
    return Path(run.runtime_root or runtime_root) / "runs" / run.run_id


def num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    return v if v == v and abs(v) != float("inf") else None


# ---------------------------------------------------------------- runs
@dataclass(frozen=True)
class RunSummary:
    run_id: str
    status: str
    created_at: str
    finished_at: str | None
    iteration: int  # 1-based: the iteration the run is in (or ended in)
    max_iterations: int | None
    candidates: int
    ready: int
    target_ready: int | None
    backend: str
    counts: Mapping[str, int]

    @property
    def live(self) -> bool:
        return self.status == "running"


def status_counts(store: Store, run_id: str | None = None) -> dict[str, Counter[str]]:
    """{run id: Counter(status -> candidates)} in one grouped query."""
    q = select(C.run_id, C.status, func.count()).group_by(C.run_id, C.status)
    if run_id is not None:
        q = q.where(C.run_id == run_id)
    out: dict[str, Counter[str]] = {}
    with store.engine.connect() as c:
        for rid, status, n in c.execute(q):
            out.setdefault(str(rid), Counter())[str(status)] = int(n)
    return out


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def summarize(run: RunRow, counts: Counter[str]) -> RunSummary:
    cfg = run.config or {}
    return RunSummary(
        run_id=run.run_id, status=str(run.status), created_at=str(run.created_at)[:19].replace("T", " "),
        finished_at=str(run.finished_at)[:19].replace("T", " ") if run.finished_at else None,
        iteration=int(run.iteration or 0) + 1, max_iterations=_int(cfg.get("max_iterations")),
        candidates=sum(counts.values()), ready=counts.get(CandidateStatus.READY, 0),
        target_ready=_int(cfg.get("target_ready")), backend=str(cfg.get("backend") or "local"), counts=dict(counts),
    )  # fmt: skip


def run_summaries(store: Store) -> list[RunSummary]:
    """Every run, newest first, with its candidate and ready counts."""
    counts = status_counts(store)
    return [summarize(r, counts.get(r.run_id, Counter())) for r in store.list_runs()]


def funnel_of(counts: Mapping[str, int]) -> dict[str, int]:
    """The run report's funnel (`pipeline.reporting.funnel`) from status counts."""
    return {
        "generated": sum(counts.values()),
        "linted": sum(n for s, n in counts.items() if s in LINTED_STATUSES),
        "simulated": sum(n for s, n in counts.items() if s in SIMULATED_STATUSES),
        "promising": sum(n for s, n in counts.items() if s in PROMISING_STATUSES),
        "ready": counts.get(CandidateStatus.READY, 0),
    }


@dataclass(frozen=True)
class WorkerClaims:
    """A worker's claims (on one run): the live view of who simulates what right now."""

    worker: str
    run_id: str
    live: int
    expired: int
    first_claimed: str
    last_expiry: str
    candidate_ids: tuple[int, ...]


def worker_claims(store: Store, run_id: str | None = None) -> list[WorkerClaims]:
    """Claims grouped by (worker, run), live ones first; a claim past its expiry was left by a worker that
    died or stalled (`store.claims`)."""
    q = select(K.worker, C.run_id, K.candidate_id, K.claimed_at, K.expires_at).join(CANDIDATES, C.id == K.candidate_id)
    if run_id is not None:
        q = q.where(C.run_id == run_id)
    now = utc_now()
    groups: dict[tuple[str, str], list[Any]] = {}
    with store.engine.connect() as c:
        for row in c.execute(q.order_by(K.candidate_id)):
            groups.setdefault((str(row.worker), str(row.run_id)), []).append(row)
    out = [
        WorkerClaims(worker, rid, sum(r.expires_at > now for r in rows), sum(r.expires_at <= now for r in rows),
                     min(r.claimed_at for r in rows)[:19].replace("T", " "),
                     max(r.expires_at for r in rows)[:19].replace("T", " "),
                     tuple(int(r.candidate_id) for r in rows))
        for (worker, rid), rows in groups.items()
    ]  # fmt: skip
    return sorted(out, key=lambda w: (w.live == 0, w.worker, w.run_id))


@dataclass
class RunDetail:
    summary: RunSummary
    run: RunRow
    funnel: dict[str, int]
    stages: list[Any]  # StageRow
    running_stages: list[Any]
    timings: list[Any]  # pipeline.timings.StageTiming
    cost: dict[str, Any]
    workers: list[WorkerClaims]
    running_tasks: list[Any]  # TaskRow
    queue: tuple[int, int]  # (queued candidates, of them claimed live)
    total_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def run_detail(store: Store, run: RunRow, runtime_root: Path) -> RunDetail:
    """Everything the run page shows (progress, stages and their time, cost per ready alpha, live work)."""
    from alphamine.pipeline.run_usage import cost_per_ready
    from alphamine.pipeline.timings import stage_timings_of

    counts = status_counts(store, run.run_id).get(run.run_id, Counter())
    stages = store.stages(run.run_id)
    timings = stage_timings_of(stages)
    notes = [run.notes] if run.notes else []
    return RunDetail(
        summary=summarize(run, counts), run=run, funnel=funnel_of(counts), stages=stages,
        running_stages=[s for s in stages if s.status == "running"], timings=timings,
        cost=cost_per_ready(store, run.run_id, run_dir(run, runtime_root)),
        workers=worker_claims(store, run.run_id),
        running_tasks=[t for t in store.tasks(run.run_id) if t.status == "running"],
        queue=store.queue_depth(run.run_id), total_seconds=sum(t.seconds for t in timings), notes=notes,
    )  # fmt: skip


# ---------------------------------------------------------------- candidates table
def metric_blocks(store: Store, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """{candidate id: its result's metrics {period: {name: value}}} without decoding any PnL array."""
    out: dict[int, dict[str, Any]] = {}
    with store.engine.connect() as c:
        for part in chunks(list(ids)):
            same = (
                (R.expr_hash == C.expr_hash)
                & (R.settings_key == C.settings_key)
                & (R.data_fingerprint == RUNS.c.data_fingerprint)
            )
            q = (
                select(C.id, R.metrics)
                .select_from(CANDIDATES)
                .join(RUNS, RUNS.c.run_id == C.run_id)
                .join(SIM_RESULTS, same)
                .where(C.id.in_(part))
                .order_by(R.id)
            )
            for cid, metrics in c.execute(q):
                out.setdefault(int(cid), dict(metrics or {}))
    return out


@dataclass(frozen=True)
class TableQuery:
    """The candidates table's filters and order, as the query string gives them."""

    status: tuple[str, ...] = ()
    family: int | None = None
    generator: str | None = None
    sort: str = "is_sharpe"
    order: str = "desc"
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def params(self, **change: Any) -> dict[str, Any]:
        """The query string of this view with some parameters changed (links: sort headers, pages)."""
        out: dict[str, Any] = {
            "status": list(self.status),
            "family": self.family,
            "generator": self.generator,
            "sort": self.sort,
            "order": self.order,
            "limit": self.limit,
            "offset": self.offset,
        }
        out.update(change)
        return {k: v for k, v in out.items() if v not in (None, "", [])}


def parse_table_query(params: Mapping[str, Any], statuses: Sequence[str]) -> TableQuery:
    """A `TableQuery` from the query string (`status` may repeat or be comma-separated); ValueError with a
    short reason for a value that cannot mean anything."""
    raw = params.get("status") or []
    wanted = tuple(dict.fromkeys(s.strip().lower() for v in ([raw] if isinstance(raw, str) else raw)
                                 for s in str(v).split(",") if s.strip()))  # fmt: skip
    family = params.get("family") or None
    if family is not None and not str(family).lstrip("#").isdigit():
        raise ValueError(f"family must be a candidate id (the root of a lineage family), got {family!r}")
    sort = str(params.get("sort") or "is_sharpe")
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    order = str(params.get("order") or ("asc" if sort in ("id", "iteration", "status", "generator") else "desc"))
    if order not in ("asc", "desc"):
        raise ValueError("order must be asc or desc")
    try:
        limit = min(max(int(params.get("limit") or DEFAULT_LIMIT), 1), MAX_LIMIT)
        offset = max(int(params.get("offset") or 0), 0)
    except ValueError:
        raise ValueError("limit and offset must be whole numbers") from None
    unknown = [s for s in wanted if s not in statuses]
    if unknown:
        raise ValueError(f"unknown status {unknown[0]!r}; one of {', '.join(statuses)}")
    return TableQuery(wanted, int(str(family).lstrip("#")) if family else None,
                      str(params.get("generator") or "").strip() or None, sort, order, limit, offset)  # fmt: skip


@dataclass
class CandidateTable:
    query: TableQuery
    rows: list[dict[str, Any]]  # the page
    matched: int  # rows passing the filters
    total: int  # candidates in the run
    generators: list[tuple[str, str]]  # (filter value, label): each `prefix:*` group, then each generator
    families: list[tuple[int, int]]  # (root id, members), largest first


def _generator_matches(generator: str, wanted: str) -> bool:
    """`template` matches every `template:<name>`; anything else must match exactly."""
    return generator == wanted or generator.startswith(wanted + ":")


def _generator_options(generators: set[str]) -> list[tuple[str, str]]:
    prefixes = sorted({g.split(":")[0] for g in generators if ":" in g})
    return [(p, f"{p}:*") for p in prefixes] + [(g, g) for g in sorted(generators)]


def candidate_table(store: Store, run_id: str, query: TableQuery) -> CandidateTable:
    """The run's candidates filtered, sorted (None last) and paged as `query` says."""
    cands = store.candidates(run_id=run_id)
    blocks = metric_blocks(store, [c.id for c in cands if c.status in SIMULATED_STATUSES])
    families = Counter(c.root_id if c.root_id is not None else c.id for c in cands)
    rows = []
    for c in cands:
        family = c.root_id if c.root_id is not None else c.id
        if query.status and c.status not in query.status:
            continue
        if query.family is not None and family != query.family:
            continue
        if query.generator and not _generator_matches(c.generator, query.generator):
            continue
        m = blocks.get(c.id, {})
        row: dict[str, Any] = {"id": c.id, "iteration": c.iteration + 1, "status": c.status, "generator": c.generator,
                               "family": family, "family_size": families[family], "depth": c.depth,
                               "parent_id": c.parent_id, "priority": c.priority, "expression": c.expression,
                               "has_result": bool(m)}  # fmt: skip
        for p in PERIODS:
            for name in METRICS:
                row[f"{p}_{name}"] = num((m.get(p) or {}).get(name))
        rows.append(row)
    ordered = sorted(rows, key=lambda r: r["id"])
    present = [r for r in ordered if r[query.sort] is not None]
    present.sort(key=lambda r: r[query.sort], reverse=query.order == "desc")
    ordered = present + [r for r in ordered if r[query.sort] is None]
    return CandidateTable(
        query=query, rows=ordered[query.offset : query.offset + query.limit], matched=len(ordered),
        total=len(cands), generators=_generator_options({c.generator for c in cands}),
        families=sorted(((f, n) for f, n in families.items() if n > 1), key=lambda fn: (-fn[1], fn[0])),
    )  # fmt: skip

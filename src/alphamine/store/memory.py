"""Alpha memory across runs: what kinds of candidates worked before, so the next run proposes more of
them and fewer of what kept failing.

Why: every run starts from the same priors (the theme sampler only knows how *often* a field was
tried, not whether it ever worked). The memory keeps, per candidate of every ingested run, its keys
(dataset, region, field families, operators, operator skeleton, template family, thesis type, prompt
version) and its outcome (`memory_schema`: pools, outcome values, failure modes, hard failures), in its
own file `<runtime-root>/alpha_memory.sqlite3`.

Contracts:
- `ingest(store, run_id)` reads the store, never writes it, and replaces the run's evidence in one
  transaction: re-ingesting a run (a resumed run, a revoked ready) gives the same rows, never doubles.
- Only `learnable` rows (decided simulations) enter success rates; generated-but-untested candidates
  are counted per key and per run and never dilute a rate.
- Scoring, per key: every row weighs `0.5 ** (age_days / half_life_days)` (age from the candidate's
  last status change to `now`); the key's rate is the Beta-shrunk weighted mean
  `(K * prior + sum w * outcome) / (K + sum w)` with `K = prior_strength` pseudo-rows at `prior`, the
  weighted mean outcome of the whole scope (dataset and region): a key seen twice says little, a key
  seen 50 times speaks for itself. The hard-failure rate is shrunk the same way (over learnable and
  invalid rows) toward the scope's hard-failure rate. A candidate's `memory_score` is the mean over
  its dimensions of the mean rate of its values in that dimension (an unseen value counts as the
  prior); `memory_risk_penalty` is how far its risk, likewise averaged, exceeds the scope's.
- `memory_weight(score) = clip(exp(SCORE_WEIGHT * (memory_score - prior) - RISK_WEIGHT *
  memory_risk_penalty), MIN_WEIGHT, MAX_WEIGHT)`, exactly 1.0 when nothing is known (`n == 0`): an
  empty memory changes nothing, and no memory can more than halve or add half to a sampling weight.
  With SCORE_WEIGHT 3, a candidate scoring 10 points above the prior is drawn ~1.35x as often; with
  RISK_WEIGHT 2, 10 points of excess hard-failure risk cost ~0.82x.

Layout: `memory_schema` (tables, keys, how a candidate counts, summary records), `memory_ingest` (what
a run contributes, read from the store), this module (the file, scoring, the summary).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from alphamine.store.base import StoreBase, chunks, make_engine, resolve_url
from alphamine.store.damage import store_label
from alphamine.store.errors import StoreError
from alphamine.store.memory_ingest import collect
from alphamine.store.memory_schema import (
    EVIDENCE,
    INVALID,
    KEYS,
    KINDS,
    LEARNABLE,
    MEMORY_FILENAME,
    MEMORY_RUNS,
    REPAIRS,
    TABLES,
    FailureRow,
    KeyRow,
    MemoryKeys,
    MemoryRun,
    MemorySummary,
    RepairMemory,
    candidate_keys,
    migrate_memory,
)

if TYPE_CHECKING:
    from alphamine.store import Store

DEFAULT_HALF_LIFE_DAYS = 90.0
PRIOR_STRENGTH = 4.0  # pseudo-rows at the scope's rate behind every key
DEFAULT_PRIOR = 0.1  # the success prior of a scope without evidence (the weight is 1.0 there anyway)
SCORE_WEIGHT = 3.0
RISK_WEIGHT = 2.0
MIN_WEIGHT, MAX_WEIGHT = 0.5, 1.5


def recency_weight(age_days: float, half_life_days: float) -> float:
    """`0.5 ** (age / half-life)`; a future timestamp counts as now, a half-life <= 0 means no decay."""
    return 1.0 if half_life_days <= 0 else 0.5 ** (max(0.0, age_days) / half_life_days)


def shrunk(total: float, weight: float, prior: float, strength: float = PRIOR_STRENGTH) -> float:
    """The Beta(strength * prior, strength * (1 - prior)) posterior mean after `weight` rows summing to
    `total`: the prior with no rows, the rows' own mean as they outnumber `strength`."""
    return (strength * prior + total) / (strength + weight) if strength + weight > 0 else prior


@dataclass(frozen=True)
class MemoryScore:
    """A candidate's memory (module doc): `n` rows behind its best-known key (0: nothing known)."""

    memory_score: float
    memory_risk_penalty: float
    n: int
    prior: float


def memory_weight(score: MemoryScore) -> float:
    """The factor a sampler multiplies into its weight, in [MIN_WEIGHT, MAX_WEIGHT]; 1.0 when n == 0."""
    if score.n == 0:
        return 1.0
    x = SCORE_WEIGHT * (score.memory_score - score.prior) - RISK_WEIGHT * score.memory_risk_penalty
    return min(MAX_WEIGHT, max(MIN_WEIGHT, math.exp(x)))


@dataclass(frozen=True)
class KeyStats:
    """One key's evidence: learnable rows `n` (raw `ready`, `outcome_sum`; recency-weighted `weight`,
    `success`), the risk pool (learnable + invalid: raw `risk_n`, `hard_n`; weighted `risk_weight`,
    `hard`) and `untested` (proposed, never judged: untested and undecided)."""

    kind: str
    value: str
    n: int = 0
    ready: int = 0
    outcome_sum: float = 0.0
    weight: float = 0.0
    success: float = 0.0
    risk_n: int = 0
    hard_n: int = 0
    risk_weight: float = 0.0
    hard: float = 0.0
    untested: int = 0


@dataclass(frozen=True)
class MemoryTable:
    """The aggregated memory of one scope at one moment: build once (`AlphaMemory.table`), score many."""

    stats: Mapping[tuple[str, str], KeyStats]
    prior: float
    risk_prior: float
    strength: float = PRIOR_STRENGTH
    counts: Mapping[str, int] | None = None  # rows per pool

    def rate(self, kind: str, value: str) -> float:
        s = self.stats.get((kind, value))
        return self.prior if s is None else shrunk(s.success, s.weight, self.prior, self.strength)

    def risk(self, kind: str, value: str) -> float:
        s = self.stats.get((kind, value))
        return self.risk_prior if s is None else shrunk(s.hard, s.risk_weight, self.risk_prior, self.strength)

    def score(self, keys: MemoryKeys) -> MemoryScore:
        rates, risks, n = [], [], 0
        for kind, values in keys.dimensions():
            rates.append(sum(self.rate(kind, v) for v in values) / len(values))
            risks.append(sum(self.risk(kind, v) for v in values) / len(values))
            n = max(n, *(s.risk_n for v in values if (s := self.stats.get((kind, v))) is not None), 0)
        if n == 0:
            return MemoryScore(self.prior, 0.0, 0, self.prior)
        penalty = max(0.0, sum(risks) / len(risks) - self.risk_prior)
        return MemoryScore(sum(rates) / len(rates), penalty, n, self.prior)


# ------------------------------------------------------------------------------------------ the memory
class AlphaMemory(StoreBase):
    """The memory file (module doc). `half_life_days` and `prior_strength` tune scoring only."""

    def __init__(self, path: str | Path, *, half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
                 prior_strength: float = PRIOR_STRENGTH) -> None:
        target = Path(path) / MEMORY_FILENAME if Path(path).is_dir() else path
        try:
            url = resolve_url(target)
        except OSError as e:
            raise StoreError(f"cannot create the alpha memory at {target} ({e.strerror or e})") from e
        self.engine = make_engine(url)
        self.where = store_label(url)
        self.half_life_days = float(half_life_days)
        self.prior_strength = float(prior_strength)
        try:
            migrate_memory(self.transaction, lambda: self._read(None), self.where)
        except BaseException:
            self.engine.dispose()
            raise

    @classmethod
    def at_root(cls, runtime_root: str | Path, **kw: Any) -> AlphaMemory:
        """The memory of a runtime root: `<runtime-root>/alpha_memory.sqlite3`."""
        return cls(Path(runtime_root) / MEMORY_FILENAME, **kw)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> AlphaMemory:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -------------------------------------------------------------------- ingest
    def ingest(self, store: Store, run_id: str, *, catalogue: Mapping[str, Any] | None = None) -> int:
        """Replace `run_id`'s evidence with what `store` holds now; returns the candidates recorded.
        `catalogue` (the run's, when the caller has it) names field families; else `cheap_catalogue`."""
        found = collect(store, run_id, catalogue)
        with self.transaction() as conn:
            for t in TABLES:
                conn.execute(delete(t).where(t.c.run_id == run_id))
            conn.execute(insert(MEMORY_RUNS).values(**found.run))
            for table, values in ((EVIDENCE, found.evidence), (KEYS, found.keys), (REPAIRS, found.repairs)):
                for part in chunks(values):
                    conn.execute(insert(table), list(part))
        return len(found.evidence)

    # -------------------------------------------------------------------- read
    def table(self, dataset: str | None = None, region: str | None = None, *,
              now: dt.datetime | None = None, kinds: Sequence[str] = KINDS) -> MemoryTable:
        """The memory of a scope (None: every dataset / region) as of `now` (default: the clock)."""
        now = now or dt.datetime.now(dt.UTC)
        E, K = EVIDENCE.c, KEYS.c
        scope = [c == v for c, v in ((E.dataset, dataset), (E.region, region and region.upper())) if v]
        with self._read(None) as c:
            rows = c.execute(select(E.run_id, E.candidate_id, E.observed_at, E.pool, E.outcome, E.hard).where(*scope))
            ev = {(r.run_id, r.candidate_id): (r.pool, r.outcome, bool(r.hard), self._weight(r.observed_at, now))
                  for r in rows}
            join = (E.run_id == K.run_id) & (E.candidate_id == K.candidate_id)
            kq = select(K.run_id, K.candidate_id, K.kind, K.value).join(EVIDENCE, join).where(*scope, K.kind.in_(kinds))
            acc: dict[tuple[str, str], list[float]] = {}
            for run_id, cid, kind, value in c.execute(kq):
                _add(acc.setdefault((kind, value), [0.0] * 10), *ev[(run_id, cid)])
        total = [0.0] * 10
        for e in ev.values():
            _add(total, *e)
        prior = total[4] / total[3] if total[3] > 0 else DEFAULT_PRIOR
        risk_prior = total[8] / total[7] if total[7] > 0 else 0.0
        stats = {k: KeyStats(k[0], k[1], int(a[0]), int(a[1]), a[2], a[3], a[4], int(a[5]), int(a[6]), a[7], a[8],
                             int(a[9])) for k, a in acc.items()}
        counts: dict[str, int] = {}
        for e in ev.values():
            counts[e[0]] = counts.get(e[0], 0) + 1
        return MemoryTable(stats, prior, risk_prior, self.prior_strength, counts)

    def score(self, keys: MemoryKeys, *, now: dt.datetime | None = None) -> MemoryScore:
        """One candidate's score in its own scope (dataset, region); to score many, `weigher` or `table`."""
        return self.table(keys.dataset or None, keys.region or None, now=now).score(keys)

    def weigher(self, dataset: str, region: str, catalogue: Mapping[str, Any] | None = None, *,
                now: dt.datetime | None = None) -> Callable[[Any], float]:
        """`candidate -> memory_weight` over the scope's memory read once now (the theme sampler's hook:
        multiply it into `novelty`). A `Candidate` or `CandidateRow`; `catalogue` names field families."""
        t = self.table(dataset, region, now=now)
        return lambda c: memory_weight(t.score(candidate_keys(c, dataset=dataset, catalogue=catalogue)))

    def runs(self, dataset: str | None = None, region: str | None = None, *,
             limit: int | None = None) -> list[MemoryRun]:
        """Ingested runs of the scope, newest first."""
        R = MEMORY_RUNS.c
        q = select(MEMORY_RUNS).where(*[c == v for c, v in ((R.dataset, dataset), (R.region, region and region.upper()))
                                        if v])
        with self._read(None) as c:
            found = c.execute(q.order_by(R.run_created_at.desc(), R.run_id).limit(limit)).mappings()
            return [MemoryRun(**dict(m)) for m in found]

    def summary(self, dataset: str | None = None, region: str | None = None, *,
                now: dt.datetime | None = None, limit: int = 20) -> MemorySummary:
        """What the memory knows about a scope, each section by evidence (most simulated first), `limit`
        rows each."""
        region = region.upper() if region else None
        t = self.table(dataset, region, now=now, kinds=(*KINDS, "failure_mode"))
        by_kind: dict[str, list[KeyStats]] = {}
        for s in t.stats.values():
            by_kind.setdefault(s.kind, []).append(s)

        def rows(kind: str) -> list[KeyRow]:
            found = sorted(by_kind.get(kind, []), key=lambda s: (-s.n, -s.untested, s.value))[:limit]
            return [KeyRow(s.value, s.n, s.ready, s.untested, s.outcome_sum / s.n if s.n else None,
                           t.rate(kind, s.value), s.hard_n / s.risk_n if s.risk_n else None) for s in found]

        judged = (t.counts or {}).get(LEARNABLE, 0) + (t.counts or {}).get(INVALID, 0)
        modes = sorted(by_kind.get("failure_mode", []), key=lambda s: (-s.risk_n, s.value))[:limit]
        return MemorySummary(
            dataset, region, self.half_life_days, t.prior, t.risk_prior, dict(t.counts or {}),
            field_families=rows("field_family"), operators=rows("operator"), skeletons=rows("skeleton"),
            templates=rows("template"), thesis_types=rows("thesis"), prompts=rows("prompt"),
            failure_modes=[FailureRow(s.value, s.risk_n, s.risk_n / judged if judged else 0.0) for s in modes],
            repairs=self._repairs(dataset, region)[:limit], recent_runs=self.runs(dataset, region, limit=limit),
        )

    def _repairs(self, dataset: str | None, region: str | None) -> list[RepairMemory]:
        P = REPAIRS.c
        q = select(P.check_name, P.move, P.fixed).where(*[c == v for c, v in ((P.dataset, dataset),
                                                                                 (P.region, region)) if v])
        counts: dict[tuple[str, str], list[int]] = {}
        with self._read(None) as c:
            for check, move, fixed in c.execute(q):
                n = counts.setdefault((check, move), [0, 0, 0])
                n[0], n[1], n[2] = n[0] + 1, n[1] + (fixed is not None), n[2] + (fixed == 1)
        out = [RepairMemory(ch, mv, a, j, f, f / j if j else None) for (ch, mv), (a, j, f) in counts.items()]
        return sorted(out, key=lambda r: (-r.attempts, r.check, r.move))

    def _weight(self, observed_at: str, now: dt.datetime) -> float:
        try:
            then = dt.datetime.fromisoformat(observed_at)
        except ValueError:
            return 1.0
        then = then if then.tzinfo else then.replace(tzinfo=dt.UTC)
        return recency_weight((now - then).total_seconds() / 86400.0, self.half_life_days)


def _add(a: list[float], pool: str, outcome: float | None, hard: bool, w: float) -> None:
    """Accumulate one row into [n, ready, outcome_sum, weight, success, risk_n, hard_n, risk_w, hard, untested]."""
    if pool == LEARNABLE and outcome is not None:
        a[0] += 1
        a[1] += outcome >= 1.0
        a[2] += outcome
        a[3] += w
        a[4] += w * outcome
    if pool in (LEARNABLE, INVALID):
        a[5] += 1
        a[6] += hard
        a[7] += w
        a[8] += w * hard
    else:
        a[9] += 1

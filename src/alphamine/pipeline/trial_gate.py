"""The trial-aware half of SUBMIT_GATE: rules that know how many things were tried.

Why: a run simulates hundreds of variants and the platform-style checks pass the luckiest of them.
For each candidate the gate judges, this module computes and records (as extra check objects, so the
store, `candidates show` and the reports show them beside the platform's checks):

- DEFLATED_SHARPE: the deflated Sharpe ratio (Bailey & López de Prado 2014) of the search-period
  Sharpe, and the probabilistic Sharpe ratio against 0. The trials are counted twice and both are
  recorded: the candidate's lineage family (every simulation derived from the same root: the variants,
  repairs and optimizations tried on this one idea) and the whole run. The rule deflates by the family:
  its effective number of independent trials (`research.sharpe_stats.effective_trials`; near-identical
  variants count as one) and the variance of the family's search-period Sharpe ratios. The run-wide
  DSR (`run_dsr`) is recorded beside it but not required: across a run the trials are mostly different
  ideas with real, different Sharpe ratios, so their variance measures skill dispersion, not noise,
  and the run-wide SR0 (~2.5 annualized on the sample) rejects every alpha; the selection across ideas
  is what the validation window guards against. Passes at DSR >= `min_dsr`.
- VALIDATION_SHARPE: the validation (IS `test` block) Sharpe > 0 and >= `min_validation_ratio` x the
  search Sharpe.
- YEARLY_STABILITY: the share of IS years (of at least 60 days) with positive PnL >= `min_positive_years`,
  with each year's Sharpe.
- DATA_FRESHNESS: no field the alpha reads is stale (STALE_DATA's share above its limit) in the
  validation window or in OS: a search-period edge that comes from values which stop updating later
  is not an edge (field dates are data availability, not performance: no OS return is read).
- READY_SET_CORRELATION (`gate.diversity_check`): pairwise below 0.7 within the ready pool, without the
  platform's 1.1x-Sharpe exception.

Nothing here reads OS performance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alphamine.pipeline.config import GateConfig
from alphamine.pipeline.validation import has_validation, search_metrics
from alphamine.research.sharpe_stats import (
    TrialStats,
    daily_sharpe,
    daily_sharpes,
    deflated_sharpe_ratio,
    effective_trials,
    pnl_moments,
    probabilistic_sharpe_ratio,
)
from alphamine.research.stability import stability
from alphamine.sim.checks import check
from alphamine.store import CandidateRow, ResultRow

TRIAL_CHECKS = ("DEFLATED_SHARPE", "VALIDATION_SHARPE", "YEARLY_STABILITY", "DATA_FRESHNESS",
                "READY_SET_CORRELATION")
STALE_PERIODS = ("test", "os")  # where a stale field holds a candidate back


def search_range(res: ResultRow) -> tuple[int, int]:
    """Panel rows of the search period (IS without validation), from the first position day."""
    lo, hi = res.train_range if has_validation(res.test_range) else res.is_range
    lo = max(int(lo), int(res.first))
    return (lo, int(hi)) if hi > lo else (0, 0)


@dataclass(frozen=True)
class TrialSet:
    """Trials behind a selection: how many, how many effectively independent, and the variance of their
    daily search-period Sharpe ratios."""

    n: int
    effective: float
    sr_variance: float


@dataclass
class Trials:
    """The run's trials as the gate sees them: one column of search-period daily PnL per simulation,
    grouped by lineage family (root candidate)."""

    run: TrialSet
    matrix: np.ndarray = field(repr=False)  # (T, K) search-period daily PnL, NaN outside
    sharpes: np.ndarray = field(repr=False)  # (K,) daily Sharpe ratios
    columns: dict[int, list[int]] = field(default_factory=dict)  # root id -> columns
    _families: dict[int, TrialSet] = field(default_factory=dict, repr=False)

    def family(self, row: CandidateRow) -> TrialSet:
        root = row.root_id if row.root_id is not None else row.id
        if root not in self._families:
            cols = self.columns.get(root, [])
            self._families[root] = _trial_set(self.matrix[:, cols], self.sharpes[cols]) if cols else TrialSet(
                1, 1.0, 0.0)
        return self._families[root]


def _trial_set(matrix: np.ndarray, sharpes: np.ndarray) -> TrialSet:
    finite = sharpes[np.isfinite(sharpes)]
    variance = float(np.var(finite, ddof=1)) if finite.size > 1 else 0.0
    effective = float(effective_trials(matrix)) if matrix.shape[1] > 1 else 1.0
    return TrialSet(int(matrix.shape[1]), effective, variance)


def run_trials(rows: Sequence[CandidateRow], results: Mapping[int, ResultRow]) -> Trials:
    """`Trials` of every simulated candidate of a run (`rows` with a result in `results`)."""
    have = [r for r in rows if r.id in results]
    length = max((results[r.id].pnl.size for r in have), default=0)
    matrix = np.full((length, len(have)), np.nan)
    columns: dict[int, list[int]] = {}
    for k, r in enumerate(have):
        res = results[r.id]
        lo, hi = search_range(res)
        matrix[lo:hi, k] = res.pnl[lo:hi]
        columns.setdefault(r.root_id if r.root_id is not None else r.id, []).append(k)
    sharpes = daily_sharpes(matrix) if have else np.zeros(0)
    run = _trial_set(matrix, sharpes) if have else TrialSet(0, 1.0, 0.0)
    return Trials(run, matrix, sharpes, columns)


def trial_stats(row: CandidateRow, res: ResultRow, trials: TrialSet, n_run: int, n_family: int) -> TrialStats:
    """PSR and the DSR deflated by `trials` (the family's or the run's) for one candidate."""
    lo, hi = search_range(res)
    pnl = res.pnl[lo:hi]
    n_obs = int(np.isfinite(pnl).sum())
    sr = daily_sharpe(pnl)
    skew, kurt = pnl_moments(pnl)
    annual = search_metrics(res.metrics, res.test_range).get("sharpe")
    return TrialStats(
        n_trials_family=n_family,
        n_trials_run=n_run,
        effective_trials=trials.effective,
        sr_variance_daily=trials.sr_variance,
        skew=skew,
        kurtosis=kurt,
        search_sharpe=float(annual) if annual is not None else math.nan,
        psr=probabilistic_sharpe_ratio(sr, 0.0, n_obs, skew, kurt),
        dsr=deflated_sharpe_ratio(sr, n_obs, skew, kurt, trials.effective, trials.sr_variance),
    )


def _f(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _round(value: float, digits: int = 4) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def trial_checks(row: CandidateRow, res: ResultRow, trials: Trials, gate: GateConfig,
                 checks: Sequence[Mapping[str, Any]] = (),
                 field_shares: Mapping[str, Mapping[str, float]] | None = None) -> list[dict[str, Any]]:
    """The four trial-aware check objects for one candidate (PASS / FAIL with limit, value and the
    numbers behind them). DATA_FRESHNESS reads `field_shares` (`validation.field_staleness`: data
    availability of the fields the candidate reads) when given, else the simulation's STALE_DATA in
    `checks` (which weighs the alpha's own positions, and so moves with OS prices)."""
    fam = trials.family(row)
    stats = trial_stats(row, res, fam, trials.run.n, fam.n)
    whole = trial_stats(row, res, trials.run, trials.run.n, fam.n)
    out = [
        check("DEFLATED_SHARPE", "PASS" if stats.dsr >= gate.min_dsr else "FAIL", gate.min_dsr,
              _round(stats.dsr), psr=_round(stats.psr), trials=stats.to_json(),
              run_dsr=_round(whole.dsr), run_trials=whole.to_json()),
    ]
    search_sr = stats.search_sharpe
    if has_validation(res.test_range):
        val = _f(res.metrics.get("test", {}).get("sharpe"))
        limit = max(0.0, gate.min_validation_ratio * search_sr) if math.isfinite(search_sr) else math.nan
        ok = math.isfinite(val) and val > 0 and val >= limit
        ratio = val / search_sr if math.isfinite(val) and search_sr and math.isfinite(search_sr) else math.nan
        out.append(check("VALIDATION_SHARPE", "PASS" if ok else "FAIL", _round(limit), _round(val),
                         search_sharpe=_round(search_sr), ratio=_round(ratio)))
    else:
        out.append(check("VALIDATION_SHARPE", "PENDING", message="no validation window (validationPeriod none)"))
    lo, hi = max(res.is_range[0], res.first), res.is_range[1]
    st = stability(res.dates, res.pnl, lo, hi)
    frac = st.positive_fraction
    out.append(check("YEARLY_STABILITY", "PASS" if frac >= gate.min_positive_years else "FAIL",
                     gate.min_positive_years, _round(frac),
                     years={str(y.year): _round(y.sharpe, 3) for y in st.years}))
    if field_shares is not None:
        used = {f: dict(field_shares[f]) for f in row.fields if f in field_shares}
        checks = [{"name": "STALE_DATA", "fields": used}]
    out.append(freshness_check(checks, gate))
    return out


def freshness_check(checks: Sequence[Mapping[str, Any]], gate: GateConfig) -> dict[str, Any]:
    """DATA_FRESHNESS from the simulation's STALE_DATA check: FAIL when a field's stale share exceeds
    the limit in validation or OS."""
    stale = next((c for c in checks if c.get("name") == "STALE_DATA"), None)
    if stale is None:
        return check("DATA_FRESHNESS", "PENDING", message="no STALE_DATA check in this simulation")
    worst, where = 0.0, []
    for name, shares in (stale.get("fields") or {}).items():
        for period in STALE_PERIODS:
            share = _f((shares or {}).get(period))
            if math.isfinite(share) and share > gate.stale_max_share:
                where.append(f"{name} {share:.0%} stale in {'validation' if period == 'test' else 'OS'}")
                worst = max(worst, share)
    if where:
        return check("DATA_FRESHNESS", "FAIL", gate.stale_max_share, round(worst, 4), message="; ".join(where))
    return check("DATA_FRESHNESS", "PASS", gate.stale_max_share, 0.0)


def gate_score(res: ResultRow) -> float:
    """How the gate orders candidates (the ready set is built greedily under the correlation rule): the
    smaller of the search and validation fitness, so an alpha must be good in both; IS fitness when
    there is no validation window."""
    search = _f(search_metrics(res.metrics, res.test_range).get("fitness"))
    if not has_validation(res.test_range):
        return search if math.isfinite(search) else -math.inf
    val = _f(res.metrics.get("test", {}).get("fitness"))
    both = [x for x in (search, val) if math.isfinite(x)]
    return min(both) if len(both) == 2 else -math.inf


def family_cap(n_ready: int, share: float) -> int:
    """The most ready alphas one lineage family may hold in a ready set of `n_ready`: at least one."""
    return max(1, math.floor(n_ready * share + 1e-9))


def over_cap(families: Mapping[int, Sequence[tuple[float, int]]], share: float) -> list[int]:
    """Candidate ids to hold back so that no family holds more than `share` of the ready set: repeatedly
    drop the lowest-scoring member of the largest family above the cap. `families`: root id ->
    [(score, candidate id)] of ready members."""
    members = {root: sorted(items, reverse=True) for root, items in families.items()}
    dropped: list[int] = []
    while True:
        n = sum(len(v) for v in members.values())
        cap = family_cap(n, share)
        worst = max(members, key=lambda k: (len(members[k]), -k), default=None)
        if worst is None or len(members[worst]) <= cap:
            return dropped
        _score, cid = members[worst].pop()
        dropped.append(cid)

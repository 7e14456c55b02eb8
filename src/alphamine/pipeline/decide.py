"""DECIDE and SUBMIT_GATE rules: pure functions of stored results (IS only; never OS).

Verdicts: `gate_pending` (passes every simulation check; SELF_CORRELATION is decided at the gate),
`promising` (worth enhancing: decent Sharpe and fitness, or a strongly negative Sharpe to flip),
`rejected` (with the failing checks as reasons). The gate turns `gate_pending` into `ready` or back
into `promising`, and never submits anything anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alphamine.generate.candidate import Evidence
from alphamine.sim import checks as C
from alphamine.store.status import CandidateStatus

PROMISING_SHARPE = 1.0
PROMISING_FITNESS = 0.5
FLIP_SHARPE = -1.0
PRUNE_CORRELATION = 0.7  # parents correlated above this with a better parent are not varied
IGNORED_AT_DECIDE = {"SELF_CORRELATION"}  # decided at the gate against the accepted pool


@dataclass(frozen=True)
class Verdict:
    status: CandidateStatus
    reasons: tuple[str, ...]


def failed_checks(checks: Sequence[Mapping[str, Any]]) -> list[str]:
    return [c["name"] for c in checks if c.get("result") == "FAIL" and c["name"] not in IGNORED_AT_DECIDE]


def decide(metrics_is: Mapping[str, float], checks: Sequence[Mapping[str, Any]]) -> Verdict:
    fails = failed_checks(checks)
    sharpe, fitness = float(metrics_is.get("sharpe", 0.0)), float(metrics_is.get("fitness", 0.0))
    if not fails:
        return Verdict(CandidateStatus.GATE_PENDING, ("passes every simulation check",))
    why = tuple(f"fails {name}" for name in fails)
    if sharpe >= PROMISING_SHARPE and fitness >= PROMISING_FITNESS:
        return Verdict(CandidateStatus.PROMISING, (f"IS Sharpe {sharpe:.2f}, fitness {fitness:.2f}", *why))
    if sharpe <= FLIP_SHARPE:
        return Verdict(CandidateStatus.PROMISING, (f"IS Sharpe {sharpe:.2f}: the flipped sign may work", *why))
    return Verdict(CandidateStatus.REJECTED, why)


def evidence(
    metrics_is: Mapping[str, float],
    checks: Sequence[Mapping[str, Any]],
    universe_size: float,
    max_correlation: float | None = None,
    correlated_with: str | None = None,
) -> Evidence:
    return Evidence(
        sharpe=float(metrics_is["sharpe"]),
        fitness=float(metrics_is["fitness"]),
        turnover=float(metrics_is["turnover"]),
        returns=float(metrics_is["returns"]),
        margin=float(metrics_is["margin"]),
        drawdown=float(metrics_is["drawdown"]),
        long_count=float(metrics_is["longCount"]),
        short_count=float(metrics_is["shortCount"]),
        universe_size=universe_size,
        checks={c["name"]: c["result"] for c in checks},
        max_correlation=max_correlation,
        correlated_with=correlated_with,
    )


def gate_checks(
    stored_checks: Sequence[Mapping[str, Any]],
    dates: np.ndarray,
    pnl: np.ndarray,
    is_range: tuple[int, int],
    first: int,
    sharpe: float,
    pool: Sequence[C.PoolEntry],
) -> list[dict[str, Any]]:
    """The stored simulation checks with SELF_CORRELATION recomputed against the accepted pool."""
    lo, hi = max(is_range[0], first), is_range[1]
    fresh = C.self_correlation(dates, pnl, lo, hi, sharpe, pool)
    return [fresh if c["name"] == "SELF_CORRELATION" else dict(c) for c in stored_checks]


def gate_verdict(checks: Sequence[Mapping[str, Any]]) -> Verdict:
    fails = [c["name"] for c in checks if c.get("result") == "FAIL"]
    if fails:
        return Verdict(CandidateStatus.PROMISING, tuple(f"gate: fails {n}" for n in fails))
    return Verdict(CandidateStatus.READY, ("passes every check including SELF_CORRELATION against the accepted pool",))


def prune_correlated(
    order: Sequence[int], pnls: Mapping[int, tuple[np.ndarray, np.ndarray]], limit: float = PRUNE_CORRELATION
) -> list[int]:
    """Greedy: walk `order` (best first) and keep a parent only if its daily-PnL correlation with every
    kept parent stays below `limit`."""
    kept: list[int] = []
    for cid in order:
        d1, p1 = pnls[cid]
        ok = True
        for other in kept:
            d2, p2 = pnls[other]
            c = C.aligned_correlation(d1, p1, d2, p2)
            if not np.isnan(c) and abs(c) >= limit:
                ok = False
                break
        if ok:
            kept.append(cid)
    return kept

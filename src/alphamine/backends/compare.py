"""Calibration: the same expressions on two backends, metric by metric (`alphamine brain calibrate`).

Why: the local simulator approximates a proprietary platform (risk neutralizations, universes, data
vendors differ). A user who has both should see, for their own account and data, how far apart the
numbers are before trusting a local ranking: per expression and per metric the two values and their
difference, and per metric a summary (mean and median absolute difference, correlation across
expressions, sign agreement), plus the correlation of daily PnL where both backends give it.

Pure functions over outcomes (`SimResult | SimFailure` lists in the same spec order); the CLI runs the
backends and writes `calibration.json` / `calibration.md`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from alphamine.backends.base import Outcome
from alphamine.sim.batch import SimFailure
from alphamine.sim.result import SimResult

METRICS = ("sharpe", "fitness", "turnover", "returns", "drawdown", "margin")
"""IS metrics compared, in BRAIN's names."""

MIN_OVERLAP_DAYS = 20
"""Daily-PnL correlation needs at least this many common days with PnL on both sides."""


@dataclass(frozen=True)
class Pair:
    """One expression on both backends: metric -> (a, b), or the failure text of either side."""

    expression: str
    a: dict[str, float] = field(default_factory=dict)
    b: dict[str, float] = field(default_factory=dict)
    pnl_correlation: float | None = None
    error_a: str | None = None
    error_b: str | None = None

    @property
    def both_ok(self) -> bool:
        return self.error_a is None and self.error_b is None


@dataclass(frozen=True)
class MetricSummary:
    metric: str
    n: int
    mean_abs_diff: float
    median_abs_diff: float
    correlation: float | None  # across expressions; None below 3 pairs or with no spread
    sign_agreement: float  # share of pairs whose values have the same sign (0 counts as its own sign)


@dataclass(frozen=True)
class Calibration:
    name_a: str
    name_b: str
    pairs: list[Pair]
    summaries: list[MetricSummary]
    pnl_correlation_median: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "backends": [self.name_a, self.name_b],
            "pairs": [asdict(p) for p in self.pairs],
            "summary": [asdict(s) for s in self.summaries],
            "pnl_correlation_median": self.pnl_correlation_median,
        }


def daily_pnl_correlation(a: SimResult, b: SimResult) -> float | None:
    """Pearson correlation of the two daily PnL series on the dates both cover, from the later first
    position day on; None when fewer than `MIN_OVERLAP_DAYS` days overlap or a series is constant."""
    sa, sb = a.pnl, b.pnl
    common = sa.index.intersection(sb.index)
    if len(common) < MIN_OVERLAP_DAYS:
        return None
    x = sa.loc[common].to_numpy(dtype=float)
    y = sb.loc[common].to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < MIN_OVERLAP_DAYS or x.std() == 0.0 or y.std() == 0.0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def pair_of(expression: str, a: Outcome, b: Outcome) -> Pair:
    """The comparison of one expression's two outcomes."""
    err_a = a.error if isinstance(a, SimFailure) else None
    err_b = b.error if isinstance(b, SimFailure) else None
    ma = {k: float(a.metrics["is"][k]) for k in METRICS} if isinstance(a, SimResult) else {}
    mb = {k: float(b.metrics["is"][k]) for k in METRICS} if isinstance(b, SimResult) else {}
    corr = daily_pnl_correlation(a, b) if isinstance(a, SimResult) and isinstance(b, SimResult) else None
    return Pair(expression, ma, mb, corr, err_a, err_b)


def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


def summarize(metric: str, pairs: Sequence[Pair]) -> MetricSummary:
    """One metric over the pairs where both backends gave a finite value."""
    xs = [(p.a[metric], p.b[metric]) for p in pairs if p.both_ok]
    xs = [(x, y) for x, y in xs if math.isfinite(x) and math.isfinite(y)]
    if not xs:
        return MetricSummary(metric, 0, math.nan, math.nan, None, math.nan)
    a = np.array([x for x, _ in xs])
    b = np.array([y for _, y in xs])
    diff = np.abs(a - b)
    corr = float(np.corrcoef(a, b)[0, 1]) if a.size >= 3 and a.std() > 0 and b.std() > 0 else None
    agree = float(np.mean([_sign(x) == _sign(y) for x, y in xs]))
    return MetricSummary(metric, int(a.size), float(diff.mean()), float(np.median(diff)), corr, agree)


def calibrate(
    expressions: Sequence[str], outcomes_a: Sequence[Outcome], outcomes_b: Sequence[Outcome], name_a: str, name_b: str
) -> Calibration:
    """Compare two backends' outcomes of the same `expressions` (same order, same settings)."""
    if not (len(expressions) == len(outcomes_a) == len(outcomes_b)):
        raise ValueError(
            f"calibrate needs one outcome per expression on each side "
            f"({len(expressions)} expressions, {len(outcomes_a)} and {len(outcomes_b)} outcomes)"
        )
    pairs = [pair_of(e, a, b) for e, a, b in zip(expressions, outcomes_a, outcomes_b, strict=True)]
    corrs = [p.pnl_correlation for p in pairs if p.pnl_correlation is not None]
    return Calibration(
        name_a,
        name_b,
        pairs,
        [summarize(m, pairs) for m in METRICS],
        float(np.median(corrs)) if corrs else None,
    )


def _f(v: float | None, spec: str = ".3f") -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def to_markdown(cal: Calibration) -> str:
    """A report a person reads: the summary per metric, then each expression."""
    a, b = cal.name_a, cal.name_b
    out = [
        f"# Calibration: {a} vs {b}",
        "",
        f"{len(cal.pairs)} expressions, {sum(p.both_ok for p in cal.pairs)} simulated on both. "
        f"Median daily-PnL correlation: {_f(cal.pnl_correlation_median)}.",
        "",
        "| metric (IS) | pairs | mean abs diff | median abs diff | correlation | same sign |",
        "|---|---|---|---|---|---|",
    ]
    for s in cal.summaries:
        out.append(
            f"| {s.metric} | {s.n} | {_f(s.mean_abs_diff, '.4f')} | {_f(s.median_abs_diff, '.4f')} | "
            f"{_f(s.correlation)} | {_f(s.sign_agreement, '.0%')} |"
        )
    out += ["", f"| expression | Sharpe {a} | Sharpe {b} | turnover {a} | turnover {b} | PnL corr | note |"]
    out.append("|---|---|---|---|---|---|---|")
    for p in cal.pairs:
        note = "; ".join(x for x in (p.error_a and f"{a}: {p.error_a}", p.error_b and f"{b}: {p.error_b}") if x)
        out.append(
            f"| `{p.expression}` | {_f(p.a.get('sharpe'), '.2f')} | {_f(p.b.get('sharpe'), '.2f')} | "
            f"{_f(p.a.get('turnover'), '.3f')} | {_f(p.b.get('turnover'), '.3f')} | {_f(p.pnl_correlation)} | "
            f"{note.replace('|', '/')} |"
        )
    return "\n".join(out) + "\n"

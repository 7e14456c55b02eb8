"""The validation window: the last part of IS that the search never reads.

Why: a run tries hundreds of variants and keeps the best by their in-sample numbers, so those numbers
are optimistic. Holding back the end of IS (BRAIN's `testPeriod`, which splits IS into `train` and
`test` blocks without changing the simulation or its checks) gives the gate a period that GENERATE,
VARIANT_SEARCH, ENHANCE and DECIDE never looked at: they read the `train` block ("search"), the gate
reads `test` ("validation") as well. OS stays untouched by every rule.

Default: the last 20 % of the IS days, at least 6 months, rounded up to whole months (the platform
takes a duration); `validationPeriod` (an ISO duration, or "none") overrides it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alphamine.sim import checks as C
from alphamine.sim.periods import os_length
from alphamine.sim.settings import CheckProfile, parse_period

VALIDATION_FRACTION = 0.2
MIN_VALIDATION_MONTHS = 6
TRADING_DAYS_PER_MONTH = 21
NO_VALIDATION = "P0Y0M0D"
# Checks that measure performance over the whole IS (validation included): the gate judges them; DECIDE,
# which must not read validation, leaves them out and re-derives the threshold checks from the search block.
# CONCENTRATED_WEIGHT is measured over every IS day (validation included) and the daily weights are not
# stored, so DECIDE leaves it to the gate too.
WHOLE_IS_CHECKS = frozenset({"LOW_SUB_UNIVERSE_SHARPE", "LOW_2Y_SHARPE", "IS_LADDER_SHARPE", "SELF_CORRELATION",
                             "CONCENTRATED_WEIGHT", "STALE_DATA"})
THRESHOLD_CHECKS = frozenset({"LOW_SHARPE", "LOW_FITNESS", "LOW_TURNOVER", "HIGH_TURNOVER"})


def auto_validation_period(n_days: int, fraction: float = VALIDATION_FRACTION,
                           min_months: int = MIN_VALIDATION_MONTHS) -> str:
    """`PnYnM` covering `fraction` of the IS days of a panel of `n_days` rows (OS = simulation.md's
    default split), at least `min_months`, in whole months (21 trading days each, rounded up)."""
    is_days = max(0, n_days - os_length(n_days))
    months = max(min_months, math.ceil(fraction * is_days / TRADING_DAYS_PER_MONTH))
    years, months = divmod(months, 12)
    return f"P{years}Y{months}M0D"


def resolve_validation(requested: str, n_days: int) -> str:
    """The test period a run simulates with: "auto" -> `auto_validation_period`, "none" -> no split,
    otherwise the ISO duration itself (validated)."""
    text = requested.strip().lower()
    if text == "auto":
        return auto_validation_period(n_days)
    if text in ("none", "off", "0"):
        return NO_VALIDATION
    y, m, d = parse_period(requested)
    return f"P{y}Y{m}M{d}D"


def has_validation(test_range: Sequence[int]) -> bool:
    return int(test_range[1]) > int(test_range[0])


def search_metrics(metrics: Mapping[str, Any], test_range: Sequence[int]) -> Mapping[str, Any]:
    """The block the search reads: `train` when a validation window exists, else `is`."""
    if has_validation(test_range) and metrics.get("train"):
        return metrics["train"]
    return metrics["is"]


def search_checks(
    checks: Sequence[Mapping[str, Any]], metrics: Mapping[str, Any], test_range: Sequence[int],
    profile: CheckProfile | str = CheckProfile.USER, delay: int = 1,
) -> list[dict[str, Any]]:
    """The checks DECIDE may read: the threshold checks recomputed on the search block, the checks that do
    not measure IS performance as stored, and none of the whole-IS performance checks (the gate's).
    Without a validation window: the stored checks unchanged."""
    if not has_validation(test_range):
        return [dict(c) for c in checks]
    block = search_metrics(metrics, test_range)
    stats = {k: _num(block.get(k)) for k in ("sharpe", "fitness", "turnover")}
    fresh = C.threshold_checks(stats, CheckProfile(profile), int(delay))
    kept = [dict(c) for c in checks if c["name"] not in THRESHOLD_CHECKS and c["name"] not in WHOLE_IS_CHECKS]
    return fresh + kept


def field_staleness(panel: Any, settings: Any) -> dict[str, dict[str, float]]:
    """{field: {"test" | "os": share of instrument-days whose value is older than
    `data.freshness.DEFAULT_LIMIT_DAYS`}} over the days each instrument has a price (finite `close`).

    Data availability (report dates), never performance, and not the alpha's positions nor the
    universe (both move with OS prices): so the gate's DATA_FRESHNESS rule and GENERATE's steering do
    not change when OS returns do."""
    from alphamine.data.freshness import freshness_by_period
    from alphamine.sim.periods import split_periods

    periods = split_periods(panel.dates, 0, is_end=settings.is_end, test_period=settings.test_period)
    ranges = {"test": periods.test_range, "os": periods.os_range}
    return freshness_by_period(panel, list(panel.matrices), ranges)


def stale_fields(shares: Mapping[str, Mapping[str, float]], max_share: float = 0.2) -> frozenset[str]:
    """Fields stale on more than `max_share` of instrument-days in validation or OS (`field_staleness`)."""
    return frozenset(f for f, by in shares.items() if any(v > max_share for v in by.values()))


def _num(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return out if np.isfinite(out) else float("nan")

"""Submission checks (brain.md §4, simulation.md "Checks"): PASS / FAIL / WARNING / PENDING with limit
and value, in BRAIN's check-object shape.

Thresholds depend on the profile (user / consultant) and the delay; every number is a named constant
here so that `alphamine brain calibrate` can compare them with the platform's `limit` values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from alphamine.sim.metrics import sharpe
from alphamine.sim.settings import CheckProfile

if TYPE_CHECKING:
    from alphamine.data.panel import Panel

SHARPE_LIMITS = {
    (CheckProfile.USER, 1): 1.25,
    (CheckProfile.USER, 0): 2.0,
    (CheckProfile.CONSULTANT, 1): 1.58,
    (CheckProfile.CONSULTANT, 0): 2.69,
}
FITNESS_LIMITS = {
    (CheckProfile.USER, 1): 1.0,
    (CheckProfile.USER, 0): 1.3,
    (CheckProfile.CONSULTANT, 1): 1.0,
    (CheckProfile.CONSULTANT, 0): 1.5,
}
LOW_TURNOVER_LIMIT = 0.01
HIGH_TURNOVER_LIMIT = 0.7
CONCENTRATED_WEIGHT_LIMIT = 0.1
SUB_UNIVERSE_FACTOR = 0.75
SELF_CORRELATION_LIMIT = 0.7
SELF_CORRELATION_SHARPE_RATIO = 1.1
SELF_CORRELATION_YEARS = 4
MIN_SIMULATION_DAYS = 500
# IS ladder (brain.md §4.4): FAIL threshold and PASS thresholds by number of most recent years.
LADDER_FAIL = {1: 1.59, 0: 2.69}
LADDER_PASS = {
    1: {2: 2.38, 3: 2.38, 4: 2.38, 5: 2.38, 6: 2.22, 7: 2.06, 8: 1.90, 9: 1.74, 10: 1.59},
    0: {2: 3.96, 3: 3.96, 4: 3.96, 5: 3.96, 6: 3.64, 7: 3.33, 8: 3.17, 9: 2.85, 10: 2.69},
}
LADDER_LOW_TURNOVER = 0.30
LADDER_LOW_TURNOVER_FACTOR = 0.85


@dataclass(frozen=True)
class PoolEntry:
    """An accepted alpha's daily PnL for SELF_CORRELATION (same region): dates datetime64[D], pnl float."""

    name: str
    dates: np.ndarray
    pnl: np.ndarray
    sharpe: float


def check(
    name: str, result: str, limit: float | None = None, value: float | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "result": result}
    if limit is not None:
        out["limit"] = limit
    if value is not None:
        out["value"] = value
    out.update(extra)
    return out


def threshold_checks(is_stats: Mapping[str, float], profile: CheckProfile, delay: int) -> list[dict[str, Any]]:
    s_lim = SHARPE_LIMITS[(profile, delay)]
    f_lim = FITNESS_LIMITS[(profile, delay)]
    s, f, tv = is_stats["sharpe"], is_stats["fitness"], is_stats["turnover"]
    return [
        check("LOW_SHARPE", "PASS" if s >= s_lim else "FAIL", s_lim, s),
        check("LOW_FITNESS", "PASS" if f >= f_lim else "FAIL", f_lim, f),
        check("LOW_TURNOVER", "PASS" if tv >= LOW_TURNOVER_LIMIT else "FAIL", LOW_TURNOVER_LIMIT, tv),
        check("HIGH_TURNOVER", "PASS" if tv < HIGH_TURNOVER_LIMIT else "FAIL", HIGH_TURNOVER_LIMIT, tv),
    ]


def concentrated_weight(max_abs: np.ndarray, dates: np.ndarray, lo: int, hi: int) -> dict[str, Any]:
    """Max daily |w| (fraction of the book; `max_abs` per day) over the IS days must stay below 10 %; the
    failing value and its date are reported."""
    if hi <= lo:
        return check("CONCENTRATED_WEIGHT", "PASS", CONCENTRATED_WEIGHT_LIMIT, 0.0)
    daily_max = max_abs[lo:hi]
    i = int(np.argmax(daily_max))
    value = float(daily_max[i])
    ok = value < CONCENTRATED_WEIGHT_LIMIT
    extra = {} if ok else {"date": str(dates[lo + i])}
    return check("CONCENTRATED_WEIGHT", "PASS" if ok else "FAIL", CONCENTRATED_WEIGHT_LIMIT, value, **extra)


def sub_universe_check(
    alpha_sharpe: float, sub_sharpe: float | None, size: int | None, sub_size: int | None
) -> dict[str, Any]:
    """Sharpe in the next more liquid universe >= 0.75·√(sub/size)·sharpe (brain.md §4.3)."""
    if sub_sharpe is None or not size or not sub_size:
        return check("LOW_SUB_UNIVERSE_SHARPE", "PENDING", message="no smaller universe on this panel")
    limit = SUB_UNIVERSE_FACTOR * math.sqrt(sub_size / size) * alpha_sharpe
    return check("LOW_SUB_UNIVERSE_SHARPE", "PASS" if sub_sharpe >= limit else "FAIL", limit, sub_sharpe)


def correlation_window(dates: np.ndarray, is_lo: int, is_hi: int) -> tuple[np.datetime64, np.datetime64]:
    """The last 4 IS years: (start exclusive, end inclusive) as dates."""
    end = dates[is_hi - 1]
    end_py = end.astype("datetime64[D]").item()
    try:
        start_py = end_py.replace(year=end_py.year - SELF_CORRELATION_YEARS)
    except ValueError:  # 29 February
        start_py = end_py.replace(year=end_py.year - SELF_CORRELATION_YEARS, day=28)
    return np.datetime64(start_py, "D"), end


def aligned_correlation(d1: np.ndarray, p1: np.ndarray, d2: np.ndarray, p2: np.ndarray) -> float:
    """Pearson correlation of two daily PnL series on their common dates (NaN when < 2 or constant)."""
    common, i1, i2 = np.intersect1d(d1, d2, assume_unique=True, return_indices=True)
    if common.size < 2:
        return float("nan")
    a, b = p1[i1], p2[i2]
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def self_correlation(
    dates: np.ndarray, pnl: np.ndarray, is_lo: int, is_hi: int, alpha_sharpe: float, pool: Sequence[PoolEntry] | None
) -> dict[str, Any]:
    """Max PnL correlation over the last 4 IS years against the pool < 0.7, unless this alpha's Sharpe is
    >= 1.1 x the Sharpe of every alpha it correlates with at >= 0.7. PENDING without a pool."""
    if pool is None:
        return check("SELF_CORRELATION", "PENDING", SELF_CORRELATION_LIMIT)
    if is_hi <= is_lo or not pool:
        return check("SELF_CORRELATION", "PASS", SELF_CORRELATION_LIMIT, 0.0)
    start, end = correlation_window(dates, is_lo, is_hi)
    sel = (dates[is_lo:is_hi] > start) & (dates[is_lo:is_hi] <= end)
    d, p = dates[is_lo:is_hi][sel], pnl[is_lo:is_hi][sel]
    worst, worst_name, ok = -1.0, None, True
    for entry in pool:
        keep = (entry.dates > start) & (entry.dates <= end)
        c = aligned_correlation(d, p, entry.dates[keep], entry.pnl[keep])
        if math.isnan(c):
            continue
        if c > worst:
            worst, worst_name = c, entry.name
        if c >= SELF_CORRELATION_LIMIT and alpha_sharpe < SELF_CORRELATION_SHARPE_RATIO * entry.sharpe:
            ok = False
    value = max(worst, 0.0) if worst_name is not None else 0.0
    extra = {"correlatedWith": worst_name} if worst_name is not None else {}
    return check("SELF_CORRELATION", "PASS" if ok else "FAIL", SELF_CORRELATION_LIMIT, value, **extra)


def _last_years(dates: np.ndarray, lo: int, hi: int, years: int) -> int:
    end_py = dates[hi - 1].astype("datetime64[D]").item()
    try:
        start = np.datetime64(end_py.replace(year=end_py.year - years), "D")
    except ValueError:
        start = np.datetime64(end_py.replace(year=end_py.year - years, day=28), "D")
    return max(lo, int(np.searchsorted(dates, start, side="right")))


def two_year_sharpe(dates: np.ndarray, pnl: np.ndarray, lo: int, hi: int, delay: int) -> dict[str, Any]:
    """Consultant: Sharpe of the last 2 IS years >= the LOW_SHARPE bar."""
    limit = SHARPE_LIMITS[(CheckProfile.CONSULTANT, delay)]
    if hi <= lo:
        return check("LOW_2Y_SHARPE", "FAIL", limit, 0.0)
    s = sharpe(pnl[_last_years(dates, lo, hi, 2) : hi])
    return check("LOW_2Y_SHARPE", "PASS" if s >= limit else "FAIL", limit, s)


def ladder(dates: np.ndarray, pnl: np.ndarray, lo: int, hi: int, delay: int, turnover_value: float) -> dict[str, Any]:
    """Consultant IS ladder (brain.md §4.4): whole-IS Sharpe below FAIL fails; then for N = 2, 3, ...
    years back, Sharpe below FAIL fails, above PASS[N] passes; past the available history it fails."""
    fail = LADDER_FAIL[delay]
    factor = LADDER_LOW_TURNOVER_FACTOR if turnover_value < LADDER_LOW_TURNOVER else 1.0
    if hi <= lo:
        return check("IS_LADDER_SHARPE", "FAIL", fail, 0.0)
    whole = sharpe(pnl[lo:hi])
    if whole < fail:
        return check("IS_LADDER_SHARPE", "FAIL", fail, whole)
    span_years = (dates[hi - 1] - dates[lo]).astype(int) / 365.25
    value = whole
    for n in range(2, 11):
        start = _last_years(dates, lo, hi, n)
        value = sharpe(pnl[start:hi])
        if value < fail:
            return check("IS_LADDER_SHARPE", "FAIL", fail, value, year=n)
        limit = LADDER_PASS[delay][n] * factor
        if value > limit:
            return check("IS_LADDER_SHARPE", "PASS", limit, value, year=n)
        if n >= span_years:
            break
    return check("IS_LADDER_SHARPE", "FAIL", LADDER_PASS[delay][min(10, max(2, int(span_years)))] * factor, value)


def units_check(warnings: Sequence[str]) -> dict[str, Any]:
    if warnings:
        return check("UNITS", "WARNING", message="; ".join(warnings))
    return check("UNITS", "PASS")


def data_length_check(days: int) -> dict[str, Any]:
    ok = days >= MIN_SIMULATION_DAYS
    return check("DATA_LENGTH", "PASS" if ok else "FAIL", float(MIN_SIMULATION_DAYS), float(days))


FIELD_GAP_FRACTION = 0.5
"""A field the alpha reads that has no finite value (inside the universe) on at least this fraction of
the universe's days, or for at least this fraction of the instruments ever in it, gets a warning: an
alpha built on it silently has few or no positions (a user's all-NaN `close` gave "IS empty")."""

_GAPS: dict[tuple[str, str, str], tuple[int, int, int, int]] = {}
_GAPS_LIMIT = 4096


def field_gaps(panel: Panel, name: str, universe: str) -> tuple[int, int, int, int]:
    """(days without a finite value, days with universe members, instruments without a finite value,
    instruments ever in the universe) of a MATRIX or VECTOR field, counted inside universe `universe`.
    Memoized per (panel fingerprint, universe, field): panels are immutable."""
    key = (panel.fingerprint(), universe, name)
    hit = _GAPS.get(key)
    if hit is not None:
        return hit
    members = np.asarray(panel.universe(universe), dtype=bool)
    values = panel.matrices[name] if name in panel.matrices else panel.vectors[name]
    finite = np.isfinite(values)
    if finite.ndim == 3:  # a vector field has a value where any element is finite
        finite = finite.any(axis=2)
    finite &= members
    days = members.any(axis=1)
    names = members.any(axis=0)
    gaps = (int((days & ~finite.any(axis=1)).sum()), int(days.sum()),
            int((names & ~finite.any(axis=0)).sum()), int(names.sum()))
    if len(_GAPS) >= _GAPS_LIMIT:
        _GAPS.clear()
    _GAPS[key] = gaps
    return gaps


def field_warnings(panel: Panel, fields: Sequence[str], universe: str) -> list[str]:
    """One line per field (of `fields`, the ones the alpha reads) that is mostly without finite values
    inside the universe (`FIELD_GAP_FRACTION`): "field close has no finite value on 1259 of 1259 days /
    505 of 505 instruments of TOP500". GROUP and UNIVERSE names are skipped."""
    out = []
    for name in fields:
        if name not in panel.matrices and name not in panel.vectors:
            continue
        bad_days, days, bad_names, names = field_gaps(panel, name, universe)
        if (days and bad_days >= FIELD_GAP_FRACTION * days) or (names and bad_names >= FIELD_GAP_FRACTION * names):
            out.append(f"field {name} has no finite value on {bad_days} of {days} days / {bad_names} of {names} "
                       f"instruments of {universe}")
    return out

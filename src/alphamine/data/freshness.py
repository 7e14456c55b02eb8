"""Data freshness: how old the value behind each (day, instrument) is, in calendar days.

Why: the bundled fundamentals end at fiscal 2015/2016, so in the last year of the sample many
instruments still carry two-year-old reports (carried forward point in time, correctly) and alphas on
them look good in sample and fail out of sample. Knowing each value's age lets a simulation warn about
it (`alphamine.sim.staleness`, the STALE_DATA check) and lets reports show freshness by period.

Age of the value of field f at (t, i), in calendar days, always point in time (known on day t):

- report fields (ages given by the loader, `Panel.ages`): day t minus the trading day the report in
  effect became available (the first trading day on or after period end + lag; restatements and
  same-day reports follow `alphamine.data.fundamentals`). One float32 array per report table.
- every other MATRIX or VECTOR field: days since the field last had a finite value for the instrument
  (a VECTOR: any finite element), so 0 on a normal day of market data. A field loaded already
  forward-filled, without report dates, therefore counts as fresh (age 0): it has no age information.
- derived fields: `alphamine.data.derived` (``sharesout``/``cap`` take their shares' ages; pv fields
  their own NaN pattern, which equals the max of their inputs' ages wherever they have a value).
- GROUP fields and universes are labels, not observations: they have no age (None).

NaN policy: age is NaN where the field has no value yet (before the first report or first finite
value); a NaN age is never "stale". Shapes: (T, N) on the panel's rows; float64 from `field_ages`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from alphamine.data.panel import Panel

__all__ = [
    "DEFAULT_LIMIT_DAYS",
    "ages_over",
    "days_since_finite",
    "field_ages",
    "freshness_by_period",
    "has_ages",
    "stale_cells",
    "stale_shares",
]

DEFAULT_LIMIT_DAYS = 400
"""A value older than this (calendar days) is stale: a bit more than a year, so that an annual report is
stale only when its successor is overdue (fiscal year + filing lag), not merely a year old."""

_MAX_AGE: dict[tuple[str, str], float] = {}
_MAX_AGE_LIMIT = 4096
_CELLS: dict[int, tuple[np.ndarray, float, np.ndarray, np.ndarray]] = {}
_CELLS_LIMIT = 16


def days_since_finite(dates: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(T, N) float64 calendar days since the last row <= t where `values` (T, N) or (T, N, K) was finite
    (0 on a finite row), NaN before the first finite row. Cost O(T*N): a running max of row indices."""
    finite = np.isfinite(values)
    if finite.ndim == 3:
        finite = finite.any(axis=2)
    T = finite.shape[0]
    last = np.where(finite, np.arange(T, dtype=np.int64)[:, None], -1)
    np.maximum.accumulate(last, axis=0, out=last)
    day = np.asarray(dates).astype("datetime64[D]").astype(np.int64).astype(np.float64)
    ages = day[:, None] - day[np.maximum(last, 0)]
    ages[last < 0] = np.nan
    return ages


def has_ages(panel: Panel, name: str) -> bool:
    """Whether field `name` has ages: MATRIX and VECTOR fields do, GROUP fields and universes do not."""
    return name in panel.matrices or name in panel.vectors


def _ages(panel: Panel, name: str) -> np.ndarray | None:
    """The loader's ages (float32, shared, not copied) or the NaN-pattern ages (float64, computed)."""
    if name in panel.ages:
        return panel.ages[name]
    if name in panel.matrices:
        return days_since_finite(panel.dates, panel.matrices[name])
    if name in panel.vectors:
        return days_since_finite(panel.dates, panel.vectors[name])
    return None


def field_ages(panel: Panel, name: str) -> np.ndarray | None:
    """(T, N) float64 ages in calendar days of field `name` (module rules; NaN = no value yet), or None
    for a GROUP field, a universe or an unknown name."""
    a = _ages(panel, name)
    return None if a is None else np.asarray(a, dtype=np.float64)


def ages_over(panel: Panel, name: str, limit_days: float = DEFAULT_LIMIT_DAYS) -> np.ndarray | None:
    """The ages of `name` (float32 or float64, read-only use) when some of them may exceed `limit_days`,
    else None (also for fields without ages). Why: a check reads this on every simulation; NaN-pattern
    ages (market data, almost never a year old) cost a pass over the field, so their maximum is memoized
    per (panel fingerprint, field), which fixes them. Loader ages are returned as they are (no copy)."""
    if name in panel.ages:
        return panel.ages[name]
    if not has_ages(panel, name):
        return None
    key = (panel.fingerprint(), name)
    most = _MAX_AGE.get(key)
    a = None
    if most is None:
        a = _ages(panel, name)
        most = float(np.fmax.reduce(a, axis=None)) if a is not None and a.size else float("nan")
        if len(_MAX_AGE) >= _MAX_AGE_LIMIT:
            _MAX_AGE.clear()
        _MAX_AGE[key] = most
    if not most > limit_days:  # NaN (no value at all) included
        return None
    return a if a is not None else _ages(panel, name)


def stale_cells(ages: np.ndarray, limit_days: float = DEFAULT_LIMIT_DAYS) -> tuple[np.ndarray, np.ndarray]:
    """(rows, flat) int64 of the cells of `ages` (T, N) older than `limit_days`, in row-major order:
    their row and their flat index ``row * N + col``. Why: stale cells are few (the tail of a report
    table), so a check that gathers only them is cheaper than a pass over the whole book. Memoized per
    read-only array object (a panel's ages; the memo holds a reference so the object's id cannot be
    reused); writeable arrays are computed each time."""
    hit = _CELLS.get(id(ages))
    if hit is not None and hit[0] is ages and hit[1] == limit_days:
        return hit[2], hit[3]
    flat = np.flatnonzero(ages > limit_days).astype(np.int64)
    rows = flat // max(ages.shape[1], 1)
    if not ages.flags.writeable:
        if len(_CELLS) >= _CELLS_LIMIT:
            _CELLS.pop(next(iter(_CELLS)))
        _CELLS[id(ages)] = (ages, limit_days, rows, flat)
    return rows, flat


def stale_shares(
    ages_by_field: Mapping[str, np.ndarray | None],
    mask: np.ndarray | None,
    ranges: Mapping[str, tuple[int, int]],
    limit_days: float = DEFAULT_LIMIT_DAYS,
) -> dict[str, dict[str, float]]:
    """{field: {period: share}}: the share of the True cells of `mask` (R, N) bool in rows [lo, hi) of
    each period whose age (R, N) is > `limit_days` (strictly; NaN ages are not stale). 0.0 for a period
    without True cells and for a field whose ages are None (never over the limit). `mask` may be None
    only when every ages entry is None. Fields sharing one ages array are counted once."""
    zero = {f: dict.fromkeys(ranges, 0.0) for f, a in ages_by_field.items() if a is None}
    arrays = {f: a for f, a in ages_by_field.items() if a is not None}
    if not arrays:
        return {f: zero[f] for f in ages_by_field}
    if mask is None:
        raise ValueError("stale_shares: a mask is needed when some field has ages")
    m = np.asarray(mask, dtype=bool)
    R = m.shape[0]
    bounds = {p: (min(max(lo, 0), R), min(max(hi, 0), R)) for p, (lo, hi) in ranges.items()}
    held = np.concatenate(([0], np.cumsum(np.count_nonzero(m, axis=1))))
    done: dict[int, dict[str, float]] = {}
    out: dict[str, dict[str, float]] = {}
    for f, a in ages_by_field.items():
        if a is None:
            out[f] = zero[f]
            continue
        if a.shape != m.shape:
            raise ValueError(f"stale_shares: ages of {f!r} have shape {a.shape}, the mask {m.shape}")
        if id(a) not in done:
            stale = np.concatenate(([0], np.cumsum(np.count_nonzero(m & (a > limit_days), axis=1))))
            done[id(a)] = {
                p: float((stale[hi] - stale[lo]) / (held[hi] - held[lo])) if held[hi] > held[lo] else 0.0
                for p, (lo, hi) in bounds.items()
            }
        out[f] = dict(done[id(a)])
    return out


def freshness_by_period(
    panel: Panel,
    fields: Sequence[str],
    ranges: Mapping[str, tuple[int, int]],
    limit_days: float = DEFAULT_LIMIT_DAYS,
    *,
    universe: str | np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """For reports: {field: {period: share of instrument-days with an age > limit_days}} over the panel's
    rows [lo, hi) of each period. Instrument-days are those of `universe` (a name or a (T, N) bool mask),
    by default the days with a finite ``close`` (all cells without one). Fields without ages (GROUP,
    universes, unknown names) are left out."""
    if isinstance(universe, str):
        mask = np.asarray(panel.universe(universe), dtype=bool)
    elif universe is not None:
        mask = np.asarray(universe, dtype=bool)
    elif "close" in panel.matrices:
        mask = np.isfinite(panel.matrices["close"])
    else:
        mask = np.ones(panel.shape, dtype=bool)
    ages = {f: ages_over(panel, f, limit_days) for f in dict.fromkeys(fields) if has_ages(panel, f)}
    return stale_shares(ages, mask, ranges, limit_days)

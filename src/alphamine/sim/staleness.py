"""STALE_DATA: a WARNING when the positions of an alpha rest on old values (docs/freshness.md).

Why: the sample's annual fundamentals end at fiscal 2015/2016, so by the out-of-sample year many
instruments carry two-year-old reports; an alpha on them can look good in sample and fail later. The
check names every field the expression reads whose value is older than `limit_days` (default 400
calendar days, `alphamine.data.freshness`) on more than `max_share` (default 20 %) of the alpha's
position-days in any period, with the share per period. It never fails: it is a WARNING, so decisions
and the submission gate are unchanged.

Frames: a position held on PnL row p was built from data of rows <= p - 1 (delay 1: built on row p from
rows <= p - 1; delay 0: built on row p - 1 from rows <= p - 1), so its data row is r = p - 1 and the age
that counts is the age on row r. Periods are the result's blocks ("is", "os", and "train"/"test" when a
test period is set), in PnL rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from alphamine.data.freshness import DEFAULT_LIMIT_DAYS, ages_over, has_ages, stale_cells, stale_shares
from alphamine.sim.checks import check

if TYPE_CHECKING:
    from alphamine.data.panel import Panel
    from alphamine.sim.periods import Periods

__all__ = ["STALE_DATA_LIMIT_DAYS", "STALE_DATA_MAX_SHARE", "period_ranges", "stale_data", "stale_data_check"]

STALE_DATA_LIMIT_DAYS = DEFAULT_LIMIT_DAYS
STALE_DATA_MAX_SHARE = 0.2
"""A field is named when more than this share of position-days (strictly) in some period are stale."""


def stale_data_check(
    ages_by_field: Mapping[str, np.ndarray | None],
    positions_mask: np.ndarray | None,
    ranges: Mapping[str, tuple[int, int]],
    limit_days: float = STALE_DATA_LIMIT_DAYS,
    max_share: float = STALE_DATA_MAX_SHARE,
) -> dict[str, Any]:
    """The STALE_DATA check object.

    `ages_by_field`: field -> (R, N) ages in calendar days (NaN = no value, never stale), or None for a
    field never older than the limit; `positions_mask` (R, N) bool: the instrument-days holding a nonzero
    position, aligned row by row with the ages (None only when every ages entry is None); `ranges`:
    period -> rows [lo, hi). A position-day is stale when its age is > `limit_days`; the check is WARNING
    when some field's stale share in some period is > `max_share`, else PASS.

    Shape: ``{"name": "STALE_DATA", "result": "PASS" | "WARNING", "limit": max_share, "value": worst
    share (0.0 without fields), "limitDays": limit_days, "fields": {field: {period: share}}, "message":
    one readable line}``; shares are fractions in [0, 1], 0.0 for a period without positions.
    """
    return _verdict(stale_shares(ages_by_field, positions_mask, ranges, limit_days), limit_days, max_share)


def _verdict(shares: dict[str, dict[str, float]], limit_days: float, max_share: float) -> dict[str, Any]:
    worst = max((v for per in shares.values() for v in per.values()), default=0.0)
    flagged = {f: per for f, per in shares.items() if any(v > max_share for v in per.values())}
    if flagged:
        groups: dict[tuple[tuple[str, float], ...], list[str]] = {}
        for f, per in flagged.items():  # fields of one report table share their shares: one group
            groups.setdefault(tuple(per.items()), []).append(f)
        parts = [
            f"{', '.join(names)} ({', '.join(f'{p} {v:.1%}' for p, v in per)})" for per, names in groups.items()
        ]
        message = (
            f"values older than {limit_days:g} days behind more than {max_share:.0%} of position-days in a "
            f"period: {'; '.join(parts)}"
        )
    elif shares:
        message = (
            f"no field's values are older than {limit_days:g} days behind more than {max_share:.0%} of "
            f"position-days in any period (worst {worst:.1%})"
        )
    else:
        message = "the expression reads no field with age information"
    return check(
        "STALE_DATA",
        "WARNING" if flagged else "PASS",
        max_share,
        worst,
        limitDays=limit_days,
        fields=shares,
        message=message,
    )


def period_ranges(periods: Periods) -> dict[str, tuple[int, int]]:
    """The PnL-row ranges STALE_DATA reports: "is" and "os", plus "train" (the search period) and "test"
    (the validation period) when a test period is set."""
    named = {"is": periods.is_range, "os": periods.os_range}
    if periods.test_range[1] > periods.test_range[0]:
        named |= {"train": periods.train_range, "test": periods.test_range}
    return named


def stale_data(
    panel: Panel,
    fields: Sequence[str],
    book: np.ndarray,
    book_lag: int,
    held: np.ndarray,
    periods: Periods,
    limit_days: float = STALE_DATA_LIMIT_DAYS,
    max_share: float = STALE_DATA_MAX_SHARE,
) -> dict[str, Any]:
    """STALE_DATA of a simulated alpha, equal to `stale_data_check` on its positions (module frames).

    `fields`: what the expression reads (GROUP fields are skipped); `book` (T, N): PnL row p holds book
    row p - `book_lag` (simulate.finish); `held` (T,): nonzero positions per PnL row (longs + shorts);
    `periods`: the result's. Why not a pass over the book: only the stale cells are visited
    (`stale_cells`, memoized per panel), so an alpha on fresh data costs nothing and one on a report table
    costs a gather of its stale cells.
    """
    T, N = panel.shape
    shift = 1 - book_lag
    flat_book = np.ascontiguousarray(book).reshape(-1)
    ages = {f: ages_over(panel, f, limit_days) for f in dict.fromkeys(fields) if has_ages(panel, f)}
    named = {k: (max(lo, 1), max(hi, 1)) for k, (lo, hi) in period_ranges(periods).items()}  # row 0: no data
    cum_held = np.concatenate(([0], np.cumsum(np.asarray(held).astype(np.int64))))
    done: dict[int, dict[str, float]] = {}
    shares: dict[str, dict[str, float]] = {}
    for f, a in ages.items():
        if a is None:
            shares[f] = dict.fromkeys(named, 0.0)
            continue
        if id(a) not in done:
            rows, flat = stale_cells(a, limit_days)
            n = int(np.searchsorted(rows, T - 1))  # data row r serves PnL row r + 1 = book row r + shift
            rows = rows[:n]
            hit = flat_book[shift * N :].take(flat[:n]) != 0.0
            share: dict[str, float] = {}
            for k, (lo, hi) in named.items():
                i0, i1 = np.searchsorted(rows, (lo - 1, hi - 1))
                total = int(cum_held[hi] - cum_held[lo])
                share[k] = int(np.count_nonzero(hit[i0:i1])) / total if total > 0 else 0.0
            done[id(a)] = share
        shares[f] = dict(done[id(a)])
    return _verdict(shares, limit_days, max_share)

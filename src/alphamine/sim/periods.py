"""Which days belong to IS, OS, train, test and each calendar year (simulation.md "Periods", P22, P24).

All functions work on panel row indices; `first` is the first position day (statistics exclude every
earlier day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from alphamine.sim.settings import TRADING_DAYS, parse_period

OS_FRACTION = 0.2


def os_length(n_days: int) -> int:
    """n_os = round-half-up(0.2·T), raised to 252 when IS still keeps >= 252 panel days (P22)."""
    n_os = int(np.floor(OS_FRACTION * n_days + 0.5))
    if n_os < TRADING_DAYS and n_days - TRADING_DAYS >= TRADING_DAYS:
        n_os = TRADING_DAYS
    return min(n_os, n_days)


@dataclass(frozen=True)
class Periods:
    """Half-open row ranges [start, stop) on the panel's dates."""

    first: int  # first position day (n_days when there is none)
    is_range: tuple[int, int]
    os_range: tuple[int, int]
    train_range: tuple[int, int]
    test_range: tuple[int, int]


def split_periods(
    dates: np.ndarray, first: int, *, is_end: dt.date | None = None, test_period: str = "P0Y0M0D"
) -> Periods:
    """IS = first position day .. is_end (default: all but the OS days), OS = after it; `test_period`
    (ISO duration) carves the last part of IS out as `test`, the rest is `train`."""
    T = int(dates.size)
    if is_end is None:
        os_start = T - os_length(T)
    else:
        os_start = int(np.searchsorted(dates, np.datetime64(is_end, "D"), side="right"))
    is_start = min(first, os_start)
    y, m, d = parse_period(test_period)
    if (y, m, d) == (0, 0, 0) or os_start <= is_start:
        test_start = os_start
    else:
        last = dates[os_start - 1].astype("datetime64[D]").item()
        cut = _minus(last, y, m, d)
        test_start = int(np.searchsorted(dates, np.datetime64(cut, "D"), side="right"))
        test_start = max(test_start, is_start)
    return Periods(
        first=first,
        is_range=(is_start, os_start),
        os_range=(max(os_start, first), T),
        train_range=(is_start, test_start),
        test_range=(test_start, os_start),
    )


def _minus(day: dt.date, years: int, months: int, days: int) -> dt.date:
    month_index = day.year * 12 + (day.month - 1) - (years * 12 + months)
    y, mo = divmod(month_index, 12)
    mo += 1
    import calendar

    last_day = calendar.monthrange(y, mo)[1]
    return dt.date(y, mo, min(day.day, last_day)) - dt.timedelta(days=days)


def year_blocks(dates: np.ndarray, periods: Periods) -> list[tuple[int, str, int, int]]:
    """(year, stage, start, stop) rows for the yearly table: a year straddling the IS/OS boundary gives
    two rows; days before the first position are omitted (P24)."""
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    out: list[tuple[int, str, int, int]] = []
    for stage, (lo, hi) in (("IS", periods.is_range), ("OS", periods.os_range)):
        lo = max(lo, periods.first)
        if hi <= lo:
            continue
        ys = years[lo:hi]
        change = np.flatnonzero(np.diff(ys)) + 1
        starts = np.concatenate(([0], change)) + lo
        stops = np.concatenate((change, [hi - lo])) + lo
        for s, e in zip(starts, stops, strict=True):
            out.append((int(years[s]), stage, int(s), int(e)))
    return out

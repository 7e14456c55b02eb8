"""Sub-period stability of a PnL stream: the Sharpe and PnL of each calendar year of the IS period and
the share of years that made money.

Why: one IS Sharpe can be carried by a single good year (a regime that ended, a data quirk); an alpha
whose edge is real tends to be positive in most years. The yearly numbers use the simulator's own
`sim.metrics.sharpe` (ddof 0, √252) so they match the yearly table of a simulation result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from alphamine.sim.metrics import sharpe

MIN_YEAR_DAYS = 60
"""A calendar year with fewer trading days than this (about three months) is a stub at an edge of the
window; see `positive_year_fraction`."""


@dataclass(frozen=True)
class YearStat:
    """One calendar year of a PnL stream: annualized Sharpe, summed PnL (dollars), finite days."""

    year: int
    sharpe: float
    pnl: float
    n_days: int

    def to_json(self) -> dict[str, Any]:
        return {"year": self.year, "sharpe": _plain(self.sharpe), "pnl": _plain(self.pnl), "n_days": self.n_days}


@dataclass(frozen=True)
class Stability:
    """Per-year statistics plus the two summary numbers the gate reads (see `stability`)."""

    years: tuple[YearStat, ...]
    positive_fraction: float
    min_sharpe: float

    def to_json(self) -> dict[str, Any]:
        return {
            "years": [y.to_json() for y in self.years],
            "positive_fraction": _plain(self.positive_fraction),
            "min_sharpe": _plain(self.min_sharpe),
        }


def _plain(value: float) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def yearly_sharpes(dates: np.ndarray, pnl: np.ndarray, lo: int, hi: int) -> list[YearStat]:
    """The `YearStat` of each calendar year among rows [lo, hi) of a daily series, oldest first.

    `dates`: (T,) datetime64 (any unit; read as calendar days); `pnl`: (T,) daily PnL. Callers pass the
    IS range starting at the first position day, as the simulator's metrics do. Non-finite PnL days
    are dropped (they are not trading days of the alpha); `n_days` counts the finite days kept. A year
    whose days are all non-finite is omitted. Sharpe is `sim.metrics.sharpe` (0 when flat).
    """
    d = np.asarray(dates)[lo:hi].astype("datetime64[D]")
    p = np.asarray(pnl, dtype=np.float64)[lo:hi]
    if d.shape != p.shape:
        raise ValueError(f"dates and pnl disagree on rows [{lo}, {hi}): {d.shape} vs {p.shape}")
    years = d.astype("datetime64[Y]").astype(np.int64) + 1970
    finite = np.isfinite(p)
    out: list[YearStat] = []
    for year in np.unique(years).tolist():
        vals = p[(years == year) & finite]
        if vals.size == 0:
            continue
        out.append(YearStat(year=int(year), sharpe=sharpe(vals), pnl=float(vals.sum()), n_days=int(vals.size)))
    return out


def _full_years(stats: list[YearStat] | tuple[YearStat, ...], min_days: int) -> list[YearStat]:
    return [s for s in stats if s.n_days >= min_days]


def positive_year_fraction(stats: list[YearStat] | tuple[YearStat, ...], min_days: int = MIN_YEAR_DAYS) -> float:
    """Share of years with PnL > 0 among years with at least `min_days` trading days; NaN if none.

    Short years are ignored rather than merged into a neighbour: they only occur at the two edges of
    the window (a start in November, an end in February), their sign is decided by a handful of days,
    and merging would create a 14-month "year" whose result is not comparable with the others. A year
    with exactly zero PnL (the alpha did not trade) counts as not positive.
    """
    full = _full_years(stats, min_days)
    if not full:
        return math.nan
    return sum(1 for s in full if s.pnl > 0.0) / len(full)


def stability(
    dates: np.ndarray, pnl: np.ndarray, lo: int, hi: int, min_days: int = MIN_YEAR_DAYS
) -> Stability:
    """`yearly_sharpes` over rows [lo, hi) (every year, stubs included, for display), with
    `positive_fraction` and `min_sharpe` taken over years of at least `min_days` days (NaN if none)."""
    years = yearly_sharpes(dates, pnl, lo, hi)
    full = _full_years(years, min_days)
    min_sr = min((s.sharpe for s in full), default=math.nan)
    return Stability(years=tuple(years), positive_fraction=positive_year_fraction(years, min_days), min_sharpe=min_sr)

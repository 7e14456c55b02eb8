"""Point-in-time liquidity universes ``TOP<N>`` (simulation.md "Universes on local data" and P4).

The rule, exactly:
- dollar volume ``dv = close * volume`` (NaN when either is NaN);
- ``ADV$[s]`` = mean of the non-NaN ``dv`` of rows s-19..s; NaN when s < 19 or all 20 are NaN;
- membership is recomputed on the first trading day of each calendar month (row 0 counts as one)
  from ``ADV$`` of the *previous* row, so a month's universe uses data <= the day before it starts;
- the N largest ``ADV$`` are members; ties -> ticker ascending; NaN ``ADV$`` never qualifies; fewer
  than N valid -> all valid ones;
- a month whose start has no previous row with a 20-row ``ADV$`` (row 0 and the first 20 rows) has an
  empty universe;
- membership is fixed for the whole month, even on a day a member has no row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel

__all__ = ["ADV_WINDOW", "add_top_universes", "adv_at_rows", "month_starts", "top_n_universe"]

ADV_WINDOW = 20
"""Rows in the dollar-volume average that ranks liquidity (today included)."""


def month_starts(dates: np.ndarray) -> np.ndarray:
    """Bool (T,): True on the first row of each calendar month present in `dates` (row 0 included)."""
    months = np.asarray(dates).astype("datetime64[M]")
    out = np.ones(months.shape, dtype=bool)
    out[1:] = months[1:] != months[:-1]
    return out


def adv_at_rows(dollar_volume: np.ndarray, rows: np.ndarray, window: int = ADV_WINDOW) -> np.ndarray:
    """(len(rows), N) mean of the non-NaN values of rows s-window+1..s for each s in `rows`.

    NaN when s < window-1 or the window is all NaN. Only the requested rows are computed (gathered as
    (M, window, N)), so ranking ~60 month starts never touches a (T, window, N) array.
    """
    rows = np.asarray(rows, dtype=np.intp)
    dv = np.asarray(dollar_volume, dtype=np.float64)
    out = np.full((rows.size, dv.shape[1]), np.nan)
    ok = rows >= window - 1
    if not ok.any():
        return out
    idx = rows[ok, None] + np.arange(-window + 1, 1)[None, :]  # (M, window)
    block = dv[idx]  # (M, window, N)
    valid = ~np.isnan(block)
    total = np.where(valid, block, 0.0).sum(axis=1)
    count = valid.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[ok] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def top_n_universe(
    close: np.ndarray,
    volume: np.ndarray,
    instruments: np.ndarray,
    n: int,
    *,
    dates: np.ndarray,
) -> np.ndarray:
    """Bool (T, N) membership of ``TOP<n>`` under the module's rule.

    `dates` (T,) datetime64 locates the month starts; `instruments` (N,) breaks ties (ascending).
    Vectorized over months: one lexsort of an (M, N) key array, M = number of month starts.
    """
    if n < 1:
        raise DataError(f"universe size must be >= 1, got {n}")
    c = np.asarray(close, dtype=np.float64)
    v = np.asarray(volume, dtype=np.float64)
    d = np.asarray(dates)
    T, N = c.shape
    if v.shape != (T, N) or d.shape != (T,) or len(instruments) != N:
        raise DataError(
            f"universe: shapes disagree: close {c.shape}, volume {v.shape}, dates {d.shape}, "
            f"instruments ({len(instruments)},)"
        )
    if T == 0 or N == 0:
        return np.zeros((T, N), dtype=bool)
    starts = np.flatnonzero(month_starts(d))  # (M,)
    adv = adv_at_rows(c * v, starts - 1)  # ranked with the previous row's ADV$; row -1 -> NaN
    adv[starts == 0] = np.nan
    valid = ~np.isnan(adv)
    tick_rank = np.empty(N, dtype=np.intp)
    tick_rank[np.argsort(np.asarray(instruments).astype(str), kind="stable")] = np.arange(N)
    key_adv = np.where(valid, -adv, np.inf)  # largest first, NaN last
    key_tick = np.broadcast_to(tick_rank, adv.shape)
    order = np.lexsort((key_tick, key_adv), axis=-1)  # (M, N) columns by rank
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(N)[None, :], axis=-1)
    chosen = valid & (position < n)  # (M, N)
    month_of_row = np.cumsum(month_starts(d)) - 1
    return chosen[month_of_row]


def universe_info(n: int) -> FieldInfo:
    """Catalogue entry of ``TOP<n>``."""
    return FieldInfo(
        name=f"TOP{n}",
        type=FieldType.UNIVERSE,
        dataset="pv1",
        category="pv",
        description=(
            f"The {n} most liquid instruments by 20-day average dollar volume (close*volume), "
            "recomputed on the first trading day of each month from data up to the previous day; "
            "ties by ticker; fixed for the month."
        ),
        unit=Unit.NONE,
    )


def add_top_universes(panel: Panel, sizes: Sequence[int] = (500, 200, 100)) -> Panel:
    """A new Panel with universes ``TOP<n>`` for each size (needs ``close`` and ``volume``).

    A size larger than the number of instruments is allowed (then every instrument with a valid ADV$
    is a member).
    """
    missing = [k for k in ("close", "volume") if k not in panel.matrices]
    if missing:
        raise DataError(f"universes need the fields close and volume; panel lacks {', '.join(missing)}")
    close, volume = panel.matrices["close"], panel.matrices["volume"]
    unis: dict[str, np.ndarray] = {}
    cat: dict[str, FieldInfo] = {}
    for n in dict.fromkeys(int(s) for s in sizes):
        unis[f"TOP{n}"] = top_n_universe(close, volume, panel.instruments, n, dates=panel.dates)
        cat[f"TOP{n}"] = universe_info(n)
    return panel.with_fields(universes=unis, catalogue=cat)

"""Point-in-time joins of slow data (annual or quarterly reports) onto the daily panel.

A report for fiscal period ending ``period_end`` is assumed public ``lag_days`` calendar days later
(10-K filings take 60-90 days). From the first trading day on or after ``period_end + lag_days`` it is
the ticker's current value, carried forward until the ticker's next report becomes available; if two
reports become available on the same trading day, the later period wins (and of two rows for the same
ticker and period, the later row: a restatement). The newest available report
wins even where its value is NaN (a missing line item is not filled from an older year), so a value on
day t is always the one a reader of the filings could have known on day t.

Rows with impossible period dates (missing, unparseable, before 1990 or more than a year after the
panel's last date) are dropped with a warning; rows for tickers outside the panel are ignored.

Ages (`alphamine.data.freshness`): the age of the value on day t is the calendar days since the trading
day its report became available (the row above; for a report public before the panel's first day, the
date period end + lag itself); one float32 (T, N) array per report table, shared by all its columns (a
report's empty line item has the report's age), NaN before the first report.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel

__all__ = [
    "DEFAULT_LAG_DAYS",
    "MIN_PERIOD",
    "fundamental_info",
    "join_point_in_time",
    "join_point_in_time_with_ages",
    "load_fundamentals",
]

DEFAULT_LAG_DAYS = 90
MIN_PERIOD = np.datetime64("1990-01-01", "D")
"""Period ends before this are treated as impossible dates (typos such as year 1215)."""
MAX_AHEAD = np.timedelta64(366, "D")
"""Period ends later than the panel's last date plus this are impossible."""
EXCLUDE = ("fiscal_year", "fiscal_period", "year", "quarter")
"""Numeric bookkeeping columns that are not fields."""

_DESCRIPTIONS = {
    "total_revenue": "Total revenue",
    "net_income": "Net income",
    "earnings_per_share": "Earnings per share (USD per share)",
    "estimated_shares_outstanding": "Shares outstanding, estimated as net income / EPS (approximate)",
    "total_assets": "Total assets",
    "total_equity": "Total shareholders' equity",
    "total_liabilities": "Total liabilities",
    "long_term_debt": "Long-term debt",
    "cash_and_cash_equivalents": "Cash and cash equivalents",
    "gross_profit": "Gross profit",
    "operating_income": "Operating income",
    "earnings_before_interest_and_tax": "Earnings before interest and tax (EBIT)",
    "capital_expenditures": "Capital expenditures (negative = cash spent)",
    "net_cash_flow_operating": "Net cash flow from operating activities",
    "research_and_development": "Research and development expense",
}


def _unit(col: str) -> Unit:
    c = col.lower()
    if "per_share" in c:
        return Unit.PRICE  # USD per share: comparable with a price
    if "shares" in c:
        return Unit.COUNT
    if c.endswith(("_ratio", "_margin", "_roe", "_roa", "_yield", "_pct", "_percent")):
        return Unit.RATIO
    return Unit.DOLLARS


def fundamental_info(col: str, lag_days: int = DEFAULT_LAG_DAYS, source: str = "") -> FieldInfo:
    """Catalogue entry of a fundamental column, with the units the data README states."""
    unit = _unit(col)
    what = _DESCRIPTIONS.get(col, col.replace("_", " ").capitalize())
    suffix = {Unit.DOLLARS: " (USD)", Unit.RATIO: " (percent)", Unit.COUNT: " (shares)"}.get(unit, "")
    if "(" in what:
        suffix = ""
    desc = (
        f"{what}{suffix} from the last annual report available on the date "
        f"(period end + {lag_days} days, carried forward){source}."
    )
    return FieldInfo(
        name=col,
        type=FieldType.MATRIX,
        dataset="fundamental",
        category="fundamental",
        description=desc,
        unit=unit,
        approximate=col == "estimated_shares_outstanding",
    )


def _period_dates(
    table: pd.DataFrame, period_col: str, ticker_col: str, last: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    """(datetime64[D] period ends, bool keep); warns about impossible dates."""
    raw = table[period_col]
    parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    per = parsed.to_numpy().astype("datetime64[D]")
    nat = np.isnat(per)
    keep = ~nat & (per >= MIN_PERIOD) & (per <= last + MAX_AHEAD)
    if not keep.all():
        bad = ~keep
        tick = table[ticker_col].astype(str).to_numpy()
        ex = [f"{t}:{v}" for t, v in zip(tick[bad][:5], raw[bad].astype(str)[:5], strict=False)]
        warnings.warn(
            f"point-in-time join: dropped {int(bad.sum())} rows with impossible {period_col!r} dates "
            f"(missing, unparseable, before {MIN_PERIOD} or after {last + MAX_AHEAD}), e.g. {ex}",
            stacklevel=3,
        )
    return per, keep


def join_point_in_time(
    dates: np.ndarray,
    instruments: np.ndarray,
    table: pd.DataFrame,
    *,
    value_cols: Sequence[str],
    ticker_col: str = "ticker",
    period_col: str = "period_end",
    lag_days: int = DEFAULT_LAG_DAYS,
) -> dict[str, np.ndarray]:
    """{column: (T, N) float64} of the report values known on each trading day (module rules).

    `dates` (T,) ascending trading days, `instruments` (N,) tickers. NaN before a ticker's first
    available report. Cost: one sort of the reports plus O(T*N) per column (searchsorted for the
    availability row, ``np.maximum.accumulate`` of report indices for the carry-forward).
    """
    return join_point_in_time_with_ages(
        dates, instruments, table, value_cols=value_cols, ticker_col=ticker_col, period_col=period_col,
        lag_days=lag_days,
    )[0]  # fmt: skip


def join_point_in_time_with_ages(
    dates: np.ndarray,
    instruments: np.ndarray,
    table: pd.DataFrame,
    *,
    value_cols: Sequence[str],
    ticker_col: str = "ticker",
    period_col: str = "period_end",
    lag_days: int = DEFAULT_LAG_DAYS,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(`join_point_in_time`'s columns, float32 (T, N) ages in calendar days of the report in effect:
    day t minus the trading day the report became available; NaN where no report is in effect yet)."""
    d = np.asarray(dates).astype("datetime64[D]")
    inst = np.asarray(instruments).astype(str)
    T, N = d.size, inst.size
    missing = [c for c in (ticker_col, period_col, *value_cols) if c not in table.columns]
    if missing:
        raise DataError(
            f"point-in-time join: missing columns {missing}; columns found: {', '.join(map(str, table.columns))}"
        )
    values: dict[str, np.ndarray] = {}
    for c in value_cols:
        conv = pd.to_numeric(table[c], errors="coerce")
        bad = (table[c].notna() & conv.isna()).to_numpy()
        if bad.any():
            ex = table[c][bad].astype(str).unique()[:5].tolist()
            raise DataError(f"point-in-time join: non-numeric values in column {c!r}, e.g. {ex}")
        values[c] = conv.to_numpy(dtype=np.float64, na_value=np.nan)
    if T == 0 or N == 0 or len(table) == 0:
        return {c: np.full((T, N), np.nan) for c in value_cols}, np.full((T, N), np.nan, np.float32)
    per, keep = _period_dates(table, period_col, ticker_col, d[-1])
    col = pd.Index(inst).get_indexer(pd.Index(table[ticker_col].astype(str)))
    row = np.searchsorted(d, per + np.timedelta64(int(lag_days), "D"), side="left")
    keep &= (col >= 0) & (row < T)
    rec = np.flatnonzero(keep)
    # Records sorted by (availability row, period): within a column, a later record index is always
    # the newer knowledge, so a running max of indices is the carry-forward.
    order = np.lexsort((per[rec].astype(np.int64), row[rec]))
    rec = rec[order]
    idx = np.full((T, N), -1, dtype=np.int64)
    np.maximum.at(idx, (row[rec], col[rec]), np.arange(rec.size))  # same day: the later period wins
    idx = np.maximum.accumulate(idx, axis=0)
    # one gather per column; index len(table) is a NaN sentinel for "no report yet" (also when no row is kept)
    src = np.where(idx >= 0, np.append(rec, len(table))[np.maximum(idx, 0)], len(table))
    day = d.astype(np.int64)
    avail = np.full(len(table) + 1, np.nan)  # availability day of each kept record; NaN sentinel at the end
    public = (per[rec] + np.timedelta64(int(lag_days), "D")).astype(np.int64)
    avail[rec] = np.where(row[rec] > 0, day[row[rec]], np.minimum(public, day[0]))  # before the panel: the date
    ages = (day[:, None] - avail.take(src)).astype(np.float32)
    return {c: np.append(values[c], np.nan).take(src) for c in value_cols}, ages


def load_fundamentals(
    path: str | Path,
    panel: Panel,
    *,
    lag_days: int = DEFAULT_LAG_DAYS,
    ticker_col: str = "ticker",
    period_col: str = "period_end",
) -> Panel:
    """`panel` plus every numeric column of the report table at `path` as a point-in-time MATRIX field
    (dataset and category ``fundamental``), with their shared ages in `Panel.ages`. Bookkeeping columns
    (`EXCLUDE`) are skipped; a column whose name is already a panel field is a DataError."""
    from alphamine.data.loaders import read_table

    table = read_table(path)
    for want in (ticker_col, period_col):
        if want not in table.columns:
            raise DataError(f"{path}: no column {want!r}; columns found: {', '.join(map(str, table.columns))}")
    cols = [
        str(c)
        for c in table.columns
        if c not in (ticker_col, period_col, *EXCLUDE)
        and (pd.api.types.is_numeric_dtype(table[c].dtype) and not pd.api.types.is_bool_dtype(table[c].dtype))
    ]
    if not cols:
        raise DataError(f"{path}: no numeric columns to join")
    clash = sorted(set(cols) & set(panel.catalogue))
    if clash:
        raise DataError(f"{path}: columns {clash} clash with panel fields of the same name")
    try:
        joined, ages = join_point_in_time_with_ages(
            panel.dates,
            panel.instruments,
            table,
            value_cols=cols,
            ticker_col=ticker_col,
            period_col=period_col,
            lag_days=lag_days,
        )
    except DataError as e:
        raise DataError(f"{path}: {e}") from None
    src = f"; source {Path(path).name}"
    cat = {c: fundamental_info(c, lag_days, src) for c in cols}
    return panel.with_fields(matrices=joined, catalogue=cat, ages=dict.fromkeys(cols, ages))

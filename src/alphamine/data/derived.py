"""Derived price-volume fields with BRAIN's pv1 names, computed from raw data only (simulation.md P5).

Every function here is a pure, vectorized function of (T, N) float64 arrays; NaN means "no row".
The formulas (docs/data.md repeats them):

- ``returns[t] = close[t] / close[t-1] - 1``; NaN at row 0 and wherever either close is NaN, so a
  missing row makes the return NaN on that day and the next (P6). A given ``returns`` field is kept.
- ``vwap``: kept when given; else ``(high + low + close) / 3`` (NaN if any is NaN), flagged
  ``approximate``.
- ``dollar_volume = close * volume``.
- ``adv20[s]`` = mean of the non-NaN ``volume`` of rows s-19..s (shares, like BRAIN); NaN when
  s < 19 or when all 20 are NaN.
- ``sharesout`` in **millions** of shares and ``cap = close * sharesout`` in **millions** of USD
  (BRAIN's units). Shares come from a ``sharesout`` field (taken to be in millions already, BRAIN's
  spelling), else a ``shares`` field or the ``shares=`` argument (a plain count of shares).

Ages (`alphamine.data.freshness`): a derived field is as old as its oldest input. ``sharesout`` and
``cap`` take the ages of the field their shares come from (a ``shares=`` array that is one of the panel's
own fields counts as that field): ``close`` is 0 days old wherever ``cap`` has a value. The pv fields
get none: their own NaN pattern gives the same ages wherever they have a value (``adv20`` may lag
``volume``'s by < 20 rows).
"""

from __future__ import annotations

import numpy as np

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel

__all__ = ["PV_FIELDS", "add_derived_fields", "pv_info", "rolling_mean", "simple_returns"]

ADV_WINDOW = 20
"""Rows in the ADV window (today included); rows with less history get NaN (P3, P4)."""

# name -> (unit, description); the catalogue entries of the raw and derived price-volume fields.
PV_FIELDS: dict[str, tuple[Unit, str]] = {
    "open": (Unit.PRICE, "Daily open price (split-adjusted as delivered by the source)."),
    "high": (Unit.PRICE, "Daily high price."),
    "low": (Unit.PRICE, "Daily low price."),
    "close": (Unit.PRICE, "Daily close price (split-adjusted as delivered by the source)."),
    "volume": (Unit.VOLUME, "Daily traded volume in shares."),
    "vwap": (Unit.PRICE, "Daily volume-weighted average price."),
    "returns": (
        Unit.RATIO,
        "Daily close-to-close return close[t]/close[t-1]-1; NaN on a missing row and the day after.",
    ),
    "dollar_volume": (Unit.DOLLARS, "Daily traded value in USD: close * volume."),
    "adv20": (
        Unit.VOLUME,
        "Average daily volume in shares over the last 20 rows (today included), NaNs skipped; "
        "NaN for the first 19 rows.",
    ),
    "sharesout": (Unit.COUNT, "Shares outstanding, in millions."),
    "cap": (Unit.DOLLARS, "Market capitalisation close * sharesout, in millions of USD."),
}

_VWAP_APPROX = (
    "Approximate vwap: typical price (high + low + close) / 3, because the data has no vwap; "
    "NaN when any of the three is missing."
)


def pv_info(name: str, *, description: str | None = None, approximate: bool = False) -> FieldInfo:
    """The catalogue entry of a pv1 MATRIX field (coverage is filled in by the Panel)."""
    unit, desc = PV_FIELDS.get(name, (Unit.NONE, f"Price-volume field {name}."))
    return FieldInfo(
        name=name,
        type=FieldType.MATRIX,
        dataset="pv1",
        category="pv",
        description=description or desc,
        unit=unit,
        approximate=approximate,
    )


def simple_returns(close: np.ndarray) -> np.ndarray:
    """(T, N) close-to-close returns; row 0 and any pair with a NaN give NaN. Zero or negative prices
    follow IEEE rules (P7): the result may be +-inf, which evaluation later turns into NaN."""
    c = np.asarray(close, dtype=np.float64)
    out = np.full(c.shape, np.nan)
    if c.shape[0] > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            out[1:] = c[1:] / c[:-1] - 1.0
    return out


def rolling_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the non-NaN values of rows s-window+1..s, per column.

    NaN when s < window-1 (the panel-row history rule, P3) or when the whole window is NaN. Uses
    cumulative sums of values and of counts, so the cost is O(T*N) whatever the window; the value at
    row s depends on rows <= s only.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    a = np.asarray(x, dtype=np.float64)
    n_rows = a.shape[0]
    out = np.full(a.shape, np.nan)
    if n_rows < window:
        return out
    valid = ~np.isnan(a)
    zero = np.zeros((1, *a.shape[1:]))
    csum = np.concatenate([zero, np.cumsum(np.where(valid, a, 0.0), axis=0)])
    ccnt = np.concatenate([zero, np.cumsum(valid, axis=0, dtype=np.float64)])
    s = csum[window:] - csum[:-window]
    n = ccnt[window:] - ccnt[:-window]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[window - 1 :] = np.where(n > 0, s / np.maximum(n, 1.0), np.nan)
    return out


def _shares_in_millions(panel: Panel, shares: np.ndarray | None) -> np.ndarray | None:
    T, N = panel.shape
    if shares is not None:
        s = np.asarray(shares, dtype=np.float64)
        if s.shape == (N,):
            s = np.broadcast_to(s, (T, N))
        if s.shape != (T, N):
            raise DataError(f"derived fields: shares has shape {s.shape}, expected {(T, N)} or {(N,)}")
        return s / 1e6
    if "sharesout" in panel.matrices:
        return np.asarray(panel.matrices["sharesout"])
    if "shares" in panel.matrices:
        return np.asarray(panel.matrices["shares"]) / 1e6
    return None


def add_derived_fields(panel: Panel, *, shares: np.ndarray | None = None) -> Panel:
    """A new Panel with the derived pv1 fields the data allows (see the module docstring).

    Needs ``close`` (returns, dollar_volume, cap), ``volume`` (dollar_volume, adv20) and
    ``high``/``low`` (approximate vwap); fields whose inputs are absent are skipped, not faked.
    ``shares``: (T, N) or (N,) share counts (not millions), e.g. a point-in-time join of reported
    shares outstanding; it overrides any ``sharesout``/``shares`` field. Raw pv fields that have no
    description yet get the standard pv1 catalogue entry.
    """
    m = panel.matrices
    new: dict[str, np.ndarray] = {}
    cat: dict[str, FieldInfo] = {}
    for name in ("open", "high", "low", "close", "volume", "vwap", "returns"):
        if name in m and not panel.catalogue[name].description:
            cat[name] = pv_info(name)
    close = m.get("close")
    volume = m.get("volume")
    if close is not None and "returns" not in m:
        new["returns"] = simple_returns(close)
        cat["returns"] = pv_info("returns")
    if "vwap" not in m and close is not None and "high" in m and "low" in m:
        new["vwap"] = (m["high"] + m["low"] + close) / 3.0
        cat["vwap"] = pv_info("vwap", description=_VWAP_APPROX, approximate=True)
    if close is not None and volume is not None:
        new["dollar_volume"] = close * volume
        cat["dollar_volume"] = pv_info("dollar_volume")
    if volume is not None:
        new["adv20"] = rolling_mean(volume, ADV_WINDOW)
        cat["adv20"] = pv_info("adv20")
    so = _shares_in_millions(panel, shares)
    source = (
        next((k for k, v in m.items() if v is shares), None)
        if shares is not None
        else next((k for k in ("sharesout", "shares") if k in m), None)
    )
    shares_ages = panel.ages.get(source) if source is not None else None
    if so is not None:
        given = [panel.catalogue[k] for k in ("sharesout", "shares") if k in panel.catalogue]
        approx = any(info.approximate for info in given) and shares is None
        if "sharesout" not in m or shares is not None:
            new["sharesout"] = np.array(so, dtype=np.float64)
        cat["sharesout"] = pv_info("sharesout", approximate=approx)
        if close is not None and ("cap" not in m or shares is not None):
            new["cap"] = close * so
            cat["cap"] = pv_info("cap", approximate=approx)
    ages: dict[str, np.ndarray] = {}
    if shares_ages is not None:
        ages = {k: shares_ages for k in ("sharesout", "cap") if k in new}
    return panel.with_fields(matrices=new, catalogue=cat, ages=ages)

"""Point-in-time market regimes from a panel's daily returns, and an alpha's Sharpe in each regime.

Why: an alpha that only earns in calm markets (or only in a rising one) is a bet on the regime, not a
signal; its Sharpe by regime shows that before the regime changes. Regimes are computed point in time
-- the label of day t uses only returns of days ≤ t -- so the split never leaks the future: the
volatility terciles are cut at quantiles of the volatility values known at t, not of the whole sample.
A label at t includes day t's own return (the regime the day belongs to); shift labels by one day for
a strictly ex-ante label.

Shapes: market series and labels are (T,) over the panel's dates; labels are int64 with -1 (terciles)
or 0 (up/down) where undefined. Returns are fractional daily returns; NaN means missing.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from alphamine.sim.metrics import sharpe

VOL_NAMES: dict[int, str] = {0: "low_vol", 1: "mid_vol", 2: "high_vol"}
TREND_NAMES: dict[int, str] = {1: "up", -1: "down"}


def market_return(returns: np.ndarray, universe: np.ndarray | None = None) -> np.ndarray:
    """Equal-weighted mean of the finite returns of each day, (T, N) → (T,); only instruments where
    `universe` (a (T, N) bool mask) is True count. NaN on a day with no such return."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"market_return expects a (T, N) array, got shape {r.shape}")
    ok = np.isfinite(r)
    if universe is not None:
        u = np.asarray(universe, dtype=bool)
        if u.shape != r.shape:
            raise ValueError(f"universe shape {u.shape} differs from returns shape {r.shape}")
        ok &= u
    n = ok.sum(axis=1)
    total = np.where(ok, r, 0.0).sum(axis=1)
    out = np.full(r.shape[0], np.nan)
    np.divide(total, n, out=out, where=n > 0)
    return out


def _trailing_windows(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, window) trailing windows ending at each row (NaN-padded before the start) and their finite
    counts; row t holds x[t-window+1 .. t]."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    padded = np.concatenate((np.full(window - 1, np.nan), np.asarray(x, dtype=np.float64).ravel()))
    win = sliding_window_view(padded, window)
    return win, np.isfinite(win).sum(axis=1)


def _min_count(window: int) -> int:
    return max(2, (window + 1) // 2)


def trailing_volatility(market_ret: np.ndarray, window: int = 20) -> np.ndarray:
    """Realized volatility (std, ddof=1, daily units) of the finite returns in the trailing `window`
    days ending at t; NaN until at least half the window (and ≥ 2 values) is finite."""
    win, count = _trailing_windows(market_ret, window)
    out = np.full(win.shape[0], np.nan)
    good = count >= _min_count(window)
    if good.any():
        w = win[good]
        c = count[good]
        mean = np.nansum(w, axis=1) / c
        dev = np.where(np.isfinite(w), w - mean[:, None], 0.0)
        out[good] = np.sqrt((dev * dev).sum(axis=1) / (c - 1))
    return out


def _linear_quantile(sorted_vals: list[float], q: float) -> float:
    """np.quantile's default ('linear') on an already sorted list."""
    h = (len(sorted_vals) - 1) * q
    i = math.floor(h)
    if i + 1 >= len(sorted_vals):
        return sorted_vals[-1]
    return sorted_vals[i] + (h - i) * (sorted_vals[i + 1] - sorted_vals[i])


def volatility_terciles(market_ret: np.ndarray, window: int = 20, min_history: int = 60) -> np.ndarray:
    """Label each day low (0) / mid (1) / high (2) volatility, point in time.

    vol[t] = `trailing_volatility` at t; the cut points are the 1/3 and 2/3 quantiles (linear, as
    np.quantile) of all finite vol values of days ≤ t, t included; label 0 if vol[t] ≤ q1, 1 if
    ≤ q2, else 2. -1 where vol[t] is undefined or fewer than `min_history` vol values are known yet
    (terciles of a handful of values are noise). An expanding window, not a rolling one: a regime is
    judged against all history known so far. O(T·log T) plus list insertion, fine for T ~ 10⁴.
    """
    vol = trailing_volatility(market_ret, window)
    labels = np.full(vol.shape[0], -1, dtype=np.int64)
    seen: list[float] = []
    for t, v in enumerate(vol.tolist()):
        if not math.isfinite(v):
            continue
        bisect.insort(seen, v)
        if len(seen) < max(min_history, 1):
            continue
        q1 = _linear_quantile(seen, 1.0 / 3.0)
        q2 = _linear_quantile(seen, 2.0 / 3.0)
        labels[t] = 0 if v <= q1 else (1 if v <= q2 else 2)
    return labels


def up_down(market_ret: np.ndarray, window: int = 20) -> np.ndarray:
    """+1 (up) / -1 (down) by the sign of the summed finite market returns of the trailing `window`
    days ending at t; 0 where fewer than half the window is finite or the sum is exactly 0."""
    win, count = _trailing_windows(market_ret, window)
    total = np.where(np.isfinite(win), win, 0.0).sum(axis=1)
    labels = np.sign(total).astype(np.int64)
    labels[count < _min_count(window)] = 0
    return labels


@dataclass(frozen=True)
class RegimeStat:
    """An alpha's annualized Sharpe (`sim.metrics.sharpe`; NaN with no days), summed PnL and finite
    days within one regime."""

    sharpe: float
    pnl: float
    n_days: int

    def to_json(self) -> dict[str, Any]:
        sr = float(self.sharpe)
        return {"sharpe": sr if math.isfinite(sr) else None, "pnl": float(self.pnl), "n_days": self.n_days}


def sharpe_by_regime(pnl: np.ndarray, labels: np.ndarray, names: Mapping[int, str]) -> dict[str, RegimeStat]:
    """`RegimeStat` of the days whose label is each key of `names` (label → regime name, in the
    mapping's order); `pnl` and `labels` are (T,) over the same rows. Non-finite PnL days are dropped;
    labels absent from `names` (the undefined -1 / 0) are ignored."""
    p = np.asarray(pnl, dtype=np.float64).ravel()
    lab = np.asarray(labels).ravel()
    if p.shape != lab.shape:
        raise ValueError(f"pnl and labels differ in shape: {p.shape} vs {lab.shape}")
    finite = np.isfinite(p)
    out: dict[str, RegimeStat] = {}
    for value, name in names.items():
        vals = p[(lab == value) & finite]
        sr = sharpe(vals) if vals.size else math.nan
        out[name] = RegimeStat(sharpe=sr, pnl=float(vals.sum()), n_days=int(vals.size))
    return out

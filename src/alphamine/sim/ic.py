"""Information coefficient: how well a day's alpha ranks the next return.

Why here: before the full simulator exists (and later as a cheap pre-screen), the daily rank IC tells
whether an alpha orders stocks in the direction of their next return, independent of scaling.

Contract: `alpha` and `forward` are (T, N) float64; row t of `forward` must be the return earned after
the alpha of row t is known (for delay-1 daily data: `returns` shifted up by one row). A day with
fewer than `min_names` jointly valid cells gives NaN. Ties get average ranks (Spearman).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


def forward_returns(returns: np.ndarray, days: int = 1) -> np.ndarray:
    """Row t = returns[t + days] (NaN for the last `days` rows): what an alpha known at t earns."""
    out = np.full_like(returns, np.nan, dtype=np.float64)
    if days < returns.shape[0]:
        out[: returns.shape[0] - days] = returns[days:]
    return out


def _nan_rank_rows(x: np.ndarray) -> np.ndarray:
    r = rankdata(np.where(np.isnan(x), np.inf, x), axis=1, method="average").astype(np.float64)
    r[np.isnan(x)] = np.nan
    return r


def rank_ic(alpha: np.ndarray, forward: np.ndarray, min_names: int = 5) -> np.ndarray:
    """Daily Spearman correlation between alpha[t] and forward[t] over jointly valid instruments."""
    valid = ~np.isnan(alpha) & ~np.isnan(forward)
    a = _nan_rank_rows(np.where(valid, alpha, np.nan))
    f = _nan_rank_rows(np.where(valid, forward, np.nan))
    n = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cnt = np.maximum(n, 1)[:, None]
        am = np.where(valid, a, 0.0).sum(axis=1, keepdims=True) / cnt
        fm = np.where(valid, f, 0.0).sum(axis=1, keepdims=True) / cnt
        da = np.where(valid, a - am, 0.0)
        df = np.where(valid, f - fm, 0.0)
        cov = (da * df).sum(axis=1)
        var = np.sqrt((da * da).sum(axis=1) * (df * df).sum(axis=1))
        ic = np.where((n >= min_names) & (var > 0), cov / var, np.nan)
    return ic


@dataclass(frozen=True)
class ICSummary:
    mean: float
    std: float
    ir: float  # annualized: mean / std * sqrt(252)
    t_stat: float
    hit_rate: float  # fraction of days with IC > 0
    days: int


def summarize_ic(ic: np.ndarray) -> ICSummary:
    v = ic[~np.isnan(ic)]
    if v.size < 2:
        return ICSummary(float("nan"), float("nan"), float("nan"), float("nan"), float("nan"), int(v.size))
    mean, std = float(v.mean()), float(v.std(ddof=1))
    ir = mean / std * np.sqrt(252) if std > 0 else float("nan")
    t = mean / std * np.sqrt(v.size) if std > 0 else float("nan")
    return ICSummary(mean, std, float(ir), float(t), float((v > 0).mean()), int(v.size))

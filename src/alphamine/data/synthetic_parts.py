"""Building blocks of `alphamine.data.synthetic`: group structure, lives, missing rows, events,
OHLCV around the latent path, quarterly fundamentals, and the catalogue.

Split out of `synthetic.py` to keep each module readable; the model they implement is documented in
that module's docstring. All functions draw from the generator they are given, in a fixed order, so
the caller controls determinism.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.synthetic_model import ModelParams


def hierarchy(
    rng: np.random.Generator, n: int, n_sectors: int, ind_per_sec: int, sub_per_ind: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str], list[str]]:
    sec_of_ind: list[int] = []
    ind_of_sub: list[int] = []
    sec_labels, ind_labels, sub_labels = [], [], []
    for s in range(n_sectors):
        sec_labels.append(f"{10 + 5 * s:02d}" if s < 18 else f"{s:03d}")
        n_ind = int(rng.integers(max(1, ind_per_sec - 1), ind_per_sec + 2))
        for j in range(n_ind):
            code = len(sec_of_ind)
            sec_of_ind.append(s)
            ind_labels.append(f"{sec_labels[s]}{10 * (j + 1):02d}")
            n_sub = int(rng.integers(max(1, sub_per_ind - 1), sub_per_ind + 2))
            for k in range(n_sub):
                ind_of_sub.append(code)
                sub_labels.append(f"{ind_labels[code]}{10 * (k + 1):02d}")
    weights = rng.gamma(2.0, 1.0, size=len(ind_of_sub))
    sub = rng.choice(len(ind_of_sub), size=n, p=weights / weights.sum()).astype(np.int32)
    ind = np.asarray(ind_of_sub, dtype=np.int32)[sub]
    sec = np.asarray(sec_of_ind, dtype=np.int32)[ind]
    return sec, ind, sub, sec_labels, ind_labels, sub_labels


def lives(rng: np.random.Generator, n: int, t: int, late: float, early: float) -> tuple[np.ndarray, np.ndarray]:
    min_life = min(60, max(1, t // 4))
    first = np.zeros(n, dtype=np.int64)
    end = np.full(n, t, dtype=np.int64)
    is_late = rng.random(n) < late
    is_early = rng.random(n) < early
    hi_first = max(2, int(0.8 * t))
    first[is_late] = rng.integers(1, hi_first, size=int(is_late.sum())) if t > 2 else 0
    lo_end = max(1, int(0.2 * t))
    end[is_early] = rng.integers(lo_end, max(lo_end + 1, t), size=int(is_early.sum()))
    end = np.maximum(end, np.minimum(first + min_life, t))
    return first, end


def missing_rows(rng: np.random.Generator, alive: np.ndarray, fraction: float, first: np.ndarray) -> np.ndarray:
    """Runs of 1-5 missing rows inside lives, ~`fraction` of live cells; never a life's first row."""
    T, N = alive.shape
    mean_len = 1.6
    starts = (rng.random((T, N)) < fraction / mean_len) & alive
    ts, cs = np.nonzero(starts)
    lengths = np.minimum(rng.geometric(1.0 / mean_len, size=ts.size), 5)
    miss = np.zeros((T, N), dtype=bool)
    for k in range(5):
        sel = lengths > k
        rows = ts[sel] + k
        ok = rows < T
        miss[rows[ok], cs[sel][ok]] = True
    miss &= alive
    miss[first[first < T], np.flatnonzero(first < T)] = False
    return miss


def events(rng: np.random.Generator, alive: np.ndarray, width: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """The VECTOR field (T, N, K) and z_sent (T, N) = sum(scores) / sqrt(count), 0 without events."""
    T, N = alive.shape
    vec = np.full((T, N, width), np.nan)
    z = np.zeros((T, N))
    if width == 0 or rate <= 0:
        return vec, z
    ts, cs = np.nonzero((rng.random((T, N)) < rate) & alive)
    counts = np.minimum(rng.geometric(0.55, size=ts.size), width)
    scores = rng.standard_normal((ts.size, width))
    scores[np.arange(width)[None, :] >= counts[:, None]] = np.nan
    vec[ts, cs] = scores
    z[ts, cs] = np.nansum(scores, axis=1) / np.sqrt(counts)
    return vec, z


# ---------------------------------------------------------------------------------------- observation
def ohlcv(
    rng: np.random.Generator,
    log_price: np.ndarray,
    log_price0: np.ndarray,
    log_shares: np.ndarray,
    beta: np.ndarray,
    idio_vol: np.ndarray,
    size: np.ndarray,
    prm: ModelParams,
    observed: np.ndarray,
) -> dict[str, np.ndarray]:
    T, N = log_price.shape
    vol = np.sqrt(idio_vol**2 + (beta * prm.market_vol) ** 2)  # (N,) long-run daily total vol
    prev = np.empty_like(log_price)
    prev[0] = log_price0
    prev[1:] = log_price[:-1]
    lr = log_price - prev
    close = np.exp(log_price)
    gap = 0.3 * lr
    gap += (0.3 * vol) * rng.standard_normal((T, N))
    gap += prev
    open_ = np.exp(gap, out=gap)
    del prev
    hi = np.maximum(open_, close)
    hi *= np.exp((0.6 * vol) * np.abs(rng.standard_normal((T, N))))
    lo = np.minimum(open_, close)
    lo *= np.exp(-(0.6 * vol) * np.abs(rng.standard_normal((T, N))))
    lam = rng.uniform(0.2, 0.8, size=(T, N))
    vwap = lam * (0.5 * (open_ + close))
    vwap += (1.0 - lam) * (0.5 * (hi + lo))
    del lam
    np.clip(vwap, lo, hi, out=vwap)  # guard the rounding of the convex mix
    # volume (shares): turnover level + AR(1) persistence + response to |return| / vol
    log_turn = np.log(0.007) - 0.15 * size + 0.35 * rng.standard_normal(N)
    persist = lfilter([np.sqrt(1 - 0.9**2) * 0.3], [1.0, -0.9], rng.standard_normal((T, N)), axis=0)
    abn = np.minimum(np.abs(lr) / vol, 8.0)
    del lr
    logv = log_shares + np.log(1e6) + log_turn
    logv += persist
    logv += 0.35 * (abn - 0.8)
    logv += 0.15 * rng.standard_normal((T, N))
    del persist, abn
    volume = np.rint(np.exp(logv, out=logv), out=logv)
    out = {"open": open_, "high": hi, "low": lo, "close": close, "volume": volume, "vwap": vwap}
    gone = ~observed
    for a in out.values():
        a[gone] = np.nan
    return out


def fundamentals_table(
    rng: np.random.Generator,
    log_bm: np.ndarray,
    log_cap_pe: np.ndarray,
    reported: np.ndarray,
    period_ends: np.ndarray,
    instruments: list[str],
) -> pd.DataFrame:
    """The long table of quarterly reports (ticker, period_end, FUNDAMENTAL_FIELDS), reported rows only."""
    Q, N = log_bm.shape
    book = np.exp(log_bm + log_cap_pe)
    roe_mu = 0.025 + 0.015 * rng.standard_normal(N)
    roe_noise = lfilter([0.012], [1.0, -0.5], rng.standard_normal((Q, N)), axis=0)
    earnings = book * (roe_mu + roe_noise)
    leverage = 1.0 + np.exp(np.log(1.2) + 0.6 * rng.standard_normal(N))
    assets = book * leverage * np.exp(0.03 * rng.standard_normal((Q, N)))
    debt_share = rng.uniform(0.2, 0.8, size=N)
    debt = np.maximum(assets - book, 0.0) * debt_share * np.exp(0.05 * rng.standard_normal((Q, N)))
    turnover = np.exp(np.log(0.8) + 0.5 * rng.standard_normal(N))
    sales = assets * turnover / 4.0 * np.exp(0.06 * rng.standard_normal((Q, N)))
    values = {"bookvalue": book, "earnings": earnings, "sales": sales, "assets": assets, "debt": debt}
    qs, cs = np.nonzero(reported)
    table = pd.DataFrame(
        {
            "ticker": np.asarray(instruments, dtype=object)[cs],
            "period_end": pd.to_datetime(period_ends[qs]),
            **{k: v[qs, cs] for k, v in values.items()},
        }
    )
    return table


# ---------------------------------------------------------------------------------------- catalogue
def catalogue(event_width: int) -> dict[str, FieldInfo]:
    M, G, V = FieldType.MATRIX, FieldType.GROUP, FieldType.VECTOR

    def pv(name: str, desc: str, unit: Unit) -> FieldInfo:
        return FieldInfo(name, M, dataset="pv1", category="pv", description=desc, unit=unit)

    def fnd(name: str, desc: str) -> FieldInfo:
        return FieldInfo(
            name,
            M,
            dataset="fundamental",
            category="fundamental",
            description=f"{desc}, last reported quarter, point in time (millions of dollars)",
            unit=Unit.DOLLARS,
        )

    def grp(name: str, desc: str) -> FieldInfo:
        return FieldInfo(name, G, dataset="pv1", category="pv", description=desc, unit=Unit.NONE)

    entries = [
        pv("open", "Daily open price", Unit.PRICE),
        pv("high", "Daily high price", Unit.PRICE),
        pv("low", "Daily low price", Unit.PRICE),
        pv("close", "Daily close price", Unit.PRICE),
        pv("volume", "Daily volume (shares)", Unit.VOLUME),
        pv("vwap", "Daily volume-weighted average price", Unit.PRICE),
        pv("sharesout", "Shares outstanding (millions)", Unit.COUNT),
        fnd("bookvalue", "Book value of common equity"),
        fnd("earnings", "Quarterly net income"),
        fnd("sales", "Quarterly sales (revenue)"),
        fnd("assets", "Total assets"),
        fnd("debt", "Total debt"),
        grp("market", "Market grouping (one group: all instruments)"),
        grp("sector", "Sector classification (GICS-like 2-digit code)"),
        grp("industry", "Industry classification (GICS-like 4-digit code, within a sector)"),
        grp("subindustry", "Sub-industry classification (GICS-like 6-digit code, within an industry)"),
        FieldInfo(
            "sentiment_events",
            V,
            dataset="news",
            category="sentiment",
            description=(
                f"News sentiment event scores of the day (up to {event_width} per instrument-day, "
                "NaN padded; most days have none)"
            ),
            unit=Unit.NONE,
        ),
    ]
    return {e.name: e for e in entries}

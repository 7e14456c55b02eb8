"""A realistic synthetic market panel with planted weak signals of known strength.

Why: tests and benchmarks need a market that behaves like real equities (fat tails, volatility
clustering, factor structure, listings and delistings, gaps, lagged fundamentals) and in which the
truth is known, so that a test can check that the simulator recovers an effect of a given strength
and finds nothing where nothing was planted. `synthetic(...)` is deterministic per seed.

Model (daily, T rows = business days from `start`, N instruments `S0000`..):

- Structure. `n_sectors` sectors, each with 2..4 industries (mean `industries_per_sector`), each with
  1..3 subindustries (mean `subindustries_per_industry`); instruments fall into subindustries with
  uneven sizes. Labels are GICS-like (`"10"`, `"1010"`, `"101010"`). Groups are static.
- Size. Start market cap (millions of dollars) is lognormal (median $2bn); start price lognormal
  (median $30); shares outstanding (millions) = cap / price, changed at each quarter start by a small
  random issuance / buyback (rarely a large issuance).
- Returns (`synthetic_model.simulate_latent`): `r = beta*(mu + m_t) + f_sector + f_industry +
  f_subindustry + x_size*f_size + x_value*f_value + x_mom*f_mom + e + planted`, with a GARCH(1,1)
  market `m_t` (long-run vol 1 %/day), group and style factors of fixed vol scaled by the market
  regime, GARCH(1,1) idiosyncratic `e` whose long-run vol falls with size (about 0.6 %..6 %/day), all
  innovations Student-t(6) scaled to unit variance. Style exposures are standardized log cap, the
  value rank score, and the 12-1 month momentum (from day 253). Constants: `ModelParams`.
- Planted signals (`SignalStrengths`, documented there exactly): short-term reversal on the 5-day
  return, value on book-to-price, and optionally the previous day's news events; each is a daily
  cross-sectional IC built from rows <= t-1 only, scaled by the conditional cross-sectional
  dispersion so that its strength is the same in calm and volatile regimes.
- Life. `late_listing_fraction` of instruments list after the first day (uniformly in the first 80 %
  of the panel), `early_delisting_fraction` delist before the last day (uniformly after the first
  20 %); every life is at least ~60 rows. Outside its life every field of an instrument is NaN.
- Observation. The latent market is complete; the panel drops whole instrument-day rows of OHLCV
  (`missing_fraction` of live cells, in runs of 1-5 days), so that `returns` across a gap are NaN on
  the gap and the next day, as with real data. open = previous close times an overnight gap that
  carries ~30 % of the day's move; high/low extend beyond max/min(open, close) by |normal| x vol;
  vwap is a convex mix of (open+close)/2 and (high+low)/2 (so low <= vwap <= high); volume (shares) is
  lognormal: a size-dependent turnover level, an AR(1) (phi 0.9) persistent component, plus a
  response to |return| / vol.
- Fundamentals (dataset `fundamental`, millions of dollars): `bookvalue`, `earnings`, `sales`,
  `assets`, `debt` for calendar quarter ends; log(book / cap at the period end) follows a per-
  instrument AR(1); earnings = book x ROE (can be negative); assets = book x leverage; debt is a share
  of the liabilities; sales = assets x turnover / 4. A value becomes visible on the first trading day
  >= period end + `report_lag_days` (calendar days) and is carried forward (point in time); the join
  is `alphamine.data.fundamentals.join_point_in_time`. The four quarters before the panel are
  reported too, so instruments alive from the start have fundamentals from row 0; a late lister
  reports from its first period end after listing, so its fields start one lag after that.
- Events: VECTOR field `sentiment_events` (T, N, `event_width`): on a live instrument-day an event
  happens with probability `event_rate`; it carries 1..K standard normal scores (NaN padded).
- Panel. MATRIX open, high, low, close, volume, vwap, sharesout and the fundamentals; GROUP market
  (all 0), sector, industry, subindustry; then `add_derived_fields` (returns, adv20, dollar_volume,
  cap, ...) and `add_top_universes` (TOP<n> for `universe_sizes`, default N, ~N/2, ~N/5 rounded down to
  one significant digit, e.g. 3000 -> TOP3000, TOP1000, TOP600).
- Truth. `synthetic(..., return_truth=True)` returns `(panel, SyntheticTruth)` with the strengths,
  lives, the missing-row mask, the fundamentals table and (T, N) arrays of the planted signals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, overload

import numpy as np
import pandas as pd

from alphamine.data.derived import add_derived_fields
from alphamine.data.fundamentals import join_point_in_time
from alphamine.data.panel import Panel
from alphamine.data.synthetic_model import ModelParams, SignalStrengths, rank_score, simulate_latent
from alphamine.data.synthetic_parts import (
    catalogue,
    events,
    fundamentals_table,
    hierarchy,
    lives,
    missing_rows,
    ohlcv,
)
from alphamine.data.universes import add_top_universes

__all__ = [
    "FUNDAMENTAL_FIELDS",
    "ModelParams",
    "SignalStrengths",
    "SyntheticTruth",
    "default_universe_sizes",
    "rank_score",
    "synthetic",
]

FUNDAMENTAL_FIELDS: tuple[str, ...] = ("bookvalue", "earnings", "sales", "assets", "debt")


@dataclass(frozen=True)
class SyntheticTruth:
    """What the generator knows and the panel does not show (for tests that check recovery).

    `first_day[i] <= t < end_day[i]` is instrument i's life (row indices). `missing` (T, N) marks the
    dropped OHLCV rows inside lives. `fundamentals` is the long table (ticker, period_end, fields) the
    point-in-time fields were built from. `reversal_signal`/`value_signal` (T, N) are the exact `z`
    scores used for the returns of row t (0 where not ranked); `dispersion` (T,) is `d_t`;
    `latent_close` (T, N) the complete price path. See `SignalStrengths` for the definitions.
    """

    seed: int
    signals: SignalStrengths
    params: ModelParams
    first_day: np.ndarray
    end_day: np.ndarray
    missing: np.ndarray
    beta: np.ndarray
    idio_vol: np.ndarray
    report_lag_days: int
    fundamentals: pd.DataFrame
    latent_close: np.ndarray
    reversal_signal: np.ndarray
    value_signal: np.ndarray
    dispersion: np.ndarray
    universe_sizes: tuple[int, ...] = field(default=())


def default_universe_sizes(n: int) -> tuple[int, ...]:
    """(N, ~N/2, ~N/5): halves and fifths rounded down to one significant digit, distinct, descending."""

    def nice(x: int) -> int:
        if x < 1:
            return 0
        mag = 10 ** (len(str(x)) - 1)
        return (x // mag) * mag

    sizes = {n, nice(n // 2), nice(n // 5)}
    return tuple(sorted((s for s in sizes if s >= 1), reverse=True))


# ---------------------------------------------------------------------------------------- public API
@overload
def synthetic(
    n_instruments: int = ...,
    n_days: int = ...,
    seed: int = ...,
    *,
    start: str = ...,
    n_sectors: int = ...,
    industries_per_sector: int = ...,
    subindustries_per_industry: int = ...,
    signals: SignalStrengths | None = ...,
    params: ModelParams | None = ...,
    late_listing_fraction: float = ...,
    early_delisting_fraction: float = ...,
    missing_fraction: float = ...,
    report_lag_days: int = ...,
    event_width: int = ...,
    event_rate: float = ...,
    universe_sizes: tuple[int, ...] | None = ...,
    return_truth: Literal[False] = ...,
) -> Panel: ...


@overload
def synthetic(
    n_instruments: int = ...,
    n_days: int = ...,
    seed: int = ...,
    *,
    start: str = ...,
    n_sectors: int = ...,
    industries_per_sector: int = ...,
    subindustries_per_industry: int = ...,
    signals: SignalStrengths | None = ...,
    params: ModelParams | None = ...,
    late_listing_fraction: float = ...,
    early_delisting_fraction: float = ...,
    missing_fraction: float = ...,
    report_lag_days: int = ...,
    event_width: int = ...,
    event_rate: float = ...,
    universe_sizes: tuple[int, ...] | None = ...,
    return_truth: Literal[True],
) -> tuple[Panel, SyntheticTruth]: ...


def synthetic(
    n_instruments: int = 500,
    n_days: int = 1260,
    seed: int = 0,
    *,
    start: str = "2010-01-04",
    n_sectors: int = 8,
    industries_per_sector: int = 3,
    subindustries_per_industry: int = 2,
    signals: SignalStrengths | None = None,
    params: ModelParams | None = None,
    late_listing_fraction: float = 0.10,
    early_delisting_fraction: float = 0.10,
    missing_fraction: float = 0.02,
    report_lag_days: int = 45,
    event_width: int = 4,
    event_rate: float = 0.05,
    universe_sizes: tuple[int, ...] | None = None,
    return_truth: bool = False,
) -> Panel | tuple[Panel, SyntheticTruth]:
    """Build a synthetic market panel (see the module docstring for the model).

    Deterministic: the same arguments give a panel with the same `fingerprint()` on any machine
    with the same NumPy; a different seed gives a different market. `signals=None` uses the default
    (weak) `SignalStrengths()`; `SignalStrengths(0, 0, 0)` plants nothing. With `return_truth=True`
    the result is `(panel, SyntheticTruth)`.
    """
    N, T = int(n_instruments), int(n_days)
    if N < 2 or T < 2:
        raise ValueError("synthetic: need at least 2 instruments and 2 days")
    if n_sectors < 1 or industries_per_sector < 1 or subindustries_per_industry < 1:
        raise ValueError("synthetic: group counts must be >= 1")
    for arg, frac in (
        ("late_listing_fraction", late_listing_fraction),
        ("early_delisting_fraction", early_delisting_fraction),
        ("missing_fraction", missing_fraction),
        ("event_rate", event_rate),
    ):
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"synthetic: {arg} must be in [0, 1), got {frac}")
    if pd.Timestamp(start) < pd.Timestamp("1991-01-01"):
        # join_point_in_time treats period ends before 1990 as impossible dates, and the generator
        # reports the four quarters before the panel.
        raise ValueError(f"synthetic: start must be on or after 1991-01-01, got {start}")
    sig = signals if signals is not None else SignalStrengths()
    prm = params if params is not None else ModelParams()
    rng = np.random.default_rng(seed)

    dates = pd.bdate_range(pd.Timestamp(start), periods=T).values.astype("datetime64[D]")
    width = max(4, len(str(N - 1)))
    instruments = [f"S{i:0{width}d}" for i in range(N)]

    # ---- static structure
    sec, ind, sub, sec_lab, ind_lab, sub_lab = hierarchy(
        rng, N, n_sectors, industries_per_sector, subindustries_per_industry
    )
    log_cap0 = np.clip(np.log(2000.0) + 1.2 * rng.standard_normal(N), np.log(30.0), np.log(800_000.0))
    size = (log_cap0 - log_cap0.mean()) / max(float(log_cap0.std()), 1e-12)
    log_price0 = np.clip(np.log(30.0) + 0.8 * rng.standard_normal(N), np.log(2.0), np.log(1500.0))
    first_day, end_day = lives(rng, N, T, late_listing_fraction, early_delisting_fraction)
    rows = np.arange(T)
    alive = (rows[:, None] >= first_day[None, :]) & (rows[:, None] < end_day[None, :])

    # ---- shares outstanding: piecewise constant by calendar quarter
    dts = pd.DatetimeIndex(dates)
    qkey = np.asarray(dts.year * 4 + (dts.month - 1) // 3)
    qrow = qkey - qkey[0]
    n_q = int(qrow[-1]) + 1
    dlog_s = 0.001 + 0.01 * rng.standard_normal((n_q, N))
    dlog_s += (rng.random((n_q, N)) < 0.02) * np.abs(0.1 + 0.05 * rng.standard_normal((n_q, N)))
    dlog_s[0] = 0.0
    log_shares = (log_cap0 - log_price0)[None, :] + np.cumsum(dlog_s, axis=0)[qrow]

    # ---- fundamental periods (calendar quarter ends, from a year before the panel)
    pe = pd.date_range(dts[0] - pd.Timedelta(days=370), dts[-1], freq="QE").values.astype("datetime64[D]")
    pe_day = np.searchsorted(dates, pe, side="right").astype(np.int64) - 1
    avail_day = np.searchsorted(dates, pe + np.timedelta64(report_lag_days, "D"), side="left")
    visible = np.searchsorted(avail_day, rows, side="right").astype(np.int64) - 1
    reported = ((pe_day[:, None] >= first_day[None, :]) | (first_day[None, :] == 0)) & (
        pe_day[:, None] < end_day[None, :]
    )
    Q = pe.size
    mu_bm = -0.6 + 0.5 * rng.standard_normal(N)
    log_bm = np.empty((Q, N))
    x = mu_bm + 0.3 * rng.standard_normal(N)
    for q in range(Q):
        x = mu_bm + 0.9 * (x - mu_bm) + 0.12 * rng.standard_normal(N)
        log_bm[q] = x

    # ---- events (drawn before returns: the sentiment signal of row t feeds the return of row t+1)
    vec, z_sent = events(rng, alive, int(event_width), float(event_rate))

    lat = simulate_latent(
        rng,
        n_days=T,
        log_price0=log_price0,
        log_shares=log_shares,
        size=size,
        sector=sec,
        industry=ind,
        subindustry=sub,
        first_day=first_day,
        end_day=end_day,
        period_end_day=pe_day,
        visible_period=visible,
        reported=reported,
        log_bm=log_bm,
        event_signal=z_sent,
        signals=sig,
        params=prm,
        keep_signals=return_truth,
    )
    del z_sent

    missing = missing_rows(rng, alive, float(missing_fraction), first_day)
    observed = alive & ~missing
    del alive

    matrices = ohlcv(rng, lat.log_price, log_price0, log_shares, lat.beta, lat.idio_vol, size, prm, observed)
    matrices["sharesout"] = np.where(observed, np.exp(log_shares), np.nan)
    del log_shares

    # ---- fundamentals: the long table of reports, joined point in time, NaN outside lives
    table = fundamentals_table(rng, log_bm, lat.log_cap_at_period_end, reported, pe, instruments)
    pit = join_point_in_time(
        dates, np.asarray(instruments), table, value_cols=FUNDAMENTAL_FIELDS, lag_days=int(report_lag_days)
    )
    life = (rows[:, None] >= first_day[None, :]) & (rows[:, None] < end_day[None, :])
    for name in FUNDAMENTAL_FIELDS:
        v = pit.pop(name)
        v[~life] = np.nan
        matrices[name] = v
    del life

    groups = {
        "market": np.zeros((T, N), dtype=np.int32),
        "sector": np.broadcast_to(sec, (T, N)),
        "industry": np.broadcast_to(ind, (T, N)),
        "subindustry": np.broadcast_to(sub, (T, N)),
    }
    strengths = f"reversal={sig.reversal:g},value={sig.value:g},sentiment={sig.sentiment:g}"
    name = f"synthetic(n={N},t={T},seed={seed},{strengths})"
    panel = Panel(
        dates,
        instruments,
        matrices=matrices,
        groups=groups,
        vectors={"sentiment_events": vec},
        catalogue=catalogue(int(event_width)),
        group_labels={"market": ("MARKET",), "sector": sec_lab, "industry": ind_lab, "subindustry": sub_lab},
        name=name,
    )
    del matrices, vec
    sizes = tuple(universe_sizes) if universe_sizes is not None else default_universe_sizes(N)
    panel = add_top_universes(add_derived_fields(panel), sizes)
    if not return_truth:
        return panel
    assert lat.reversal_signal is not None and lat.value_signal is not None and lat.dispersion is not None
    truth = SyntheticTruth(
        seed=seed,
        signals=sig,
        params=prm,
        first_day=first_day,
        end_day=end_day,
        missing=missing,
        beta=lat.beta,
        idio_vol=lat.idio_vol,
        report_lag_days=int(report_lag_days),
        fundamentals=table,
        latent_close=np.exp(lat.log_price),
        reversal_signal=lat.reversal_signal,
        value_signal=lat.value_signal,
        dispersion=lat.dispersion,
        universe_sizes=sizes,
    )
    return panel, truth

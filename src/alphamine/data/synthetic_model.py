"""The latent market behind `alphamine.data.synthetic`: factor returns, GARCH, planted signals.

This module owns the day-by-day recursion (the only part that cannot be vectorized over time) and
the slow quarterly fundamentals it needs for the value signal. It knows nothing of the Panel; the
public entry point and the observation layer (OHLCV, missing rows, events, catalogue) live in
`alphamine.data.synthetic`, whose module docstring documents the model and every parameter.

Why a loop over days: GARCH variances and the planted signals depend on the path so far (the reversal
signal on the last five returns, the value signal on the price against the last reported book). Each
iteration is vectorized across instruments (a few dozen length-N array operations and two sorts), so
3000 x 2520 costs about a second; numba would save little and cost a compile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SignalStrengths:
    """Strengths of the planted, tradeable effects (0 switches one off).

    Each planted effect adds `c_k * d_t * z_k[t, i]` to instrument i's return on day t, where `z_k` is
    built from data of days <= t-1 only, `d_t` is the conditional (known at t-1) cross-sectional
    standard deviation of all other return components, and `c_k = s_k / sqrt(1 - sum_j s_j^2)`. So
    `s_k` is the expected daily cross-sectional Pearson correlation (the information coefficient, IC)
    between `z_k[t]` and `r[t]`; because `z` are rank scores, the Spearman IC is close to it.

    reversal: the signal is `-z_rev`, `z_rev` = standardized cross-sectional rank of the 5-day
        return `close[t-1] / close[t-6] - 1` (latent prices; instruments listed at least 6 days).
        Positive `reversal` = losers of the last week outperform the next day.
    value: `z_val` = standardized cross-sectional rank of book-to-price
        `bookvalue[t-1] / cap[t-1]` (the point-in-time book of the panel over the latent market cap).
        Positive `value` = cheap stocks outperform.
    sentiment: `z_sent` = (sum of yesterday's `sentiment_events` scores) / sqrt(count), 0 on days
        without events; `sentiment` is the IC among instrument-days that follow an event day.

    The defaults are deliberately weak. Measured on 500 x 1260, seeds 0-5, delay 1, TOP500,
    market-neutral, sum|w| = 1: `rank(-ts_delta(close, 5))` Sharpe 2.3-3.6, `rank(bookvalue / cap)`
    0.2-1.5 (the value style factor adds noise), the summed sentiment events 0.2-1.4, and random
    alphas |Sharpe| <= 0.8. Sharpe grows roughly with sqrt(N), so 3000 names give about 2.5x these.
    A side effect: 12-month momentum comes out mildly negative (about -1 to 0), because it contains
    the last week's return (reversal) and the move since the last book (value).
    """

    reversal: float = 0.016
    value: float = 0.006
    sentiment: float = 0.01

    def __post_init__(self) -> None:
        total = self.reversal**2 + self.value**2 + self.sentiment**2
        if total >= 0.5:
            raise ValueError(f"SignalStrengths: strengths are ICs and must be small (sum of squares {total})")

    def loadings(self) -> tuple[float, float, float]:
        """(c_rev, c_val, c_sent): the per-unit-dispersion loadings that give these ICs."""
        norm = float(np.sqrt(1.0 - (self.reversal**2 + self.value**2 + self.sentiment**2)))
        return self.reversal / norm, self.value / norm, self.sentiment / norm


@dataclass(frozen=True)
class ModelParams:
    """Constants of the latent return model (daily units unless stated). Defaults resemble US equities.

    Market: GARCH(1,1) with long-run vol `market_vol`, drift `market_drift`. Group factors (sector,
    industry, subindustry) and style factors (size, value, momentum) are Student-t with fixed vols
    scaled by the market's volatility regime `sqrt(h_m / market_vol^2)`, so crises hit all of them.
    Idiosyncratic: GARCH(1,1) per instrument, long-run vol `idio_vol * exp(-idio_size_slope * size)`
    clipped to `idio_vol_bounds` (small caps are more volatile). Innovations are Student-t with
    `tail_dof` degrees of freedom scaled to unit variance (fat tails). With the defaults the fourth
    moment of the GARCH process exists (alpha^2 kappa + 2 alpha beta + beta^2 < 1), so the kurtosis
    of simulated returns is finite and stable across seeds.
    """

    market_vol: float = 0.010
    market_drift: float = 0.0003
    sector_vol: float = 0.006
    industry_vol: float = 0.004
    subindustry_vol: float = 0.003
    size_factor_vol: float = 0.003
    value_factor_vol: float = 0.0025
    momentum_factor_vol: float = 0.0035
    idio_vol: float = 0.017
    idio_size_slope: float = 0.3
    idio_vol_bounds: tuple[float, float] = (0.006, 0.06)
    garch_alpha: float = 0.07
    garch_beta: float = 0.91
    tail_dof: float = 6.0
    beta_sd: float = 0.3


@dataclass
class LatentMarket:
    """Output of `simulate_latent`: the full, unobserved market (every instrument, every day)."""

    log_price: np.ndarray  # (T, N) log of the latent close
    beta: np.ndarray  # (N,)
    idio_vol: np.ndarray  # (N,) long-run daily idiosyncratic vol
    log_cap_at_period_end: np.ndarray  # (Q, N) log market cap (millions) on each period end
    reversal_signal: np.ndarray | None  # (T, N) z_rev as used on day t (0 = not ranked); truth only
    value_signal: np.ndarray | None  # (T, N)
    dispersion: np.ndarray | None  # (T,) d_t


def rank_score(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Standardized cross-sectional rank of `x` over the instruments where `ok` (0 elsewhere).

    Ranks 0..n-1 mapped to mean 0 and standard deviation 1: `(r - (n-1)/2) / sqrt((n^2-1)/12)`.
    Ties are broken by position (the inputs are continuous, so ties have probability 0).
    """
    out = np.zeros(x.shape, dtype=np.float64)
    idx = np.flatnonzero(ok)
    n = idx.size
    if n < 2:
        return out
    order = np.argsort(x[idx], kind="stable")
    r = np.empty(n, dtype=np.float64)
    r[order] = np.arange(n, dtype=np.float64)
    out[idx] = (r - (n - 1) / 2.0) / np.sqrt((n * n - 1) / 12.0)
    return out


def _standardize(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
    out = np.zeros(x.shape, dtype=np.float64)
    if ok.sum() < 2:
        return out
    v = x[ok]
    sd = v.std()
    if sd > 0:
        out[ok] = (v - v.mean()) / sd
    return out


def _t_draws(rng: np.random.Generator, dof: float, size: int | tuple[int, ...]) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(dof, size=size) * np.sqrt((dof - 2.0) / dof)


def simulate_latent(
    rng: np.random.Generator,
    *,
    n_days: int,
    log_price0: np.ndarray,
    log_shares: np.ndarray,
    size: np.ndarray,
    sector: np.ndarray,
    industry: np.ndarray,
    subindustry: np.ndarray,
    first_day: np.ndarray,
    end_day: np.ndarray,
    period_end_day: np.ndarray,
    visible_period: np.ndarray,
    reported: np.ndarray,
    log_bm: np.ndarray,
    event_signal: np.ndarray,
    signals: SignalStrengths,
    params: ModelParams,
    keep_signals: bool,
) -> LatentMarket:
    """Run the daily recursion and return the latent market.

    Inputs (T = n_days, N instruments, Q periods): `log_shares` (T, N) log shares outstanding
    (millions); `size` (N,) standardized log cap at the start; group codes (N,); life `first_day <= t <
    end_day`; `period_end_day` (Q,) the last row <= each period end (-1 = before the panel);
    `visible_period` (T,) index of the latest period visible on row t (-1 = none); `reported` (Q, N)
    whether instrument i reports period q; `log_bm` (Q, N) log(book / cap at period end);
    `event_signal` (T, N) z_sent of the events on row t (applied to the return of row t+1).

    Timing contract: the planted term of row t reads `log_price[:t]`, `log_shares[t-1]`, the
    fundamentals visible on row t-1 and `event_signal[t-1]`; nothing of row t or later.
    """
    T, N = log_shares.shape
    p = params
    n_sec = int(sector.max()) + 1 if N else 0
    n_ind = int(industry.max()) + 1 if N else 0
    n_sub = int(subindustry.max()) + 1 if N else 0
    c_rev, c_val, c_sent = signals.loadings()

    beta = np.clip(1.0 + p.beta_sd * rng.standard_normal(N), 0.2, 2.5)
    lo, hi = p.idio_vol_bounds
    idio_vol = np.clip(p.idio_vol * np.exp(-p.idio_size_slope * size) * np.exp(0.2 * rng.standard_normal(N)), lo, hi)
    a, b = p.garch_alpha, p.garch_beta
    omega = idio_vol**2 * (1.0 - a - b)
    hbar_m = p.market_vol**2
    omega_m = hbar_m * (1.0 - a - b)
    h_cap = (hi * 3.0) ** 2

    # Innovations, drawn in one go in a fixed order (determinism per seed).
    z_idio = _t_draws(rng, p.tail_dof, (T, N))
    z_mkt = _t_draws(rng, p.tail_dof, T)
    z_sec = _t_draws(rng, p.tail_dof, (T, n_sec))
    z_ind = _t_draws(rng, p.tail_dof, (T, n_ind))
    z_sub = _t_draws(rng, p.tail_dof, (T, n_sub))
    z_sty = _t_draws(rng, p.tail_dof, (T, 3))
    group_var = p.sector_vol**2 + p.industry_vol**2 + p.subindustry_vol**2
    style_var = p.size_factor_vol**2 + p.value_factor_vol**2 + p.momentum_factor_vol**2

    log_price = np.empty((T, N), dtype=np.float64)
    Q = period_end_day.size
    log_cap_pe = np.full((Q, N), np.nan)
    before = period_end_day < 0
    log_cap_pe[before] = (log_price0 + log_shares[0])[None, :] if T else np.nan
    rev_out = np.zeros((T, N)) if keep_signals else None
    val_out = np.zeros((T, N)) if keep_signals else None
    disp_out = np.zeros(T) if keep_signals else None
    pe_at_row: dict[int, list[int]] = {}
    for q, d in enumerate(period_end_day.tolist()):
        if d >= 0:
            pe_at_row.setdefault(d, []).append(q)

    h = idio_vol**2
    h_m = hbar_m
    prev_e = np.zeros(N)
    prev_em = 0.0
    prev_lp = log_price0
    zeros = np.zeros(N)
    for t in range(T):
        if t > 0:
            h = np.minimum(omega + a * prev_e * prev_e + b * h, h_cap)
            h_m = min(omega_m + a * prev_em * prev_em + b * h_m, 100.0 * hbar_m)
        alive = (first_day <= t) & (t < end_day)
        n_alive = int(alive.sum())
        # ---- planted signals and style exposures: rows <= t-1 only
        if t >= 6 and (c_rev != 0.0 or keep_signals):
            ok = alive & (first_day <= t - 6)
            z_rev = rank_score(log_price[t - 1] - log_price[t - 6], ok)
        else:
            z_rev = zeros
        lcap_prev = prev_lp + log_shares[t - 1 if t > 0 else 0]
        q = int(visible_period[t - 1]) if t > 0 else -1
        if q >= 0:
            ok = alive & reported[q]
            z_val = rank_score(log_bm[q] + log_cap_pe[q] - lcap_prev, ok)
        else:
            z_val = zeros
        z_size = _standardize(lcap_prev, alive)
        if t >= 253:
            ok = alive & (first_day <= t - 253)
            z_mom = _standardize(log_price[t - 22] - log_price[t - 253], ok)
        else:
            z_mom = zeros
        z_sent = event_signal[t - 1] if t > 0 else zeros
        # ---- dispersion of the non-planted part, conditional on t-1
        regime = h_m / hbar_m
        if n_alive > 1:
            bvar = float(beta[alive].var())
            d2 = float(h[alive].mean()) + regime * (group_var + style_var) + bvar * h_m
        else:
            d2 = float(h.mean()) + regime * (group_var + style_var)
        d = float(np.sqrt(d2))
        # ---- day t's shocks
        sm = float(np.sqrt(h_m))
        em = sm * float(z_mkt[t])
        rs = float(np.sqrt(regime))
        f_sec = (rs * p.sector_vol) * z_sec[t]
        f_ind = (rs * p.industry_vol) * z_ind[t]
        f_sub = (rs * p.subindustry_vol) * z_sub[t]
        fs = rs * z_sty[t]
        e = np.sqrt(h) * z_idio[t]
        r = beta * (p.market_drift + em)
        r += f_sec[sector]
        r += f_ind[industry]
        r += f_sub[subindustry]
        r += (fs[0] * p.size_factor_vol) * z_size
        r += (fs[1] * p.value_factor_vol) * z_val
        r += (fs[2] * p.momentum_factor_vol) * z_mom
        r += e
        r += d * (c_val * z_val - c_rev * z_rev + c_sent * z_sent)
        np.maximum(r, -0.9, out=r)
        lp = prev_lp + np.log1p(r)
        log_price[t] = lp
        for qq in pe_at_row.get(t, ()):
            log_cap_pe[qq] = lp + log_shares[t]
        if keep_signals:
            assert rev_out is not None and val_out is not None and disp_out is not None
            rev_out[t] = z_rev
            val_out[t] = z_val
            disp_out[t] = d
        prev_e, prev_em, prev_lp = e, em, lp
    return LatentMarket(
        log_price=log_price,
        beta=beta,
        idio_vol=idio_vol,
        log_cap_at_period_end=log_cap_pe,
        reversal_signal=rev_out,
        value_signal=val_out,
        dispersion=disp_out,
    )

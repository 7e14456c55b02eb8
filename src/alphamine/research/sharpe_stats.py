"""Trial-aware Sharpe statistics: the probabilistic and deflated Sharpe ratios and the effective number
of independent trials behind a search.

Why: a miner that tries thousands of expressions and keeps the best one reports the maximum of many
noisy Sharpe estimates, and that maximum is large even when every trial is worthless. The deflated
Sharpe ratio (Bailey & López de Prado 2014, "The Deflated Sharpe Ratio: Correcting for Selection Bias,
Backtest Overfitting and Non-Normality") asks how likely the selected strategy's true Sharpe beats
the Sharpe one would expect from the luckiest of N zero-skill trials, given the length of the track
record and the skew and fat tails of its daily PnL. The probabilistic Sharpe ratio (Bailey & López de
Prado 2012, "The Sharpe Ratio Efficient Frontier") is the same test against a fixed benchmark.

Units: every Sharpe ratio passed to PSR / DSR / `expected_max_sharpe` is per observation (daily, not
annualized), and `sr_variance` is the variance of daily Sharpe ratios across trials. Convert with
`annual_to_daily` / `daily_to_annual` (√252, the simulator's `TRADING_DAYS`).

NaN policy: inputs are NaN-safe (non-finite PnL days are dropped); a statistic that is undefined
(too few observations, zero variance, inconsistent moments) is NaN, never an exception, so a gate can
treat NaN as "cannot certify". Module import is cheap: only NumPy and the standard library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from statistics import NormalDist

import numpy as np

from alphamine.sim.settings import TRADING_DAYS

EULER_MASCHERONI = 0.5772156649015329
_STD_NORMAL = NormalDist()


def _finite(pnl: np.ndarray) -> np.ndarray:
    x = np.asarray(pnl, dtype=np.float64).ravel()
    return x[np.isfinite(x)]


def _norm_cdf(z: float) -> float:
    """Φ(z) via erfc, accurate in both tails (1 + erf loses the lower tail to cancellation)."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


# ---------------------------------------------------------------------------------------- moments


def pnl_moments(pnl: np.ndarray) -> tuple[float, float]:
    """(skewness, kurtosis) of the finite values of a daily PnL array.

    Population (biased, scipy's default) moments: γ3 = m3 / m2^1.5 and γ4 = m4 / m2² with mᵢ the i-th
    central moment, so γ4 is the plain (non-excess) kurtosis, 3 for a normal. These are the γ3, γ4 of
    the PSR/DSR formulas. Degenerate input -- fewer than 3 finite values or zero variance -- gives the
    normal values (0.0, 3.0): with nothing to measure, the normal assumption is the neutral choice and
    keeps PSR/DSR defined (they then fall back to the Gaussian standard error of the Sharpe ratio).
    """
    x = _finite(pnl)
    if x.size < 3 or float(np.ptp(x)) == 0.0:
        return 0.0, 3.0
    d = x - x.mean()
    m2 = float(np.mean(d * d))
    if not m2 > 0.0 or not math.isfinite(m2):
        return 0.0, 3.0
    skew = float(np.mean(d**3)) / m2**1.5
    kurt = float(np.mean(d**4)) / (m2 * m2)
    if not (math.isfinite(skew) and math.isfinite(kurt)):  # overflow on astronomically large values
        return 0.0, 3.0
    return skew, kurt


def daily_sharpe(pnl: np.ndarray) -> float:
    """mean / std (ddof=1) of the finite daily values: the per-observation Sharpe ratio PSR and DSR
    expect. NaN with fewer than 2 finite values or zero / non-finite std. (The simulator's annualized
    `sim.metrics.sharpe` uses ddof=0; over a multi-year record the two differ by < 0.1%.)"""
    x = _finite(pnl)
    if x.size < 2:
        return math.nan
    sd = float(x.std(ddof=1))
    if sd == 0.0 or not math.isfinite(sd):
        return math.nan
    return float(x.mean()) / sd


def daily_sharpes(pnls: np.ndarray) -> np.ndarray:
    """`daily_sharpe` of every column of a (T, K) array of trial PnL series (NaN where missing), in one
    vectorized pass: (K,) float64, NaN where a column's Sharpe is undefined. The variance of these
    across a search family is the `sr_variance` of `expected_max_sharpe`."""
    x = np.asarray(pnls, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    filled = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / n
        dev = np.where(ok, x - mean, 0.0)
        var = (dev * dev).sum(axis=0) / (n - 1)
        sd = np.sqrt(var)
        out = mean / sd
    bad = (n < 2) | ~(sd > 0.0) | ~np.isfinite(sd)
    out[bad] = np.nan
    return out


def annual_to_daily(sr: float) -> float:
    """Annualized Sharpe → per-day Sharpe (÷ √252)."""
    return sr / math.sqrt(TRADING_DAYS)


def daily_to_annual(sr: float) -> float:
    """Per-day Sharpe → annualized Sharpe (× √252)."""
    return sr * math.sqrt(TRADING_DAYS)


# ------------------------------------------------------------------------------------- PSR / DSR


def probabilistic_sharpe_ratio(
    sr: float, sr_benchmark: float, n_obs: int, skew: float, kurtosis: float
) -> float:
    """P(true SR > SR*) = Φ((SR − SR*)·√(n−1) / √(1 − γ3·SR + (γ4−1)/4·SR²)).

    `sr`, `sr_benchmark` per observation (daily, not annualized); `kurtosis` non-excess (normal = 3).
    The denominator is the non-normal standard error of the Sharpe estimator (Mertens 2002): negative
    skew and fat tails widen it, so the same Sharpe earns less confidence. Returns a probability in
    [0, 1], or NaN when undefined: n_obs < 2, any non-finite input, or a non-positive denominator.
    (For moments measured on one sample Pearson's inequality γ4 ≥ γ3² + 1 makes the denominator
    ≥ (1 − γ3·SR/2)² ≥ 0, so it only fails for inconsistent hand-supplied moments or a two-point
    distribution.)
    """
    if n_obs < 2 or not all(math.isfinite(v) for v in (sr, sr_benchmark, skew, kurtosis)):
        return math.nan
    denom_sq = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if not denom_sq > 0.0:
        return math.nan
    z = (sr - sr_benchmark) * math.sqrt(n_obs - 1.0) / math.sqrt(denom_sq)
    return _norm_cdf(z)


def expected_max_sharpe(n_trials: float, sr_variance: float) -> float:
    """SR0 = √V·((1−γ)·Φ⁻¹(1−1/N) + γ·Φ⁻¹(1−1/(N·e))), γ the Euler–Mascheroni constant.

    The expected maximum of N independent zero-mean Sharpe estimates with variance V (extreme value
    theory; Bailey & López de Prado 2014, eq. 6): the Sharpe a search of N worthless trials is expected
    to report. Units follow `sr_variance` (daily variance → daily SR0). `n_trials` may be fractional
    (an effective number of trials). N ≤ 1 gives 0 (no selection). The approximation is built for
    N ≫ 1 and dips below 0 just above N = 1, while the true expectation of a maximum of zero-mean
    draws is ≥ 0, so the result is floored at 0: that keeps SR0 continuous and non-decreasing in N.
    NaN for a NaN N or a negative / non-finite variance.
    """
    if math.isnan(n_trials) or not math.isfinite(sr_variance) or sr_variance < 0.0:
        return math.nan
    if n_trials <= 1.0 or sr_variance == 0.0:
        return 0.0
    # Φ⁻¹(1 − p) = −Φ⁻¹(p): exact for huge N, where 1 − 1/N rounds to 1.
    z1 = -_STD_NORMAL.inv_cdf(1.0 / n_trials)
    z2 = -_STD_NORMAL.inv_cdf(1.0 / (n_trials * math.e))
    sr0 = math.sqrt(sr_variance) * ((1.0 - EULER_MASCHERONI) * z1 + EULER_MASCHERONI * z2)
    return max(sr0, 0.0)


def deflated_sharpe_ratio(
    sr: float, n_obs: int, skew: float, kurtosis: float, n_trials: float, sr_variance: float
) -> float:
    """PSR against SR0 = `expected_max_sharpe(n_trials, sr_variance)`: the probability that the
    selected strategy's true Sharpe beats the best a search of `n_trials` zero-skill trials would
    show. Daily units throughout (see the module docstring); NaN where PSR or SR0 is undefined."""
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    if math.isnan(sr0):
        return math.nan
    return probabilistic_sharpe_ratio(sr, sr0, n_obs, skew, kurtosis)


# ----------------------------------------------------------------------------- effective trials


def effective_trials(pnls: np.ndarray) -> float:
    """Effective number of independent trials among K trial PnL series, (T, K), NaN where missing.

    Why: DSR's N counts independent trials, but a search family is mostly variants of one idea
    (a window changed, a rank added) whose PnLs are highly correlated; counting them all over-deflates
    and counting the family as one under-deflates. López de Prado suggests clustering the trials'
    correlation matrix; the participation ratio of its eigenvalues, (Σλ)² / Σλ², is the smooth version
    of "how many clusters": K for K uncorrelated series, 1 for K copies of one series, m for m
    independent blocks of copies. Σλ = tr C and Σλ² = ‖C‖²_F, so no eigendecomposition is needed.

    Method and approximations:
    - each column is demeaned over its own finite days and scaled to unit norm, NaN then set to 0, so
      C = ZᵀZ has unit diagonal and the Pearson correlation for fully overlapping columns; with partial
      overlap a pair's correlation is shrunk toward 0 by about its overlap share (an approximation of
      pairwise-complete correlation that errs toward more trials, i.e. a stricter gate);
    - sampling noise alone gives independent series squared correlations of about 1/T, which would
      push the ratio down to ≈ K / (1 + K/T); the off-diagonal energy is debiased by its expectation
      under independence (Σ_{i≠j} n_ij / (n_i·n_j), n the finite-day counts) before forming the ratio;
    - columns with fewer than 3 finite values or zero variance carry no Sharpe and are left out.
    Cost: one (min(T,K))² Gram product, ≈ 0.1-0.3 s for T = 1300, K = 2000.
    Returns a float in [1, K'] (K' usable columns); 1.0 when K' ≤ 1.
    """
    x = np.asarray(pnls, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"effective_trials expects a (T, K) array, got shape {x.shape}")
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    mean = np.where(ok, x, 0.0).sum(axis=0) / np.maximum(n, 1)
    dev = np.where(ok, x - mean, 0.0)
    norm = np.sqrt((dev * dev).sum(axis=0))
    keep = (n >= 3) & (norm > 0.0) & np.isfinite(norm)
    k = int(keep.sum())
    if k <= 1:
        return 1.0
    z = dev[:, keep] / norm[keep]
    t = z.shape[0]
    gram = z.T @ z if k <= t else z @ z.T
    frob = float(np.sum(gram * gram))  # ‖ZᵀZ‖_F = ‖ZZᵀ‖_F
    trace = float(k)
    # E[r_ij²] under independence ≈ n_ij / (n_i n_j); Σ_{i,j} n_ij/(n_i n_j) = ‖M·(1/n)‖² (M the mask).
    inv_n = 1.0 / n[keep].astype(np.float64)
    w = ok[:, keep].astype(np.float64) @ inv_n
    noise = float(w @ w) - float(inv_n.sum())
    off_diag = max(frob - trace - noise, 0.0)
    ratio = trace * trace / (trace + off_diag)
    return float(min(max(ratio, 1.0), float(k)))


# ----------------------------------------------------------------------------------------- record


def _plain(value: float | int) -> float | int | None:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    v = float(value)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class TrialStats:
    """What the submission gate records about a candidate's search (all Sharpe inputs daily except
    `search_sharpe`, which is annualized for display).

    n_trials_family: trials in the candidate's search family; n_trials_run: trials actually simulated;
    effective_trials: independent trials behind them (`effective_trials`); sr_variance_daily: variance
    of the trials' daily Sharpe ratios; skew / kurtosis: `pnl_moments` of the candidate's search-period
    PnL; search_sharpe: its annualized search-period Sharpe; psr: PSR against 0; dsr: deflated Sharpe.
    """

    n_trials_family: int
    n_trials_run: int
    effective_trials: float
    sr_variance_daily: float
    skew: float
    kurtosis: float
    search_sharpe: float
    psr: float
    dsr: float

    def to_json(self) -> dict[str, float | int | None]:
        """Field name → plain Python int / float (no NumPy scalars); NaN / ±inf → None."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

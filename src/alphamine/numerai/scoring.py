"""Per-era Numerai scores (CORR, BMC, FNC) as numerai-tools defines them, and their summaries.

Why numerai-tools as the definition: CORR's rank → gaussianize → ^1.5 pipeline and BMC's
orthogonalization have details (tie handling, target bucketing, centring order) that a rewrite gets
subtly wrong; every per-era number here equals what `numerai_tools.scoring` returns for that era,
so our numbers match the tournament's and numerai/example-scripts' `numerai_metrics.py`.

Two engines, same numbers: `engine="numerai_tools"` calls `numerai_corr` / `correlation_contribution`
era by era; `engine="fast"` (default) runs the same steps on each era's numpy arrays
(`fast_numerai_corr`, `fast_correlation_contribution`). Under pandas 3 one library call costs
~5–15 ms of DataFrame overhead, so a 1,000-era OOF frame would take ~1 min per score series; the fast
engine takes well under a second. tests/numerai/test_scoring.py holds the fast engine equal to
numerai-tools era by era to 1e-9 on the synthetic data, so a numerai-tools change shows up there.
FNC and neutralization always call numerai-tools (`feature_neutral_corr`, `neutralize`).

Contract:
- Per era, rows with a NaN target are dropped; a NaN prediction raises `ValueError` (OOF frames
  must be complete). An era with no row left is absent from the per-era series; one with fewer than
  2 rows, or with constant predictions, scores NaN and is left out of the summaries.
- CORR = `numerai_corr(df[[pred]], df[target])` per era. BMC = `correlation_contribution(df[[pred]],
  df[benchmark], df[target])` per era, on the rows that have a benchmark value (benchmark files cover
  fewer eras; eras without one have no BMC). FNC = `feature_neutral_corr` per era.
- Summaries (`Summary`): mean; std with ddof 0; sharpe = mean/std (NaN when std is 0); max drawdown
  = the largest drop of the cumulative per-era score from its running peak, `max(cummax(c) − c)`
  with c = cumsum (additive, as example-scripts; a non-negative number); "last 200" = the last 200
  eras in era order.
- `Scores.to_json()` has exactly the keys `corr_mean, corr_std, corr_sharpe, bmc_mean, bmc_std,
  bmc_sharpe, max_drawdown` (of CORR), `per_era_corr, per_era_bmc` ({era: value}); NaN → None, and
  every bmc key is None without a benchmark. `Scores.details()` adds the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphamine.numerai.data import sort_eras

LAST_N_ERAS = 200
Engine = Literal["fast", "numerai_tools"]


@dataclass(frozen=True)
class Summary:
    """Summary statistics of one per-era score series (NaN eras excluded)."""

    mean: float
    std: float
    sharpe: float
    max_drawdown: float
    n_eras: int

    def to_json(self) -> dict[str, float | int | None]:
        return {
            "mean": _num(self.mean), "std": _num(self.std), "sharpe": _num(self.sharpe),
            "max_drawdown": _num(self.max_drawdown), "n_eras": self.n_eras,
        }


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def max_drawdown(per_era: Sequence[float] | np.ndarray | pd.Series) -> float:
    """Largest fall of the cumulative sum from its running peak (0.0 if it never falls; NaN if empty)."""
    values = np.asarray(per_era, dtype=np.float64)
    if values.size == 0:
        return math.nan
    cum = np.cumsum(values)
    return float(np.max(np.maximum.accumulate(cum) - cum))


def summarize(per_era: pd.Series) -> Summary:
    """Mean, std (ddof 0), sharpe, max drawdown of a per-era series in era order; NaN eras dropped."""
    values = per_era.dropna().to_numpy(dtype=np.float64)
    if values.size == 0:
        return Summary(math.nan, math.nan, math.nan, math.nan, 0)
    mean, std = float(values.mean()), float(values.std(ddof=0))
    sharpe = mean / std if std > 0 else math.nan
    return Summary(mean, std, sharpe, max_drawdown(values), int(values.size))


def last_eras(per_era: pd.Series, n: int = LAST_N_ERAS) -> pd.Series:
    """The last `n` eras of a per-era series (its index, in era order)."""
    return per_era.loc[sort_eras(per_era.index)[-n:]] if len(per_era) else per_era


def _pow15(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.abs(x) ** 1.5


def _gauss_rank(x: np.ndarray) -> np.ndarray:
    """numerai-tools `gaussian(tie_kept_rank(x))`: norm.ppf((average rank − 0.5) / n)."""
    from scipy.stats import norm, rankdata

    return np.asarray(norm.ppf((rankdata(x, method="average") - 0.5) / len(x)), dtype=np.float64)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    da, db = a - a.mean(), b - b.mean()
    denom = math.sqrt(float(da @ da) * float(db @ db))
    return float(da @ db) / denom if denom > 0 else math.nan


def fast_numerai_corr(pred: np.ndarray, target: np.ndarray) -> float:
    """`numerai_corr(pred, target)` (0.7.x defaults) for one era of NaN-free arrays, in numpy: Pearson of
    rank→gaussianize→^1.5 predictions with the centred target raised to ^1.5."""
    return _pearson(_pow15(_gauss_rank(pred)), _pow15(target - target.mean()))


def fast_correlation_contribution(pred: np.ndarray, meta: np.ndarray, target: np.ndarray) -> float:
    """`correlation_contribution(pred, meta, target)` for one era in numpy: gaussianized ranks of pred
    orthogonalized to those of meta, dotted with the centred target (×4 when in [0, 1]), over n."""
    p, m = _gauss_rank(pred), _gauss_rank(meta)
    neutral = p - m * (float(p @ m) / float(m @ m))
    t = target * 4 if bool(((target >= 0) & (target <= 1)).all()) else target
    t = t - t.mean()
    return float(t @ neutral) / len(t)


def _per_era(df: pd.DataFrame, era_col: str, needed: Sequence[str], score: Callable[[np.ndarray], float]) -> pd.Series:
    """`score(row positions)` for each era, on its rows with every `needed` column present, in era
    order; eras with no such row are left out, eras with < 2 rows or a constant `needed[0]` are NaN."""
    mask = df[list(needed)].notna().all(axis=1).to_numpy()
    positions = np.flatnonzero(mask)
    first = df[needed[0]].to_numpy(dtype=np.float64)
    groups = pd.Series(positions).groupby(df[era_col].astype(str).to_numpy()[mask], sort=False).indices
    out: dict[str, float] = {}
    for era in sort_eras(groups):
        pos = positions[groups[era]]
        out[era] = score(pos) if len(pos) >= 2 and np.ptp(first[pos]) > 0 else math.nan
    return pd.Series(out, dtype=np.float64, name="score")


def _prepared(df: pd.DataFrame, pred_col: str) -> pd.DataFrame:
    """A fresh RangeIndex (numerai-tools ranks assert a sorted, unique index; integer ids also align
    far faster than string ids) and no NaN prediction. Scores do not depend on row order."""
    if df[pred_col].isna().any():
        raise ValueError(f"column {pred_col!r} has {int(df[pred_col].isna().sum())} NaN prediction(s)")
    return df.reset_index(drop=True)


def _values(df: pd.DataFrame, col: str) -> np.ndarray:
    return df[col].to_numpy(dtype=np.float64)


def per_era_corr(
    df: pd.DataFrame, pred_col: str = "prediction", target_col: str = "target", era_col: str = "era",
    engine: Engine = "fast",
) -> pd.Series:
    """numerai_corr per era (rows with NaN target dropped)."""
    df = _prepared(df, pred_col)
    if engine == "fast":
        p, t = _values(df, pred_col), _values(df, target_col)
        return _per_era(df, era_col, [pred_col, target_col], lambda pos: fast_numerai_corr(p[pos], t[pos]))
    from numerai_tools.scoring import numerai_corr

    def ref(pos: np.ndarray) -> float:
        g = df.iloc[pos]
        return float(numerai_corr(g[[pred_col]], g[target_col]).iloc[0])

    return _per_era(df, era_col, [pred_col, target_col], ref)


def per_era_bmc(
    df: pd.DataFrame, benchmark_col: str, pred_col: str = "prediction", target_col: str = "target",
    era_col: str = "era", engine: Engine = "fast",
) -> pd.Series:
    """correlation_contribution against the benchmark column per era (eras without a benchmark left out)."""
    df = _prepared(df, pred_col)
    needed = [pred_col, target_col, benchmark_col]
    if engine == "fast":
        p, b, t = _values(df, pred_col), _values(df, benchmark_col), _values(df, target_col)
        return _per_era(df, era_col, needed, lambda pos: fast_correlation_contribution(p[pos], b[pos], t[pos]))
    from numerai_tools.scoring import correlation_contribution

    def ref(pos: np.ndarray) -> float:
        g = df.iloc[pos]
        return float(correlation_contribution(g[[pred_col]], g[benchmark_col], g[target_col]).iloc[0])

    return _per_era(df, era_col, needed, ref)


def per_era_corr_with(
    df: pd.DataFrame, other_col: str, pred_col: str = "prediction", era_col: str = "era", engine: Engine = "fast"
) -> pd.Series:
    """numerai_corr of the predictions against another prediction column (e.g. the benchmark) per era."""
    return per_era_corr(df, pred_col, other_col, era_col, engine)


def per_era_fnc(
    df: pd.DataFrame, feature_cols: Sequence[str], pred_col: str = "prediction", target_col: str = "target",
    era_col: str = "era",
) -> pd.Series:
    """feature_neutral_corr per era: predictions neutralized to the features, then numerai_corr."""
    from numerai_tools.scoring import feature_neutral_corr

    df = _prepared(df, pred_col)
    feats = list(feature_cols)

    def ref(pos: np.ndarray) -> float:
        g = df.iloc[pos]
        return float(feature_neutral_corr(g[[pred_col]], g[feats].astype(np.float64), g[target_col]).iloc[0])

    return _per_era(df, era_col, [pred_col, target_col], ref)


def neutralize_per_era(
    df: pd.DataFrame, feature_cols: Sequence[str], pred_col: str = "prediction", era_col: str = "era",
    proportion: float = 1.0,
) -> pd.Series:
    """Predictions minus `proportion` of their least-squares projection on [features, 1], era by era
    (numerai-tools `neutralize`). Returned unranked, aligned to `df.index`; rank before submitting."""
    from numerai_tools.scoring import neutralize

    feats = list(feature_cols)
    out = np.full(len(df), np.nan)
    for _, pos in df.groupby(era_col, sort=False, observed=True).indices.items():
        g = df.iloc[pos]
        n = neutralize(g[[pred_col]].astype(np.float64), g[feats].astype(np.float64), proportion)
        out[pos] = n[pred_col].to_numpy()
    return pd.Series(out, index=df.index, name=pred_col)


@dataclass(frozen=True, eq=False)
class Scores:
    """Per-era scores and their summaries for one prediction column (module doc)."""

    per_era_corr: pd.Series
    corr: Summary
    corr_last_200: Summary
    per_era_bmc: pd.Series | None = None
    bmc: Summary | None = None
    bmc_last_200: Summary | None = None
    avg_corr_with_benchmark: float | None = None
    per_era_fnc: pd.Series | None = None
    fnc: Summary | None = None

    @property
    def corr_mean(self) -> float:
        return self.corr.mean

    @property
    def corr_sharpe(self) -> float:
        return self.corr.sharpe

    @property
    def bmc_mean(self) -> float | None:
        return None if self.bmc is None else self.bmc.mean

    @property
    def max_drawdown(self) -> float:
        return self.corr.max_drawdown

    def to_json(self) -> dict[str, Any]:
        """Exactly the keys in the module doc (JSON-safe: NaN → None)."""
        bmc = self.bmc
        return {
            "corr_mean": _num(self.corr.mean),
            "corr_std": _num(self.corr.std),
            "corr_sharpe": _num(self.corr.sharpe),
            "bmc_mean": None if bmc is None else _num(bmc.mean),
            "bmc_std": None if bmc is None else _num(bmc.std),
            "bmc_sharpe": None if bmc is None else _num(bmc.sharpe),
            "max_drawdown": _num(self.corr.max_drawdown),
            "per_era_corr": _series_json(self.per_era_corr),
            "per_era_bmc": None if self.per_era_bmc is None else _series_json(self.per_era_bmc),
        }

    def details(self) -> dict[str, Any]:
        """Every summary (corr, corr_last_200, bmc, bmc_last_200, fnc) plus avg_corr_with_benchmark."""

        def opt(s: Summary | None) -> dict[str, float | int | None] | None:
            return None if s is None else s.to_json()

        avg = self.avg_corr_with_benchmark
        return {
            "corr": self.corr.to_json(), "corr_last_200": self.corr_last_200.to_json(),
            "bmc": opt(self.bmc), "bmc_last_200": opt(self.bmc_last_200), "fnc": opt(self.fnc),
            "avg_corr_with_benchmark": None if avg is None else _num(avg),
        }


def _series_json(s: pd.Series) -> dict[str, float | None]:
    return {str(k): _num(float(v)) for k, v in s.items()}


def score_frame(
    df: pd.DataFrame,
    pred_col: str = "prediction",
    target_col: str = "target",
    era_col: str = "era",
    benchmark_col: str | None = None,
    feature_cols: Sequence[str] | None = None,
    engine: Engine = "fast",
) -> Scores:
    """Score one prediction column era by era (module doc). `benchmark_col` adds BMC and
    avg_corr_with_benchmark; `feature_cols` adds FNC (slower: one least-squares fit per era)."""
    missing = [c for c in (pred_col, target_col, era_col, benchmark_col) if c is not None and c not in df.columns]
    if missing:
        raise KeyError(f"score_frame: missing column(s) {', '.join(missing)}")
    corr = per_era_corr(df, pred_col, target_col, era_col, engine)
    bmc_series = bmc = bmc_last = avg = None
    if benchmark_col is not None:
        bmc_series = per_era_bmc(df, benchmark_col, pred_col, target_col, era_col, engine)
        bmc, bmc_last = summarize(bmc_series), summarize(last_eras(bmc_series))
        avg = summarize(per_era_corr_with(df, benchmark_col, pred_col, era_col, engine)).mean
    fnc_series = per_era_fnc(df, feature_cols, pred_col, target_col, era_col) if feature_cols else None
    return Scores(
        per_era_corr=corr, corr=summarize(corr), corr_last_200=summarize(last_eras(corr)),
        per_era_bmc=bmc_series, bmc=bmc, bmc_last_200=bmc_last, avg_corr_with_benchmark=avg,
        per_era_fnc=fnc_series, fnc=None if fnc_series is None else summarize(fnc_series),
    )

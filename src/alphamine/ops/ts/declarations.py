"""Registry declarations of the rolling-window time-series operators (brain.md §5.3).

Each operator's documentation is its kernel's docstring; `assumptions` record the choices made where
brain.md marks a behaviour unknown or conflicting (they feed docs/operators.md)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from alphamine.ops.registry import ArgKind, Category, Operator, Param, UnitRule, lookback_of, register
from alphamine.ops.ts import ops_basic as ob
from alphamine.ops.ts import ops_stats as os_

COMMON = (
    "Window = the d most recent rows including today; rows t < d−1 are NaN (P3, panel rows); NaNs inside "
    "the window are skipped."
)


def _x(name: str = "x") -> Param:
    return Param(name, ArgKind.SERIES, doc="input series")


D = Param("d", ArgKind.LOOKBACK, doc="window length in rows, today included")


def _regression_lookback(consts: Mapping[str, Any]) -> int:
    return int(consts["d"]) + int(consts.get("lag", 0))


def _decl(
    fn: Callable[..., np.ndarray],
    params: Sequence[Param],
    unit: UnitRule,
    assumptions: Sequence[str] = (),
    examples: Sequence[str] = (),
    lookback: Callable[[Mapping[str, Any]], int] | None = None,
    window: bool = True,
) -> Operator:
    doc = inspect.cleandoc(fn.__doc__ or "")
    if window:
        doc = f"{doc}\n\n{COMMON}"
    return register(
        Operator(
            name=fn.__name__,
            category=Category.TIME_SERIES,
            params=tuple(params),
            kernel=fn,
            doc=doc,
            lookback=lookback or lookback_of("d"),
            unit_rule=unit,
            assumptions=tuple(assumptions),
            examples=tuple(examples),
            time_series=True,
        )
    )


X = _x()
Y = _x("y")
Z = _x("z")
INF = "a window holding ±inf gives NaN (IEEE inf − inf inside the moment sums)"

_decl(ob.ts_delay, [X, D], "first", ["d is a LOOKBACK (≥ 1): ts_delay(x, 0) is rejected by the checker"],
      ["ts_delay(close, 5)"], window=False)
_decl(ob.ts_delta, [X, D], "first", examples=["ts_delta(close, 5)"], window=False)
_decl(ob.ts_returns, [X, D, ob.RETURNS_MODE],
      "dimensionless",
      ["mode 2 divides x − x[t−d] by the midpoint (x + x[t−d])/2", "modes other than 1 and 2 are errors",
       "a zero denominator follows IEEE (±inf / NaN), converted to NaN at the end of evaluation (P7)"],
      ["ts_returns(close, 5)"], window=False)
_decl(ob.ts_sum, [X, D], "first", examples=["ts_sum(volume, 20)"])
_decl(ob.ts_mean, [X, D], "first", examples=["ts_mean(close, 20)"])
_decl(ob.ts_av_diff, [X, D], "first", ["today's NaN gives NaN (x − mean)"], ["ts_av_diff(close, 20)"])
_decl(ob.ts_std_dev, [X, D], "first", ["population std (ddof 0)", INF], ["ts_std_dev(returns, 20)"])
_decl(ob.ts_zscore, [X, D], "dimensionless", ["population std (ddof 0)", INF], ["ts_zscore(close, 20)"])
_decl(ob.ts_ir, [X, D], "dimensionless",
      ["population std (ddof 0)", "zero std → NaN (P8)", "today's value may be NaN", INF],
      ["ts_ir(returns, 60)"])
_decl(ob.ts_skewness, [X, D], "dimensionless",
      ["population skewness m3/m2^1.5 (no small-sample correction)", "m2 = 0 → NaN", INF],
      ["ts_skewness(returns, 60)"])
_decl(ob.ts_kurtosis, [X, D], "dimensionless",
      ["excess kurtosis m4/m2² − 3 with population moments (no small-sample correction)", "m2 = 0 → NaN",
       INF],
      ["ts_kurtosis(returns, 60)"])
_decl(ob.ts_moment, [X, D, ob.MOMENT_K],
      "combine",
      ["central moment with divisor n", "default k = 0 as in BRAIN's signature (gives 1)",
       "k = 1 gives exactly 0", INF],
      ["ts_moment(returns, 60, k=3)"])
_decl(ob.ts_max, [X, D], "first", examples=["ts_max(high, 20)"])
_decl(ob.ts_min, [X, D], "first", examples=["ts_min(low, 20)"])
_decl(ob.ts_arg_max, [X, D], "dimensionless", ["ties → the most recent occurrence (P9)"],
      ["ts_arg_max(close, 20)"])
_decl(ob.ts_arg_min, [X, D], "dimensionless", ["ties → the most recent occurrence (P9)"],
      ["ts_arg_min(close, 20)"])
_decl(ob.ts_max_diff, [X, D], "first", ["defined as x − ts_max(x, d) (≤ 0)"], ["ts_max_diff(close, 20)"])
_decl(ob.ts_scale, [X, D, Param("constant", ArgKind.NUMBER, 0.0, doc="added to the result")],
      "dimensionless", ["max = min (constant window) → NaN (zero denominator, P8)", "today NaN → NaN"],
      ["ts_scale(close, 20)"])
_decl(ob.ts_product, [X, D], "combine", examples=["ts_product(1 + returns, 5)"])
_decl(ob.ts_median, [X, D], "first", ["even count → mean of the two middle values"],
      ["ts_median(volume, 20)"])
_decl(ob.ts_count_nans, [X, D], "dimensionless", ["NaN for t < d−1 like every window statistic"],
      ["ts_count_nans(close, 20)"])

_decl(os_.ts_rank, [X, D, Param("constant", ArgKind.NUMBER, 0.0, doc="added to the rank")],
      "dimensionless", ["ties: average rank (P9)", "n counts the window's non-NaN values"],
      ["ts_rank(close, 20)"])
_decl(os_.ts_quantile, [X, D, Param("driver", ArgKind.STRING, "gaussian", doc="inverse CDF",
                                    choices=os_.QUANTILE_DRIVERS)],
      "dimensionless",
      ["shift as cross-sectional quantile: p = 1/n + rank·(1 − 2/n), n = non-NaN values in the window",
       "uniform driver returns p − 0.5 (BRAIN's quantile: 'subtract the mean')",
       "cauchy driver returns tan(π(p − 0.5)) (standard Cauchy inverse CDF)"],
      ["ts_quantile(close, 20)"])
_decl(os_.ts_entropy, [X, D, os_.ENTROPY_BUCKETS],
      "dimensionless",
      ["natural log", "equal-width bins over [window min, window max], max in the last bin",
       "constant window → 0", "±inf in the window → NaN"],
      ["ts_entropy(returns, 60)"])
_decl(os_.ts_decay_linear, [X, D, Param("dense", ArgKind.BOOL, False, doc="renormalize over present terms")],
      "first", ["dense=true renormalizes the weights over the non-NaN terms"],
      ["ts_decay_linear(close, 10)"])
_decl(os_.ts_decay_exp_window,
      [X, D, Param("factor", ArgKind.NUMBER, 1.0, doc="decay factor f (today weighs 1)", minimum=0.0),
       Param("nan", ArgKind.BOOL, True, doc="skip NaN terms (false: NaN in the window → NaN)")],
      "first",
      ["nan=true skips NaN terms and renormalizes the weights over the present ones",
       "nan=false: any NaN in the window gives NaN", "factor must be ≥ 0"],
      ["ts_decay_exp_window(close, 20, factor=0.9)"])
_decl(os_.ts_corr, [X, Y, D], "dimensionless", ["Pearson over pairs where both are non-NaN", INF],
      ["ts_corr(close, volume, 20)"])
_decl(os_.ts_covariance, [Y, X, D], "combine", ["divides by n (population)", INF],
      ["ts_covariance(close, volume, 20)"])
_decl(os_.ts_regression,
      [Y, X, D, os_.REGRESSION_LAG, os_.REGRESSION_RETTYPE],
      "combine",
      ["lag shifts x only: pairs (y[s], x[s − lag]) for s in the window", "MSE = SSE/(n − 2), NaN when n ≤ 2",
       "SE(b) = √(MSE/Sxx), SE(a) = √(MSE·(1/n + x̄²/Sxx))", "R² with SST = 0 → NaN",
       "fitted (3) needs x[t − lag] but not y[t]", INF],
      ["ts_regression(returns, ts_delay(returns, 1), 60, rettype=2)"], _regression_lookback)
_decl(os_.ts_co_skewness, [Y, X, D], "dimensionless",
      ["co-skewness of y with x = mean(dy·dx²)/(σy·σx²), population moments", INF],
      ["ts_co_skewness(returns, ts_mean(returns, 5), 60)"])
_decl(os_.ts_co_kurtosis, [Y, X, D], "dimensionless",
      ["co-kurtosis of y with x = mean(dy·dx³)/(σy·σx³), population moments", INF],
      ["ts_co_kurtosis(returns, ts_mean(returns, 5), 60)"])
_decl(os_.ts_triple_corr, [X, Y, Z, D], "dimensionless",
      ["mean(dx·dy·dz)/(σx·σy·σz), population moments, rows where all three are non-NaN", INF],
      ["ts_triple_corr(returns, volume, close, 60)"])
_decl(os_.ts_partial_corr, [X, Y, Z, D], "dimensionless",
      ["partial correlation of x and y given z from the three pairwise Pearson correlations",
       "needs ≥ 3 rows where all three are non-NaN", INF],
      ["ts_partial_corr(returns, volume, close, 60)"])
_decl(os_.ts_rank_gmean_amean_diff,
      [Param("x", ArgKind.SERIES, variadic=True, doc="one or more input series"), D],
      "dimensionless",
      ["BRAIN spells it ts_rank_gmean_amean_diff(x1, x2, …, d); here d follows the variadic inputs and is "
       "passed by keyword (d=…)",
       "geometric mean (Π r)^(1/m) minus arithmetic mean of the inputs' ts_rank(x_i, d) (no constant)",
       "NaN when any input's rank is NaN"],
      ["ts_rank_gmean_amean_diff(close, volume, d=20)"])

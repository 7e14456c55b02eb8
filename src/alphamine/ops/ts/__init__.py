"""Rolling-window time-series operators (ts_mean, ts_rank, ts_corr, ts_regression, ...).

Importing the package registers every operator (see `declarations`). Kernels are numba functions over
C-contiguous (T, N) float64 arrays: `kernels_moments` (rolling sums/moments), `kernels_pairs`
(covariance, correlation, regression), `kernels_window` (extremes, product, median, NaN count),
`kernels_decay` (rank, quantile, entropy, linear/exponential decay), `kernels_multi` (co-moments of two
or three series); `ops_basic` / `ops_stats` are the Python entry points named after the operators.
"""

from alphamine.ops.ts import declarations  # noqa: F401

"""Rolling-window time-series operators (ts_mean, ts_rank, ts_corr, ts_regression, ...)."""

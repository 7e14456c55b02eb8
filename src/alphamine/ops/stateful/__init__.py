"""Path-dependent time-series and transformational operators (ts_backfill, hump, trade_when, ...)."""

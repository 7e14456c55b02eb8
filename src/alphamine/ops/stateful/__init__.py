"""Path-dependent time-series and transformational operators (ts_backfill, hump, trade_when, ...).

Importing the package registers: fill (ts_backfill, kth_element, last_diff_value, days_from_last_change,
ts_step), smooth (hump, hump_decay, jump_decay, ts_delta_limit, ts_weighted_decay, inst_tvr), target_tvr
(ts_target_tvr_decay/_delta_limit/_hump) and transform (trade_when, keep, filter).
"""

from alphamine.ops.stateful import fill, smooth, target_tvr, transform

__all__ = ["fill", "smooth", "target_tvr", "transform"]

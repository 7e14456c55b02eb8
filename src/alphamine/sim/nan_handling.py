"""`nanHandling: ON` (brain.md §2.3): two rules applied to operator outputs during evaluation.

1. A time-series operator whose whole window is NaN returns 0 instead of NaN (rows with fewer than d
   rows of history keep the history rule: NaN).
2. One-value-per-group operators (group_max, group_min, group_median, group_mean, group_sum,
   group_std_dev, group_count) give a member with a NaN input the value of its group.

OFF (the default) leaves operator outputs untouched. Both functions return new arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numba import njit

from alphamine.opspec import ArgKind, Operator

GROUP_VALUE_OPERATORS = frozenset(
    {"group_max", "group_min", "group_median", "group_mean", "group_sum", "group_std_dev", "group_count"}
)


def empty_window_to_zero(out: np.ndarray, x: np.ndarray, d: int) -> np.ndarray:
    """Rule 1: where the d-row window of `x` ending at row t (t >= d-1) has no valid value and `out`
    is NaN, the result is 0."""
    valid = (~np.isnan(x)).astype(np.int64)
    csum = np.cumsum(valid, axis=0)
    count = csum.copy()
    if d < x.shape[0]:
        count[d:] -= csum[:-d]
    empty = count == 0
    empty[: max(d - 1, 0)] = False
    res = np.array(out, dtype=np.float64, copy=True)
    res[empty & np.isnan(res)] = 0.0
    return res


@njit(cache=True, nogil=True)
def group_value_to_nan_members(out: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Rule 2: per day, a member whose output is NaN gets the value its group's valid members share."""
    T, N = out.shape
    res = out.copy()
    n_codes = 1
    for t in range(T):
        for j in range(N):
            if codes[t, j] + 1 > n_codes:
                n_codes = codes[t, j] + 1
    value = np.empty(n_codes)
    for t in range(T):
        value[:] = np.nan
        for j in range(N):
            c = codes[t, j]
            v = out[t, j]
            if c >= 0 and not np.isnan(v):
                value[c] = v
        for j in range(N):
            c = codes[t, j]
            if c >= 0 and np.isnan(res[t, j]):
                res[t, j] = value[c]
    return res


def apply_nan_handling(op: Operator, values: Mapping[str, Any], out: np.ndarray) -> np.ndarray:
    """Both rules for one operator call (`values`: its arguments by param name): rule 1 for time-series
    operators with a window on their first input, rule 2 for the one-value-per-group operators;
    other operators' outputs are returned unchanged."""
    window = next((p for p in op.params if p.kind == ArgKind.LOOKBACK), None)
    first = next((p for p in op.params if p.kind == ArgKind.SERIES and not p.variadic), None)
    if op.time_series and window is not None and first is not None:
        return empty_window_to_zero(out, values[first.name], int(values[window.name]))
    if op.name in GROUP_VALUE_OPERATORS:
        group = next((p for p in op.params if p.kind == ArgKind.GROUP), None)
        if group is not None:
            return group_value_to_nan_members(out, np.ascontiguousarray(values[group.name]))
    return out

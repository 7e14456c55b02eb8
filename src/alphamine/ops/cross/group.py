"""Group operators (brain.md §5.5): per day, within each group of a (T, N) int32 grouping.

Shared semantics: a cell belongs to group g on day t when its code is g >= 0; a negative code (no group)
gives NaN output. Statistics use the group's members whose x is non-NaN that day, and the output is given
to members with non-NaN x (NaN x stays NaN). ±inf are ordinary IEEE values (P7); zero denominators give NaN
(P8, exact; "constant" means exactly min == max). One-member groups (P15): group_neutralize -> 0,
group_rank -> 0.5, group_zscore -> NaN.
"""

from __future__ import annotations

import numpy as np

from alphamine.data.fields import FieldType
from alphamine.ops.cross import kernels as K
from alphamine.ops.cross._util import dense_codes, op
from alphamine.ops.cross.backfill import backfill_by_group
from alphamine.ops.cross.sorting import MEDIAN, RANK, order_stat
from alphamine.ops.registry import ArgKind, Category, Param, lookback_of

GR = Category.GROUP
_X = Param("x", ArgKind.SERIES)
_G = Param("group", ArgKind.GROUP)
_MEMBERS = "statistic over members with non-NaN x, given to members with non-NaN x; negative code -> NaN"


@op("group_neutralize", GR, [_X, _G], unit_rule="first")
def group_neutralize(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """x minus the mean of its group's non-NaN values that day. A one-member (or constant) group gives
    exactly 0; NaN x or a negative code -> NaN."""
    return K.group_stat(x, group, K.NEUTRALIZE)


@op("group_rank", GR, [_X, _G], assumptions=("ties get the average rank; one-member group -> 0.5 (P15)",))
def group_rank(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Rank of x within its group that day, in [0, 1]: (r-1)/(n-1) with r the average rank of ties among
    the group's n non-NaN values; a one-member group -> 0.5; NaN x or a negative code -> NaN."""
    return order_stat(x, group, RANK)


@op("group_zscore", GR, [_X, _G], assumptions=("population std (ddof 0); std = 0 -> NaN (P8, P15)",))
def group_zscore(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """(x − group mean)/group std over the group's non-NaN values that day, population std (ddof 0); a
    constant or one-member group -> NaN; NaN x or a negative code -> NaN."""
    return K.group_stat(x, group, K.ZSCORE)


@op("group_scale", GR, [_X, _G], assumptions=("constant or one-member group (max = min) -> NaN",))
def group_scale(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """(x − group min)/(group max − group min) over the group's non-NaN values that day, in [0, 1]; a
    constant or one-member group -> NaN; NaN x or a negative code -> NaN."""
    return K.group_stat(x, group, K.MINMAX, 0.0)


@op("group_mean", GR, [_X, Param("weight", ArgKind.SERIES), _G], unit_rule="first",
    assumptions=("weighted arithmetic mean Σx·w/Σw (registry reading, P15), not the article's harmonic mean",
                 "Σw = 0 or no member with both x and w -> NaN"))
def group_mean(x: np.ndarray, weight: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Σx·w/Σw over the group's members with non-NaN x and w that day (P15), given to every member with
    non-NaN x (also those whose weight is NaN). Σw = 0 or no such member -> NaN; negative code -> NaN.
    Use weight 1 for the plain mean."""
    return K.pair_stat(x, weight, group, K.WMEAN)


@op("group_median", GR, [_X, _G], unit_rule="first", assumptions=(_MEMBERS,))
def group_median(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Median of the group's non-NaN values that day (mean of the two middle values for an even count),
    given to every member with non-NaN x; NaN x or a negative code -> NaN."""
    return order_stat(x, group, MEDIAN)


@op("group_max", GR, [_X, _G], unit_rule="first", assumptions=(_MEMBERS,))
def group_max(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Maximum of the group's non-NaN values that day, given to every member with non-NaN x; NaN x or a
    negative code -> NaN."""
    return K.group_stat(x, group, K.MAX)


@op("group_min", GR, [_X, _G], unit_rule="first", assumptions=(_MEMBERS,))
def group_min(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Minimum of the group's non-NaN values that day, given to every member with non-NaN x; NaN x or a
    negative code -> NaN."""
    return K.group_stat(x, group, K.MIN)


@op("group_sum", GR, [_X, _G], unit_rule="first", assumptions=(_MEMBERS,))
def group_sum(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Sum of the group's non-NaN values that day, given to every member with non-NaN x; NaN x or a
    negative code -> NaN."""
    return K.group_stat(x, group, K.SUM)


@op("group_std_dev", GR, [_X, _G], unit_rule="first",
    assumptions=(_MEMBERS, "population std (ddof 0); one member -> 0"))
def group_std_dev(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Population std (ddof 0) of the group's non-NaN values that day (0 for one member or a constant
    group), given to every member with non-NaN x; NaN x or a negative code -> NaN."""
    return K.group_stat(x, group, K.STD)


@op("group_count", GR, [_X, _G], assumptions=(_MEMBERS,))
def group_count(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Number of the group's members with non-NaN x that day, given to members with non-NaN x (a NaN
    cell gets NaN, not its group's count)."""
    return K.group_stat(x, group, K.COUNT)


@op("group_normalize", GR, [_X, _G, Param("constantCheck", ArgKind.BOOL, False),
                            Param("tolerance", ArgKind.NUMBER, 0.01, minimum=0),
                            Param("scale", ArgKind.NUMBER, 1.0, minimum=0)],
    assumptions=("Σ|x| = 0 in a group -> NaN (P8)",
                 "constantCheck: a group whose max − min <= tolerance -> NaN (treated as a zero denominator)"))
def group_normalize(x: np.ndarray, group: np.ndarray, constantCheck: bool = False, tolerance: float = 0.01,
                    scale: float = 1.0) -> np.ndarray:
    """x·scale/Σ|x| within each group that day, so that every group's Σ|x| = scale. A group with Σ|x| = 0
    -> NaN; with constantCheck=true a group whose values span max − min <= tolerance -> NaN too. NaN x or
    a negative code -> NaN."""
    return K.group_stat(x, group, K.GNORMALIZE, scale, 1.0 if constantCheck else 0.0, tolerance)


@op("group_vector_neut", GR, [_X, Param("y", ArgKind.SERIES), _G], unit_rule="first",
    assumptions=("dot products over members where both x and y are non-NaN; y·y = 0 -> NaN",))
def group_vector_neut(x: np.ndarray, y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """vector_neut within each group that day: x − (x·y / y·y)·y over the group's members where both are
    non-NaN; NaN where either is NaN or the code is negative; y·y = 0 -> NaN."""
    return K.pair_stat(x, y, group, K.VNEUT)


@op("group_vector_proj", GR, [_X, Param("y", ArgKind.SERIES), _G], unit_rule="first",
    assumptions=("dot products over members where both x and y are non-NaN; y·y = 0 -> NaN",))
def group_vector_proj(x: np.ndarray, y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """vector_proj within each group that day: (x·y / y·y)·y over the group's members where both are
    non-NaN; NaN where either is NaN or the code is negative; y·y = 0 -> NaN."""
    return K.pair_stat(x, y, group, K.VPROJ)


@op("group_backfill", GR, [_X, _G, Param("d", ArgKind.LOOKBACK), Param("std", ArgKind.NUMBER, 4.0, minimum=0)],
    unit_rule="first", lookback=lookback_of("d"), time_series=True,
    assumptions=("window = the d most recent rows including today; a value counts for the group it had on "
                 "its own day",
                 "sample std (ddof 1, per brain.md); fewer than 2 values -> no clipping",
                 "no history rule (like ts_backfill, P12): near the panel start the window is shorter",
                 "a valid x with a negative code -> NaN (no group)"))
def group_backfill(x: np.ndarray, group: np.ndarray, d: int, std: float = 4.0) -> np.ndarray:
    """Non-NaN x is returned as is. A NaN x in group g on day t becomes the winsorized mean of all non-NaN
    values that members of g had on days t−d+1..t (each value counted for the group it had on its day):
    the values are clipped to mean ± std·σ (σ = sample std, ddof 1; no clipping with fewer than 2 values)
    and averaged. No such value -> NaN; negative code -> NaN. Reads only past and current rows."""
    return backfill_by_group(x, group, d, std)


@op("group_cartesian_product", GR, [Param("g1", ArgKind.GROUP), Param("g2", ArgKind.GROUP)],
    output=FieldType.GROUP,
    assumptions=("codes are dense 0..m−1 over the whole panel, ordered by (g1, g2), the same on every day; "
                 "a day's partition depends only on that day's codes (labels may shift with other days)",))
def group_cartesian_product(g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """One group per (g1, g2) pair that occurs anywhere in the panel, coded 0..m−1 in (g1, g2) order
    (stable across days); a cell with a negative code in either input -> −1 (no group)."""
    a, n1 = dense_codes(g1)
    b, n2 = dense_codes(np.broadcast_to(g2, a.shape))
    valid = (a >= 0) & (b >= 0)
    key = a.astype(np.int64) * n2 + b
    if n1 * n2 <= 1 << 24:
        used = np.zeros(n1 * n2, np.bool_)
        used[key[valid]] = True
        ids = (np.cumsum(used) - 1).astype(np.int32)
        out = np.where(valid, ids[np.where(valid, key, 0)], -1)
    else:
        _, inv = np.unique(key[valid], return_inverse=True)
        out = np.full(a.shape, -1, np.int64)
        out[valid] = inv
    return np.ascontiguousarray(out, dtype=np.int32)


@op("group_coalesce", GR, [Param("g1", ArgKind.GROUP), Param("g2", ArgKind.GROUP, variadic=True)],
    output=FieldType.GROUP,
    assumptions=("each cell takes the first grouping with a non-negative code; the k-th grouping's codes are "
                 "offset by the sum of (max code + 1) of the earlier ones so that groups never merge",))
def group_coalesce(g1: np.ndarray, *g2: np.ndarray) -> np.ndarray:
    """Fallback grouping: each cell takes its code from the first of g1, g2, … that has a non-negative
    code there, −1 if none. Codes of later groupings are shifted past those of earlier ones (offset =
    Σ(max code + 1) of the earlier groupings over the panel), so groups from different inputs never
    merge."""
    first, _ = dense_codes(g1)
    out = np.array(first, dtype=np.int64)
    offset = max(int(out.max(initial=-1)) + 1, 0)
    for g in g2:
        codes, _ = dense_codes(np.broadcast_to(g, out.shape))
        fill = (out < 0) & (codes >= 0)
        out[fill] = codes[fill].astype(np.int64) + offset
        offset += max(int(codes.max(initial=-1)) + 1, 0)
    if offset > np.iinfo(np.int32).max:
        raise ValueError("group_coalesce: combined group codes overflow int32")
    return np.ascontiguousarray(out, dtype=np.int32)

"""Transformational element-wise operators: bucket, tail, left_tail, right_tail, clamp (brain.md §5.6).

bucket, precisely (BRAIN's registry text: boundaries b_0 < b_1 < … < b_{n−1} form the brackets
(b_{i−1}, b_i]; "two hidden buckets corresponding to (−inf, start] and [end, +inf)"):

    code 0        x ≤ b_0                 (hidden begin bucket)
    code i        b_{i−1} < x ≤ b_i       (i = 1 … n−1, right-closed like every bracket)
    code n        x > b_{n−1}             (hidden end bucket; x = end itself is in code n−1)

This reproduces both registry examples: buckets="2,5,6,7,10" maps (−1, 3, 6, 8, 12) to (0, 1, 2, 4, 5),
range="0.1,1,0.1" maps (0.05, 0.5, 0.9) to (0, 4, 8); and the article's buckets="0.2,0.5,0.7" example
(4 buckets 0..3). skipBegin removes code 0 (values ≤ b_0 get no group, −1) and renumbers the rest from
0; skipEnd removes the last code (values > b_{n−1} → −1); skipBoth = both. NaN input → −1, or with
NANGroup=true the code one after the last bucket. Output is an int32 GROUP array (−1 = no group).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from alphamine.data.fields import FieldType
from alphamine.ops.elementwise._util import boolean, copy_f64, number, parse_floats, reg, series
from alphamine.ops.registry import ArgKind, Category, Param, ParamError

TR = Category.TRANSFORMATIONAL

MAX_BUCKET_BOUNDARIES = 10_000
"""A range whose step yields more boundaries than this is rejected (almost surely a typo)."""

BOUNDARY_DIGITS = 12
"""range boundaries start + k·step are rounded to this many significant digits, so that decimal steps
land on their decimal values (0.1 + 2·0.1 = 0.3, not 0.30000000000000004)."""


def bucket_boundaries(range_spec: str = "", buckets: str = "") -> np.ndarray:
    """The strictly increasing boundary array of a bucket() call; `ParamError` (naming `range` or
    `buckets`) on a bad specification. The one definition of bucket's rules: the declaration's
    `validate` (so the checker reports them) and the kernel both call it."""
    has_range, has_buckets = bool(range_spec.strip()), bool(buckets.strip())
    if has_range == has_buckets:
        raise ParamError('bucket needs exactly one of range="start,end,step" and buckets="b1,b2,..."',
                         "buckets" if has_buckets else None)
    if has_range:
        nums = _floats(range_spec, "bucket range", "range")
        if len(nums) != 3:
            raise ParamError(f'bucket range must be "start,end,step", got {range_spec!r}', "range")
        start, end, step = nums
        if not all(math.isfinite(v) for v in nums) or step <= 0 or end <= start:
            raise ParamError(f"bucket range needs finite start < end and step > 0, got {range_spec!r}", "range")
        n = math.ceil((end - start) / step - 1e-9)
        if not n + 1 <= MAX_BUCKET_BOUNDARIES:
            raise ParamError(f"bucket range {range_spec!r} gives more than {MAX_BUCKET_BOUNDARIES} buckets", "range")
        values = [float(f"{start + k * step:.{BOUNDARY_DIGITS}g}") for k in range(n)] + [end]
        where = "range"
    else:
        values = _floats(buckets, "bucket buckets", "buckets")
        where = "buckets"
        if len(values) > MAX_BUCKET_BOUNDARIES:
            raise ParamError(f"bucket buckets gives more than {MAX_BUCKET_BOUNDARIES} buckets", where)
    b = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(b)) or np.any(np.diff(b) <= 0):
        raise ParamError(f"bucket boundaries must be finite and strictly increasing, got {values}", where)
    return b


def _floats(text: str, what: str, param: str) -> list[float]:
    try:
        return parse_floats(text, what)
    except ValueError as e:
        raise ParamError(str(e), param) from None


def check_bucket(values: Mapping[str, Any]) -> None:
    bucket_boundaries(values.get("range", ""), values.get("buckets", ""))


def check_clamp(values: Mapping[str, Any]) -> None:
    """clamp's rule (declaration and kernel): lower <= upper."""
    lower, upper = values.get("lower", 0.0), values.get("upper", 0.0)
    if lower > upper:
        raise ParamError(f"clamp needs lower <= upper, got lower={lower}, upper={upper}", "upper")


def bucket_kernel(
    x: np.ndarray,
    range_spec: str = "",
    buckets: str = "",
    skip_begin: bool = False,
    skip_end: bool = False,
    skip_both: bool = False,
    nan_group: bool = False,
) -> np.ndarray:
    b = bucket_boundaries(range_spec, buckets)
    n = len(b)
    skip_begin = skip_begin or skip_both
    skip_end = skip_end or skip_both
    x = np.asarray(x)
    codes = np.searchsorted(b, x.ravel(), side="left").reshape(x.shape)  # #boundaries < x; NaN → n
    out = np.empty(x.shape, dtype=np.int32)
    out[...] = codes
    if skip_end:
        out[codes == n] = -1
    if skip_begin:
        out -= 1  # code 0 becomes -1, the others move down by one; -1 from skip_end becomes -2
        out[out < -1] = -1
    isnan = np.isnan(x)
    out[isnan] = (n + 1 - int(skip_begin) - int(skip_end)) if nan_group else -1
    return out


def tail_kernel(x: np.ndarray, lower: float = 0.0, upper: float = 0.0, newval: float = 0.0) -> np.ndarray:
    out = copy_f64(x)
    np.copyto(out, newval, where=(out > lower) & (out < upper))
    return out


def left_tail_kernel(x: np.ndarray, maximum: float = 0.0) -> np.ndarray:
    out = copy_f64(x)
    np.copyto(out, np.nan, where=out > maximum)
    return out


def right_tail_kernel(x: np.ndarray, minimum: float = 0.0) -> np.ndarray:
    out = copy_f64(x)
    np.copyto(out, np.nan, where=out < minimum)
    return out


def clamp_kernel(
    x: np.ndarray, lower: float = 0.0, upper: float = 0.0, inverse: bool = False, mask: float = math.nan
) -> np.ndarray:
    check_clamp({"lower": lower, "upper": upper})
    out = copy_f64(x)
    if inverse:
        np.copyto(out, mask, where=(out > lower) & (out < upper))
    else:
        np.clip(out, lower, upper, out=out)
    return out


reg(
    "bucket",
    TR,
    (
        series("x"),
        Param("range", ArgKind.STRING, default="", doc='"start,end,step": boundaries start, start+step, …, end'),
        Param("buckets", ArgKind.STRING, default="", doc='"b1,b2,…,bn": explicit increasing boundaries'),
        boolean("skipBegin", False, "drop the hidden bucket x ≤ first boundary (those values → no group)"),
        boolean("skipEnd", False, "drop the hidden bucket x > last boundary (those values → no group)"),
        boolean("skipBoth", False, "skipBegin and skipEnd"),
        boolean("NANGroup", False, "put NaN inputs in their own group, one after the last bucket"),
    ),
    bucket_kernel,
    "Group codes from value ranges. Boundaries b_0 < … < b_{n−1} (from range or buckets, exactly one) "
    "give code 0 for x ≤ b_0, code i for b_{i−1} < x ≤ b_i, code n for x > b_{n−1} (the two hidden "
    "buckets). skipBegin/skipEnd/skipBoth drop the hidden buckets (values there get no group, −1; after "
    "skipBegin the codes start at 0 again). NaN → −1, or with NANGroup=true the code after the last "
    "bucket. ±inf fall in the hidden buckets. Returns int32 GROUP codes.",
    output=FieldType.GROUP,
    assumptions=(
        "bucket brackets are right-closed (b_{i-1}, b_i]; a value equal to the last boundary is in the last "
        "regular bucket, not the hidden end bucket (registry: [end, +inf)).",
        "bucket follows the registry examples (range='0.1,1,0.1': 0.05→0, 0.5→4, 0.9→8), so range='0,1,0.1' "
        "gives (0, 0.1] code 1; the article's example giving it code 0 conflicts.",
        "bucket: after skipBegin the codes are renumbered from 0; skipped values get no group (-1).",
        "bucket: range boundaries are rounded to 12 significant digits; the last one is exactly `end`.",
    ),
    examples=('bucket(rank(volume), range="0.1,1,0.1")',
              'bucket(rank(x), buckets="0.2,0.5,0.7", skipBoth=true, NANGroup=true)'),
    validate=check_bucket,
)
reg(
    "tail",
    TR,
    (series("x"), number("lower", 0.0), number("upper", 0.0), number("newval", 0.0)),
    tail_kernel,
    "newval where lower < x < upper (both strict), x elsewhere; NaN stays NaN.",
    unit_rule="first",
    assumptions=("tail: strict inequalities on both sides (registry text 'x > lower AND x < upper').",),
    examples=("tail(x, lower=-0.1, upper=0.1, newval=0)",),
)
reg(
    "left_tail",
    TR,
    (series("x"), number("maximum", 0.0)),
    left_tail_kernel,
    "NaN where x > maximum; x ≤ maximum kept (left_tail([0.1, 0.5, 0.7], 0.5) = [0.1, 0.5, NaN]).",
    unit_rule="first",
)
reg(
    "right_tail",
    TR,
    (series("x"), number("minimum", 0.0)),
    right_tail_kernel,
    "NaN where x < minimum; x ≥ minimum kept.",
    unit_rule="first",
)
reg(
    "clamp",
    TR,
    (series("x"), number("lower", 0.0), number("upper", 0.0), boolean("inverse", False),
     number("mask", math.nan, "replacement inside the bounds when inverse=true")),
    clamp_kernel,
    "inverse=false: x limited to [lower, upper] (values below → lower, above → upper). inverse=true: values "
    "strictly between the bounds (lower < x < upper) become `mask` (default NaN), the bounds themselves and "
    "values outside are kept. NaN stays NaN; lower > upper is an error.",
    unit_rule="first",
    assumptions=("clamp(inverse=true) replaces only lower < x < upper (bounds kept); mask is a number only "
                 "(BRAIN's 'nearest_bound'/'mean' masks are not supported).",
                 "clamp allows lower == upper (every value becomes that bound); BRAIN may require upper > lower."),
    examples=("clamp(x, lower=-1, upper=1)", "clamp(x, lower=-0.1, upper=0.1, inverse=true, mask=0)"),
    validate=check_clamp,
)

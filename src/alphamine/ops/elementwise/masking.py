"""Operators that create, remove or replace NaNs, plus `densify` (group codes) — brain.md §5.1, §2.3."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from alphamine.data.fields import FieldType
from alphamine.ops.elementwise._util import boolean, copy_f64, number, parse_floats, reg, series
from alphamine.ops.registry import ArgKind, Category, EvalContext, Param, ParamError

A = Category.ARITHMETIC


def to_nan_kernel(x: np.ndarray, value: float = 0.0, reverse: bool = False) -> np.ndarray:
    out = copy_f64(x)
    if reverse:
        np.copyto(out, value, where=np.isnan(out))
    else:
        np.copyto(out, np.nan, where=out == value)
    return out


def nan_mask_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = copy_f64(x)
    np.copyto(out, np.nan, where=np.less(y, 0))  # NaN < 0 is False: a NaN mask keeps x
    return out


def nan_out_kernel(x: np.ndarray, lower: float = 0.0, upper: float = 0.0) -> np.ndarray:
    out = copy_f64(x)
    np.copyto(out, np.nan, where=out < lower)
    np.copyto(out, np.nan, where=out > upper)
    return out


def purify_kernel(x: np.ndarray) -> np.ndarray:
    out = copy_f64(x)
    np.copyto(out, np.nan, where=np.isinf(out))
    return out


def pasteurize_kernel(x: np.ndarray, *, ctx: EvalContext) -> np.ndarray:
    out = purify_kernel(x)
    if ctx.universe is not None:
        np.copyto(out, np.nan, where=~np.asarray(ctx.universe, dtype=bool))
    return out


def replace_values(target: str, dest: str) -> tuple[list[float], list[float]]:
    """(targets, dests) of a replace() call, one dest per target; `ParamError` naming the bad string.
    The one definition of replace's rules: its declaration's `validate` and the kernel call it."""
    try:
        targets = parse_floats(target, "replace target")
    except ValueError as e:
        raise ParamError(str(e), "target") from None
    try:
        dests = parse_floats(dest, "replace dest")
    except ValueError as e:
        raise ParamError(str(e), "dest") from None
    if not targets:
        raise ParamError('replace: target is empty (give the values to replace, e.g. target="0 nan")', "target")
    if len(dests) == 1:
        dests = dests * len(targets)
    if len(dests) != len(targets):
        raise ParamError(f"replace: {len(targets)} target values but {len(dests)} dest values "
                         "(give one dest, or one per target)", "dest")
    return targets, dests


def check_replace(values: Mapping[str, Any]) -> None:
    replace_values(values.get("target", ""), values.get("dest", ""))


def replace_kernel(x: np.ndarray, target: str = "", dest: str = "") -> np.ndarray:
    targets, dests = replace_values(target, dest)
    out = copy_f64(x)
    # Every match is found on the input, so a dest equal to a later target is not replaced again.
    masks = [np.isnan(x) if math.isnan(t) else np.equal(x, t) for t in targets]
    for mask, d in zip(masks, dests, strict=True):
        np.copyto(out, d, where=mask)
    return out


def densify_kernel(g: np.ndarray) -> np.ndarray:
    """Per row, map the distinct non-negative codes in ascending order to 0..n−1; negative → −1."""
    g = np.asarray(g)
    T, N = g.shape
    out = np.full((T, N), -1, dtype=np.int32)
    valid = g >= 0
    if not valid.any():
        return out
    span = int(g[valid].max()) + 1
    rows = np.broadcast_to(np.arange(T, dtype=np.int64)[:, None], (T, N))[valid]
    keys = rows * span + g[valid].astype(np.int64)
    uniq, inv = np.unique(keys, return_inverse=True)
    first_of_row = np.searchsorted(uniq, np.arange(T, dtype=np.int64) * span)
    out[valid] = (inv.reshape(-1) - first_of_row[rows]).astype(np.int32)
    return out


reg(
    "to_nan",
    A,
    (series("x"), number("value", 0.0, "the value that becomes NaN (or that NaN becomes)"),
     boolean("reverse", False, "true: turn NaN into value instead")),
    to_nan_kernel,
    "x with every cell equal to `value` set to NaN; with reverse=true, every NaN set to `value` instead. "
    "Exact comparison (no tolerance).",
    unit_rule="first",
    examples=("to_nan(volume, value=0)", "to_nan(x, value=0.5, reverse=true)"),
)
reg(
    "nan_mask",
    A,
    (series("x"), series("y", "the mask")),
    nan_mask_kernel,
    "x where y ≥ 0, NaN where y < 0. A NaN mask value is not negative, so x is kept there.",
    unit_rule="first",
    assumptions=("nan_mask follows the registry text (NaN where y < 0); the help-article example conflicts. "
                 "A NaN y keeps x.",),
)
reg(
    "nan_out",
    A,
    (series("x"), number("lower", 0.0), number("upper", 0.0)),
    nan_out_kernel,
    "x where lower ≤ x ≤ upper (bounds included), NaN outside; NaN stays NaN.",
    unit_rule="first",
    assumptions=("nan_out keeps the closed interval [lower, upper]; with the defaults only x = 0 survives.",),
)
reg("purify", A, (series("x"),), purify_kernel, "±inf → NaN; every other value unchanged.", unit_rule="first")
reg(
    "pasteurize",
    A,
    (series("x"),),
    pasteurize_kernel,
    "NaN where the instrument is outside the day's universe (ctx.universe) and where x is ±inf. Without a "
    "universe only ±inf → NaN.",
    unit_rule="first",
    needs_context=True,
    examples=("pasteurize(x)",),
)
reg(
    "replace",
    A,
    (series("x"), Param("target", ArgKind.STRING, default="", doc="values to replace, e.g. \"0 nan\""),
     Param("dest", ArgKind.STRING, default="", doc="one replacement, or one per target")),
    replace_kernel,
    "Replace each target value by its dest value (target=\"v1 v2 …\", dest=\"d1 d2 …\" or one dest for "
    "all). Exact matches; \"nan\" as a target matches NaN. Matches are found on the input, so "
    "replacements do not chain.",
    unit_rule="first",
    assumptions=("replace: targets/dest are parsed as numbers separated by spaces or commas; "
                 "replacements are simultaneous (no chaining).",),
    examples=('replace(x, target="0 nan", dest="1")',),
    validate=check_replace,
)
reg(
    "densify",
    A,
    (Param("x", ArgKind.GROUP),),
    densify_kernel,
    "Renumber a grouping per day: the distinct non-negative codes present that day, in ascending order, "
    "become 0..n−1; negative codes (no group, the GROUP counterpart of NaN) stay −1.",
    output=FieldType.GROUP,
    assumptions=("densify numbers the codes of each day separately, in ascending code order.",),
    examples=('group_zscore(x, densify(bucket(rank(assets), range="0.05,1,0.05")))',),
)

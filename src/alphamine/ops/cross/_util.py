"""Shared helpers for the cross-sectional/group operators: input normalization, group codes and the
registration decorator."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from alphamine.data.fields import FieldType
from alphamine.ops.registry import Category, Operator, Param, UnitRule, no_lookback, register

F = TypeVar("F", bound=Callable[..., np.ndarray])

_DENSE_LIMIT = 1 << 22  # larger max codes are remapped to 0..n-1 first (per-code scratch stays small)


def readonly(a: np.ndarray, dtype: type) -> np.ndarray:
    """A C-contiguous read-only view of `a` as `dtype` (copies only when needed). Every array handed to a
    kernel goes through here, so each kernel compiles for exactly one type signature."""
    c: np.ndarray = np.ascontiguousarray(a, dtype=dtype)
    v = c.view()
    v.flags.writeable = False
    return v


def dense_codes(groups: np.ndarray) -> tuple[np.ndarray, int]:
    """(read-only C int32 codes, n_codes). Codes are used as array indices, so huge sparse codes are
    remapped to 0..n-1 (order-preserving); negatives stay negative (-1)."""
    g = readonly(groups, np.int32)
    gmax = int(g.max()) if g.size else -1
    if gmax >= _DENSE_LIMIT:
        uniq, inv = np.unique(g, return_inverse=True)
        n_neg = int(np.searchsorted(uniq, 0))
        remap = (inv.reshape(g.shape) - n_neg).astype(np.int32)
        remap[g < 0] = -1
        return readonly(remap, np.int32), len(uniq) - n_neg
    return g, max(gmax + 1, 1)


DUMMY_CODES = readonly(np.zeros((1, 1), np.int32), np.int32)


def codes_arg(groups: np.ndarray | None, shape: tuple[int, ...]) -> tuple[np.ndarray, bool, int]:
    if groups is None:
        return DUMMY_CODES, True, 1
    if groups.shape != shape:
        groups = np.broadcast_to(groups, shape)
    codes, n = dense_codes(groups)
    return codes, False, n


def op(
    name: str,
    category: Category,
    params: Sequence[Param],
    *,
    unit_rule: UnitRule = "dimensionless",
    assumptions: tuple[str, ...] = (),
    examples: tuple[str, ...] = (),
    output: FieldType = FieldType.MATRIX,
    lookback: Callable[[Mapping[str, Any]], int] = no_lookback,
    time_series: bool = False,
) -> Callable[[F], F]:
    """Register the decorated kernel as operator `name`; its docstring is the operator's doc."""

    def deco(fn: F) -> F:
        register(
            Operator(
                name=name,
                category=category,
                params=tuple(params),
                kernel=fn,
                doc=inspect.cleandoc(fn.__doc__ or ""),
                output=output,
                lookback=lookback,
                unit_rule=unit_rule,
                assumptions=assumptions,
                examples=examples,
                time_series=time_series,
            )
        )
        return fn

    return deco

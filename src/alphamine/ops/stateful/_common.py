"""Shared helpers of the path-dependent operators (not operators themselves).

Kernels are numba ``@njit(cache=True, nogil=True)`` loops over a ``(T, N)`` float64 panel, rows outer and
instruments inner (C order), carrying per-instrument state in ``(N,)`` buffers. Inputs may be read-only
or non-contiguous (``np.broadcast_to`` literals): numba reads any strided array and nothing is ever
written into an input. Every kernel allocates its own C-contiguous float64 result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from alphamine.ops.registry import (
    ArgKind,
    Category,
    Operator,
    Param,
    UnitRule,
    no_lookback,
    register,
)

TS = Category.TIME_SERIES
TR = Category.TRANSFORMATIONAL

IGNORE_CHOICES: tuple[str, ...] = ("NaN", "NaN 0")
"""Accepted `ignore=` strings (case-insensitive; tokens separated by spaces or commas)."""


def as_f64(x: Any) -> np.ndarray:
    """`x` as a float64 ndarray without copying when it already is one (broadcast/read-only kept)."""
    a = np.asarray(x)
    if a.dtype != np.float64:
        a = a.astype(np.float64)
    if a.ndim != 2:
        raise ValueError(f"expected a (T, N) array, got shape {a.shape}")
    return a


def ignore_zero(ignore: str, op: str) -> bool:
    """Parse an `ignore=` string: True when zeros are skipped too ("NaN 0"). NaN is always skipped."""
    tokens = {t for t in ignore.replace(",", " ").upper().split() if t}
    unknown = tokens - {"NAN", "0"}
    if unknown or "NAN" not in tokens:
        raise ValueError(f'{op}: ignore must be "NaN" or "NaN 0", got {ignore!r}')
    return "0" in tokens


def parse_coefficients(text: str, op: str, what: str) -> np.ndarray:
    """Comma- (or space-) separated numbers → float64 array; "" → empty array."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{op}: {what} must be comma-separated numbers, got {text!r}") from None
    return np.asarray(vals, dtype=np.float64)


def series(name: str, doc: str = "") -> Param:
    return Param(name, ArgKind.SERIES, doc=doc)


def window(name: str = "d", doc: str = "window length in days (including today)") -> Param:
    return Param(name, ArgKind.LOOKBACK, doc=doc, minimum=1)


def number(name: str, default: Any, doc: str = "", minimum: float | None = None) -> Param:
    return Param(name, ArgKind.NUMBER, default=default, doc=doc, minimum=minimum)


def integer(name: str, default: Any, doc: str = "", minimum: float | None = None) -> Param:
    return Param(name, ArgKind.INT, default=default, doc=doc, minimum=minimum)


def string(name: str, default: Any, doc: str = "", choices: tuple[str, ...] | None = None) -> Param:
    return Param(name, ArgKind.STRING, default=default, doc=doc, choices=choices)


def boolean(name: str, default: bool, doc: str = "") -> Param:
    return Param(name, ArgKind.BOOL, default=default, doc=doc)


def reg(
    name: str,
    category: Category,
    params: tuple[Param, ...],
    kernel: Callable[..., np.ndarray],
    doc: str,
    *,
    unit_rule: UnitRule = "first",
    lookback: Callable[[Mapping[str, Any]], int] = no_lookback,
    assumptions: tuple[str, ...] = (),
    examples: tuple[str, ...] = (),
    needs_context: bool = False,
    validate: Callable[[Mapping[str, Any]], None] | None = None,
) -> Operator:
    """Declare and register one path-dependent operator (all read past rows: ``time_series=True``)."""
    return register(
        Operator(
            name=name,
            category=category,
            params=params,
            kernel=kernel,
            doc=doc,
            unit_rule=unit_rule,
            lookback=lookback,
            assumptions=assumptions,
            examples=examples,
            needs_context=needs_context,
            time_series=True,
            validate=validate,
        )
    )

"""Shared helpers for the element-wise kernels (not operators themselves).

Every kernel allocates its result with `new_out` (C-contiguous float64, never a view of an input) and
computes into it with ufunc ``out=`` so that read-only, broadcast or Fortran-ordered inputs are never
copied more than needed and never written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from alphamine.ops.registry import ArgKind, Category, Operator, Param, UnitRule, register

IGNORE_ALL: dict[str, str] = {"divide": "ignore", "invalid": "ignore", "over": "ignore", "under": "ignore"}
"""`np.errstate` settings used by every kernel: IEEE results (inf, NaN) are values, not warnings (P7)."""


def new_out(shape: tuple[int, ...]) -> np.ndarray:
    """A fresh, writable, C-contiguous float64 buffer."""
    return np.empty(shape, dtype=np.float64, order="C")


def copy_f64(x: np.ndarray) -> np.ndarray:
    """A C-contiguous float64 copy of `x` (works for broadcast and read-only inputs)."""
    out = new_out(np.shape(x))
    np.copyto(out, x, casting="unsafe")
    return out


def series(name: str, doc: str = "") -> Param:
    return Param(name, ArgKind.SERIES, doc=doc)


def number(name: str, default: Any, doc: str = "", minimum: float | None = None) -> Param:
    return Param(name, ArgKind.NUMBER, default=default, doc=doc, minimum=minimum)


def boolean(name: str, default: bool, doc: str = "") -> Param:
    return Param(name, ArgKind.BOOL, default=default, doc=doc)


def ufunc_unary(fn: Callable[..., Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a NumPy ufunc as a one-argument kernel writing into a fresh buffer."""

    def kernel(x: np.ndarray) -> np.ndarray:
        out = new_out(np.shape(x))
        with np.errstate(**IGNORE_ALL):  # type: ignore[arg-type]
            fn(x, out=out)
        return out

    kernel.__name__ = f"unary_{getattr(fn, '__name__', 'fn')}"
    return kernel


def reg(
    name: str,
    category: Category,
    params: tuple[Param, ...],
    kernel: Callable[..., np.ndarray],
    doc: str,
    *,
    unit_rule: UnitRule = "dimensionless",
    symbol: str | None = None,
    assumptions: tuple[str, ...] = (),
    examples: tuple[str, ...] = (),
    **extra: Any,
) -> Operator:
    """Declare and register one operator (thin wrapper to keep the declarations short)."""
    return register(
        Operator(
            name=name,
            category=category,
            params=params,
            kernel=kernel,
            doc=doc,
            unit_rule=unit_rule,
            symbol=symbol,
            assumptions=assumptions,
            examples=examples,
            **extra,
        )
    )


def parse_floats(text: str, what: str) -> list[float]:
    """Numbers separated by commas and/or whitespace ("0.1, 1, 0.1" or "1 2 nan"); ValueError otherwise."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{what}: expected numbers separated by commas or spaces, got {text!r}") from None

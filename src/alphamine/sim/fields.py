"""Evaluator inputs: fields shifted by the delay and pasteurized in one pass, and the final ±inf → NaN.

Why kernels: every field an expression reads is shifted and masked once per frame (then cached), and
every evaluated alpha is cleaned once; one pass each over (T, N) instead of NumPy's copy + mask + fill.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit

if TYPE_CHECKING:
    from alphamine.data.panel import Panel


@njit(cache=True, nogil=True, error_model="numpy")
def clean_copy(a: np.ndarray) -> np.ndarray:
    """A writable C-contiguous float64 copy with ±inf turned into NaN (simulation.md step 2)."""
    T, N = a.shape
    out = np.empty((T, N))
    for t in range(T):
        for j in range(N):
            v = a[t, j]
            out[t, j] = v if np.isfinite(v) else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def shift_mask_f64(a: np.ndarray, shift: int, universe: np.ndarray) -> np.ndarray:
    """Evaluator input field in one pass: out[p] = a[p - shift] (NaN for p < shift), NaN where
    `universe[p]` is False; an empty (0, 0) `universe` = no pasteurization. `a` may be any layout."""
    T, N = a.shape
    out = np.empty((T, N))
    masked = universe.shape[0] > 0
    for p in range(T):
        if p < shift:
            for j in range(N):
                out[p, j] = np.nan
        elif masked:
            for j in range(N):
                out[p, j] = a[p - shift, j] if universe[p, j] else np.nan
        else:
            for j in range(N):
                out[p, j] = a[p - shift, j]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def shift_mask_i32(a: np.ndarray, shift: int, universe: np.ndarray) -> np.ndarray:
    """`shift_mask_f64` for GROUP codes (int32): -1 = no group."""
    T, N = a.shape
    out = np.empty((T, N), dtype=np.int32)
    masked = universe.shape[0] > 0
    for p in range(T):
        if p < shift:
            for j in range(N):
                out[p, j] = -1
        elif masked:
            for j in range(N):
                out[p, j] = a[p - shift, j] if universe[p, j] else np.int32(-1)
        else:
            for j in range(N):
                out[p, j] = a[p - shift, j]
    return out


_NO_MASK = np.ones((0, 0), dtype=bool)  # "no universe" for the fused shift/pasteurize kernels


def frame_field(panel: Panel, name: str, shift: int, universe: np.ndarray | None) -> np.ndarray | None:
    """Data field `name` in an evaluation frame: rows moved down by `shift` (the first rows missing)
    and, with a `universe` mask, NaN (GROUP: -1) outside it. The panel's own array when nothing
    changes; None when `name` is not a MATRIX, GROUP or VECTOR field (the caller says why)."""
    u = universe
    if name in panel.matrices:
        a = panel.matrices[name]
        if u is None and shift == 0:
            return a
        if a.dtype == np.float64 and a.ndim == 2:  # one fused pass: shift + pasteurize
            return shift_mask_f64(a, shift, u if u is not None else _NO_MASK)
        a = _shifted(a, shift, np.nan)
        return a if u is None else np.where(u, a, np.nan)
    if name in panel.groups:
        g = panel.groups[name]
        if u is None and shift == 0:
            return g
        if g.dtype == np.int32 and g.ndim == 2:
            return shift_mask_i32(g, shift, u if u is not None else _NO_MASK)
        g = _shifted(g, shift, -1)
        return g if u is None else np.where(u, g, np.int32(-1)).astype(np.int32)
    if name in panel.vectors:
        v = _shifted(panel.vectors[name], shift, np.nan)
        return v if u is None else np.where(u[:, :, None], v, np.nan)
    return None


def _shifted(a: np.ndarray, shift: int, fill: float) -> np.ndarray:
    """Rows moved down by `shift` (row p = a[p - shift]); the first rows get `fill`."""
    if shift == 0:
        return a
    out = np.empty_like(a)
    out[:shift] = fill
    out[shift:] = a[:-shift] if shift < a.shape[0] else a[:0]
    return out

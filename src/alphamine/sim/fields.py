"""Evaluator inputs: fields shifted by the delay and pasteurized in one pass, and the final ±inf → NaN.

Why kernels: every field an expression reads is shifted and masked once per frame (then cached), and
every evaluated alpha is cleaned once; one pass each over (T, N) instead of NumPy's copy + mask + fill.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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

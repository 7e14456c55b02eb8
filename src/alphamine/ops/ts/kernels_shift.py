"""x[t] − x[t − d] in one pass (`ts_delta`).

Why a kernel: with numpy, `ts_delta` was a NaN fill, a shifted copy and a subtraction (three passes
writing a (T, N) array each); here each output cell is written once (`ts_delay` keeps the shared
`_shifted` fill + copy). Shapes: `x` (T, N) float64 of any layout, d ≥ 1; rows t < d are NaN. IEEE
arithmetic throughout (NaN propagates, inf − inf = NaN), so the values are those of the numpy
expression, bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def delta_kernel(x: np.ndarray, d: int) -> np.ndarray:
    """out[t] = x[t] − x[t − d]; NaN for t < d."""
    T, N = x.shape
    out = np.empty((T, N))
    for t in range(T):
        if t < d:
            for j in range(N):
                out[t, j] = np.nan
        else:
            for j in range(N):
                out[t, j] = x[t, j] - x[t - d, j]
    return out

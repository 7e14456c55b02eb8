"""Setting `decay` (simulation.md step 3, P18): a linearly weighted average of the alpha's last n rows.

Why a kernel: it runs once per simulated alpha with decay > 1, over the whole (T, N) alpha. Rows outer and
columns inner (contiguous, vectorizable); per cell the terms are still added in the order k = 0, 1, ...,
so the result is bit-identical to the cell-by-cell loop. Shapes: (T, N) float64 in and out.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def decay_alpha(alpha: np.ndarray, n: int) -> np.ndarray:
    """Setting `decay = n` (P18): A'[t] = Σ_{k<n} (n-k)·A[t-k] / Σ (n-k) over the non-NaN terms; rows
    before the panel start are absent terms (no warm-up NaN); all terms NaN -> NaN; n <= 1: copy.
    ±inf are values here (the evaluator has already turned them into NaN; see `decay_finite`)."""
    return _decay(alpha, n, False)


@njit(cache=True, nogil=True, error_model="numpy")
def decay_finite(alpha: np.ndarray, n: int) -> np.ndarray:
    """`decay_alpha(clean_copy(alpha), n)` in one pass: ±inf terms count as NaN (absent). For an alpha
    straight from `Evaluator.evaluate_raw` (which may hold ±inf), so no cleaned copy is needed."""
    return _decay(alpha, n, True)


@njit(cache=True, nogil=True, error_model="numpy")
def _decay(alpha: np.ndarray, n: int, finite_only: bool) -> np.ndarray:
    # Rows outer, columns inner (contiguous, vectorizable); per cell the terms are still added in the
    # order k = 0, 1, ... so the result is bit-identical to the cell-by-cell loop.
    T, N = alpha.shape
    out = np.empty((T, N))
    if n <= 1:
        for t in range(T):
            for j in range(N):
                v = alpha[t, j]
                out[t, j] = v if (not finite_only or v - v == 0.0) else np.nan
        return out
    num = np.empty(N)
    den = np.empty(N)
    for t in range(T):
        kmax = min(n, t + 1)
        for j in range(N):
            num[j] = 0.0
            den[j] = 0.0
        for k in range(kmax):
            w = float(n - k)
            for j in range(N):
                v = alpha[t - k, j]
                ok = (v - v == 0.0) if finite_only else (v == v)
                num[j] += w * v if ok else 0.0
                den[j] += w if ok else 0.0
        for j in range(N):
            out[t, j] = num[j] / den[j] if den[j] > 0.0 else np.nan
    return out

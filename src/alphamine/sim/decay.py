"""Setting `decay` (simulation.md step 3, P18): a linearly weighted average of the alpha's last n rows.

Why a kernel: it runs once per simulated alpha with decay > 1, over the whole (T, N) alpha. Rows outer and
columns inner (contiguous, vectorizable); per cell the terms are still added in the order k = 0, 1, ...,
so the result is bit-identical to the cell-by-cell loop. Shapes: (T, N) float64 in and out.
"""

from __future__ import annotations

import math

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
    straight from `Evaluator.evaluate_raw` (which may hold ±inf), so no cleaned copy is needed.

    A row whose weighted sums overflow (finite terms near 1e308) is recomputed with every term
    multiplied by 2^-e (exact; e = the binary exponent of the largest term), so that row comes back
    divided by 2^e. Only for the settings pipeline, which is scale invariant per day
    (`sim.weights_scale`); other rows are bit-identical to the plain average."""
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
        overflow = False
        for j in range(N):
            o = num[j] / den[j] if den[j] > 0.0 else np.nan
            out[t, j] = o
            overflow |= (den[j] > 0.0) & (o - o != 0.0)
        if finite_only and overflow:
            _decay_row_scaled(alpha, n, t, num, den, out[t])
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _decay_row_scaled(alpha: np.ndarray, n: int, t: int, num: np.ndarray, den: np.ndarray, row: np.ndarray) -> None:
    """Row t of `decay_finite` with every finite term multiplied by 2^-e, e = the binary exponent of the
    largest |term| in the window (the sums then cannot overflow)."""
    N = alpha.shape[1]
    kmax = min(n, t + 1)
    biggest = 0.0
    for k in range(kmax):
        for j in range(N):
            a = abs(alpha[t - k, j])
            if a - a == 0.0 and a > biggest:
                biggest = a
    e = math.frexp(biggest)[1]
    for j in range(N):
        num[j] = 0.0
        den[j] = 0.0
    for k in range(kmax):
        w = float(n - k)
        for j in range(N):
            v = alpha[t - k, j]
            ok = v - v == 0.0
            num[j] += w * math.ldexp(v, -e) if ok else 0.0
            den[j] += w if ok else 0.0
    for j in range(N):
        row[j] = num[j] / den[j] if den[j] > 0.0 else np.nan

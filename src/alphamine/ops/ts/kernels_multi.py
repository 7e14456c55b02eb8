"""Higher co-moments of two or three series over rolling windows: co-skewness, co-kurtosis, triple
correlation, partial correlation.

These are rarely used, so each window is recomputed by a two-pass loop (O(T·N·d)); each pass is
anchored at the window's latest value so that a constant series gives an exact zero deviation (and so
an exact zero denominator → NaN, P8). Rows where any input is NaN are skipped; a window holding ±inf
gives NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

MULTI_CO_SKEW = 0  # E[dy·dx²] / (σy·σx²), inputs (y, x)
MULTI_CO_KURT = 1  # E[dy·dx³] / (σy·σx³), inputs (y, x)
MULTI_TRIPLE = 2  # E[dx·dy·dz] / (σx·σy·σz), inputs (x, y, z)
MULTI_PARTIAL = 3  # partial correlation of x and y given z, inputs (x, y, z)
COLLINEAR = 1e-12  # 1 − r² at or below this counts as |r| = 1 (rounding hides exact collinearity)


@njit(cache=True, nogil=True, error_model="numpy")
def _center(buf, n):
    """Subtract the mean in place (anchored at the last value: a constant buffer becomes exact zeros)."""
    c = buf[n - 1]
    acc = 0.0
    for i in range(n):
        acc += buf[i] - c
    m = c + acc / n
    if acc == 0.0:
        m = c
    for i in range(n):
        buf[i] = buf[i] - m


@njit(cache=True, nogil=True, error_model="numpy")
def multi_kernel(a, b, c, d, stat):
    """Rolling `stat` (MULTI_*) of the rows where a, b (and c for the three-series stats) are all non-NaN."""
    T, N = a.shape
    out = np.empty((T, N), dtype=np.float64)
    three = stat in (MULTI_TRIPLE, MULTI_PARTIAL)
    ba = np.empty(d)
    bb = np.empty(d)
    bc = np.empty(d)
    for t in range(T):
        for j in range(N):
            if t < d - 1:
                out[t, j] = np.nan
                continue
            n = 0
            bad = False
            for r in range(t - d + 1, t + 1):
                va = a[r, j]
                vb = b[r, j]
                vc = c[r, j] if three else 0.0
                if va == va and vb == vb and vc == vc:
                    if abs(va) == np.inf or abs(vb) == np.inf or abs(vc) == np.inf:
                        bad = True
                    ba[n] = va
                    bb[n] = vb
                    bc[n] = vc
                    n += 1
            if n == 0 or bad or (stat == MULTI_PARTIAL and n < 3):
                out[t, j] = np.nan
                continue
            _center(ba, n)
            _center(bb, n)
            if three:
                _center(bc, n)
            saa = 0.0
            sbb = 0.0
            scc = 0.0
            sab = 0.0
            sac = 0.0
            sbc = 0.0
            sx = 0.0
            for i in range(n):
                ua = ba[i]
                ub = bb[i]
                uc = bc[i]
                saa += ua * ua
                sbb += ub * ub
                scc += uc * uc
                if stat == MULTI_CO_SKEW:
                    sx += ua * ub * ub
                elif stat == MULTI_CO_KURT:
                    sx += ua * ub * ub * ub
                elif stat == MULTI_TRIPLE:
                    sx += ua * ub * uc
                else:
                    sab += ua * ub
                    sac += ua * uc
                    sbc += ub * uc
            if saa == 0.0 or sbb == 0.0 or (three and scc == 0.0):
                out[t, j] = np.nan
                continue
            sa = math.sqrt(saa / n)
            sb = math.sqrt(sbb / n)
            if stat == MULTI_CO_SKEW:
                out[t, j] = (sx / n) / (sa * sb * sb)
            elif stat == MULTI_CO_KURT:
                out[t, j] = (sx / n) / (sa * sb * sb * sb)
            elif stat == MULTI_TRIPLE:
                out[t, j] = (sx / n) / (sa * sb * math.sqrt(scc / n))
            else:
                rab = sab / math.sqrt(saa * sbb)
                rac = sac / math.sqrt(saa * scc)
                rbc = sbc / math.sqrt(sbb * scc)
                ua = 1.0 - rac * rac
                ub = 1.0 - rbc * rbc
                if ua <= COLLINEAR or ub <= COLLINEAR:  # z explains x or y exactly (up to rounding)
                    out[t, j] = np.nan
                else:
                    p = (rab - rac * rbc) / math.sqrt(ua * ub)
                    out[t, j] = min(1.0, max(-1.0, p))
    return out

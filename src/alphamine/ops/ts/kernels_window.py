"""Order statistics and products over rolling windows: max/min/arg_max/arg_min/scale/max_diff, product,
median, NaN count. All kernels iterate rows t (outer) and columns j (inner) over C-contiguous (T, N).

Extremes and products use the van Herk / Gil-Werman block method: rows are cut into blocks of d; a window
ending in block b is (suffix of block b−1) ∪ (prefix of block b), so each value is touched twice and the
cost is O(T·N) for any d, with a (d, N) suffix buffer. NaN is skipped (not a candidate / factor 1).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EXT_MAX = 0
EXT_MIN = 1
EXT_ARG_MAX = 2
EXT_ARG_MIN = 3
EXT_SCALE = 4
EXT_MAX_DIFF = 5


@njit(cache=True, nogil=True, error_model="numpy")
def extremes_kernel(x, d, mode, constant):
    """Window max/min with their row (ties → the most recent row); output selected by `mode`."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    smax = np.empty((d, N))
    smaxi = np.empty((d, N), dtype=np.int64)
    smin = np.empty((d, N))
    smini = np.empty((d, N), dtype=np.int64)
    pmax = np.empty(N)
    pmaxi = np.empty(N, dtype=np.int64)
    pmin = np.empty(N)
    pmini = np.empty(N, dtype=np.int64)
    for s0 in range(0, T, d):
        s1 = min(T, s0 + d)
        for t in range(s0, s1):
            r = t - d + 1  # window start; in the previous block unless r == s0
            i = r - (s0 - d)
            for j in range(N):
                v = x[t, j]
                if t == s0:
                    pmaxi[j] = -1
                    pmini[j] = -1
                if v == v:
                    if pmaxi[j] < 0 or v >= pmax[j]:
                        pmax[j] = v
                        pmaxi[j] = t
                    if pmini[j] < 0 or v <= pmin[j]:
                        pmin[j] = v
                        pmini[j] = t
                if t < d - 1:
                    out[t, j] = np.nan
                    continue
                mx = pmax[j]
                mxi = pmaxi[j]
                mn = pmin[j]
                mni = pmini[j]
                if r < s0:
                    if smaxi[i, j] >= 0 and (mxi < 0 or smax[i, j] > mx):
                        mx = smax[i, j]
                        mxi = smaxi[i, j]
                    if smini[i, j] >= 0 and (mni < 0 or smin[i, j] < mn):
                        mn = smin[i, j]
                        mni = smini[i, j]
                if mxi < 0:
                    out[t, j] = np.nan
                elif mode == EXT_MAX:
                    out[t, j] = mx
                elif mode == EXT_MIN:
                    out[t, j] = mn
                elif mode == EXT_ARG_MAX:
                    out[t, j] = t - mxi
                elif mode == EXT_ARG_MIN:
                    out[t, j] = t - mni
                elif mode == EXT_MAX_DIFF:
                    out[t, j] = v - mx
                else:
                    den = mx - mn
                    out[t, j] = np.nan if den == 0.0 else (v - mn) / den + constant
        if s1 - s0 < d:
            break
        for t in range(s1 - 1, s0 - 1, -1):
            i = t - s0
            for j in range(N):
                v = x[t, j]
                if t == s1 - 1:
                    smaxi[i, j] = -1
                    smini[i, j] = -1
                else:
                    smax[i, j] = smax[i + 1, j]
                    smaxi[i, j] = smaxi[i + 1, j]
                    smin[i, j] = smin[i + 1, j]
                    smini[i, j] = smini[i + 1, j]
                if v == v:  # going back in time: an older value wins only when strictly better
                    if smaxi[i, j] < 0 or v > smax[i, j]:
                        smax[i, j] = v
                        smaxi[i, j] = t
                    if smini[i, j] < 0 or v < smin[i, j]:
                        smin[i, j] = v
                        smini[i, j] = t
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def product_kernel(x, d):
    """Product of the non-NaN values of each window (NaN when there are none)."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    suf = np.ones((d, N))
    pre = np.ones(N)
    cnt = np.zeros(N, dtype=np.int64)
    for s0 in range(0, T, d):
        s1 = min(T, s0 + d)
        for t in range(s0, s1):
            i = t - d + 1 - (s0 - d)
            for j in range(N):
                v = x[t, j]
                if t == s0:
                    pre[j] = 1.0
                if v == v:
                    pre[j] *= v
                    cnt[j] += 1
                if t >= d:
                    o = x[t - d, j]
                    if o == o:
                        cnt[j] -= 1
                if t < d - 1 or cnt[j] == 0:
                    out[t, j] = np.nan
                elif t == s1 - 1 and s1 - s0 == d:
                    out[t, j] = pre[j]
                else:
                    out[t, j] = suf[i, j] * pre[j]
        if s1 - s0 < d:
            break
        for t in range(s1 - 1, s0 - 1, -1):
            i = t - s0
            for j in range(N):
                v = x[t, j]
                acc = 1.0 if t == s1 - 1 else suf[i + 1, j]
                suf[i, j] = acc * v if v == v else acc
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def median_kernel(x, d):
    """Median of the non-NaN window values (mean of the two middle ones for an even count), kept in a
    per-column sorted buffer: O(d) per step by binary search and shift."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    buf = np.empty((N, d))
    cnt = np.zeros(N, dtype=np.int64)
    for t in range(T):
        for j in range(N):
            n = cnt[j]
            if t >= d:
                o = x[t - d, j]
                if o == o:
                    lo = 0
                    hi = n
                    while lo < hi:  # first index with buf >= o
                        mid = (lo + hi) // 2
                        if buf[j, mid] < o:
                            lo = mid + 1
                        else:
                            hi = mid
                    for q in range(lo, n - 1):
                        buf[j, q] = buf[j, q + 1]
                    n -= 1
            v = x[t, j]
            if v == v:
                lo = 0
                hi = n
                while lo < hi:  # first index with buf > v
                    mid = (lo + hi) // 2
                    if buf[j, mid] <= v:
                        lo = mid + 1
                    else:
                        hi = mid
                for q in range(n, lo, -1):
                    buf[j, q] = buf[j, q - 1]
                buf[j, lo] = v
                n += 1
            cnt[j] = n
            if t < d - 1 or n == 0:
                out[t, j] = np.nan
            elif n % 2 == 1:
                out[t, j] = buf[j, n // 2]
            else:
                out[t, j] = 0.5 * (buf[j, n // 2 - 1] + buf[j, n // 2])
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def count_nans_kernel(x, d):
    """Number of NaN values in each window."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    cnt = np.zeros(N, dtype=np.int64)
    for t in range(T):
        for j in range(N):
            v = x[t, j]
            if v != v:
                cnt[j] += 1
            if t >= d:
                o = x[t - d, j]
                if o != o:
                    cnt[j] -= 1
            out[t, j] = np.nan if t < d - 1 else cnt[j]
    return out

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
def _block_max(x, d, sgn, mode, constant, out):
    """Window max of sgn·x (sgn = ±1: the negation is exact, so the min is −max(−x) bit for bit), ties →
    the most recent row, NaN skipped; writes `out` per `mode` (EXT_MAX / EXT_MIN value, EXT_ARG_* lag,
    EXT_MAX_DIFF). Branch-free selects over columns (vectorizable); the all-NaN state is a NaN maximum."""
    T, N = x.shape
    want_idx = mode in (EXT_ARG_MAX, EXT_ARG_MIN)
    diff = mode == EXT_MAX_DIFF
    nan = np.nan
    sm = np.empty((d, N))  # suffix maxima of the previous block: sm[i] = max of its rows i..d−1
    si = np.empty((d, N) if want_idx else (1, 1))
    pm = np.empty(N)  # prefix maximum of the current block
    pi = np.empty(N if want_idx else 1)
    for s0 in range(0, T, d):
        s1 = min(T, s0 + d)
        for j in range(N):
            pm[j] = nan
        if want_idx:
            for j in range(N):
                pi[j] = -1.0
        for t in range(s0, s1):
            i = t - s0 + 1  # window start t−d+1 lies in the previous block at offset i when i < d
            use_suf = s0 > 0 and i < d
            if t < d - 1:
                for j in range(N):
                    v = sgn * x[t, j]
                    p = pm[j]
                    pm[j] = v if (v == v and not v < p) else p
                    out[t, j] = nan
                if want_idx:
                    for j in range(N):
                        v = sgn * x[t, j]
                        pi[j] = float(t) if (v == v and not v < pm[j]) else pi[j]
                continue
            tf = float(t)
            if want_idx and use_suf:
                for j in range(N):
                    v = sgn * x[t, j]
                    p = pm[j]
                    pidx = pi[j]
                    tk = (v == v) & ((v >= p) | (p != p))
                    p = v if tk else p
                    pidx = tf if tk else pidx
                    pm[j] = p
                    pi[j] = pidx
                    q = sm[i, j]
                    ts = (q > p) | (p != p)
                    pidx = si[i, j] if ts else pidx
                    p = q if ts else p
                    out[t, j] = nan if p != p else tf - pidx
            elif want_idx:
                for j in range(N):
                    v = sgn * x[t, j]
                    p = pm[j]
                    pidx = pi[j]
                    tk = (v == v) & ((v >= p) | (p != p))
                    p = v if tk else p
                    pidx = tf if tk else pidx
                    pm[j] = p
                    pi[j] = pidx
                    out[t, j] = nan if p != p else tf - pidx
            else:
                for j in range(N):
                    xv = x[t, j]
                    v = sgn * xv
                    p = pm[j]
                    p = v if (v == v and not v < p) else p
                    pm[j] = p
                    if use_suf:
                        q = sm[i, j]
                        p = q if (q > p or p != p) else p
                    out[t, j] = xv - p if diff else sgn * p
        if s1 - s0 < d:
            break
        t = s1 - 1
        for j in range(N):
            sm[d - 1, j] = sgn * x[t, j]
        if want_idx:
            for j in range(N):
                si[d - 1, j] = float(t)
        for t in range(s1 - 2, s0 - 1, -1):
            i = t - s0
            tf = float(t)
            if want_idx:
                for j in range(N):
                    v = sgn * x[t, j]
                    q = sm[i + 1, j]
                    # going back in time: an older value wins only when strictly better
                    tk = (v == v) & ((v > q) | (q != q))
                    sm[i, j] = v if tk else q
                    si[i, j] = tf if tk else si[i + 1, j]
            else:
                for j in range(N):
                    v = sgn * x[t, j]
                    q = sm[i + 1, j]
                    sm[i, j] = v if (v == v and not v <= q) else q


@njit(cache=True, nogil=True, error_model="numpy")
def extremes_kernel(x, d, mode, constant):
    """Window max/min with their row (ties → the most recent row); output selected by `mode`."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    if mode == EXT_SCALE:
        mn = np.empty((T, N), dtype=np.float64)
        _block_max(x, d, 1.0, EXT_MAX, constant, out)
        _block_max(x, d, -1.0, EXT_MIN, constant, mn)
        for t in range(T):
            for j in range(N):
                v = x[t, j]
                lo = mn[t, j]
                den = out[t, j] - lo
                out[t, j] = np.nan if den == 0.0 else (v - lo) / den + constant
        return out
    sgn = -1.0 if mode in (EXT_MIN, EXT_ARG_MIN) else 1.0
    _block_max(x, d, sgn, mode, constant, out)
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

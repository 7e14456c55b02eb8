"""O(T·N) rolling moments of one series: sum, mean, std, zscore, ir, av_diff, skewness, kurtosis, moments.

One kernel, `moments_kernel(x, d, stat, k)`, walks rows t (outer) and columns j (inner) of a C-contiguous
(T, N) array and keeps per-column running sums of powers of deviations from a per-column anchor `a`:
``s_p = Σ (x − a)^p`` over the finite values of the window (p = 1..4 as needed). Each step removes the
value leaving the window and adds the new one (O(1)). Numerical safety:

- the anchor is reset to the window's mean (two-pass) every `2·d` (at least 32) steps, which also clears
  the rounding drift of the add/remove updates, and whenever a removal cancels most of a power sum
  (the removed term exceeds `CANCEL` times what remains: a large value leaving the window);
- exact-zero dispersion is decided exactly, not from the sums: the window is constant iff every finite
  value equals the latest one, tracked with the row of the last finite value before the current run of
  equal values (P8 needs "zero denominator → NaN" with no tolerance);
- ±inf values are counted, never added to the sums: sum/mean follow IEEE (±inf, NaN when both signs),
  every statistic of dispersion or shape of a window holding ±inf is NaN (IEEE gives inf − inf there).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

STAT_SUM = 0
STAT_MEAN = 1
STAT_STD = 2
STAT_ZSCORE = 3
STAT_IR = 4
STAT_AV_DIFF = 5
STAT_SKEW = 6
STAT_KURT = 7
STAT_MOMENT = 8  # central moment of order k in 0..4
STAT_VAR = 9

CANCEL = 100.0
_FAR = -(1 << 62)


@njit(cache=True, nogil=True, error_model="numpy")
def _recompute(x, t, d, j, a, s1, s2, s3, s4):
    """Rebuild column j's anchor and power sums from the window rows max(0, t-d+1)..t."""
    lo = max(0, t - d + 1)
    c = np.nan
    for r in range(t, lo - 1, -1):
        v = x[r, j]
        if v == v and abs(v) != np.inf:
            c = v
            break
    if c != c:
        a[j] = 0.0
        s1[j] = 0.0
        s2[j] = 0.0
        s3[j] = 0.0
        s4[j] = 0.0
        return
    acc = 0.0
    n = 0
    for r in range(lo, t + 1):
        v = x[r, j]
        if v == v and abs(v) != np.inf:
            acc += v - c
            n += 1
    anchor = c + acc / n
    if acc == 0.0:
        anchor = c
    q1 = 0.0
    q2 = 0.0
    q3 = 0.0
    q4 = 0.0
    for r in range(lo, t + 1):
        v = x[r, j]
        if v == v and abs(v) != np.inf:
            dv = v - anchor
            d2 = dv * dv
            q1 += dv
            q2 += d2
            q3 += d2 * dv
            q4 += d2 * d2
    a[j] = anchor
    s1[j] = q1
    s2[j] = q2
    s3[j] = q3
    s4[j] = q4


@njit(cache=True, nogil=True, error_model="numpy")
def moments_kernel(x, d, stat, k):
    """Rolling statistic `stat` (STAT_*) over windows of d rows; rows t < d-1 are NaN (P3)."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    hi = stat in (STAT_SKEW, STAT_KURT) or (stat == STAT_MOMENT and k >= 3)
    cnt = np.zeros(N, dtype=np.int64)  # non-NaN values in the window (±inf included)
    npi = np.zeros(N, dtype=np.int64)
    nni = np.zeros(N, dtype=np.int64)
    a = np.zeros(N)
    s1 = np.zeros(N)
    s2 = np.zeros(N)
    s3 = np.zeros(N)
    s4 = np.zeros(N)
    since = np.zeros(N, dtype=np.int64)
    prev_run = np.full(N, _FAR, dtype=np.int64)  # row of the last finite value before the current run
    last_row = np.full(N, _FAR, dtype=np.int64)  # row of the last finite value
    run_val = np.full(N, np.nan)
    period = max(2 * d, 32)
    spread = stat not in (STAT_SUM, STAT_MEAN, STAT_AV_DIFF)
    drift = 1.0 if hi else 16.0  # largest (mean − anchor)² / variance tolerated before re-anchoring
    for t in range(T):
        lo = t - d + 1
        for j in range(N):
            dirty = False
            if t >= d:
                old = x[t - d, j]
                if old == old:
                    cnt[j] -= 1
                    if old == np.inf:
                        npi[j] -= 1
                    elif old == -np.inf:
                        nni[j] -= 1
                    elif cnt[j] - npi[j] - nni[j] == 0:
                        s1[j] = 0.0
                        s2[j] = 0.0
                        s3[j] = 0.0
                        s4[j] = 0.0
                    else:
                        dv = old - a[j]
                        d2 = dv * dv
                        s1[j] -= dv
                        s2[j] -= d2
                        if hi:
                            s3[j] -= d2 * dv
                            s4[j] -= d2 * d2
                            dirty = d2 * d2 > CANCEL * s4[j]
                        else:
                            dirty = d2 > CANCEL * s2[j]
            v = x[t, j]
            if v == v:
                cnt[j] += 1
                if v == np.inf:
                    npi[j] += 1
                elif v == -np.inf:
                    nni[j] += 1
                else:
                    if cnt[j] - npi[j] - nni[j] == 1:
                        a[j] = v
                        s1[j] = 0.0
                        s2[j] = 0.0
                        s3[j] = 0.0
                        s4[j] = 0.0
                    else:
                        dv = v - a[j]
                        d2 = dv * dv
                        s1[j] += dv
                        s2[j] += d2
                        if hi:
                            s3[j] += d2 * dv
                            s4[j] += d2 * d2
                    if v != run_val[j]:
                        prev_run[j] = last_row[j]
                        run_val[j] = v
                    last_row[j] = t
            since[j] += 1
            nf = cnt[j] - npi[j] - nni[j]
            if spread and nf >= 2 and (1.0 + drift) * s1[j] * s1[j] > drift * nf * s2[j]:
                dirty = True  # the anchor is far from the mean relative to the spread: re-anchor
            if dirty or since[j] >= period:
                _recompute(x, t, d, j, a, s1, s2, s3, s4)
                since[j] = 0
            if t < d - 1:
                out[t, j] = np.nan
                continue
            n = cnt[j]
            if n == 0:
                out[t, j] = np.nan
                continue
            nf = n - npi[j] - nni[j]
            if stat in (STAT_SUM, STAT_MEAN, STAT_AV_DIFF):
                if npi[j] > 0 and nni[j] > 0:
                    m = np.nan
                elif npi[j] > 0:
                    m = np.inf
                elif nni[j] > 0:
                    m = -np.inf
                elif stat == STAT_SUM:
                    m = nf * a[j] + s1[j]
                else:
                    m = a[j] + s1[j] / nf
                if stat == STAT_AV_DIFF:
                    m = x[t, j] - m
                out[t, j] = m
                continue
            if nf < n:
                out[t, j] = np.nan
                continue
            if prev_run[j] < lo:  # every value in the window is equal: exact zero dispersion
                mu = 0.0
                m2 = 0.0
                m3 = 0.0
                m4 = 0.0
            else:
                mu = s1[j] / nf
                e2 = s2[j] / nf
                m2 = e2 - mu * mu
                if m2 < 0.0:
                    m2 = 0.0
                m3 = 0.0
                m4 = 0.0
                if hi:
                    e3 = s3[j] / nf
                    m3 = e3 - 3.0 * mu * e2 + 2.0 * mu * mu * mu
                    m4 = s4[j] / nf - 4.0 * mu * e3 + 6.0 * mu * mu * e2 - 3.0 * mu * mu * mu * mu
                    if m4 < 0.0:
                        m4 = 0.0
            if stat == STAT_STD:
                out[t, j] = math.sqrt(m2)
            elif stat == STAT_VAR:
                out[t, j] = m2
            elif stat == STAT_ZSCORE:
                v = x[t, j]
                if v != v or m2 == 0.0:
                    out[t, j] = np.nan
                else:
                    out[t, j] = ((v - a[j]) - mu) / math.sqrt(m2)
            elif stat == STAT_IR:
                out[t, j] = np.nan if m2 == 0.0 else (a[j] + mu) / math.sqrt(m2)
            elif stat == STAT_SKEW:
                out[t, j] = np.nan if m2 == 0.0 else m3 / (m2 * math.sqrt(m2))
            elif stat == STAT_KURT:
                out[t, j] = np.nan if m2 == 0.0 else m4 / (m2 * m2) - 3.0
            elif k == 0:
                out[t, j] = 1.0
            elif k == 1:
                out[t, j] = 0.0
            elif k == 2:
                out[t, j] = m2
            elif k == 3:
                out[t, j] = m3
            else:
                out[t, j] = m4
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def moment_direct_kernel(x, d, k):
    """k-th central moment by a two-pass loop over each window (any k >= 0; used for k > 4)."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    buf = np.empty(d)
    for t in range(T):
        for j in range(N):
            if t < d - 1:
                out[t, j] = np.nan
                continue
            n = 0
            bad = False
            for r in range(t - d + 1, t + 1):
                v = x[r, j]
                if v == v:
                    if abs(v) == np.inf:
                        bad = True
                    buf[n] = v
                    n += 1
            if n == 0 or bad:
                out[t, j] = np.nan
                continue
            c = buf[n - 1]
            acc = 0.0
            same = True
            for i in range(n):
                acc += buf[i] - c
                same = same and buf[i] == c
            if same:
                out[t, j] = 1.0 if k == 0 else 0.0
                continue
            m = c + acc / n
            acc = 0.0
            for i in range(n):
                acc += (buf[i] - m) ** k
            out[t, j] = acc / n
    return out

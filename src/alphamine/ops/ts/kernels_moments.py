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


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _b(c):
    return 1.0 if c else 0.0


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
def _recompute_all(x, t, d, a, s1, s2, s3, s4, work):
    """`_recompute` for every column at once, rows outer / columns inner (contiguous)."""
    N = x.shape[1]
    lo = max(0, t - d + 1)
    c = work[0]
    acc = work[1]
    n = work[2]
    for j in range(N):
        c[j] = np.nan
        acc[j] = 0.0
        n[j] = 0.0
        s1[j] = 0.0
        s2[j] = 0.0
        s3[j] = 0.0
        s4[j] = 0.0
    for r in range(lo, t + 1):
        for j in range(N):
            v = x[r, j]
            c[j] = v if v - v == 0.0 else c[j]
    for r in range(lo, t + 1):
        for j in range(N):
            v = x[r, j]
            fin = v - v == 0.0
            acc[j] += v - c[j] if fin else 0.0
            n[j] += _b(fin)
    for j in range(N):
        a[j] = c[j] if acc[j] == 0.0 else c[j] + acc[j] / n[j]
        a[j] = a[j] if n[j] > 0.0 else 0.0
    for r in range(lo, t + 1):
        for j in range(N):
            v = x[r, j]
            dv = v - a[j] if v - v == 0.0 else 0.0
            d2 = dv * dv
            s1[j] += dv
            s2[j] += d2
            s3[j] += d2 * dv
            s4[j] += d2 * d2


@njit(cache=True, nogil=True, error_model="numpy")
def moments_kernel(x, d, stat, k):
    """Rolling statistic `stat` (STAT_*) over windows of d rows; rows t < d-1 are NaN (P3).

    Per row: a branch-free (vectorizable) update of every column's sums, then a scalar pass that rebuilds
    the columns flagged for cancellation / anchor drift (and all columns every `period` rows), then the
    output."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    hi = stat in (STAT_SKEW, STAT_KURT) or (stat == STAT_MOMENT and k >= 3)
    spread = stat not in (STAT_SUM, STAT_MEAN, STAT_AV_DIFF)
    drift = 1.0 if hi else 16.0  # largest (mean − anchor)² / variance tolerated before re-anchoring
    cnt = np.zeros(N)  # non-NaN values in the window (±inf included)
    npi = np.zeros(N)
    nni = np.zeros(N)
    a = np.zeros(N)
    s1 = np.zeros(N)
    s2 = np.zeros(N)
    s3 = np.zeros(N)
    s4 = np.zeros(N)
    dirty = np.zeros(N, dtype=np.bool_)
    work = np.empty((3, N))
    prev_run = np.full(N, -1e18)  # row of the last finite value before the current run of equal values
    last_row = np.full(N, -1e18)  # row of the last finite value
    run_val = np.full(N, np.nan)
    period = max(2 * d, 32)
    for t in range(T):
        has_old = t >= d
        ot = t - d if has_old else 0
        tf = float(t)
        for j in range(N):
            v = x[t, j]
            o = x[ot, j]
            vfin = v - v == 0.0
            ofin = has_old and o - o == 0.0
            cnt[j] += _b(v == v) - _b(has_old and o == o)
            npi[j] += _b(v == np.inf) - _b(has_old and o == np.inf)
            nni[j] += _b(v == -np.inf) - _b(has_old and o == -np.inf)
            dn = v - a[j] if vfin else 0.0
            do = o - a[j] if ofin else 0.0
            qn = dn * dn
            qo = do * do
            s1[j] += dn - do
            s2[j] += qn - qo
            bad = qo > CANCEL * s2[j]
            if hi:
                s3[j] += qn * dn - qo * do
                s4[j] += qn * qn - qo * qo
                bad = bad or qo * qo > CANCEL * s4[j]
            if spread:
                nf = cnt[j] - npi[j] - nni[j]
                bad = bad or (nf >= 1.0 and (1.0 + drift) * s1[j] * s1[j] > drift * nf * s2[j])
                ch = vfin and v != run_val[j]
                prev_run[j] = last_row[j] if ch else prev_run[j]
                run_val[j] = v if ch else run_val[j]
                last_row[j] = tf if vfin else last_row[j]
            dirty[j] = bad
        if t % period == period - 1:
            _recompute_all(x, t, d, a, s1, s2, s3, s4, work)
        else:
            for j in range(N):
                if dirty[j]:
                    _recompute(x, t, d, j, a, s1, s2, s3, s4)
        if t < d - 1:
            for j in range(N):
                out[t, j] = np.nan
            continue
        lo = float(t - d + 1)
        for j in range(N):
            n = cnt[j]
            nf = n - npi[j] - nni[j]
            if n == 0.0:
                out[t, j] = np.nan
            elif not spread:
                if npi[j] > 0.0 and nni[j] > 0.0:
                    m = np.nan
                elif npi[j] > 0.0:
                    m = np.inf
                elif nni[j] > 0.0:
                    m = -np.inf
                elif stat == STAT_SUM:
                    m = nf * a[j] + s1[j]
                else:
                    m = a[j] + s1[j] / nf
                out[t, j] = x[t, j] - m if stat == STAT_AV_DIFF else m
            elif nf < n:
                out[t, j] = np.nan
            else:
                out[t, j] = _spread_stat(stat, k, hi, prev_run[j] < lo, nf, a[j], s1[j], s2[j], s3[j], s4[j],
                                         x[t, j])
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _spread_stat(stat, k, hi, const, nf, a, s1, s2, s3, s4, today):
    if const:  # every value in the window is equal: exact zero dispersion
        mu = 0.0
        m2 = 0.0
        m3 = 0.0
        m4 = 0.0
    else:
        mu = s1 / nf
        e2 = s2 / nf
        m2 = max(e2 - mu * mu, 0.0)
        m3 = 0.0
        m4 = 0.0
        if hi:
            e3 = s3 / nf
            m3 = e3 - 3.0 * mu * e2 + 2.0 * mu * mu * mu
            m4 = max(s4 / nf - 4.0 * mu * e3 + 6.0 * mu * mu * e2 - 3.0 * mu * mu * mu * mu, 0.0)
    if stat == STAT_STD:
        return math.sqrt(m2)
    if stat == STAT_VAR:
        return m2
    if stat == STAT_ZSCORE:
        if today != today or m2 == 0.0:
            return np.nan
        return ((today - a) - mu) / math.sqrt(m2)
    if stat == STAT_IR:
        return np.nan if m2 == 0.0 else (a + mu) / math.sqrt(m2)
    if stat == STAT_SKEW:
        return np.nan if m2 == 0.0 else m3 / (m2 * math.sqrt(m2))
    if stat == STAT_KURT:
        return np.nan if m2 == 0.0 else m4 / (m2 * m2) - 3.0
    if k == 0:
        return 1.0
    if k == 1:
        return 0.0
    if k == 2:
        return m2
    return m3 if k == 3 else m4


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

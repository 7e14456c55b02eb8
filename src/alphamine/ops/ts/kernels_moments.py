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


# rows of the per-column state array of `moments_kernel` (one (K, N) array: the compiler can prove its rows
# disjoint, which keeps the per-row update loops vectorizable)
_CNT, _NPI, _NNI, _A, _S1, _S2, _S3, _S4, _DIRTY = range(9)


@njit(cache=True, nogil=True, error_model="numpy")
def _recompute_all(x, t, d, st, work, hi, lrow, lval):
    """`_recompute` for every column at once, rows outer / columns inner (contiguous), on the state array
    of `moments_kernel`. The latest finite value of the window (the anchor of the mean pass) is the one
    tracked in `lval`, valid when its row (`lrow`) is inside the window."""
    N = x.shape[1]
    lo = max(0, t - d + 1)
    lof = float(lo)
    for j in range(N):
        work[0, j] = lval[j] if lrow[j] >= lof else np.nan
        work[1, j] = 0.0
        work[2, j] = 0.0
    for j in range(N):
        st[_S1, j] = 0.0
        st[_S2, j] = 0.0
        st[_S3, j] = 0.0
        st[_S4, j] = 0.0
    for r in range(lo, t + 1):
        for j in range(N):
            v = x[r, j]
            fin = v - v == 0.0
            work[1, j] += v - work[0, j] if fin else 0.0
            work[2, j] += _b(fin)
    for j in range(N):
        c = work[0, j]
        acc = work[1, j]
        n = work[2, j]
        an = c if acc == 0.0 else c + acc / n
        st[_A, j] = an if n > 0.0 else 0.0
    for r in range(lo, t + 1):
        if hi:
            for j in range(N):
                v = x[r, j]
                dv = v - st[_A, j] if v - v == 0.0 else 0.0
                d2 = dv * dv
                st[_S1, j] += dv
                st[_S2, j] += d2
                st[_S3, j] += d2 * dv
                st[_S4, j] += d2 * d2
        else:  # s3, s4 are not read by the statistics of order <= 2
            for j in range(N):
                v = x[r, j]
                dv = v - st[_A, j] if v - v == 0.0 else 0.0
                st[_S1, j] += dv
                st[_S2, j] += dv * dv


@njit(cache=True, nogil=True, error_model="numpy")
def moments_kernel(x, d, stat, k):
    """Rolling statistic `stat` (STAT_*) over windows of d rows; rows t < d-1 are NaN (P3).

    Per row: a branch-free (vectorizable) update of every column's sums, then a scalar pass that rebuilds
    the columns flagged for cancellation / anchor drift (and all columns every `period` rows), then the
    output (branch-free, one loop per statistic)."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    hi = stat in (STAT_SKEW, STAT_KURT) or (stat == STAT_MOMENT and k >= 3)
    spread = stat not in (STAT_SUM, STAT_MEAN, STAT_AV_DIFF)
    drift = 1.0 if hi else 16.0  # largest (mean − anchor)² / variance tolerated before re-anchoring
    st = np.zeros((9, N))
    # the run / latest-finite tracking state in arrays of its own (as rows of `st` the loop updating
    # them ran several times slower: the compiler cannot tell its stores from its loads)
    prev = np.empty(N)
    lrow = np.empty(N)
    run = np.empty(N)
    lval = np.empty(N)
    # cnt: non-NaN values in the window (±inf included); npi/nni: +inf/−inf values; a: anchors;
    # s1..s4: power sums of deviations; prev: row of the last finite value before the current run of
    # equal values run; lrow/lval: row and value of the latest finite value
    for j in range(N):
        prev[j] = -1e18
        lrow[j] = -1e18
        run[j] = np.nan
        lval[j] = np.nan
    a = st[_A]
    s1 = st[_S1]
    s2 = st[_S2]
    s3 = st[_S3]
    s4 = st[_S4]
    work = np.empty((3, N))
    period = max(2 * d, 32)
    nan = np.nan
    inf = np.inf
    for t in range(T):
        has_old = t >= d
        ot = t - d if has_old else 0
        tf = float(t)
        if hi:
            for j in range(N):  # branch-free update of every column (vectorizable)
                v = x[t, j]
                o = x[ot, j]
                vfin = v - v == 0.0
                ofin = has_old & (o - o == 0.0)
                st[_CNT, j] += _b(v == v) - _b(has_old & (o == o))
                st[_NPI, j] += _b(v == inf) - _b(has_old & (o == inf))
                st[_NNI, j] += _b(v == -inf) - _b(has_old & (o == -inf))
                aj = st[_A, j]
                dn = v - aj if vfin else 0.0
                do = o - aj if ofin else 0.0
                qn = dn * dn
                qo = do * do
                st[_S1, j] += dn - do
                q2 = st[_S2, j] + (qn - qo)
                st[_S2, j] = q2
                st[_S3, j] += qn * dn - qo * do
                q4 = st[_S4, j] + (qn * qn - qo * qo)
                st[_S4, j] = q4
                q1 = st[_S1, j]
                nf = st[_CNT, j] - st[_NPI, j] - st[_NNI, j]
                dr = (nf >= 1.0) & ((1.0 + drift) * q1 * q1 > drift * nf * q2)  # hi implies spread
                st[_DIRTY, j] = _b((qo > CANCEL * q2) | (qo * qo > CANCEL * q4) | dr)
        elif spread:
            for j in range(N):  # branch-free update of every column (vectorizable)
                v = x[t, j]
                o = x[ot, j]
                vfin = v - v == 0.0
                ofin = has_old & (o - o == 0.0)
                st[_CNT, j] += _b(v == v) - _b(has_old & (o == o))
                st[_NPI, j] += _b(v == inf) - _b(has_old & (o == inf))
                st[_NNI, j] += _b(v == -inf) - _b(has_old & (o == -inf))
                aj = st[_A, j]
                dn = v - aj if vfin else 0.0
                do = o - aj if ofin else 0.0
                qn = dn * dn
                qo = do * do
                q1 = st[_S1, j] + (dn - do)
                q2 = st[_S2, j] + (qn - qo)
                nf = st[_CNT, j] - st[_NPI, j] - st[_NNI, j]
                dr = (nf >= 1.0) & ((1.0 + drift) * q1 * q1 > drift * nf * q2)
                # The anchor drifted from the window's mean (persistent inputs): move it to the mean
                # algebraically, Σ(v − a')² = Σ(v − a)² − (Σ(v − a))²/n, unless that cancels more than
                # 1/CANCEL of the sum of squares (then the column is rebuilt from the window).
                m1 = q1 * (1.0 / nf if dr else 0.0)
                r2 = q2 - q1 * m1
                st[_A, j] = aj + m1
                st[_S1, j] = 0.0 if dr else q1
                st[_S2, j] = r2
                st[_DIRTY, j] = _b((qo > CANCEL * q2) | (dr & (CANCEL * r2 < q2)))
        else:
            for j in range(N):  # branch-free update of every column (vectorizable)
                v = x[t, j]
                o = x[ot, j]
                vfin = v - v == 0.0
                ofin = has_old & (o - o == 0.0)
                st[_CNT, j] += _b(v == v) - _b(has_old & (o == o))
                st[_NPI, j] += _b(v == inf) - _b(has_old & (o == inf))
                st[_NNI, j] += _b(v == -inf) - _b(has_old & (o == -inf))
                aj = st[_A, j]
                dn = v - aj if vfin else 0.0
                do = o - aj if ofin else 0.0
                qn = dn * dn
                qo = do * do
                st[_S1, j] += dn - do
                q2 = st[_S2, j] + (qn - qo)
                st[_S2, j] = q2
                st[_DIRTY, j] = _b(qo > CANCEL * q2)
        if spread:
            for j in range(N):  # run and latest-finite tracking (separate loop: vectorizable)
                v = x[t, j]
                vfin = v - v == 0.0
                lr = lrow[j]
                ch = vfin & (v != run[j])
                # prev <= lrow always, so max() is the select "lrow if changed"
                prev[j] = max(prev[j], lr if ch else -1e18)
                run[j] = v if ch else run[j]
                lrow[j] = tf if vfin else lr
                lval[j] = v if vfin else lval[j]
        else:
            for j in range(N):  # latest-finite tracking
                v = x[t, j]
                vfin = v - v == 0.0
                lrow[j] = tf if vfin else lrow[j]
                lval[j] = v if vfin else lval[j]
        if t % period == period - 1:
            _recompute_all(x, t, d, st, work, hi, lrow, lval)
        else:
            for j in range(N):
                if st[_DIRTY, j] != 0.0:
                    _recompute(x, t, d, j, a, s1, s2, s3, s4)
        if t < d - 1:
            for j in range(N):
                out[t, j] = nan
            continue
        lo = float(t - d + 1)
        if not spread:
            for j in range(N):
                n = st[_CNT, j]
                pi = st[_NPI, j] > 0.0
                ni = st[_NNI, j] > 0.0
                nf = n - st[_NPI, j] - st[_NNI, j]
                m = nf * st[_A, j] + st[_S1, j] if stat == STAT_SUM else st[_A, j] + st[_S1, j] / nf
                m = inf if pi else m
                m = -inf if ni else m
                m = nan if (pi & ni) else m
                m = x[t, j] - m if stat == STAT_AV_DIFF else m
                out[t, j] = nan if n == 0.0 else m
        elif stat in (STAT_STD, STAT_VAR) or (stat == STAT_MOMENT and k <= 2):
            for j in range(N):
                n = st[_CNT, j]
                nf = n - st[_NPI, j] - st[_NNI, j]
                const = prev[j] < lo
                mu = st[_S1, j] / nf
                e2 = st[_S2, j] / nf
                m2 = 0.0 if const else max(e2 - mu * mu, 0.0)
                if stat == STAT_STD:
                    o = math.sqrt(m2)
                elif stat == STAT_VAR or k == 2:
                    o = m2
                else:
                    o = 1.0 if k == 0 else 0.0
                out[t, j] = nan if ((n == 0.0) | (nf < n)) else o
        elif stat in (STAT_ZSCORE, STAT_IR):
            for j in range(N):
                n = st[_CNT, j]
                nf = n - st[_NPI, j] - st[_NNI, j]
                const = prev[j] < lo
                mu = st[_S1, j] / nf
                e2 = st[_S2, j] / nf
                m2 = max(e2 - mu * mu, 0.0)
                mu = 0.0 if const else mu
                m2 = 0.0 if const else m2
                aj = st[_A, j]
                today = x[t, j]
                if stat == STAT_ZSCORE:
                    o = ((today - aj) - mu) / math.sqrt(m2)
                    o = nan if ((today != today) | (m2 == 0.0)) else o
                else:
                    o = (aj + mu) / math.sqrt(m2)
                    o = nan if m2 == 0.0 else o
                out[t, j] = nan if ((n == 0.0) | (nf < n)) else o
        else:
            for j in range(N):
                n = st[_CNT, j]
                nf = n - st[_NPI, j] - st[_NNI, j]
                const = prev[j] < lo
                mu = st[_S1, j] / nf
                e2 = st[_S2, j] / nf
                m2 = max(e2 - mu * mu, 0.0)
                e3 = st[_S3, j] / nf
                m3 = e3 - 3.0 * mu * e2 + 2.0 * mu * mu * mu
                m4 = max(st[_S4, j] / nf - 4.0 * mu * e3 + 6.0 * mu * mu * e2 - 3.0 * mu * mu * mu * mu, 0.0)
                m2 = 0.0 if const else m2
                m3 = 0.0 if const else m3
                m4 = 0.0 if const else m4
                if stat == STAT_SKEW:
                    o = m3 / (m2 * math.sqrt(m2))
                    o = nan if m2 == 0.0 else o
                elif stat == STAT_KURT:
                    o = m4 / (m2 * m2) - 3.0
                    o = nan if m2 == 0.0 else o
                else:
                    o = m3 if k == 3 else m4
                out[t, j] = nan if ((n == 0.0) | (nf < n)) else o
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

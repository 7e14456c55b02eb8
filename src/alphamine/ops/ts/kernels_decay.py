"""Rank-type and weighted-average window kernels: ts_rank / ts_quantile positions, entropy, linear and
exponential decay. Rows t outer, columns j inner (C-contiguous (T, N))."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

RANK_PLAIN = 0  # (r − 1)/(n − 1) with average ranks of ties; a lone valid value → 0.5
RANK_SHIFTED = 1  # 1/n + rank·(1 − 2/n): the quantile shift of brain.md §5.4, n = valid values


@njit(cache=True, nogil=True, error_model="numpy")
def rank_kernel(x, d, mode, constant):
    """Position of today's value among the window's non-NaN values; NaN when today is NaN.

    O(T·N·d): for each row, the window rows are scanned with the column loop innermost (contiguous,
    branch-free, vectorizable) accumulating one score per column, (values below today's) + ½·(values
    equal to it) (small integers and halves: exact); the window's non-NaN count slides in O(1)."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    st = np.zeros((2, N))  # rows: score, non-NaN values in the window
    nan = np.nan
    for t in range(T):
        has_old = t >= d
        ot = t - d if has_old else 0
        for j in range(N):
            v = x[t, j]
            o = x[ot, j]
            st[1, j] += (1.0 if v == v else 0.0) - (1.0 if has_old & (o == o) else 0.0)
        if t < d - 1:
            for j in range(N):
                out[t, j] = nan
            continue
        for j in range(N):
            st[0, j] = 0.0
        lo = t - d + 1
        r = lo
        while r + 3 <= t:  # four window rows per pass (exact sums: any order gives the same score)
            for j in range(N):
                v = x[t, j]
                w0 = x[r, j]
                w1 = x[r + 1, j]
                w2 = x[r + 2, j]
                w3 = x[r + 3, j]
                a0 = (1.0 if w0 < v else 0.0) + (0.5 if w0 == v else 0.0)
                a1 = (1.0 if w1 < v else 0.0) + (0.5 if w1 == v else 0.0)
                a2 = (1.0 if w2 < v else 0.0) + (0.5 if w2 == v else 0.0)
                a3 = (1.0 if w3 < v else 0.0) + (0.5 if w3 == v else 0.0)
                st[0, j] += (a0 + a1) + (a2 + a3)
            r += 4
        while r <= t:
            for j in range(N):
                w = x[r, j]
                v = x[t, j]
                st[0, j] += (1.0 if w < v else 0.0) + (0.5 if w == v else 0.0)
            r += 1
        for j in range(N):
            v = x[t, j]
            n = st[1, j]
            rk = (st[0, j] - 0.5) / (n - 1.0)
            rk = 0.5 if n == 1.0 else rk
            if mode == RANK_SHIFTED:
                rk = 1.0 / n + rk * (1.0 - 2.0 / n)
            out[t, j] = nan if v != v else rk + constant
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def entropy_kernel(x, d, buckets):
    """Shannon entropy (natural log) of the histogram of the window's non-NaN values in `buckets`
    equal-width bins spanning [min, max] (the max falls in the last bin). A constant window → 0;
    no valid value or a ±inf value → NaN."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    hist = np.zeros(buckets)
    for t in range(T):
        for j in range(N):
            if t < d - 1:
                out[t, j] = np.nan
                continue
            n = 0
            mn = np.inf
            mx = -np.inf
            bad = False
            for r in range(t - d + 1, t + 1):
                v = x[r, j]
                if v == v:
                    n += 1
                    if abs(v) == np.inf:
                        bad = True
                    mn = min(mn, v)
                    mx = max(mx, v)
            if n == 0 or bad:
                out[t, j] = np.nan
                continue
            if mx == mn:
                out[t, j] = 0.0
                continue
            for b in range(buckets):
                hist[b] = 0.0
            width = mx - mn
            for r in range(t - d + 1, t + 1):
                v = x[r, j]
                if v == v:
                    b = int((v - mn) / width * buckets)
                    hist[min(b, buckets - 1)] += 1.0
            h = 0.0
            for b in range(buckets):
                if hist[b] > 0.0:
                    p = hist[b] / n
                    h -= p * math.log(p)
            out[t, j] = h
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _b(c):
    return 1.0 if c else 0.0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _inf_result(npi, nni):
    """IEEE sum of the window's ±inf terms (npi / nni > 0: some +inf / −inf)."""
    r = np.inf if npi > 0 else -np.inf
    return np.nan if ((npi > 0) & (nni > 0)) else r


# rows of the per-column state arrays of the decay kernels (one (K, N) array: the compiler can prove its
# rows disjoint, which keeps the per-row update loops vectorizable)
_S, _W, _C, _WC, _NPI, _NNI, _NN = range(7)


@njit(cache=True, nogil=True, error_model="numpy")
def decay_linear_kernel(x, d, dense):
    """Σ_k (d − k)·x[t−k] over k = 0..d−1. Sparse: NaN counts as 0 and the denominator is d(d+1)/2;
    dense: the denominator is the sum of the weights of the non-NaN terms. All-NaN window → NaN.

    O(1) per step: W ← W − S + d·x[t] with S the plain window sum (each older weight drops by one), rebuilt
    from the window every d (≥ 16) steps; ±inf terms are counted, not summed (IEEE result ±inf / NaN).
    Branch-free per-row loops over the columns (vectorizable); the rebuild walks rows outer."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    # s: Σ finite values; w: Σ weight · finite value; c: non-NaN values; wc: Σ weight over non-NaN values;
    # npi / nni: +inf / −inf values
    st = np.zeros((6, N))
    work = np.empty((2, N))
    full = d * (d + 1) / 2.0
    fd = float(d)
    period = max(d, 16)
    nan = np.nan
    inf = np.inf
    for t in range(T):
        has_old = t >= d
        ot = t - d if has_old else 0
        for j in range(N):
            v = x[t, j]
            o = x[ot, j]
            onum = has_old & (o == o)
            ofin = has_old & (o - o == 0.0)
            vfin = v - v == 0.0
            s = st[_S, j]
            c = st[_C, j]
            w = st[_W, j] - s
            wc = st[_WC, j] - c
            c = c - 1.0 if onum else c
            st[_NPI, j] -= _b(has_old & (o == inf))
            st[_NNI, j] -= _b(has_old & (o == -inf))
            s = s - o if ofin else s
            c = c + 1.0 if v == v else c
            wc = wc + fd if v == v else wc
            st[_NPI, j] += _b(v == inf)
            st[_NNI, j] += _b(v == -inf)
            s = s + v if vfin else s
            w = w + fd * v if vfin else w
            st[_S, j] = s
            st[_W, j] = w
            st[_C, j] = c
            st[_WC, j] = wc
        if t % period == period - 1:
            for j in range(N):
                work[0, j] = 0.0
                work[1, j] = 0.0
            for kk in range(min(d, t + 1)):
                r = t - kk
                wk = float(d - kk)
                for j in range(N):
                    u = x[r, j]
                    f = u - u == 0.0
                    work[0, j] = work[0, j] + u if f else work[0, j]
                    work[1, j] = work[1, j] + wk * u if f else work[1, j]
            for j in range(N):
                st[_S, j] = work[0, j]
                st[_W, j] = work[1, j]
        if t < d - 1:
            for j in range(N):
                out[t, j] = nan
            continue
        for j in range(N):
            npi = st[_NPI, j]
            nni = st[_NNI, j]
            o = st[_W, j] / (st[_WC, j] if dense else full)
            o = _inf_result(npi, nni) if npi + nni > 0.0 else o
            out[t, j] = nan if st[_C, j] == 0.0 else o
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def decay_exp_kernel(x, d, factor, skip_nan):
    """Σ f^k x[t−k] / Σ f^k over the non-NaN terms, k = 0..d−1 (weights renormalized over present terms).
    skip_nan=False: a window holding a NaN gives NaN. All-NaN window, or zero present weight → NaN.

    O(1) per step: V ← f·V + x[t] − f^d·x[t−d] (same for the weights), rebuilt every d (≥ 16) steps.
    Branch-free per-row loops over the columns (vectorizable); the rebuild walks rows outer."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    fd = factor**d
    # s: Σ f^k · finite value; w: Σ f^k over non-NaN values; c: non-NaN values; nn: NaN values;
    # npi / nni: +inf / −inf values
    st = np.zeros((7, N))
    work = np.empty((2, N))
    period = max(d, 16)
    nan = np.nan
    inf = np.inf
    for t in range(T):
        has_old = t >= d
        ot = t - d if has_old else 0
        for j in range(N):
            v = x[t, j]
            o = x[ot, j]
            vs = st[_S, j] * factor
            ws = st[_W, j] * factor
            onum = has_old & (o == o)
            st[_NN, j] -= _b(has_old & (o != o))
            st[_C, j] -= _b(onum)
            ws = ws - fd if onum else ws
            st[_NPI, j] -= _b(has_old & (o == inf))
            st[_NNI, j] -= _b(has_old & (o == -inf))
            vs = vs - fd * o if has_old & (o - o == 0.0) else vs
            st[_NN, j] += _b(v != v)
            st[_C, j] += _b(v == v)
            ws = ws + 1.0 if v == v else ws
            st[_NPI, j] += _b(v == inf)
            st[_NNI, j] += _b(v == -inf)
            vs = vs + v if v - v == 0.0 else vs
            st[_S, j] = vs
            st[_W, j] = ws
        if t % period == period - 1:
            for j in range(N):
                work[0, j] = 0.0
                work[1, j] = 0.0
            fk = 1.0
            for kk in range(min(d, t + 1)):
                r = t - kk
                for j in range(N):
                    u = x[r, j]
                    work[1, j] = work[1, j] + fk if u == u else work[1, j]
                    work[0, j] = work[0, j] + fk * u if u - u == 0.0 else work[0, j]
                fk *= factor
            for j in range(N):
                st[_S, j] = work[0, j]
                st[_W, j] = work[1, j]
        if t < d - 1:
            for j in range(N):
                out[t, j] = nan
            continue
        for j in range(N):
            npi = st[_NPI, j]
            nni = st[_NNI, j]
            ws = st[_W, j]
            o = nan if ws == 0.0 else st[_S, j] / ws
            o = _inf_result(npi, nni) if npi + nni > 0.0 else o
            bad = (st[_C, j] == 0.0) | ((st[_NN, j] > 0.0) & (not skip_nan))
            out[t, j] = nan if bad else o
    return out

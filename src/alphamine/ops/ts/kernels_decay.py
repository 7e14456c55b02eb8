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
    vectorizable counters)."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    less = np.empty(N)
    eq = np.empty(N)
    nv = np.empty(N)
    for t in range(T):
        if t < d - 1:
            for j in range(N):
                out[t, j] = np.nan
            continue
        for j in range(N):
            less[j] = 0.0
            eq[j] = 0.0
            nv[j] = 0.0
        for r in range(t - d + 1, t + 1):
            for j in range(N):  # branch-free counters (vectorizable)
                w = x[r, j]
                v = x[t, j]
                nv[j] += 1.0 if w == w else 0.0
                less[j] += 1.0 if w < v else 0.0
                eq[j] += 1.0 if w == v else 0.0
        for j in range(N):
            v = x[t, j]
            if v != v:
                out[t, j] = np.nan
                continue
            n = nv[j]
            rk = 0.5 if n == 1.0 else (less[j] + 0.5 * (eq[j] - 1.0)) / (n - 1.0)
            if mode == RANK_SHIFTED:
                rk = 1.0 / n + rk * (1.0 - 2.0 / n)
            out[t, j] = rk + constant
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


@njit(cache=True, nogil=True, error_model="numpy")
def _inf_result(npi, nni):
    if npi > 0 and nni > 0:
        return np.nan
    return np.inf if npi > 0 else -np.inf


@njit(cache=True, nogil=True, error_model="numpy")
def decay_linear_kernel(x, d, dense):
    """Σ_k (d − k)·x[t−k] over k = 0..d−1. Sparse: NaN counts as 0 and the denominator is d(d+1)/2;
    dense: the denominator is the sum of the weights of the non-NaN terms. All-NaN window → NaN.

    O(1) per step: W ← W − S + d·x[t] with S the plain window sum (each older weight drops by one), rebuilt
    from the window every d (≥ 16) steps; ±inf terms are counted, not summed (IEEE result ±inf / NaN)."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    s = np.zeros(N)  # Σ finite values
    w = np.zeros(N)  # Σ weight · finite value
    c = np.zeros(N)  # number of non-NaN values
    wc = np.zeros(N)  # Σ weight over non-NaN values
    npi = np.zeros(N, dtype=np.int64)
    nni = np.zeros(N, dtype=np.int64)
    full = d * (d + 1) / 2.0
    period = max(d, 16)
    since = 0
    for t in range(T):
        since += 1
        rebuild = since >= period
        if rebuild:
            since = 0
        for j in range(N):
            v = x[t, j]
            o = x[t - d, j] if t >= d else np.nan
            w[j] -= s[j]
            wc[j] -= c[j]
            if o == o:
                c[j] -= 1.0
                if o == np.inf:
                    npi[j] -= 1
                elif o == -np.inf:
                    nni[j] -= 1
                else:
                    s[j] -= o
            if v == v:
                c[j] += 1.0
                wc[j] += d
                if v == np.inf:
                    npi[j] += 1
                elif v == -np.inf:
                    nni[j] += 1
                else:
                    s[j] += v
                    w[j] += d * v
            if rebuild:
                qs = 0.0
                qw = 0.0
                for k in range(min(d, t + 1)):
                    u = x[t - k, j]
                    if u == u and abs(u) != np.inf:
                        qs += u
                        qw += (d - k) * u
                s[j] = qs
                w[j] = qw
            if t < d - 1 or c[j] == 0.0:
                out[t, j] = np.nan
            elif npi[j] + nni[j] > 0:
                out[t, j] = _inf_result(npi[j], nni[j])
            else:
                out[t, j] = w[j] / (wc[j] if dense else full)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def decay_exp_kernel(x, d, factor, skip_nan):
    """Σ f^k x[t−k] / Σ f^k over the non-NaN terms, k = 0..d−1 (weights renormalized over present terms).
    skip_nan=False: a window holding a NaN gives NaN. All-NaN window, or zero present weight → NaN.

    O(1) per step: V ← f·V + x[t] − f^d·x[t−d] (same for the weights), rebuilt every d (≥ 16) steps."""
    T, N = x.shape
    out = np.empty((T, N), dtype=np.float64)
    fd = factor**d
    vs = np.zeros(N)
    ws = np.zeros(N)
    c = np.zeros(N, dtype=np.int64)  # non-NaN values
    nn = np.zeros(N, dtype=np.int64)  # NaN values
    npi = np.zeros(N, dtype=np.int64)
    nni = np.zeros(N, dtype=np.int64)
    period = max(d, 16)
    since = 0
    for t in range(T):
        since += 1
        rebuild = since >= period
        if rebuild:
            since = 0
        for j in range(N):
            v = x[t, j]
            vs[j] *= factor
            ws[j] *= factor
            if t >= d:
                o = x[t - d, j]
                if o != o:
                    nn[j] -= 1
                else:
                    c[j] -= 1
                    ws[j] -= fd
                    if o == np.inf:
                        npi[j] -= 1
                    elif o == -np.inf:
                        nni[j] -= 1
                    else:
                        vs[j] -= fd * o
            if v != v:
                nn[j] += 1
            else:
                c[j] += 1
                ws[j] += 1.0
                if v == np.inf:
                    npi[j] += 1
                elif v == -np.inf:
                    nni[j] += 1
                else:
                    vs[j] += v
            if rebuild:
                qv = 0.0
                qw = 0.0
                fk = 1.0
                for k in range(min(d, t + 1)):
                    u = x[t - k, j]
                    if u == u:
                        qw += fk
                        if abs(u) != np.inf:
                            qv += fk * u
                    fk *= factor
                vs[j] = qv
                ws[j] = qw
            if t < d - 1 or c[j] == 0 or (nn[j] > 0 and not skip_nan):
                out[t, j] = np.nan
            elif npi[j] + nni[j] > 0:
                out[t, j] = _inf_result(npi[j], nni[j])
            elif ws[j] == 0.0:
                out[t, j] = np.nan
            else:
                out[t, j] = vs[j] / ws[j]
    return out

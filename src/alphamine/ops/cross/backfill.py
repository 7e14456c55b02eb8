"""group_backfill kernels: NaN -> winsorized mean of the group's valid values over the last d rows.

Fast path: a ring of the last d rows' per-group summaries (count, sum, mean, M2, min, max) plus each
row's cells bucketed by group. A NaN cell's window statistics are merged from the d summaries (Chan's
parallel mean/variance update), so a day costs O(N + d·groups) instead of O(d·N); the clipped sum
rescans only the (row, group) buckets whose min/max fall outside the clip bounds. When d·groups is too
large for the ring the direct O(d·N) kernel is used. Both give the same values up to rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphamine.ops.cross._util import dense_codes, readonly

_RING_LIMIT = 1 << 22  # max d·n_codes summary cells for the fast path


@njit(cache=True, nogil=True)
def _backfill_ring(x, codes, n_codes, d, k, out):  # pragma: no cover - numba
    T, N = x.shape
    W = max(1, min(d, T))
    cnt = np.zeros((W, n_codes), np.int64)
    rsum = np.zeros((W, n_codes))
    rmean = np.zeros((W, n_codes))
    rm2 = np.zeros((W, n_codes))
    rmn = np.zeros((W, n_codes))
    rmx = np.zeros((W, n_codes))
    gstart = np.zeros((W, n_codes), np.int64)
    perm = np.zeros((W, N), np.int32)  # the row's valid cells bucketed by group
    tcodes = np.zeros((W, max(1, min(N, n_codes))), np.int64)
    ntouched = np.zeros(W, np.int64)
    need = np.zeros(n_codes, np.bool_)
    done = np.zeros(n_codes, np.bool_)
    res = np.zeros(n_codes)
    cur = np.zeros(n_codes, np.int64)
    for t in range(T):
        sl = t % W
        for q in range(ntouched[sl]):  # forget row t - W
            cnt[sl, tcodes[sl, q]] = 0
        nt = 0
        any_need = False
        for i in range(N):
            v = x[t, i]
            c = codes[t, i]
            out[t, i] = v if c >= 0 else np.nan
            if c < 0:
                continue
            if v != v:
                need[c] = True
                any_need = True
                continue
            if cnt[sl, c] == 0:
                tcodes[sl, nt] = c
                nt += 1
                rsum[sl, c] = 0.0
                rm2[sl, c] = 0.0
                rmn[sl, c] = v
                rmx[sl, c] = v
            cnt[sl, c] += 1
            rsum[sl, c] += v
            rmn[sl, c] = min(rmn[sl, c], v)
            rmx[sl, c] = max(rmx[sl, c], v)
        ntouched[sl] = nt
        pos = 0
        for q in range(nt):
            c = tcodes[sl, q]
            rmean[sl, c] = rmn[sl, c] if rmn[sl, c] == rmx[sl, c] else rsum[sl, c] / cnt[sl, c]
            gstart[sl, c] = pos
            cur[c] = pos
            pos += cnt[sl, c]
        for i in range(N):
            v = x[t, i]
            c = codes[t, i]
            if c < 0 or v != v:
                continue
            perm[sl, cur[c]] = i
            cur[c] += 1
            if rmn[sl, c] != rmx[sl, c]:
                dv = v - rmean[sl, c]
                rm2[sl, c] += dv * dv
        if not any_need:
            continue
        r0 = max(0, t - W + 1)
        for i in range(N):
            c = codes[t, i]
            if c < 0 or x[t, i] == x[t, i] or done[c]:
                continue
            done[c] = True
            n = 0
            mean = 0.0
            m2 = 0.0
            lo = np.inf
            hi = -np.inf
            for r in range(r0, t + 1):  # Chan et al. merge of the per-row summaries
                s = r % W
                nb = cnt[s, c]
                if nb == 0:
                    continue
                if n == 0:
                    mean = rmean[s, c]
                    m2 = rm2[s, c]
                else:
                    tot = n + nb
                    delta = rmean[s, c] - mean
                    mean += delta * nb / tot
                    m2 += rm2[s, c] + delta * delta * n * nb / tot
                n += nb
                lo = min(lo, rmn[s, c])
                hi = max(hi, rmx[s, c])
            if n == 0:
                res[c] = np.nan
                continue
            if lo == hi:
                res[c] = lo
                continue
            res[c] = mean
            if n < 2:
                continue
            sd = np.sqrt(max(m2, 0.0) / (n - 1))
            cl = mean - k * sd
            ch = mean + k * sd
            if lo >= cl and hi <= ch:
                continue
            acc = 0.0
            for r in range(r0, t + 1):
                s = r % W
                nb = cnt[s, c]
                if nb == 0:
                    continue
                if rmn[s, c] >= cl and rmx[s, c] <= ch:
                    acc += rsum[s, c]
                    continue
                for p in range(gstart[s, c], gstart[s, c] + nb):
                    v = x[r, perm[s, p]]
                    acc += cl if v < cl else (ch if v > ch else v)
            res[c] = acc / n
        for i in range(N):
            c = codes[t, i]
            if c >= 0 and x[t, i] != x[t, i]:
                out[t, i] = res[c]
        for i in range(N):
            c = codes[t, i]
            if c >= 0:
                need[c] = False
                done[c] = False


@njit(cache=True, nogil=True)
def _backfill_direct(x, codes, n_codes, d, k, out):  # pragma: no cover - numba
    T, N = x.shape
    need = np.zeros(n_codes, np.bool_)
    clip = np.zeros(n_codes, np.bool_)
    cnt = np.zeros(n_codes, np.int64)
    ref = np.zeros(n_codes)
    s = np.zeros(n_codes)
    ss = np.zeros(n_codes)
    mn = np.full(n_codes, np.inf)
    mx = np.full(n_codes, -np.inf)
    lo = np.zeros(n_codes)
    hi = np.zeros(n_codes)
    acc = np.zeros(n_codes)
    for t in range(T):
        any_need = False
        for i in range(N):
            v = x[t, i]
            c = codes[t, i]
            out[t, i] = v if c >= 0 else np.nan
            if c >= 0 and v != v:
                need[c] = True
                any_need = True
        if not any_need:
            continue
        s0 = max(0, t - d + 1)
        for r in range(s0, t + 1):  # window stats per needed group, shifted sums for stability
            for j in range(N):
                v = x[r, j]
                c = codes[r, j]
                if c < 0 or v != v or not need[c]:
                    continue
                if cnt[c] == 0:
                    ref[c] = v
                dv = v - ref[c]
                cnt[c] += 1
                s[c] += dv
                ss[c] += dv * dv
                mn[c] = min(mn[c], v)
                mx[c] = max(mx[c], v)
        any_clip = False
        for i in range(N):
            c = codes[t, i]
            if c < 0 or x[t, i] == x[t, i] or cnt[c] < 2 or clip[c]:
                continue
            n = cnt[c]
            mean = ref[c] + s[c] / n
            sd = 0.0 if mn[c] == mx[c] else np.sqrt(max(ss[c] - s[c] * s[c] / n, 0.0) / (n - 1))
            lo[c] = mean - k * sd
            hi[c] = mean + k * sd
            if mn[c] < lo[c] or mx[c] > hi[c]:
                clip[c] = True
                any_clip = True
        if any_clip:
            for r in range(s0, t + 1):
                for j in range(N):
                    v = x[r, j]
                    c = codes[r, j]
                    if c >= 0 and v == v and clip[c]:
                        acc[c] += lo[c] if v < lo[c] else (hi[c] if v > hi[c] else v)
        for i in range(N):
            c = codes[t, i]
            if c < 0 or x[t, i] == x[t, i] or cnt[c] == 0:
                continue
            out[t, i] = acc[c] / cnt[c] if clip[c] else ref[c] + s[c] / cnt[c]
        for i in range(N):
            c = codes[t, i]
            if c >= 0:
                need[c] = False
                clip[c] = False
                cnt[c] = 0
                s[c] = 0.0
                ss[c] = 0.0
                acc[c] = 0.0
                mn[c] = np.inf
                mx[c] = -np.inf


def backfill_by_group(x: np.ndarray, group: np.ndarray, d: int, std: float) -> np.ndarray:
    """See `group_backfill`: the winsorized-mean fill (sample std, ddof 1) over rows t-d+1..t."""
    xr = readonly(x, np.float64)
    codes, n_codes = dense_codes(np.broadcast_to(group, xr.shape))
    out = np.empty(xr.shape, np.float64)
    if xr.size == 0:
        return out
    kern = _backfill_ring if min(d, xr.shape[0]) * n_codes <= _RING_LIMIT else _backfill_direct
    kern(xr, codes, n_codes, int(d), float(std), out)
    return out

"""Numba kernels for cross-sectional and group operators, plus pure functions the simulator reuses.

Public pure functions (inputs are never written; outputs are new C-contiguous arrays):

- ``rank_rows(x)``: per-row average rank of ties scaled to [0, 1] by (r-1)/(n-1); one valid value -> 0.5;
  NaN stays NaN.
- ``group_rank_rows(x, groups)``: the same within each (day, group); negative code -> NaN.
- ``demean_by_group(x, groups)``: x minus the mean of its group's non-NaN members that day; a one-member
  group -> 0; negative code -> NaN (settings neutralization).
- ``group_stat(x, groups, mode, ...)`` / ``pair_stat(a, b, groups, mode)``: the shared one-pass group
  statistic engines (``groups=None`` = one group per day = cross-sectional).

Conventions shared by every kernel: a cell takes part iff its value is non-NaN and its group code is >= 0;
±inf are ordinary values under IEEE arithmetic (P7); "constant" (min == max) is detected exactly, so the
mean of a constant group is exactly its value and its std exactly 0 (P8 zero denominators -> NaN).

Exact sorting lives in `sorting.py` (rank_rows, group_rank_rows are re-exported here).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from alphamine.ops.cross._util import codes_arg, dense_codes, readonly
from alphamine.ops.cross.sorting import group_rank_rows, order_stat, rank_rows, sort_rows

__all__ = [
    "demean_by_group",
    "dense_codes",
    "group_rank_rows",
    "group_stat",
    "order_stat",
    "pair_stat",
    "rank_rows",
    "readonly",
    "sort_rows",
]

# group_stat modes
NEUTRALIZE, ZSCORE, NORMALIZE, WINSORIZE, MEAN, SUM, COUNT, STD, MIN, MAX = range(10)
MINMAX, SCALE, TRUNCATE, GNORMALIZE = range(10, 14)
# pair_stat modes
VNEUT, VPROJ, RNEUT, RPROJ, WMEAN = range(5)


# ------------------------------------------------------------------------------------ group statistics
# Kernels are specialized per (mode, single) at compile time: the mode and the single-group flag are
# closure constants, so the per-cell mode dispatch and unused accumulators fold away (~3x faster than
# one generic kernel). Numba caches closures keyed by their cell contents.
_KERNELS: dict[tuple[str, int, bool], Any] = {}


def _kernel(kind: str, mode: int, single: bool) -> Any:
    key = (kind, mode, single)
    kern = _KERNELS.get(key)
    if kern is None:
        kern = _KERNELS[key] = (_make_stat if kind == "stat" else _make_pair)(mode, single)
    return kern


def _make_stat(mode: int, single: bool) -> Any:
    dev = mode in (ZSCORE, STD, WINSORIZE, NORMALIZE)
    absum = mode in (SCALE, TRUNCATE, GNORMALIZE)
    sides = mode == SCALE

    # Bit-identical to a plain "skip NaN, accumulate in column order" loop, but branch-free: a skipped
    # cell adds +0.0, which leaves every sum unchanged (sums start at +0.0 and can never become -0.0), and
    # cells without a group (or with NaN x) accumulate into a dump slot. One group: four rows are
    # accumulated together (four independent add chains per loop; each row keeps its own summation order).

    @njit(cache=True, nogil=True)
    def kern(x, codes, n_codes, p1, p2, p3, out):  # pragma: no cover - numba
        T, N = x.shape
        dump = n_codes  # slot n_codes: cells that take part in nothing
        cnt = np.zeros(n_codes + 1, np.int64)
        s = np.zeros(n_codes + 1)
        ss = np.zeros(n_codes + 1)
        sabs = np.zeros(n_codes + 1)
        spos = np.zeros(n_codes + 1)
        sneg = np.zeros(n_codes + 1)
        mn = np.full(n_codes + 1, np.inf)
        mx = np.full(n_codes + 1, -np.inf)
        mean = np.zeros(n_codes + 1)
        sd = np.zeros(n_codes + 1)
        touched = np.empty(min(n_codes, N) + 1, np.int64)
        do_dev = dev and (mode != NORMALIZE or p1 != 0.0)
        B = 4 if single else 1
        r_n = np.zeros(B, np.int64)
        r_s = np.zeros(B)
        r_a = np.zeros(B)
        r_pos = np.zeros(B)
        r_neg = np.zeros(B)
        r_lo = np.zeros(B)
        r_hi = np.zeros(B)
        r_ss = np.zeros(B)
        for t0 in range(0, T, B):
            if single:
                # rows t0..t0+3 (past the end: repeat the last row, results unused)
                ta = t0
                tb = min(t0 + 1, T - 1)
                tc = min(t0 + 2, T - 1)
                td = min(t0 + 3, T - 1)
                n0 = n1 = n2 = n3 = 0
                s0 = s1 = s2 = s3 = 0.0
                a0 = a1 = a2 = a3 = 0.0
                po0 = po1 = po2 = po3 = 0.0
                ne0 = ne1 = ne2 = ne3 = 0.0
                lo0 = lo1 = lo2 = lo3 = np.inf
                hi0 = hi1 = hi2 = hi3 = -np.inf
                for i in range(N):
                    v0 = x[ta, i]
                    v1 = x[tb, i]
                    v2 = x[tc, i]
                    v3 = x[td, i]
                    ok0 = v0 == v0
                    ok1 = v1 == v1
                    ok2 = v2 == v2
                    ok3 = v3 == v3
                    n0 += 1 if ok0 else 0
                    n1 += 1 if ok1 else 0
                    n2 += 1 if ok2 else 0
                    n3 += 1 if ok3 else 0
                    s0 += v0 if ok0 else 0.0
                    s1 += v1 if ok1 else 0.0
                    s2 += v2 if ok2 else 0.0
                    s3 += v3 if ok3 else 0.0
                    lo0 = v0 if v0 < lo0 else lo0
                    lo1 = v1 if v1 < lo1 else lo1
                    lo2 = v2 if v2 < lo2 else lo2
                    lo3 = v3 if v3 < lo3 else lo3
                    hi0 = v0 if v0 > hi0 else hi0
                    hi1 = v1 if v1 > hi1 else hi1
                    hi2 = v2 if v2 > hi2 else hi2
                    hi3 = v3 if v3 > hi3 else hi3
                    if absum:
                        a0 += abs(v0) if ok0 else 0.0
                        a1 += abs(v1) if ok1 else 0.0
                        a2 += abs(v2) if ok2 else 0.0
                        a3 += abs(v3) if ok3 else 0.0
                    if sides:
                        po0 += v0 if v0 > 0.0 else 0.0
                        po1 += v1 if v1 > 0.0 else 0.0
                        po2 += v2 if v2 > 0.0 else 0.0
                        po3 += v3 if v3 > 0.0 else 0.0
                        ne0 += -v0 if v0 < 0.0 else 0.0
                        ne1 += -v1 if v1 < 0.0 else 0.0
                        ne2 += -v2 if v2 < 0.0 else 0.0
                        ne3 += -v3 if v3 < 0.0 else 0.0
                r_n[0], r_n[1], r_n[2], r_n[3] = n0, n1, n2, n3
                r_s[0], r_s[1], r_s[2], r_s[3] = s0, s1, s2, s3
                r_a[0], r_a[1], r_a[2], r_a[3] = a0, a1, a2, a3
                r_pos[0], r_pos[1], r_pos[2], r_pos[3] = po0, po1, po2, po3
                r_neg[0], r_neg[1], r_neg[2], r_neg[3] = ne0, ne1, ne2, ne3
                r_lo[0], r_lo[1], r_lo[2], r_lo[3] = lo0, lo1, lo2, lo3
                r_hi[0], r_hi[1], r_hi[2], r_hi[3] = hi0, hi1, hi2, hi3
                if do_dev:  # centred squares, again four rows at once
                    m0 = m1 = m2 = m3 = 0.0
                    if n0 > 0:
                        m0 = lo0 if lo0 == hi0 else s0 / n0
                    if n1 > 0:
                        m1 = lo1 if lo1 == hi1 else s1 / n1
                    if n2 > 0:
                        m2 = lo2 if lo2 == hi2 else s2 / n2
                    if n3 > 0:
                        m3 = lo3 if lo3 == hi3 else s3 / n3
                    q0 = q1 = q2 = q3 = 0.0
                    for i in range(N):
                        v0 = x[ta, i]
                        v1 = x[tb, i]
                        v2 = x[tc, i]
                        v3 = x[td, i]
                        d0 = v0 - m0
                        d1 = v1 - m1
                        d2 = v2 - m2
                        d3 = v3 - m3
                        q0 += d0 * d0 if v0 == v0 else 0.0
                        q1 += d1 * d1 if v1 == v1 else 0.0
                        q2 += d2 * d2 if v2 == v2 else 0.0
                        q3 += d3 * d3 if v3 == v3 else 0.0
                    r_ss[0], r_ss[1], r_ss[2], r_ss[3] = q0, q1, q2, q3
            for j in range(B):
                t = t0 + j
                if t >= T:
                    break
                nt = 0
                if single:
                    if r_n[j] > 0:
                        touched[0] = 0
                        nt = 1
                        cnt[0], s[0], sabs[0], spos[0], sneg[0] = r_n[j], r_s[j], r_a[j], r_pos[j], r_neg[j]
                        mn[0], mx[0] = r_lo[j], r_hi[j]
                        mean[0] = mn[0] if mn[0] == mx[0] else s[0] / cnt[0]
                    if do_dev:
                        sd[0] = np.sqrt(r_ss[j] / cnt[0]) if (nt == 1 and mn[0] != mx[0]) else 0.0
                else:
                    for i in range(N):
                        v = x[t, i]
                        c = codes[t, i]
                        c = c if (c >= 0 and v == v) else dump
                        touched[nt] = c
                        nt += 1 if (cnt[c] == 0 and c != dump) else 0
                        cnt[c] += 1
                        s[c] += v
                        mn[c] = v if v < mn[c] else mn[c]
                        mx[c] = v if v > mx[c] else mx[c]
                        if absum:
                            sabs[c] += abs(v)
                        if sides:
                            spos[c] += v if v > 0.0 else 0.0
                            sneg[c] -= v if v < 0.0 else 0.0
                    for q in range(nt):
                        c = touched[q]
                        mean[c] = mn[c] if mn[c] == mx[c] else s[c] / cnt[c]
                    if do_dev:
                        for i in range(N):
                            v = x[t, i]
                            c = codes[t, i]
                            c = c if (c >= 0 and v == v) else dump
                            d = v - mean[c]
                            ss[c] += d * d if mn[c] != mx[c] else 0.0
                        for q in range(nt):
                            c = touched[q]
                            sd[c] = 0.0 if mn[c] == mx[c] else np.sqrt(ss[c] / cnt[c])
                for i in range(N):
                    v = x[t, i]
                    if single:
                        c = 0
                        ok = v == v
                    else:
                        c = codes[t, i]
                        ok = c >= 0 and v == v
                        c = c if ok else dump
                    if mode == NEUTRALIZE:
                        res = v - mean[c]
                    elif mode == ZSCORE:
                        res = np.nan if sd[c] == 0.0 else (v - mean[c]) / sd[c]
                    elif mode == NORMALIZE:  # p1 useStd, p2 limit
                        res = v - mean[c]
                        if do_dev:
                            res = np.nan if sd[c] == 0.0 else res / sd[c]
                        if p2 > 0.0 and res == res:
                            res = min(max(res, -p2), p2)
                    elif mode == WINSORIZE:  # p1 = number of stds
                        lo = mean[c] - p1 * sd[c]
                        hi = mean[c] + p1 * sd[c]
                        res = lo if v < lo else (hi if v > hi else v)
                    elif mode == MEAN:
                        res = mean[c]
                    elif mode == SUM:
                        res = s[c]
                    elif mode == COUNT:
                        res = float(cnt[c])
                    elif mode == STD:
                        res = sd[c]
                    elif mode == MIN:
                        res = mn[c]
                    elif mode == MAX:
                        res = mx[c]
                    elif mode == MINMAX:  # (v - min)/(max - min) - p1
                        res = np.nan if mn[c] == mx[c] else (v - mn[c]) / (mx[c] - mn[c]) - p1
                    elif mode == SCALE:  # p1 scale, p2 longscale, p3 shortscale (sides when either > 0)
                        if sabs[c] == 0.0:
                            res = np.nan
                        elif p2 > 0.0 or p3 > 0.0:
                            if v > 0:
                                res = v * (p2 if p2 > 0.0 else 1.0) / spos[c]
                            elif v < 0:
                                res = v * (p3 if p3 > 0.0 else 1.0) / sneg[c]
                            else:
                                res = 0.0
                        else:
                            res = v * p1 / sabs[c]
                    elif mode == TRUNCATE:  # clip to ±p1·Σ|x|
                        cap = p1 * sabs[c]
                        res = -cap if v < -cap else (cap if v > cap else v)
                    else:  # GNORMALIZE: p1 scale, p2 constantCheck, p3 tolerance
                        if (p2 != 0.0 and mx[c] - mn[c] <= p3) or sabs[c] == 0.0:
                            res = np.nan
                        else:
                            res = v * p1 / sabs[c]
                    out[t, i] = res if ok else np.nan
                if not single:
                    for q in range(nt):  # reset only the touched codes (and the dump slot)
                        c = touched[q]
                        cnt[c] = 0
                        s[c] = 0.0
                        ss[c] = 0.0
                        sabs[c] = 0.0
                        spos[c] = 0.0
                        sneg[c] = 0.0
                        mn[c] = np.inf
                        mx[c] = -np.inf
                    cnt[dump] = 0
                    s[dump] = 0.0
                    ss[dump] = 0.0
                    sabs[dump] = 0.0
                    spos[dump] = 0.0
                    sneg[dump] = 0.0
                    mn[dump] = np.inf
                    mx[dump] = -np.inf

    return kern


def group_stat(x: np.ndarray, groups: np.ndarray | None, mode: int, p1: float = 0.0, p2: float = 0.0,
               p3: float = 0.0) -> np.ndarray:
    """One-pass per-(day, group) statistic engine; `groups=None` = the whole row is one group."""
    xr = readonly(x, np.float64)
    codes, single, n_codes = codes_arg(groups, xr.shape)
    out = np.empty(xr.shape, np.float64)
    _kernel("stat", mode, single)(xr, codes, n_codes, float(p1), float(p2), float(p3), out)
    return out


def demean_by_group(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """x minus the mean of its group's non-NaN members on the same day (exactly 0 for a one-member or
    constant group); NaN x or negative group code -> NaN. The settings-neutralization primitive."""
    return group_stat(x, groups, NEUTRALIZE)


def _make_pair(mode: int, single: bool) -> Any:
    regress = mode in (RNEUT, RPROJ)

    @njit(cache=True, nogil=True)
    def kern(a, b, codes, n_codes, out):  # pragma: no cover - numba
        T, N = a.shape
        cnt = np.zeros(n_codes, np.int64)
        sa = np.zeros(n_codes)
        sb = np.zeros(n_codes)
        sab = np.zeros(n_codes)
        sbb = np.zeros(n_codes)
        mnb = np.full(n_codes, np.inf)
        mxb = np.full(n_codes, -np.inf)
        touched = np.empty(min(n_codes, N), np.int64)
        for t in range(T):
            nt = 0
            for i in range(N):
                va = a[t, i]
                vb = b[t, i]
                c = 0 if single else codes[t, i]
                if c < 0 or va != va or vb != vb:
                    continue
                if cnt[c] == 0:
                    touched[nt] = c
                    nt += 1
                cnt[c] += 1
                if mode == WMEAN:
                    sab[c] += va * vb
                    sbb[c] += vb
                elif regress:
                    sa[c] += va
                    sb[c] += vb
                    if vb < mnb[c]:
                        mnb[c] = vb
                    if vb > mxb[c]:
                        mxb[c] = vb
                else:
                    sab[c] += va * vb
                    sbb[c] += vb * vb
            if regress:  # means, then centred cross products in a second pass
                for q in range(nt):
                    c = touched[q]
                    sa[c] /= cnt[c]
                    sb[c] /= cnt[c]
                for i in range(N):
                    va = a[t, i]
                    vb = b[t, i]
                    c = 0 if single else codes[t, i]
                    if c < 0 or va != va or vb != vb or mnb[c] == mxb[c]:
                        continue
                    db = vb - sb[c]
                    sab[c] += (va - sa[c]) * db
                    sbb[c] += db * db
            for i in range(N):
                va = a[t, i]
                vb = b[t, i]
                c = 0 if single else codes[t, i]
                res = np.nan
                if c >= 0 and va == va:
                    if mode == WMEAN:
                        if cnt[c] > 0 and sbb[c] != 0.0:
                            res = sab[c] / sbb[c]
                    elif vb == vb:
                        if regress:
                            if mnb[c] != mxb[c]:
                                fit = sa[c] + sab[c] / sbb[c] * (vb - sb[c])
                                res = va - fit if mode == RNEUT else fit
                        elif sbb[c] != 0.0:
                            proj = sab[c] / sbb[c] * vb
                            res = va - proj if mode == VNEUT else proj
                out[t, i] = res
            for q in range(nt):
                c = touched[q]
                cnt[c] = 0
                sa[c] = 0.0
                sb[c] = 0.0
                sab[c] = 0.0
                sbb[c] = 0.0
                mnb[c] = np.inf
                mxb[c] = -np.inf

    return kern


def pair_stat(a: np.ndarray, b: np.ndarray, groups: np.ndarray | None, mode: int) -> np.ndarray:
    """Two-input per-(day, group) engine over cells where a, b are non-NaN and the code is >= 0.

    VNEUT/VPROJ: a - (a·b/b·b)·b / (a·b/b·b)·b (b·b = 0 -> NaN). RNEUT/RPROJ: OLS of a on b with
    intercept, residual / fitted (b constant or < 2 pairs -> NaN). WMEAN: Σab/Σb (b = weights), given
    to every cell with non-NaN a (Σb = 0 or no pair -> NaN)."""
    ar = readonly(a, np.float64)
    br = readonly(np.broadcast_to(b, ar.shape), np.float64)
    codes, single, n_codes = codes_arg(groups, ar.shape)
    out = np.empty(ar.shape, np.float64)
    _kernel("pair", mode, single)(ar, br, codes, n_codes, out)
    return out

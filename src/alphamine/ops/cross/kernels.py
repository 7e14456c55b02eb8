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

    @njit(cache=True, nogil=True)
    def kern(x, codes, n_codes, p1, p2, p3, out):  # pragma: no cover - numba
        T, N = x.shape
        cnt = np.zeros(n_codes, np.int64)
        s = np.zeros(n_codes)
        ss = np.zeros(n_codes)
        sabs = np.zeros(n_codes)
        spos = np.zeros(n_codes)
        sneg = np.zeros(n_codes)
        mn = np.full(n_codes, np.inf)
        mx = np.full(n_codes, -np.inf)
        mean = np.zeros(n_codes)
        sd = np.zeros(n_codes)
        touched = np.empty(min(n_codes, N), np.int64)
        do_dev = dev and (mode != NORMALIZE or p1 != 0.0)
        for t in range(T):
            nt = 0
            if single:  # scalar accumulators: no store-to-load chains through memory
                n1 = 0
                s1 = 0.0
                a1 = 0.0
                pos1 = 0.0
                neg1 = 0.0
                lo1 = np.inf
                hi1 = -np.inf
                for i in range(N):
                    v = x[t, i]
                    if v != v:
                        continue
                    n1 += 1
                    s1 += v
                    lo1 = v if v < lo1 else lo1
                    hi1 = v if v > hi1 else hi1
                    if absum:
                        a1 += abs(v)
                    if sides:
                        pos1 += max(v, 0.0)
                        neg1 += max(-v, 0.0)
                if n1 > 0:
                    touched[0] = 0
                    nt = 1
                    cnt[0], s[0], sabs[0], spos[0], sneg[0], mn[0], mx[0] = n1, s1, a1, pos1, neg1, lo1, hi1
            else:
                for i in range(N):
                    v = x[t, i]
                    c = codes[t, i]
                    if c < 0 or v != v:
                        continue
                    if cnt[c] == 0:
                        touched[nt] = c
                        nt += 1
                    cnt[c] += 1
                    s[c] += v
                    if v < mn[c]:
                        mn[c] = v
                    if v > mx[c]:
                        mx[c] = v
                    if absum:
                        sabs[c] += abs(v)
                    if sides:
                        if v > 0:
                            spos[c] += v
                        elif v < 0:
                            sneg[c] -= v
            for q in range(nt):
                c = touched[q]
                mean[c] = mn[c] if mn[c] == mx[c] else s[c] / cnt[c]
            if do_dev and single:
                if nt == 1 and mn[0] != mx[0]:
                    m0 = mean[0]
                    ss1 = 0.0
                    for i in range(N):
                        v = x[t, i]
                        if v == v:
                            ss1 += (v - m0) * (v - m0)
                    ss[0] = ss1
                    sd[0] = np.sqrt(ss1 / cnt[0])
                else:
                    sd[0] = 0.0
            elif do_dev:
                for i in range(N):
                    v = x[t, i]
                    c = codes[t, i]
                    if c < 0 or v != v or mn[c] == mx[c]:
                        continue
                    d = v - mean[c]
                    ss[c] += d * d
                for q in range(nt):
                    c = touched[q]
                    sd[c] = 0.0 if mn[c] == mx[c] else np.sqrt(ss[c] / cnt[c])
            for i in range(N):
                v = x[t, i]
                c = 0 if single else codes[t, i]
                if c < 0 or v != v:
                    out[t, i] = np.nan
                    continue
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
                out[t, i] = res
            for q in range(nt):  # reset only the touched codes
                c = touched[q]
                cnt[c] = 0
                s[c] = 0.0
                ss[c] = 0.0
                sabs[c] = 0.0
                spos[c] = 0.0
                sneg[c] = 0.0
                mn[c] = np.inf
                mx[c] = -np.inf

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

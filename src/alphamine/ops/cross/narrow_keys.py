"""32-bit sort keys for `rank` of short rows, and the exact repair of the runs whose keys collide.

Why: numpy's SIMD sort handles 32-bit keys much faster than 64-bit ones on short rows (500 columns:
0.45 against 1.7 ns per cell; 3000: 1.4 against 2.6). A 32-bit key is ``value code | column``; with
N <= 1024 columns 22+ bits remain for the value. Centring and scaling each row (`_center_scale`) and a
float code with a 5-bit exponent (`build_narrow`) spend them on the spread of the values rather than on
their magnitude, so few distinct values share a truncated key (about 0.2-0.4 collision runs per row of
500 on the benchmark's inputs). The ones that do are put in exact value order from the float64 data
(`fix_collisions`), so the ranks are exact and bit-identical to the 64-bit path. At N = 3000 the
collisions would cost more than the faster sort saves, so longer rows keep 64-bit keys.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NARROW_MAX_INDEX_BITS = 10  # use 32-bit keys when the column index needs at most this many bits
_INSERTION_MAX = 32  # longer collision runs are sorted with a mergesort


_SAMPLE = 7  # values sampled per row for the key's centre and scale
_BLOCK = 64  # keys checked at once for a collision before scanning them one by one
_EXP_LOW = 127 - 16  # float32 biased exponent of the smallest magnitude with its own key (2^-16 x spread)


@njit(cache=True, nogil=True)
def _center_scale(row, sample):  # pragma: no cover - numba
    """(centre, 1/spread) of the row from up to _SAMPLE finite values at evenly spaced columns: the
    sample's median and range ((0, 1) without finite values; scale 1 when the range is 0 or inf)."""
    n = row.shape[0]
    step = max(1, n // _SAMPLE)
    cnt = 0
    for i in range(0, n, step):
        v = row[i]
        if v - v == 0.0 and cnt < _SAMPLE:  # finite
            p = cnt - 1
            while p >= 0 and sample[p] > v:  # insertion keeps the sample sorted
                sample[p + 1] = sample[p]
                p -= 1
            sample[p + 1] = v
            cnt += 1
    if cnt == 0:
        return 0.0, 1.0
    spread = sample[cnt - 1] - sample[0]
    scale = 1.0 / spread if 0.0 < spread < np.inf else 1.0
    if not scale < np.inf:  # a subnormal spread
        scale = 1.0
    return sample[cnt // 2], scale


@njit(cache=True, nogil=True)
def build_narrow(x, ib, keys, nvalid, row0, f32):  # pragma: no cover - numba
    """keys (rows, n) uint32 <- ``value code | column``, NaN cells last (code 2^29), each keeping its
    column. The value code of y = float32((x - c) * s) (c, s from `_center_scale`; + 0.0 turns -0.0 into
    +0.0) is a 29-bit order-preserving float with a 5-bit exponent: magnitudes from 2^-16 to 2^16 of the
    row's spread keep all 23 mantissa bits before the key is truncated to its top 32 - ib bits, smaller
    ones share code 0 and larger ones the top code. Every step is monotone, so x1 <= x2 implies key1 <=
    key2; values that share a truncated key are put in exact order by `fix_collisions`. Integer steps
    are on int32, so the loop vectorizes at full width. `f32` is float32 scratch of length n."""
    rows, n = x.shape
    bits = f32.view(np.int32)
    sample = np.empty(_SAMPLE)
    sh = np.uint32(ib)
    for r in range(rows):
        c, scale = _center_scale(x[r], sample)
        for i in range(n):
            f32[i] = np.float32((x[r, i] - c) * scale) + np.float32(0.0)
        kr = keys[r]
        cntv = 0
        for i in range(n):
            b = bits[i]
            nan = (b & np.int32(0x7FFFFFFF)) > np.int32(0x7F800000)
            e = ((b >> np.int32(23)) & np.int32(0xFF)) - np.int32(_EXP_LOW)
            mag = (e << np.int32(23)) | (b & np.int32(0x7FFFFF))
            mag = np.int32(0) if e < 0 else mag
            mag = np.int32(0x0FFFFFFF) if e > 31 else mag
            code = np.int32(0x0FFFFFFF) - mag if b < 0 else mag | np.int32(0x10000000)
            code = np.int32(0x20000000) if nan else code
            kr[i] = ((np.uint32(code) << np.uint32(2)) >> sh << sh) | np.uint32(i)
            cntv += not nan
        nvalid[row0 + r] = cntv


@njit(cache=True, nogil=True)
def sort_span(vals, idx, a, b):  # pragma: no cover - numba
    """Stable sort of vals[a:b] ascending, carrying idx[a:b] along (any length)."""
    sub = np.argsort(vals[a:b], kind="mergesort")
    v0 = vals[a:b].copy()
    i0 = idx[a:b].copy()
    for q in range(b - a):
        vals[a + q] = v0[sub[q]]
        idx[a + q] = i0[sub[q]]


@njit(cache=True, nogil=True)
def _sort_run(rv, ri, n):  # pragma: no cover - numba
    """Sort rv[:n] ascending carrying ri (insertion sort for short runs, else a stable mergesort)."""
    ordered = True
    for q in range(1, n):
        if rv[q] < rv[q - 1]:
            ordered = False
            break
    if ordered:
        return
    if n <= _INSERTION_MAX:
        for q in range(1, n):
            v = rv[q]
            c = ri[q]
            p = q - 1
            while p >= 0 and rv[p] > v:
                rv[p + 1] = rv[p]
                ri[p + 1] = ri[p]
                p -= 1
            rv[p + 1] = v
            ri[p + 1] = c
        return
    sort_span(rv, ri, 0, n)


@njit(cache=True, nogil=True, inline="always")
def fix_collisions(xr, kr, m, ishift, mask, quant, table, orow, rv, ri):  # pragma: no cover - numba
    """Repair a single-group RANK/QUANT_P row whose first `m` sorted keys `kr` were scattered by
    position (``orow[col(k)] = table[k]``) although some runs of keys share their value bits: each
    such run is put in exact value order from `xr`; exact ties share their average rank, with the
    same arithmetic as the collision-free path ((r - 1)/(m - 1), r the 1-based average position), so
    every output is bit-identical to an exact sort. `rv`/`ri` are scratch of length >= m."""
    k = 1
    while k < m:
        end = min(m, k + _BLOCK)
        hit = False
        for q in range(k, end):  # vectorized: does any key of this block repeat its predecessor's?
            hit |= (kr[q] >> ishift) == (kr[q - 1] >> ishift)
        if not hit:
            k = end
            continue
        while k < end and (kr[k] >> ishift) != (kr[k - 1] >> ishift):
            k += 1
        if k == end:
            continue
        coarse = kr[k - 1] >> ishift
        a = k - 1
        b = k + 1
        while b < m and (kr[b] >> ishift) == coarse:
            b += 1
        n = b - a
        for q in range(n):
            col = np.int64(kr[a + q] & mask)
            ri[q] = col
            rv[q] = xr[col]
        _sort_run(rv, ri, n)
        q = 0
        while q < n:
            z = q + 1
            while z < n and rv[z] == rv[q]:
                z += 1
            if z - q == 1:
                res = table[a + q]
            else:
                r1 = 0.5 * ((a + q) + (a + z) - 1) + 1.0
                res = (r1 - 1.0) / (m - 1)
                if quant:
                    res = 1.0 / m + res * (1.0 - 2.0 / m)
            for w in range(q, z):
                orow[ri[w]] = res
            q = z
        k = b + 1

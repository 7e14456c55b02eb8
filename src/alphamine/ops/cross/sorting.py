"""Exact per-row sorting by (group code, value) and the rank/median kernels built on it.

Numba's argsort costs ~150 ns/element, so rows are sorted as packed uint64 keys
``code | top bits of an order-preserving float key | column`` with numpy's SIMD sort (chunks of rows
sized to stay in cache), then decoded (rank/quantile rows whose truncated keys are all distinct are ranked
straight from the keys, without reading x); runs whose truncated keys collide are re-sorted by exact value,
so the result is exact. RANK/QUANT_P over one group with N <= 1024 use 32-bit keys instead
(`narrow_keys`: a faster sort, the same bits).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from alphamine.ops.cross._util import codes_arg, readonly
from alphamine.ops.cross.narrow_keys import NARROW_MAX_INDEX_BITS, build_narrow, fix_collisions, sort_span

# order_stat modes
RANK, MEDIAN, SIDE_RANK, QUANT_P, ORDER = range(5)

_CHUNK_CELLS = 1 << 16  # cells per sorted chunk (~512 KiB of keys)


_KERNELS: dict[tuple[str, int, bool], Any] = {}


def _kernel(kind: str, mode: int, single: bool) -> Any:
    """Kernels specialized per (mode, single) at compile time (closure constants; numba caches closures
    keyed by their cell contents)."""
    key = (kind, mode, single)
    kern = _KERNELS.get(key)
    if kern is None:
        kern = _KERNELS[key] = _make_build(single) if kind == "build" else _make_decode(mode, single)
    return kern


def _make_build(single: bool) -> Any:
    @njit(cache=True, nogil=True)
    def build(bits, codes, ib, cb, keys, nvalid, row0):  # pragma: no cover - numba
        """bits = the float64 rows viewed as uint64 (no copy). Valid cells get
        ``code | top value bits | column``; invalid ones (NaN, negative code) get all-ones high bits and
        keep their column, so they sort last and the decode can scatter their NaN without a fill pass."""
        rows, n = bits.shape
        top = np.uint64(1) << np.uint64(63)
        absmask = np.uint64(0x7FFFFFFFFFFFFFFF)
        inf_bits = np.uint64(0x7FF0000000000000)
        vshift = np.uint64(cb + ib)
        ishift = np.uint64(ib)
        invalid = (~np.uint64(0)) << ishift
        cshift = np.uint64(64 - cb) if cb > 0 else np.uint64(0)
        for r in range(rows):
            cntv = 0
            for i in range(n):
                b = bits[r, i]
                c = 0 if single else codes[r, i]
                if (b & absmask) > inf_bits or c < 0:  # NaN or no group
                    keys[r, i] = invalid | np.uint64(i)
                    continue
                if b == top:  # -0.0 -> +0.0 (equal values)
                    b = np.uint64(0)
                k = ~b if (b & top) else (b | top)  # order-preserving float -> uint64
                key = ((k >> vshift) << ishift) | np.uint64(i)
                if cb > 0:
                    key |= np.uint64(c) << cshift
                keys[r, i] = key
                cntv += 1
            nvalid[row0 + r] = cntv

    return build


@njit(cache=True, nogil=True)
def _rank_segment(xr, kr, a, b, ishift, mask, quant, orow, vals, idx):  # pragma: no cover - numba
    """RANK / QUANT_P of one sorted segment [a, b) of a row's keys whose truncated keys may collide:
    singleton keys are ranked by position; each run of equal truncated keys is put in exact value order
    (usually it is already: ties) and its exact ties share their average rank."""
    cnt = b - a
    den = float(cnt - 1)
    k = a
    while k < b:
        ck = kr[k] >> ishift
        e = k + 1
        while e < b and (kr[e] >> ishift) == ck:
            e += 1
        if e - k == 1:
            res = 0.5 if cnt == 1 else float(k - a) / den
            if quant:
                res = 1.0 / cnt + res * (1.0 - 2.0 / cnt)
            orow[np.int64(kr[k] & mask)] = res
            k = e
            continue
        ordered = True
        for q in range(k, e):
            col = np.int32(kr[q] & mask)
            idx[q] = col
            vals[q] = xr[col]
            if q > k and vals[q] < vals[q - 1]:
                ordered = False
        if not ordered:
            sort_span(vals, idx, k, e)
        q = k
        while q < e:
            v = vals[q]
            z = q + 1
            while z < e and vals[z] == v:
                z += 1
            r1 = 0.5 * (q + z - 1 - 2 * a) + 1.0  # 1-based average rank within the segment
            res = 0.5 if cnt == 1 else (r1 - 1.0) / (cnt - 1)
            if quant:
                res = 1.0 / cnt + res * (1.0 - 2.0 / cnt)
            for w in range(q, z):
                orow[idx[w]] = res
            q = z
        k = e


def _make_decode(mode: int, single: bool) -> Any:
    fast_rank = mode in (RANK, QUANT_P)
    quant = mode == QUANT_P

    @njit(cache=True, nogil=True)
    def decode(x, keys, ib, cb, nvalid, row0, out, order):  # pragma: no cover - numba
        """Decode sorted keys (restoring the exact value order inside runs whose truncated keys collide),
        then consume the row. Segments = runs of one group code. ORDER: write the column order. RANK:
        (r-1)/(n-1) with average ranks of ties, n=1 -> 0.5; MEDIAN: segment median; SIDE_RANK: codes
        0/1/2 = negative/zero/positive, positives r/n, negatives -(n+1-r)/n (by magnitude), zeros 0;
        QUANT_P: 1/n + rank*(1-2/n)."""
        rows, n = keys.shape
        mask = np.uint64((1 << ib) - 1)
        ishift = np.uint64(ib)
        cshift = np.uint64(64 - cb) if cb > 0 else np.uint64(0)
        vals = np.empty(n)
        idx = np.empty(n, np.int32)
        rv = np.empty(n)  # fix_collisions scratch
        ri = np.empty(n, np.int64)
        last_m = -1  # vals[:last_m] holds the ranks of a collision-free single-group row of last_m cells
        for r in range(rows):
            m = nvalid[row0 + r]
            t = row0 + r
            if fast_rank:
                # Distinct truncated keys (the usual case) mean strictly increasing values: no ties, no
                # re-sort, no need to read x. Position k of a segment [a, b) has average rank k - a + 1.
                dup = False
                if m > 1:
                    prev = keys[r, 0] >> ishift
                    for k in range(1, m):
                        cur = keys[r, k] >> ishift
                        dup |= cur == prev
                        prev = cur
                if single or cb == 0:
                    if m != last_m:
                        if m == 1:
                            vals[0] = 0.5
                        else:
                            den = float(m - 1)
                            for k in range(m):  # contiguous (vectorized divisions), then the scatter
                                vals[k] = float(k) / den
                            if quant:
                                for k in range(m):
                                    vals[k] = 1.0 / m + vals[k] * (1.0 - 2.0 / m)
                        last_m = m
                    for k in range(m):
                        out[t, np.int64(keys[r, k] & mask)] = vals[k]
                    if dup:  # runs of equal truncated keys: re-rank them from the exact values
                        fix_collisions(x[r], keys[r], m, ishift, mask, quant, vals, out[t], rv, ri)
                else:  # several groups: rank each group's run of keys by position, unless keys collide
                    last_m = -1
                    a = 0
                    while a < m:
                        code = keys[r, a] >> cshift
                        b = a + 1
                        while b < m and (keys[r, b] >> cshift) == code:
                            b += 1
                        cnt = b - a
                        if dup:  # ties, or values equal in their top bits: resolved from the exact values
                            _rank_segment(x[r], keys[r], a, b, ishift, mask, quant, out[t], vals, idx)
                        elif cnt == 1:
                            out[t, np.int64(keys[r, a] & mask)] = 0.5
                        else:
                            den = float(cnt - 1)
                            for k in range(cnt):
                                vals[k] = float(k) / den
                            if quant:
                                for k in range(cnt):
                                    vals[k] = 1.0 / cnt + vals[k] * (1.0 - 2.0 / cnt)
                            for k in range(cnt):
                                out[t, np.int64(keys[r, a + k] & mask)] = vals[k]
                        a = b
                for k in range(m, n):  # invalid cells sorted last, each with its column
                    out[t, np.int64(keys[r, k] & mask)] = np.nan
                continue
            bad = False
            prev = np.uint64(0)
            pv = 0.0
            if m > 0:
                key = keys[r, 0]
                col = np.int32(key & mask)
                idx[0] = col
                pv = x[r, col]
                vals[0] = pv
                prev = key >> ishift
            for k in range(1, m):  # branch-free: flags accumulate
                key = keys[r, k]
                col = np.int32(key & mask)
                idx[k] = col
                v = x[r, col]
                vals[k] = v
                coarse = key >> ishift
                bad |= (coarse == prev) & (v < pv)
                prev = coarse
                pv = v
            a = 0
            while bad and a < m:  # runs sharing a truncated key: restore the exact value order
                ca = keys[r, a] >> ishift
                b = a + 1
                while b < m and (keys[r, b] >> ishift) == ca:
                    b += 1
                if b - a > 1:
                    sort_span(vals, idx, a, b)
                a = b
            if mode == ORDER:
                for k in range(m):
                    order[row0 + r, k] = idx[k]
                continue
            for i in range(n):
                out[t, i] = np.nan
            a = 0
            while a < m:
                code = 0 if (single or cb == 0) else np.int64(keys[r, a] >> cshift)
                b = a + 1
                if single or cb == 0:
                    b = m
                else:
                    while b < m and np.int64(keys[r, b] >> cshift) == code:
                        b += 1
                cnt = b - a
                if mode == MEDIAN:
                    h = a + cnt // 2
                    med = vals[h] if cnt % 2 == 1 else 0.5 * (vals[h - 1] + vals[h])
                    for k in range(a, b):
                        out[t, idx[k]] = med
                    a = b
                    continue
                k = a
                while k < b:
                    v = vals[k]
                    j = k + 1
                    while j < b and vals[j] == v:
                        j += 1
                    r1 = 0.5 * (k + j - 1 - 2 * a) + 1.0  # 1-based average rank within the segment
                    if mode == SIDE_RANK:
                        res = r1 / cnt if code == 2 else (-(cnt + 1.0 - r1) / cnt if code == 0 else 0.0)
                    else:
                        res = 0.5 if cnt == 1 else (r1 - 1.0) / (cnt - 1)
                        if mode == QUANT_P:
                            res = 1.0 / cnt + res * (1.0 - 2.0 / cnt)
                    for q in range(k, j):
                        out[t, idx[q]] = res
                    k = j
                a = b

    return decode


def _run(
    x: np.ndarray, groups: np.ndarray | None, mode: int, narrow: bool | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`narrow`: 32-bit keys (`narrow_keys`; RANK/QUANT_P of one group only); None = when N is small
    enough (the default), False = always 64-bit (tests compare the two)."""
    xr = readonly(x, np.float64)
    T, N = xr.shape
    out = np.empty((T, N) if mode != ORDER else (0, 0), np.float64)
    order = np.zeros((T, N) if mode == ORDER else (0, 0), np.int32)
    nvalid = np.zeros(T, np.int64)
    if T == 0 or N == 0:
        return out, order, nvalid
    codes, single, n_codes = codes_arg(groups, xr.shape)
    ib = max(1, (N - 1).bit_length())
    cb = 0 if single else max(0, (n_codes - 1).bit_length())
    if ib + cb > 48:
        raise ValueError(f"too many groups/instruments to sort ({n_codes} groups, {N} instruments)")
    if narrow is None:
        narrow = mode in (RANK, QUANT_P) and single and ib <= NARROW_MAX_INDEX_BITS
    build, decode = _kernel("build", 0, single), _kernel("decode", mode, single)
    chunk = max(1, _CHUNK_CELLS // N)
    keys = np.empty((min(chunk, T), N), np.uint32 if narrow else np.uint64)
    f32 = np.empty(N, np.float32)
    for s in range(0, T, chunk):
        e = min(T, s + chunk)
        xc = xr[s:e]
        k = keys[: e - s]
        if narrow:
            build_narrow(xc, ib, k, nvalid, s, f32)
        else:
            build(xc.view(np.uint64), codes if single else codes[s:e], ib, cb, k, nvalid, s)
        k.sort(axis=1)
        decode(xc, k, ib, cb, nvalid, s, out, order)
    return out, order, nvalid


def sort_rows(x: np.ndarray, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-row sort of the valid cells by (group code, value), ascending.

    Returns ``order`` (T, N) int32, whose row t starts with the ``nvalid[t]`` valid column indices in
    sorted order (the rest is unspecified), and ``nvalid`` (T,) int64. Valid = non-NaN (and code >= 0).
    """
    _, order, nvalid = _run(x, groups, ORDER)
    return order, nvalid


def order_stat(x: np.ndarray, groups: np.ndarray | None, mode: int) -> np.ndarray:
    """Sort-based per-(day, group) statistic (RANK, MEDIAN, SIDE_RANK, QUANT_P); NaN x or a negative code
    -> NaN. `groups=None` = the whole row is one group."""
    return _run(x, groups, mode)[0]


def rank_rows(x: np.ndarray) -> np.ndarray:
    """Per-row rank in [0, 1]: (r-1)/(n-1) with r the average rank of ties among the row's non-NaN values
    (±inf rank as extremes); a single valid value -> 0.5; NaN -> NaN."""
    return order_stat(x, None, RANK)


def group_rank_rows(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """rank_rows within each (day, group); a one-member group -> 0.5; negative code or NaN -> NaN."""
    return order_stat(x, groups, RANK)

"""O(T·N) rolling statistics of a pair of series: covariance, Pearson correlation, OLS regression.

`pairs_kernel(y, x, d, lag, stat)` uses the same scheme as `kernels_moments`: per-column running sums of
deviations from per-column anchors (x and y each), updated by remove/add, rebuilt from the window every
`2·d` (≥ 32) steps or when a removal cancels most of a sum of squares. A pair is valid when both values are
non-NaN; a pair holding ±inf makes the statistic NaN. Constant x (or y) over the valid pairs is detected
exactly (runs of equal values), so var(x) = 0 gives NaN exactly (P8, P13). x is read `lag` rows back:
row t pairs y[t] with x[t − lag]; rows t < d − 1 + lag are NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

STAT_COV = 0
STAT_CORR = 1
STAT_REG = 10  # + rettype (0..9)

CANCEL = 100.0


@njit(cache=True, nogil=True, error_model="numpy")
def _finite(v):
    return v == v and abs(v) != np.inf


@njit(cache=True, nogil=True, error_model="numpy")
def _xval(x, r, lag, j):
    return x[r - lag, j] if r >= lag else np.nan


@njit(cache=True, nogil=True, error_model="numpy")
def _recompute(y, x, t, d, lag, j, ay, ax, sy, sx, syy, sxx, sxy):
    lo = max(0, t - d + 1)
    cy = np.nan
    cx = np.nan
    for r in range(t, lo - 1, -1):
        vy = y[r, j]
        vx = _xval(x, r, lag, j)
        if _finite(vy) and _finite(vx):
            cy = vy
            cx = vx
            break
    if cy != cy:
        ay[j] = 0.0
        ax[j] = 0.0
        sy[j] = 0.0
        sx[j] = 0.0
        syy[j] = 0.0
        sxx[j] = 0.0
        sxy[j] = 0.0
        return
    qy = 0.0
    qx = 0.0
    n = 0
    for r in range(lo, t + 1):
        vy = y[r, j]
        vx = _xval(x, r, lag, j)
        if _finite(vy) and _finite(vx):
            qy += vy - cy
            qx += vx - cx
            n += 1
    ay[j] = cy + qy / n
    ax[j] = cx + qx / n
    qy = 0.0
    qx = 0.0
    qyy = 0.0
    qxx = 0.0
    qxy = 0.0
    for r in range(lo, t + 1):
        vy = y[r, j]
        vx = _xval(x, r, lag, j)
        if _finite(vy) and _finite(vx):
            dy = vy - ay[j]
            dx = vx - ax[j]
            qy += dy
            qx += dx
            qyy += dy * dy
            qxx += dx * dx
            qxy += dx * dy
    sy[j] = qy
    sx[j] = qx
    syy[j] = qyy
    sxx[j] = qxx
    sxy[j] = qxy


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _b(c):
    return 1.0 if c else 0.0


# rows of the per-column state array of `pairs_kernel` (one (K, N) array: the compiler can prove its rows
# disjoint, which keeps the per-row update loop vectorizable)
_CNT, _NINF, _AY, _AX, _SY, _SX, _SYY, _SXX, _SXY, _DIRTY = range(10)


@njit(cache=True, nogil=True, error_model="numpy")
def _recompute_all(y, x, t, d, lag, st, work, lrow, ly, lx):
    """`_recompute` for every column at once, rows outer / columns inner (contiguous), on the state array
    of `pairs_kernel`. The latest finite pair of the window (the anchor of the mean pass) is the one
    tracked in `ly`, `lx`, valid when its row `lrow` is inside the window (otherwise the window has no
    finite pair)."""
    N = y.shape[1]
    lo = max(0, t - d + 1, lag)  # rows r < lag have no x
    lof = float(lo)
    for j in range(N):
        inside = lrow[j] >= lof
        work[0, j] = ly[j] if inside else np.nan
        work[1, j] = lx[j] if inside else np.nan
        work[2, j] = 0.0
        work[3, j] = 0.0
        work[4, j] = 0.0
    for j in range(N):
        st[_SY, j] = 0.0
        st[_SX, j] = 0.0
        st[_SYY, j] = 0.0
        st[_SXX, j] = 0.0
        st[_SXY, j] = 0.0
    for r in range(lo, t + 1):
        for j in range(N):
            vy = y[r, j]
            vx = x[r - lag, j]
            f = (vy - vy == 0.0) & (vx - vx == 0.0)
            work[2, j] += vy - work[0, j] if f else 0.0
            work[3, j] += vx - work[1, j] if f else 0.0
            work[4, j] += _b(f)
    for j in range(N):
        n = work[4, j]
        ok = n > 0.0
        st[_AY, j] = work[0, j] + work[2, j] / n if ok else 0.0
        st[_AX, j] = work[1, j] + work[3, j] / n if ok else 0.0
    for r in range(lo, t + 1):
        for j in range(N):
            vy = y[r, j]
            vx = x[r - lag, j]
            f = (vy - vy == 0.0) & (vx - vx == 0.0)
            dy = vy - st[_AY, j] if f else 0.0
            dx = vx - st[_AX, j] if f else 0.0
            st[_SY, j] += dy
            st[_SX, j] += dx
            st[_SYY, j] += dy * dy
            st[_SXX, j] += dx * dx
            st[_SXY, j] += dx * dy


@njit(cache=True, nogil=True, error_model="numpy")
def pairs_kernel(y, x, d, lag, stat):
    """Rolling covariance / correlation / regression output `stat` of y on x (x lagged by `lag`)."""
    T, N = y.shape
    out = np.empty((T, N), dtype=np.float64)
    st = np.zeros((10, N))
    # The run / latest-finite tracking state lives in arrays of its own: as seven more rows of `st`, the
    # loop updating them ran ~4x slower (the compiler cannot tell its stores from its loads).
    lrow = np.empty(N)
    ly = np.empty(N)
    lx = np.empty(N)
    px = np.empty(N)
    py = np.empty(N)
    rx = np.empty(N)
    ry = np.empty(N)
    # cnt: valid pairs (±inf included); ninf: valid pairs holding ±inf; a*: anchors; s*: deviation sums;
    # lrow/ly/lx: row and values of the latest finite pair; px/py: row of the last finite pair before
    # the current run of equal x (y) values rx (ry)
    for j in range(N):
        lrow[j] = -1e18
        ly[j] = np.nan
        lx[j] = np.nan
        px[j] = -1e18
        py[j] = -1e18
        rx[j] = np.nan
        ry[j] = np.nan
    ay = st[_AY]
    ax = st[_AX]
    sy = st[_SY]
    sx = st[_SX]
    syy = st[_SYY]
    sxx = st[_SXX]
    sxy = st[_SXY]
    work = np.empty((5, N))
    period = max(2 * d, 32)
    first = d - 1 + lag
    nan = np.nan
    rettype = stat - STAT_REG
    for t in range(T):
        has_old = t >= d
        ot = t - d if has_old else 0
        has_x = t >= lag
        xt = t - lag if has_x else 0
        has_ox = t - d >= lag
        oxt = t - d - lag if has_ox else 0
        tf = float(t)
        for j in range(N):  # branch-free update of every column (vectorizable)
            vy = y[t, j]
            vx = x[xt, j]
            vx = vx if has_x else nan
            oy = y[ot, j]
            oy = oy if has_old else nan
            ox = x[oxt, j]
            ox = ox if has_ox else nan
            nv = (vy == vy) & (vx == vx)
            no = (oy == oy) & (ox == ox)
            fv = (vy - vy == 0.0) & (vx - vx == 0.0)
            fo = (oy - oy == 0.0) & (ox - ox == 0.0)
            c = st[_CNT, j] + (_b(nv) - _b(no))
            ni = st[_NINF, j] + (_b(nv & (not fv)) - _b(no & (not fo)))
            st[_CNT, j] = c
            st[_NINF, j] = ni
            a_y = st[_AY, j]
            a_x = st[_AX, j]
            dyn = vy - a_y if fv else 0.0
            dxn = vx - a_x if fv else 0.0
            dyo = oy - a_y if fo else 0.0
            dxo = ox - a_x if fo else 0.0
            q_y = st[_SY, j] + (dyn - dyo)
            q_x = st[_SX, j] + (dxn - dxo)
            q_yy = st[_SYY, j] + (dyn * dyn - dyo * dyo)
            q_xx = st[_SXX, j] + (dxn * dxn - dxo * dxo)
            q_xy = st[_SXY, j] + (dxn * dyn - dxo * dyo)
            nf = c - ni
            cancel = (dxo * dxo > CANCEL * q_xx) | (dyo * dyo > CANCEL * q_yy)
            drift = (nf >= 1.0) & ((17.0 * q_x * q_x > 16.0 * nf * q_xx) | (17.0 * q_y * q_y > 16.0 * nf * q_yy))
            # Anchors drifted from the window's mean (persistent inputs such as ranks): move them to the
            # mean algebraically, Σ(v − a')² = Σ(v − a)² − (Σ(v − a))²/n etc., unless that cancels more
            # than 1/CANCEL of a sum of squares (then the column is rebuilt from the window).
            inv = 1.0 / nf if drift else 0.0
            mxd = q_x * inv
            myd = q_y * inv
            r_xx = q_xx - q_x * mxd
            r_yy = q_yy - q_y * myd
            severe = (CANCEL * r_xx < q_xx) | (CANCEL * r_yy < q_yy)
            st[_AX, j] = a_x + mxd
            st[_AY, j] = a_y + myd
            st[_SX, j] = 0.0 if drift else q_x
            st[_SY, j] = 0.0 if drift else q_y
            st[_SXX, j] = r_xx
            st[_SYY, j] = r_yy
            st[_SXY, j] = q_xy - q_x * myd
            st[_DIRTY, j] = _b(cancel | (drift & severe))
        for j in range(N):  # run / latest-finite tracking (a separate loop keeps both vectorizable)
            vy = y[t, j]
            vx = x[xt, j]
            vx = vx if has_x else nan
            fv = (vy - vy == 0.0) & (vx - vx == 0.0)
            lr = lrow[j]
            chx = fv & (vx != rx[j])
            chy = fv & (vy != ry[j])
            # px, py <= lrow always, so max() is the select "lrow if changed"
            px[j] = max(px[j], lr if chx else -1e18)
            rx[j] = vx if chx else rx[j]
            py[j] = max(py[j], lr if chy else -1e18)
            ry[j] = vy if chy else ry[j]
            lrow[j] = tf if fv else lr
            ly[j] = vy if fv else ly[j]
            lx[j] = vx if fv else lx[j]
        if t % period == period - 1:
            _recompute_all(y, x, t, d, lag, st, work, lrow, ly, lx)
        else:
            for j in range(N):
                if st[_DIRTY, j] != 0.0:
                    _recompute(y, x, t, d, lag, j, ay, ax, sy, sx, syy, sxx, sxy)
        if t < first:
            for j in range(N):
                out[t, j] = nan
            continue
        lo = float(t - d + 1)
        if stat == STAT_COV:
            for j in range(N):
                n = st[_CNT, j]
                const_x = px[j] < lo
                const_y = py[j] < lo
                my = st[_SY, j] / n
                cxy = 0.0 if (const_x | const_y) else st[_SXY, j] - st[_SX, j] * my
                out[t, j] = nan if ((n == 0) | (st[_NINF, j] > 0)) else cxy / n
        elif stat == STAT_CORR:
            for j in range(N):
                n = st[_CNT, j]
                const_x = px[j] < lo
                const_y = py[j] < lo
                mx = st[_SX, j] / n
                my = st[_SY, j] / n
                cxx = 0.0 if const_x else max(st[_SXX, j] - st[_SX, j] * mx, 0.0)
                cyy = 0.0 if const_y else max(st[_SYY, j] - st[_SY, j] * my, 0.0)
                cxy = 0.0 if (const_x | const_y) else st[_SXY, j] - st[_SX, j] * my
                r = min(1.0, max(-1.0, cxy / math.sqrt(cxx * cyy)))
                out[t, j] = nan if ((n < 2) | (st[_NINF, j] > 0) | (cxx == 0.0) | (cyy == 0.0)) else r
        else:
            for j in range(N):
                vy = y[t, j]
                vx = x[t - lag, j]
                n = st[_CNT, j]
                const_x = px[j] < lo
                const_y = py[j] < lo
                mx = st[_SX, j] / n
                my = st[_SY, j] / n
                cxx = 0.0 if const_x else max(st[_SXX, j] - st[_SX, j] * mx, 0.0)
                cyy = 0.0 if const_y else max(st[_SYY, j] - st[_SY, j] * my, 0.0)
                cxy = 0.0 if (const_x | const_y) else st[_SXY, j] - st[_SX, j] * my
                b = cxy / cxx
                meanx = st[_AX, j] + mx
                alpha = (st[_AY, j] + my) - b * meanx
                sse = max(cyy - b * cxy, 0.0)
                if rettype == 0:
                    o = vy - (alpha + b * vx)
                elif rettype == 1:
                    o = alpha
                elif rettype == 2:
                    o = b
                elif rettype == 3:
                    o = alpha + b * vx
                elif rettype == 4:
                    o = sse
                elif rettype == 5:
                    o = cyy
                elif rettype == 6:
                    o = nan if cyy == 0.0 else min(1.0, max(0.0, cxy * cxy / (cxx * cyy)))
                else:
                    mse = sse / (n - 2)
                    if rettype == 7:
                        o = mse
                    elif rettype == 8:
                        o = math.sqrt(mse / cxx)
                    else:
                        o = math.sqrt(mse * (1.0 / n + meanx * meanx / cxx))
                    o = nan if n <= 2 else o
                out[t, j] = nan if ((n < 2) | (st[_NINF, j] > 0) | (cxx == 0.0)) else o
    return out

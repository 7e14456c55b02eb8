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


@njit(cache=True, nogil=True, error_model="numpy")
def _recompute_all(y, x, t, d, lag, ay, ax, sy, sx, syy, sxx, sxy, work):
    """`_recompute` for every column at once, rows outer / columns inner (contiguous)."""
    N = y.shape[1]
    lo = max(0, t - d + 1, lag)  # rows r < lag have no x
    cy = work[0]
    cx = work[1]
    qy = work[2]
    qx = work[3]
    n = work[4]
    for j in range(N):
        cy[j] = np.nan
        cx[j] = np.nan
        qy[j] = 0.0
        qx[j] = 0.0
        n[j] = 0.0
        sy[j] = 0.0
        sx[j] = 0.0
        syy[j] = 0.0
        sxx[j] = 0.0
        sxy[j] = 0.0
    for r in range(lo, t + 1):
        for j in range(N):
            vy = y[r, j]
            vx = x[r - lag, j]
            f = (vy - vy == 0.0) and (vx - vx == 0.0)
            cy[j] = vy if f else cy[j]
            cx[j] = vx if f else cx[j]
    for r in range(lo, t + 1):
        for j in range(N):
            vy = y[r, j]
            vx = x[r - lag, j]
            f = (vy - vy == 0.0) and (vx - vx == 0.0)
            qy[j] += vy - cy[j] if f else 0.0
            qx[j] += vx - cx[j] if f else 0.0
            n[j] += 1.0 if f else 0.0
    for j in range(N):
        ok = n[j] > 0.0
        ay[j] = cy[j] + qy[j] / n[j] if ok else 0.0
        ax[j] = cx[j] + qx[j] / n[j] if ok else 0.0
    for r in range(lo, t + 1):
        for j in range(N):
            vy = y[r, j]
            vx = x[r - lag, j]
            f = (vy - vy == 0.0) and (vx - vx == 0.0)
            dy = vy - ay[j] if f else 0.0
            dx = vx - ax[j] if f else 0.0
            sy[j] += dy
            sx[j] += dx
            syy[j] += dy * dy
            sxx[j] += dx * dx
            sxy[j] += dx * dy


@njit(cache=True, nogil=True, error_model="numpy")
def pairs_kernel(y, x, d, lag, stat):
    """Rolling covariance / correlation / regression output `stat` of y on x (x lagged by `lag`)."""
    T, N = y.shape
    out = np.empty((T, N), dtype=np.float64)
    cnt = np.zeros(N)  # valid pairs (±inf included)
    ninf = np.zeros(N)  # valid pairs holding ±inf
    ay = np.zeros(N)
    ax = np.zeros(N)
    sy = np.zeros(N)
    sx = np.zeros(N)
    syy = np.zeros(N)
    sxx = np.zeros(N)
    sxy = np.zeros(N)
    dirty = np.zeros(N, dtype=np.bool_)
    work = np.empty((5, N))
    last_row = np.full(N, -1e18)
    prev_x = np.full(N, -1e18)
    prev_y = np.full(N, -1e18)
    run_x = np.full(N, np.nan)
    run_y = np.full(N, np.nan)
    period = max(2 * d, 32)
    first = d - 1 + lag
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
            vx = x[xt, j] if has_x else np.nan
            oy = y[ot, j] if has_old else np.nan
            ox = x[oxt, j] if has_ox else np.nan
            nv = (vy == vy) and (vx == vx)
            no = (oy == oy) and (ox == ox)
            fv = (vy - vy == 0.0) and (vx - vx == 0.0)
            fo = (oy - oy == 0.0) and (ox - ox == 0.0)
            cnt[j] += (1.0 if nv else 0.0) - (1.0 if no else 0.0)
            ninf[j] += (1.0 if nv and not fv else 0.0) - (1.0 if no and not fo else 0.0)
            dyn = vy - ay[j] if fv else 0.0
            dxn = vx - ax[j] if fv else 0.0
            dyo = oy - ay[j] if fo else 0.0
            dxo = ox - ax[j] if fo else 0.0
            sy[j] += dyn - dyo
            sx[j] += dxn - dxo
            syy[j] += dyn * dyn - dyo * dyo
            sxx[j] += dxn * dxn - dxo * dxo
            sxy[j] += dxn * dyn - dxo * dyo
            nf = cnt[j] - ninf[j]
            dirty[j] = (
                dxo * dxo > CANCEL * sxx[j]
                or dyo * dyo > CANCEL * syy[j]
                or (nf >= 1.0 and (17.0 * sx[j] * sx[j] > 16.0 * nf * sxx[j]
                                   or 17.0 * sy[j] * sy[j] > 16.0 * nf * syy[j]))
            )
            chx = fv and vx != run_x[j]
            chy = fv and vy != run_y[j]
            prev_x[j] = last_row[j] if chx else prev_x[j]
            run_x[j] = vx if chx else run_x[j]
            prev_y[j] = last_row[j] if chy else prev_y[j]
            run_y[j] = vy if chy else run_y[j]
            last_row[j] = tf if fv else last_row[j]
        if t % period == period - 1:
            _recompute_all(y, x, t, d, lag, ay, ax, sy, sx, syy, sxx, sxy, work)
        else:
            for j in range(N):
                if dirty[j]:
                    _recompute(y, x, t, d, lag, j, ay, ax, sy, sx, syy, sxx, sxy)
        lo = float(t - d + 1)
        for j in range(N):
            vy = y[t, j]
            vx = x[xt, j] if has_x else np.nan
            if t < first:
                out[t, j] = np.nan
                continue
            n = cnt[j]
            if n == 0 or ninf[j] > 0:
                out[t, j] = np.nan
                continue
            const_x = prev_x[j] < lo
            const_y = prev_y[j] < lo
            mx = sx[j] / n
            my = sy[j] / n
            cxx = 0.0 if const_x else max(sxx[j] - sx[j] * mx, 0.0)
            cyy = 0.0 if const_y else max(syy[j] - sy[j] * my, 0.0)
            cxy = 0.0 if (const_x or const_y) else sxy[j] - sx[j] * my
            if stat == STAT_COV:
                out[t, j] = cxy / n
                continue
            if n < 2:
                out[t, j] = np.nan
                continue
            if stat == STAT_CORR:
                if cxx == 0.0 or cyy == 0.0:
                    out[t, j] = np.nan
                else:
                    r = cxy / math.sqrt(cxx * cyy)
                    out[t, j] = min(1.0, max(-1.0, r))
                continue
            if cxx == 0.0:
                out[t, j] = np.nan
                continue
            rettype = stat - STAT_REG
            b = cxy / cxx
            meanx = ax[j] + mx
            alpha = (ay[j] + my) - b * meanx
            sse = max(cyy - b * cxy, 0.0)
            if rettype == 0:
                out[t, j] = vy - (alpha + b * vx)
            elif rettype == 1:
                out[t, j] = alpha
            elif rettype == 2:
                out[t, j] = b
            elif rettype == 3:
                out[t, j] = alpha + b * vx
            elif rettype == 4:
                out[t, j] = sse
            elif rettype == 5:
                out[t, j] = cyy
            elif rettype == 6:
                out[t, j] = np.nan if cyy == 0.0 else min(1.0, max(0.0, cxy * cxy / (cxx * cyy)))
            elif n <= 2:
                out[t, j] = np.nan
            else:
                mse = sse / (n - 2)
                if rettype == 7:
                    out[t, j] = mse
                elif rettype == 8:
                    out[t, j] = math.sqrt(mse / cxx)
                else:
                    out[t, j] = math.sqrt(mse * (1.0 / n + meanx * meanx / cxx))
    return out

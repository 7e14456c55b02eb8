"""From alpha values to daily positions and PnL (simulation.md steps 3-8 and "PnL and metrics").

Why fused numba kernels: the settings pipeline runs once per simulated alpha, so it is as hot as the
operators. Each day's row is masked, neutralized, scaled and truncated in one pass over preallocated
scratch buffers instead of a chain of (T, N) temporaries.

Shapes and NaN policy: `alpha` (T, N) float64 with NaN = no opinion; `universe` bool (T, N);
`codes` int32 (T, N), negative = no group (such names get no position when neutralizing);
`styles` float64 (T, N, K) standardized exposures with NaN already replaced by 0 (K = 0: none).
Weights come back as float64 (T, N) with 0.0 for "no position"; Σ|w| = 1 on days with a book.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def decay_alpha(alpha: np.ndarray, n: int) -> np.ndarray:
    """Setting `decay = n` (P18): A'[t] = Σ_{k<n} (n-k)·A[t-k] / Σ (n-k) over the non-NaN terms; rows
    before the panel start are absent terms (no warm-up NaN); all terms NaN -> NaN; n <= 1: copy.
    ±inf are values here (the evaluator has already turned them into NaN; see `decay_finite`)."""
    return _decay(alpha, n, False)


@njit(cache=True, nogil=True, error_model="numpy")
def decay_finite(alpha: np.ndarray, n: int) -> np.ndarray:
    """`decay_alpha(clean_copy(alpha), n)` in one pass: ±inf terms count as NaN (absent). For an alpha
    straight from `Evaluator.evaluate_raw` (which may hold ±inf), so no cleaned copy is needed."""
    return _decay(alpha, n, True)


@njit(cache=True, nogil=True, error_model="numpy")
def _decay(alpha: np.ndarray, n: int, finite_only: bool) -> np.ndarray:
    # Rows outer, columns inner (contiguous, vectorizable); per cell the terms are still added in the
    # order k = 0, 1, ... so the result is bit-identical to the cell-by-cell loop.
    T, N = alpha.shape
    out = np.empty((T, N))
    if n <= 1:
        for t in range(T):
            for j in range(N):
                v = alpha[t, j]
                out[t, j] = v if (not finite_only or v - v == 0.0) else np.nan
        return out
    num = np.empty(N)
    den = np.empty(N)
    for t in range(T):
        kmax = min(n, t + 1)
        for j in range(N):
            num[j] = 0.0
            den[j] = 0.0
        for k in range(kmax):
            w = float(n - k)
            for j in range(N):
                v = alpha[t - k, j]
                ok = (v - v == 0.0) if finite_only else (v == v)
                num[j] += w * v if ok else 0.0
                den[j] += w if ok else 0.0
        for j in range(N):
            out[t, j] = num[j] / den[j] if den[j] > 0.0 else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _project_row(
    x: np.ndarray,
    members: np.ndarray,
    codes: np.ndarray,
    styles: np.ndarray,
    demean: bool,
    sums: np.ndarray,
    counts: np.ndarray,
    sd: np.ndarray,
) -> None:
    """In place: x <- residual of x on group dummies (if `demean`) and the K style columns, over members.

    By Frisch-Waugh-Lovell the residual on [dummies, styles] equals the residual of the group-demeaned
    x on the group-demeaned styles, so only a K x K least-squares problem is solved per day.
    """
    N = x.shape[0]
    K = styles.shape[1]
    if demean:
        sums[:] = 0.0
        counts[:] = 0.0
        for j in range(N):
            if members[j]:
                sums[codes[j]] += x[j]
                counts[codes[j]] += 1.0
        for j in range(N):
            if members[j]:
                x[j] -= sums[codes[j]] / counts[codes[j]]
    if K == 0:
        return
    n_members = 0
    for j in range(N):
        if members[j]:
            n_members += 1
    if n_members == 0:
        return
    X = np.empty((n_members, K))
    y = np.empty(n_members)
    for k in range(K):
        if demean:
            sums[:] = 0.0
            counts[:] = 0.0
            for j in range(N):
                if members[j]:
                    sums[codes[j]] += styles[j, k]
                    counts[codes[j]] += 1.0
        i = 0
        for j in range(N):
            if members[j]:
                sd[j, k] = styles[j, k] - (sums[codes[j]] / counts[codes[j]] if demean else 0.0)
                X[i, k] = sd[j, k]
                i += 1
    i = 0
    for j in range(N):
        if members[j]:
            y[i] = x[j]
            i += 1
    beta = np.linalg.lstsq(X, y, -1.0)[0]
    for j in range(N):
        if members[j]:
            fit = 0.0
            for k in range(K):
                fit += sd[j, k] * beta[k]
            x[j] -= fit


@njit(cache=True, nogil=True, error_model="numpy")
def build_weights(
    alpha: np.ndarray,
    universe: np.ndarray,
    codes: np.ndarray,
    styles: np.ndarray,
    neutralize: bool,
    truncation: float,
    max_rounds: int,
    tolerance: float,
    zero_tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 4-7 per day: universe mask, neutralize, scale to Σ|w| = 1, iterated truncation (P19).

    Members of a day = in the universe, alpha not NaN/inf and (when neutralizing) a group code >= 0.
    Truncation rounds clip |w| at `truncation`, re-neutralize over the same members and re-scale, until
    max|w| <= truncation·(1 + tolerance) or `max_rounds` rounds; the last round is not clipped again.
    A day whose Σ|w| after neutralization is <= `zero_tolerance` x Σ|alpha| before it has no positions:
    this is "Σ|w| = 0" of P19 up to floating-point residue (a constant alpha minus its own mean, or a
    regression with as many columns as members, leaves ~1e-17 noise that scaling would blow up).
    Returns (weights (T, N), rounds used per day (T,) int64).
    """
    if styles.shape[2] > 0:
        return _build_weights_styles(
            alpha, universe, codes, styles, neutralize, truncation, max_rounds, tolerance, zero_tolerance
        )
    return _build_weights_groups(alpha, universe, codes, neutralize, truncation, max_rounds, tolerance, zero_tolerance)


@njit(cache=True, nogil=True, error_model="numpy")
def _demean_groups(row: np.ndarray, members: np.ndarray, cidx: np.ndarray, n_codes: int,
                   sums: np.ndarray, counts: np.ndarray) -> float:
    """In place: subtract each group's mean over the members (non-members hold 0 and stay 0); returns
    Σ|row|. Sums are accumulated in column order, so the result equals the member-by-member loop."""
    N = row.shape[0]
    if n_codes == 1:  # MARKET (or one group): the same sums, kept in registers instead of sums[0]
        s0 = 0.0
        n0 = 0.0
        for j in range(N):  # non-members add 0.0
            s0 += row[j]
            n0 += 1.0 if members[j] else 0.0
        mean = s0 / n0
        for j in range(N):
            mf = 1.0 if members[j] else 0.0  # a 0/1 float: a bool load feeding a select becomes a branch
            row[j] = row[j] - mean if mf != 0.0 else 0.0
        return _abs_sum(row)
    for c in range(n_codes):
        sums[c] = 0.0
        counts[c] = 0.0
    for j in range(N):  # non-members add 0.0 to group 0
        c = cidx[j]
        sums[c] += row[j]
        counts[c] += 1.0 if members[j] else 0.0
    for c in range(n_codes):  # empty groups give NaN, never used
        sums[c] = sums[c] / counts[c]
    for j in range(N):
        mf = 1.0 if members[j] else 0.0
        row[j] = row[j] - sums[cidx[j]] if mf != 0.0 else 0.0
    return _abs_sum(row)


@njit(cache=True, nogil=True, error_model="numpy")
def _abs_sum(row: np.ndarray) -> float:
    """Σ|row| in column order."""
    s = 0.0
    for j in range(row.shape[0]):
        s += abs(row[j])
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def _abs_sum4(row: np.ndarray) -> float:
    """Σ|row| with four interleaved partial sums (4x shorter dependency chain). Used only for the
    Σ|w| ≈ 0 test against `zero_tolerance` x this sum, where the last-bit difference from a serial sum
    cannot matter."""
    N = row.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    j = 0
    while j + 4 <= N:
        s0 += abs(row[j])
        s1 += abs(row[j + 1])
        s2 += abs(row[j + 2])
        s3 += abs(row[j + 3])
        j += 4
    while j < N:
        s0 += abs(row[j])
        j += 1
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, nogil=True, error_model="numpy")
def _scale_row(row: np.ndarray, gross: float) -> float:
    """row /= gross (non-members hold 0 and stay 0); returns max |row|."""
    biggest = 0.0
    for j in range(row.shape[0]):
        v = row[j] / gross
        row[j] = v
        biggest = max(biggest, abs(v))
    return biggest


@njit(cache=True, nogil=True, error_model="numpy")
def _build_weights_groups(
    alpha: np.ndarray,
    universe: np.ndarray,
    codes: np.ndarray,
    neutralize: bool,
    truncation: float,
    max_rounds: int,
    tolerance: float,
    zero_tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """K = 0 (NONE, MARKET, group neutralization): each row is built in place in the output with a few
    branch-free passes (no group-code scan of the whole panel: the largest code of the day's members
    sizes the group sums; group demeaning via a scatter of sums; scaling + max|w| in one pass). The
    weights use the same arithmetic in the same order as the general path, so they are bit-identical;
    only Σ|x| before neutralization, which feeds nothing but the `zero_tolerance` test, is summed with
    four partial sums."""
    T, N = alpha.shape
    out = np.empty((T, N))
    rounds = np.zeros(T, dtype=np.int64)
    members = np.empty(N, dtype=np.bool_)
    cidx = np.zeros(N, dtype=np.int64)
    n_cap = 64
    sums = np.empty(n_cap)
    counts = np.empty(n_cap)
    cap = truncation * (1.0 + tolerance)
    for t in range(T):
        row = out[t]
        before = 0.0
        n_members = 0
        max_code = 0
        # Two loops: the masking (vectorizable selects) apart from the reductions (a select feeding a
        # reduction is compiled to an unpredictable branch).
        for j in range(N):
            a = alpha[t, j]
            c = codes[t, j]
            m = universe[t, j] & (a - a == 0.0) & ((c >= 0) | (not neutralize))
            members[j] = m
            row[j] = a if m else 0.0
            cidx[j] = c if (m and neutralize) else 0
        for j in range(N):  # integer reductions: vectorized
            n_members += members[j]
            max_code = max(max_code, cidx[j])
        before = _abs_sum4(row)
        if n_members == 0:
            continue  # the row already holds zeros
        n_codes = max_code + 1
        if n_codes > n_cap:
            n_cap = max(n_codes, 2 * n_cap)
            sums = np.empty(n_cap)
            counts = np.empty(n_cap)
        if neutralize:
            gross = _demean_groups(row, members, cidx, n_codes, sums, counts)
        else:
            gross = _abs_sum(row)  # serial: it sets the scale
        if not (gross > zero_tolerance * before) or not np.isfinite(gross):
            row[:] = 0.0
            continue
        biggest = _scale_row(row, gross)
        if truncation > 0.0:
            r = 0
            while r < max_rounds:
                if biggest <= cap:
                    break
                for j in range(N):
                    row[j] = min(max(row[j], -truncation), truncation)
                before = _abs_sum4(row)
                if neutralize:
                    gross = _demean_groups(row, members, cidx, n_codes, sums, counts)
                else:
                    gross = _abs_sum(row)  # serial: it sets the scale
                r += 1
                if not (gross > zero_tolerance * before):
                    row[:] = 0.0
                    break
                biggest = _scale_row(row, gross)
            rounds[t] = r
    return out, rounds


@njit(cache=True, nogil=True, error_model="numpy")
def _build_weights_styles(
    alpha: np.ndarray,
    universe: np.ndarray,
    codes: np.ndarray,
    styles: np.ndarray,
    neutralize: bool,
    truncation: float,
    max_rounds: int,
    tolerance: float,
    zero_tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """`build_weights` with K > 0 style columns (risk-model neutralization): the general path."""
    T, N = alpha.shape
    K = styles.shape[2]
    n_codes = 1
    for t in range(T):
        for j in range(N):
            if codes[t, j] + 1 > n_codes:
                n_codes = codes[t, j] + 1
    sums = np.empty(n_codes)
    counts = np.empty(n_codes)
    sd = np.zeros((N, K))
    out = np.zeros((T, N))
    rounds = np.zeros(T, dtype=np.int64)
    x = np.empty(N)
    members = np.empty(N, dtype=np.bool_)
    cap = truncation * (1.0 + tolerance)
    for t in range(T):
        any_member = False
        for j in range(N):
            a = alpha[t, j]
            m = universe[t, j] and np.isfinite(a) and (codes[t, j] >= 0 or not neutralize)
            members[j] = m
            x[j] = a if m else 0.0
            any_member = any_member or m
        if not any_member:
            continue
        st = styles[t]
        before = 0.0
        for j in range(N):
            before += abs(x[j])
        if neutralize:
            _project_row(x, members, codes[t], st, True, sums, counts, sd)
        gross = 0.0
        for j in range(N):
            if members[j]:
                gross += abs(x[j])
        if not (gross > zero_tolerance * before) or not np.isfinite(gross):
            continue
        for j in range(N):
            x[j] = x[j] / gross if members[j] else 0.0
        if truncation > 0.0:
            r = 0
            while r < max_rounds:
                biggest = 0.0
                for j in range(N):
                    if abs(x[j]) > biggest:
                        biggest = abs(x[j])
                if biggest <= cap:
                    break
                for j in range(N):
                    if x[j] > truncation:
                        x[j] = truncation
                    elif x[j] < -truncation:
                        x[j] = -truncation
                before = 0.0
                for j in range(N):
                    before += abs(x[j])
                if neutralize:
                    _project_row(x, members, codes[t], st, True, sums, counts, sd)
                gross = 0.0
                for j in range(N):
                    if members[j]:
                        gross += abs(x[j])
                r += 1
                if not (gross > zero_tolerance * before):
                    for j in range(N):
                        x[j] = 0.0
                    break
                for j in range(N):
                    x[j] = x[j] / gross if members[j] else 0.0
            rounds[t] = r
        for j in range(N):
            out[t, j] = x[j]
    return out, rounds


@njit(cache=True, nogil=True, error_model="numpy")
def apply_max_trade(target: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Step 8: cap each day's position change at `limit` dollars (NaN limit = the name cannot trade)."""
    T, N = target.shape
    out = np.empty((T, N))
    for j in range(N):
        prev = 0.0
        for t in range(T):
            lim = limit[t, j]
            want = target[t, j] - prev
            if np.isnan(lim):
                want = 0.0
            elif want > lim:
                want = lim
            elif want < -lim:
                want = -lim
            prev = prev + want
            out[t, j] = prev
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _book_row(
    w: np.ndarray, w_prev: np.ndarray, r: np.ndarray, scale: float
) -> tuple[float, float, float, float, float]:
    """One PnL day of a book: (pnl, traded, longs, shorts, max |w|). Branch-free inner loop (selects
    instead of ifs: the signs of the positions are unpredictable); sums run in column order."""
    p_sum = 0.0
    tr = 0.0
    lc = 0.0
    sc = 0.0
    mx = 0.0
    for j in range(w.shape[0]):
        pos = w[j] * scale
        rj = r[j]
        p_sum += pos * rj if rj == rj else 0.0
        tr += abs(pos - w_prev[j] * scale)
        lc += 1.0 if pos > 0.0 else 0.0
        sc += 1.0 if pos < 0.0 else 0.0
        mx = max(mx, abs(w[j]))
    return p_sum, tr, lc, sc, mx


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _sub_row(w: np.ndarray, sub: np.ndarray, r: np.ndarray, scale: float) -> float:
    """One day of the sub-universe book (brain.md §4.3): the weights of names in `sub` holding a
    position, market-neutralized over them, re-scaled to Σ|w| = 1 (× scale); its PnL.

    Branch-free: membership is a 0/1 float (a bool load feeding a select is compiled to a branch) and
    names outside the book add an exact +0.0 through a select, which leaves each serial column-order sum
    bit-identical to the loop over members only (no sum here can be -0.0: each starts at +0.0)."""
    n = w.shape[0]
    total = 0.0
    count = 0.0
    for j in range(n):
        wj = w[j]
        m = (1.0 if sub[j] else 0.0) * (1.0 if wj != 0.0 else 0.0)
        total += wj if m != 0.0 else 0.0
        count += m
    if count == 0.0:
        return 0.0
    mean = total / count
    gross = 0.0
    for j in range(n):
        wj = w[j]
        m = (1.0 if sub[j] else 0.0) * (1.0 if wj != 0.0 else 0.0)
        gross += abs(wj - mean) if m != 0.0 else 0.0
    if not (gross > 0.0):
        return 0.0
    acc = 0.0
    for j in range(n):
        wj = w[j]
        rj = r[j]
        m = (1.0 if sub[j] else 0.0) * (1.0 if wj != 0.0 else 0.0) * (1.0 if rj == rj else 0.0)
        acc += (wj - mean) / gross * scale * rj if m != 0.0 else 0.0
    return acc


@njit(cache=True, nogil=True, error_model="numpy")
def book_series(
    weights: np.ndarray, lag: int, scale: float, returns: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Daily series of a book whose PnL row p holds positions weights[p - lag] · scale (0 before row lag).

    pnl[p] = Σ pos·r[p] (a missing return contributes 0); traded[p] = Σ |pos[p] - pos[p-1]| (from zero
    on the first row); long/short counts use the sign of the position as computed (P20); max_abs[p] =
    max |pos[p]| / scale. One pass, no (T, N) temporaries.
    """
    T, N = returns.shape
    pnl = np.zeros(T)
    traded = np.zeros(T)
    longs = np.zeros(T)
    shorts = np.zeros(T)
    max_abs = np.zeros(T)
    zero = np.zeros(N)
    for p in range(max(lag, 0), T):
        b = p - lag
        prev = weights[b - 1] if b > 0 else zero
        pnl[p], traded[p], longs[p], shorts[p], max_abs[p] = _book_row(weights[b], prev, returns[p], scale)
    return pnl, traded, longs, shorts, max_abs


@njit(cache=True, nogil=True, error_model="numpy")
def book_and_sub_series(
    weights: np.ndarray, lag: int, scale: float, returns: np.ndarray, sub: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`book_series` and `sub_universe_pnl` in one pass, software-pipelined over days: every sum is a
    serial (latency-bound) chain in column order, so one loop over the columns runs the book of day q
    with the sub book's (total, count) of day q, its gross of day q-1 and its PnL of day q-2 (all
    independent chains). Each sum is the same as `_book_row` / `_sub_row` computes, term by term;
    a stage without a day reads zero rows (all terms +0.0) and its result is dropped."""
    T, N = returns.shape
    pnl = np.zeros(T)
    traded = np.zeros(T)
    longs = np.zeros(T)
    shorts = np.zeros(T)
    max_abs = np.zeros(T)
    sub_pnl = np.zeros(T)
    zero = np.zeros(N)
    no_sub = np.zeros(N, dtype=np.bool_)
    start = max(lag, 0)
    mean1 = 0.0  # day q-1: mean of the sub book (stage 2 input)
    ok1 = False
    mean2 = 0.0  # day q-2: mean and gross (stage 3 input)
    gross2 = 1.0
    ok2 = False
    for q in range(start, T + 2):
        # stage 1: book + (total, count) of day q
        if q < T:
            b = q - lag
            w0 = weights[b]
            s0 = sub[b]
            r0 = returns[q]
            prev = weights[b - 1] if b > 0 else zero
        else:
            w0 = zero
            s0 = no_sub
            r0 = zero
            prev = zero
        # stage 2: gross of day q-1
        if start <= q - 1 < T:
            w1 = weights[q - 1 - lag]
            s1 = sub[q - 1 - lag]
        else:
            w1 = zero
            s1 = no_sub
        # stage 3: PnL of day q-2
        if start <= q - 2 < T:
            w2 = weights[q - 2 - lag]
            s2 = sub[q - 2 - lag]
            r2 = returns[q - 2]
        else:
            w2 = zero
            s2 = no_sub
            r2 = zero
        m1 = mean1
        m2 = mean2
        g2 = gross2
        p_sum = 0.0
        tr = 0.0
        lc = 0.0
        sc = 0.0
        mx = 0.0
        total = 0.0
        count = 0.0
        gross = 0.0
        acc = 0.0
        for j in range(N):
            wj = w0[j]
            pos = wj * scale
            rj = r0[j]
            p_sum += pos * rj if rj == rj else 0.0
            tr += abs(pos - prev[j] * scale)
            lc += 1.0 if pos > 0.0 else 0.0
            sc += 1.0 if pos < 0.0 else 0.0
            mx = max(mx, abs(wj))
            m = (1.0 if s0[j] else 0.0) * (1.0 if wj != 0.0 else 0.0)
            total += wj if m != 0.0 else 0.0
            count += m
            v1 = w1[j]
            k1 = (1.0 if s1[j] else 0.0) * (1.0 if v1 != 0.0 else 0.0)
            gross += abs(v1 - m1) if k1 != 0.0 else 0.0
            v2 = w2[j]
            x2 = r2[j]
            k2 = (1.0 if s2[j] else 0.0) * (1.0 if v2 != 0.0 else 0.0) * (1.0 if x2 == x2 else 0.0)
            acc += (v2 - m2) / g2 * scale * x2 if k2 != 0.0 else 0.0
        if q < T:
            pnl[q] = p_sum
            traded[q] = tr
            longs[q] = lc
            shorts[q] = sc
            max_abs[q] = mx
        if start <= q - 2 < T:
            sub_pnl[q - 2] = acc if ok2 else 0.0
        ok2 = ok1 and gross > 0.0
        mean2 = m1
        gross2 = gross if ok2 else 1.0
        ok1 = count != 0.0
        mean1 = total / count if ok1 else 0.0
    return pnl, traded, longs, shorts, max_abs, sub_pnl


@njit(cache=True, nogil=True, error_model="numpy")
def sub_universe_pnl(weights: np.ndarray, lag: int, scale: float, sub: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """brain.md §4.3: each day's weights restricted to the sub-universe (names holding a position),
    market-neutralized over them and re-scaled to Σ|w| = 1 (× `scale`); the daily PnL of that book."""
    T = returns.shape[0]
    pnl = np.zeros(T)
    for p in range(max(lag, 0), T):
        b = p - lag
        pnl[p] = _sub_row(weights[b], sub[b], returns[p], scale)
    return pnl


@njit(cache=True, nogil=True, error_model="numpy")
def clean_copy(a: np.ndarray) -> np.ndarray:
    """A writable C-contiguous float64 copy with ±inf turned into NaN (simulation.md step 2)."""
    T, N = a.shape
    out = np.empty((T, N))
    for t in range(T):
        for j in range(N):
            v = a[t, j]
            out[t, j] = v if np.isfinite(v) else np.nan
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def shift_mask_f64(a: np.ndarray, shift: int, universe: np.ndarray) -> np.ndarray:
    """Evaluator input field in one pass: out[p] = a[p - shift] (NaN for p < shift), NaN where
    `universe[p]` is False; an empty (0, 0) `universe` = no pasteurization. `a` may be any layout."""
    T, N = a.shape
    out = np.empty((T, N))
    masked = universe.shape[0] > 0
    for p in range(T):
        if p < shift:
            for j in range(N):
                out[p, j] = np.nan
        elif masked:
            for j in range(N):
                out[p, j] = a[p - shift, j] if universe[p, j] else np.nan
        else:
            for j in range(N):
                out[p, j] = a[p - shift, j]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def shift_mask_i32(a: np.ndarray, shift: int, universe: np.ndarray) -> np.ndarray:
    """`shift_mask_f64` for GROUP codes (int32): -1 = no group."""
    T, N = a.shape
    out = np.empty((T, N), dtype=np.int32)
    masked = universe.shape[0] > 0
    for p in range(T):
        if p < shift:
            for j in range(N):
                out[p, j] = -1
        elif masked:
            for j in range(N):
                out[p, j] = a[p - shift, j] if universe[p, j] else np.int32(-1)
        else:
            for j in range(N):
                out[p, j] = a[p - shift, j]
    return out

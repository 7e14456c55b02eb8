"""From alpha values to daily weights (simulation.md steps 4-7); decay (step 3) is in `decay`, the daily
series of a book in `book`.

Why fused numba kernels: the settings pipeline runs once per simulated alpha, so it is as hot as the
operators. Each day's row is masked, neutralized, scaled and truncated in one pass over preallocated
scratch buffers instead of a chain of (T, N) temporaries. Float sums over a row are lane sums
(`sim.lanes`: vectorized, yet fixed by the source, so results do not depend on how a kernel was
specialized); max|row| is an integer max over IEEE bits.

Shapes and NaN policy: `alpha` (T, N) float64 with NaN = no opinion; `universe` bool (T, N);
`codes` int32 (T, N), negative = no group (such names get no position when neutralizing);
`styles` float64 (T, N, K) standardized exposures with NaN already replaced by 0 (K = 0: none).
Weights come back as float64 (T, N) with 0.0 for "no position"; Σ|w| = 1 on days with a book.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphamine.sim.lanes import LANES, abs_max_bits, abs_sum, fold
from alphamine.sim.weights_scale import needs_rescale, rescale_row


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
    A day whose Σ|alpha| over its members overflows or leaves [ROW_SCALE_LOW, ROW_SCALE_HIGH] is first
    multiplied by a power of two (exact; `sim.weights_scale`), so huge and tiny finite alphas get the
    positions their values imply. Returns (weights (T, N), rounds used per day (T,) int64).
    """
    if styles.shape[2] > 0:
        return _build_weights_styles(
            alpha, universe, codes, styles, neutralize, truncation, max_rounds, tolerance, zero_tolerance
        )
    return _build_weights_groups(alpha, universe, codes, neutralize, truncation, max_rounds, tolerance, zero_tolerance)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _sum_block(row: np.ndarray, base: int, n: int, lanes: np.ndarray) -> None:
    for i in range(n):
        lanes[i] += row[base + i]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _center_block(row: np.ndarray, mf: np.ndarray, mean: float, base: int, n: int, lanes: np.ndarray) -> None:
    for i in range(n):
        j = base + i
        v = row[j] - mean * mf[j]
        row[j] = v
        lanes[i] += abs(v)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _center_groups_block(
    row: np.ndarray, mf: np.ndarray, cidx: np.ndarray, means: np.ndarray, base: int, n: int, lanes: np.ndarray
) -> None:
    for i in range(n):
        j = base + i
        v = row[j] - means[cidx[j]] * mf[j]
        row[j] = v
        lanes[i] += abs(v)


@njit(cache=True, nogil=True, error_model="numpy")
def _demean_groups(row: np.ndarray, mf: np.ndarray, n_members: int, cidx: np.ndarray, n_codes: int,
                   sums: np.ndarray, counts: np.ndarray, lanes: np.ndarray) -> float:
    """In place: subtract each group's mean over the members (non-members hold 0 and stay 0); returns
    Σ|row| (a lane sum). `mf` is membership as 0.0/1.0 (arithmetic instead of selects: a bool feeding a
    select or a scatter compiles to a mispredicted branch); non-members sit in group 0 and add 0.0 to it.
    `lanes` is float64 scratch of length LANES."""
    n = row.shape[0]
    full = n - n % LANES
    if n_codes == 1:  # MARKET (or one group): a lane sum instead of a scatter
        lanes[:] = 0.0
        for base in range(0, full, LANES):
            _sum_block(row, base, LANES, lanes)
        _sum_block(row, full, n - full, lanes)
        mean = fold(lanes) / n_members
        lanes[:] = 0.0
        for base in range(0, full, LANES):
            _center_block(row, mf, mean, base, LANES, lanes)
        _center_block(row, mf, mean, full, n - full, lanes)
        return fold(lanes)
    for c in range(n_codes):
        sums[c] = 0.0
        counts[c] = 0.0
    for j in range(n):  # the scatter: one serial pass in column order
        c = cidx[j]
        sums[c] += row[j]
        counts[c] += mf[j]
    for c in range(n_codes):  # a group without members has mean 0 (only non-members point at it)
        sums[c] = sums[c] / counts[c] if counts[c] > 0.0 else 0.0
    lanes[:] = 0.0
    for base in range(0, full, LANES):
        _center_groups_block(row, mf, cidx, sums, base, LANES, lanes)
    _center_groups_block(row, mf, cidx, sums, full, n - full, lanes)
    return fold(lanes)


@njit(cache=True, nogil=True, error_model="numpy")
def _scale_row(row: np.ndarray, gross: float) -> np.int64:
    """row /= gross (non-members hold 0 and stay 0); returns the IEEE bits of max |row|."""
    for j in range(row.shape[0]):
        row[j] = row[j] / gross
    return abs_max_bits(row)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _mask_block(
    alpha: np.ndarray,
    universe: np.ndarray,
    codes: np.ndarray,
    neutralize: bool,
    row: np.ndarray,
    mf: np.ndarray,
    cidx: np.ndarray,
    base: int,
    n: int,
    lanes: np.ndarray,
) -> tuple[int, int]:
    """One block of a day's masking: row = alpha on members (else 0), mf = membership as 0.0/1.0, cidx =
    the member's group (else 0); lanes += |row|; returns (members, largest code). Selects only (no
    branches), so the block vectorizes."""
    members = 0
    max_code = 0
    for i in range(n):
        j = base + i
        a = alpha[j]
        c = codes[j]
        m = universe[j] & (a - a == 0.0) & ((c >= 0) | (not neutralize))
        v = a if m else 0.0
        k = c if (m and neutralize) else 0
        row[j] = v
        mf[j] = 1.0 if m else 0.0
        cidx[j] = k
        lanes[i] += abs(v)
        members += m
        max_code = max(max_code, k)
    return members, max_code


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
    sizes the group sums; group demeaning via a scatter of sums; scaling + max|w| vectorized). The
    same arithmetic as the general path up to the order of the Σ|x| and max|x| reductions."""
    T, N = alpha.shape
    out = np.empty((T, N))
    rounds = np.zeros(T, dtype=np.int64)
    mf = np.empty(N)  # membership of the day's names as 0.0 / 1.0
    cidx = np.zeros(N, dtype=np.int64)
    n_cap = 64
    sums = np.empty(n_cap)
    counts = np.empty(n_cap)
    lanes = np.empty(LANES)
    full = N - N % LANES
    cap_bits = np.array([truncation * (1.0 + tolerance)]).view(np.int64)[0]  # compared as IEEE bits
    for t in range(T):
        row = out[t]
        n_members = 0
        max_code = 0
        lanes[:] = 0.0
        for base in range(0, full, LANES):
            cnt, top = _mask_block(alpha[t], universe[t], codes[t], neutralize, row, mf, cidx, base, LANES, lanes)
            n_members += cnt
            max_code = max(max_code, top)
        cnt, top = _mask_block(alpha[t], universe[t], codes[t], neutralize, row, mf, cidx, full, N - full, lanes)
        n_members += cnt
        max_code = max(max_code, top)
        before = fold(lanes)
        if n_members == 0:
            continue  # the row already holds zeros
        if needs_rescale(before):  # huge or tiny finite values: scale by 2^k first (exact)
            rescale_row(row)
            before = abs_sum(row, lanes)
        n_codes = max_code + 1
        if n_codes > n_cap:
            n_cap = max(n_codes, 2 * n_cap)
            sums = np.empty(n_cap)
            counts = np.empty(n_cap)
        gross = _demean_groups(row, mf, n_members, cidx, n_codes, sums, counts, lanes) if neutralize else before
        if not (gross > zero_tolerance * before) or not np.isfinite(gross):
            row[:] = 0.0
            continue
        biggest = _scale_row(row, gross)
        if truncation > 0.0:
            r = 0
            while r < max_rounds:
                if biggest <= cap_bits:
                    break
                for j in range(N):
                    row[j] = min(max(row[j], -truncation), truncation)
                before = abs_sum(row, lanes)
                gross = _demean_groups(row, mf, n_members, cidx, n_codes, sums, counts, lanes) if neutralize else before
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
        if needs_rescale(before):  # huge or tiny finite values: scale by 2^k first (exact)
            rescale_row(x)
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

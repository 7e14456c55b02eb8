"""A slow, obviously-correct reference of simulation.md's settings pipeline and metrics.

Written directly from the contract with plain Python loops (one day, one instrument at a time) and a
full least-squares design for neutralization, so that it shares no code or shortcuts (Frisch-Waugh,
fused kernels) with `alphamine.sim`.
"""

from __future__ import annotations

import math

import numpy as np

BOOK = 20_000_000.0


def ref_decay(A: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return A.copy()
    T, N = A.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        for j in range(N):
            num = den = 0.0
            for k in range(n):
                if t - k < 0:
                    continue
                v = A[t - k, j]
                if not math.isnan(v):
                    num += (n - k) * v
                    den += n - k
            if den > 0:
                out[t, j] = num / den
    return out


def _neutralize(
    values: dict[int, float], codes: np.ndarray, styles: np.ndarray | None, neutralize: bool
) -> dict[int, float]:
    if not neutralize:
        return dict(values)
    names = sorted(values)
    if styles is None:  # plain group demeaning: subtract each group's mean
        out = {}
        for j in names:
            peers = [values[i] for i in names if codes[i] == codes[j]]
            out[j] = values[j] - sum(peers) / len(peers)
        return out
    y = np.array([values[j] for j in names])
    groups = sorted({int(codes[j]) for j in names})
    cols = [[1.0 if codes[j] == g else 0.0 for j in names] for g in groups]
    for k in range(styles.shape[1]):
        cols.append([styles[j, k] for j in names])
    X = np.array(cols).T
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    return {j: float(r) for j, r in zip(names, resid, strict=True)}


def ref_weights(
    A: np.ndarray,
    U: np.ndarray,
    codes: np.ndarray,
    neutralize: bool,
    truncation: float,
    styles: np.ndarray | None = None,
    decay: int = 0,
) -> np.ndarray:
    D = ref_decay(A, decay)
    T, N = A.shape
    W = np.zeros((T, N))
    for t in range(T):
        members = [j for j in range(N) if U[t, j] and np.isfinite(D[t, j]) and (codes[t, j] >= 0 or not neutralize)]
        if not members:
            continue
        st = styles[t] if styles is not None and styles.shape[2] else None
        before = sum(abs(D[t, j]) for j in members)
        x = _neutralize({j: D[t, j] for j in members}, codes[t], st, neutralize)
        gross = sum(abs(v) for v in x.values())
        if gross <= 1e-9 * before:  # "Σ|w| = 0" up to floating-point residue
            continue
        x = {j: v / gross for j, v in x.items()}
        if truncation > 0:
            for _ in range(20):
                if max(abs(v) for v in x.values()) <= truncation * (1 + 1e-9):
                    break
                x = {j: min(max(v, -truncation), truncation) for j, v in x.items()}
                before = sum(abs(v) for v in x.values())
                x = _neutralize(x, codes[t], st, neutralize)
                gross = sum(abs(v) for v in x.values())
                if gross <= 1e-9 * before:
                    x = {j: 0.0 for j in x}
                    break
                x = {j: v / gross for j, v in x.items()}
        for j, v in x.items():
            W[t, j] = v
    return W


def ref_book(W: np.ndarray, r: np.ndarray, delay: int) -> dict[str, np.ndarray]:
    """Positions in the PnL frame and the daily series."""
    T, N = W.shape
    pos = np.zeros((T, N))
    for p in range(T):
        b = p if delay == 1 else p - 1
        if b >= 0:
            pos[p] = W[b] * BOOK
    pnl = np.zeros(T)
    traded = np.zeros(T)
    longs = np.zeros(T)
    shorts = np.zeros(T)
    for p in range(T):
        for j in range(N):
            if not math.isnan(r[p, j]):
                pnl[p] += pos[p, j] * r[p, j]
            traded[p] += abs(pos[p, j] - (pos[p - 1, j] if p > 0 else 0.0))
            longs[p] += pos[p, j] > 0
            shorts[p] += pos[p, j] < 0
    return {"pos": pos, "pnl": pnl, "traded": traded, "longs": longs, "shorts": shorts}


def ref_stats(pnl: list[float], traded: list[float], longs: list[float], shorts: list[float]) -> dict[str, float]:
    n = len(pnl)
    if n == 0:
        return {k: 0.0 for k in ("sharpe", "returns", "turnover", "drawdown", "margin", "fitness", "pnl")}
    mean = sum(pnl) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in pnl) / n)
    sharpe = mean / sd * math.sqrt(252) if sd > 0 else 0.0
    returns = mean * 252 / 1e7
    turnover = sum(traded) / n / 2e7
    peak = cum = dd = 0.0
    for v in pnl:
        cum += v
        peak = max(peak, cum)
        dd = max(dd, peak - cum)
    margin = sum(pnl) / sum(traded) if sum(traded) > 0 else 0.0
    fitness = sharpe * math.sqrt(abs(returns) / max(turnover, 0.125)) if sd > 0 else 0.0
    return {
        "sharpe": sharpe,
        "returns": returns,
        "turnover": turnover,
        "drawdown": dd / 1e7,
        "margin": margin,
        "fitness": fitness,
        "pnl": sum(pnl),
        "longCount": sum(longs) / n,
        "shortCount": sum(shorts) / n,
    }

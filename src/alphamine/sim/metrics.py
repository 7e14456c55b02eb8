"""BRAIN metrics of a daily PnL stream over one period (simulation.md "PnL and metrics", P21-P24).

Small pure functions in the empyrical style: every input is a 1-D float64 array of one period's days
(already restricted to days on or after the first position day), every output a float. Book constants
come from `alphamine.sim.settings`.
"""

from __future__ import annotations

import math

import numpy as np

from alphamine.sim.settings import BOOK_SIZE, HALF_BOOK, TRADING_DAYS

FITNESS_TURNOVER_FLOOR = 0.125


def sharpe(pnl: np.ndarray) -> float:
    """mean / std (ddof 0) · √252; 0 when std is 0 or the period is empty (P23)."""
    if pnl.size == 0:
        return 0.0
    sd = float(pnl.std())
    if sd == 0.0 or not math.isfinite(sd):
        return 0.0
    return float(pnl.mean()) / sd * math.sqrt(TRADING_DAYS)


def annual_returns(pnl: np.ndarray) -> float:
    """Annualized PnL on the $10M half book."""
    return float(pnl.mean()) * TRADING_DAYS / HALF_BOOK if pnl.size else 0.0


def turnover(traded: np.ndarray) -> float:
    """Mean daily traded dollars / $20M book."""
    return float(traded.mean()) / BOOK_SIZE if traded.size else 0.0


def drawdown(pnl: np.ndarray) -> float:
    """Largest peak-to-trough fall of the period's cumulative PnL (restarting at 0, which counts as a
    peak) on the $10M half book."""
    if pnl.size == 0:
        return 0.0
    cum = np.concatenate(([0.0], np.cumsum(pnl)))
    return float((np.maximum.accumulate(cum) - cum).max()) / HALF_BOOK


def margin(pnl: np.ndarray, traded: np.ndarray) -> float:
    """Σ pnl / Σ traded dollars (a fraction; reports show basis points); 0 when nothing traded."""
    total = float(traded.sum())
    return float(pnl.sum()) / total if total > 0 else 0.0


def fitness(sharpe_value: float, returns_value: float, turnover_value: float) -> float:
    """sharpe · √(|returns| / max(turnover, 0.125))."""
    return sharpe_value * math.sqrt(abs(returns_value) / max(turnover_value, FITNESS_TURNOVER_FLOOR))


def period_stats(pnl: np.ndarray, traded: np.ndarray, longs: np.ndarray, shorts: np.ndarray) -> dict[str, float]:
    """Every BRAIN metric of one period, with BRAIN's JSON names (values not rounded, P24)."""
    s = sharpe(pnl)
    r = annual_returns(pnl)
    tv = turnover(traded)
    return {
        "pnl": float(pnl.sum()),
        "bookSize": BOOK_SIZE,
        "longCount": float(longs.mean()) if longs.size else 0.0,
        "shortCount": float(shorts.mean()) if shorts.size else 0.0,
        "turnover": tv,
        "returns": r,
        "drawdown": drawdown(pnl),
        "margin": margin(pnl, traded),
        "sharpe": s,
        "fitness": fitness(s, r, tv) if pnl.size else 0.0,
    }

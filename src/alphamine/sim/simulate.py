"""`simulate(expression, panel, settings)`: simulation.md end to end, in its order.

Frames: the alpha built on row b (inputs = rows <= b - delay, pasteurized and masked with U[b]) earns
the return of row p = b + 1 - delay and every statistic is dated p (P1, P2). For delay 1, b = p; for
delay 0 the weights built on the last row earn nothing and are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alphamine.data.panel import Panel
from alphamine.expr import fields_used, parse
from alphamine.sim import checks as C
from alphamine.sim.book import apply_max_trade, book_and_sub_series, book_series, sub_universe_pnl
from alphamine.sim.decay import decay_finite
from alphamine.sim.evaluate import EvaluationError, Evaluator, SubexpressionCache
from alphamine.sim.metrics import period_stats_many, sharpe
from alphamine.sim.periods import Periods, split_periods, year_blocks
from alphamine.sim.positions import build_weights
from alphamine.sim.result import SimResult
from alphamine.sim.settings import (
    BOOK_SIZE,
    GROUP_NEUTRALIZATIONS,
    NEUTRALIZED_ZERO_TOLERANCE,
    TRUNCATION_MAX_ROUNDS,
    TRUNCATION_TOLERANCE,
    CheckProfile,
    Neutralization,
    OnOff,
    Settings,
    make_settings,
)
from alphamine.sim.staleness import stale_data

# Risk-model approximations (simulation.md step 5): style exposures as FASTEXPR, evaluated in the same
# frame as the alpha (data <= t), standardized per day, missing -> 0. alphamine's approximation of a
# proprietary model.
SLOW_FACTORS = {
    "size": "log(cap)",
    "beta": "ts_regression(returns, returns - normalize(returns), 252, rettype=2)",
    "momentum": "ts_delay(close, 21) / ts_delay(close, 252) - 1",
}
SIZE_FALLBACK = "log(ts_mean(close * volume, 20))"  # log dollar volume when the panel has no cap
FAST_FACTORS = {
    "reversal": "close / ts_delay(close, 5) - 1",
    "volatility": "ts_std_dev(returns, 60)",
    "liquidity": "log(adv20)",
}
RISK_GROUP = "industry"


class SimulationError(ValueError):
    """The simulation cannot run (bad expression, unknown universe, missing field): one clear line.
    `span` locates the problem in the expression when it has one place (a lint error, an operator
    whose kernel rejected its input)."""

    def __init__(self, message: str, span: Any = None) -> None:
        super().__init__(message)
        self.span = span


def universe_size(name: str) -> int | None:
    m = re.fullmatch(r"TOP(\d+)", name.upper())
    return int(m.group(1)) if m else None


def next_liquid_universe(panel: Panel, name: str) -> str | None:
    """The next more liquid (smaller) TOP<N> universe the panel offers."""
    size = universe_size(name)
    if size is None:
        return None
    smaller = [(n, u) for u in panel.universes if (n := universe_size(u)) is not None and n < size]
    return max(smaller)[1] if smaller else None


def position_frame(values: np.ndarray, delay: int) -> np.ndarray:
    """Build-frame rows -> PnL-frame rows: delay 1 is the identity, delay 0 moves everything a row down."""
    if delay == 1:
        return values
    out = np.zeros_like(values)
    out[1:] = values[:-1]
    return out


def panel_returns(panel: Panel) -> np.ndarray:
    if "returns" in panel.matrices:
        return panel.matrices["returns"]
    close = panel.matrices["close"]
    r = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r[1:] = close[1:] / close[:-1] - 1.0
    return r


def adv_dollars(panel: Panel) -> np.ndarray:
    """ADV$ at row s = mean of the finite close·volume of rows s-19..s, NaN when s < 19 (P4). A non-finite
    product (an infinite volume) counts as missing: it would poison the running sums (inf - inf)."""
    with np.errstate(invalid="ignore", over="ignore"):
        dv = panel.matrices["close"] * panel.matrices["volume"]
    ok = np.isfinite(dv)
    csum = np.cumsum(np.where(ok, dv, 0.0), axis=0)
    ccnt = np.cumsum(ok, axis=0)
    s = csum.copy()
    n = ccnt.astype(float)
    s[20:] -= csum[:-20]
    n[20:] -= ccnt[:-20]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 0, s / n, np.nan)
    out[:19] = np.nan
    return out


def _standardize(x: np.ndarray, universe: np.ndarray) -> np.ndarray:
    v = np.where(universe & np.isfinite(x), x, np.nan)
    n = (~np.isnan(v)).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(v, axis=1, keepdims=True) / np.maximum(n, 1), 0.0)
        sd = np.sqrt(np.where(n > 0, np.nansum((v - mean) ** 2, axis=1, keepdims=True) / np.maximum(n, 1), 0.0))
        z = np.where(sd > 0, (v - mean) / sd, 0.0)
    return np.where(np.isnan(z), 0.0, z)


def risk_styles(ev: Evaluator, mode: Neutralization, universe: np.ndarray) -> np.ndarray:
    exprs: list[str] = []
    if mode in (Neutralization.SLOW, Neutralization.SLOW_AND_FAST):
        slow = dict(SLOW_FACTORS)
        if "cap" not in ev.panel.matrices:
            slow["size"] = SIZE_FALLBACK
        exprs += slow.values()
    if mode in (Neutralization.FAST, Neutralization.SLOW_AND_FAST):
        exprs += FAST_FACTORS.values()
    T, N = universe.shape
    out = np.empty((T, N, len(exprs)))
    for k, e in enumerate(exprs):
        out[:, :, k] = _standardize(ev.evaluate(e), universe)
    return out


def neutralization_inputs(
    panel: Panel, settings: Settings, ev: Evaluator, universe: np.ndarray
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(codes, styles, neutralize?) for build_weights."""
    T, N = panel.shape
    mode = settings.neutralization
    none_styles = np.zeros((T, N, 0))
    if mode == Neutralization.NONE:
        return np.zeros((T, N), np.int32), none_styles, False
    if mode == Neutralization.MARKET:
        return np.zeros((T, N), np.int32), none_styles, True
    if mode in GROUP_NEUTRALIZATIONS:
        name = GROUP_NEUTRALIZATIONS[mode]
        if name not in panel.groups:
            raise SimulationError(
                f"neutralization {mode.value} needs the GROUP field {name!r}, which this panel lacks "
                f"(groups: {', '.join(panel.groups) or 'none'})"
            )
        return np.ascontiguousarray(panel.groups[name]), none_styles, True
    codes = panel.groups[RISK_GROUP] if RISK_GROUP in panel.groups else np.zeros((T, N), np.int32)
    return np.ascontiguousarray(codes), risk_styles(ev, mode, universe), True


def simulate(
    expression: str,
    panel: Panel,
    settings: Settings | Mapping[str, Any] | None = None,
    *,
    pool: Sequence[C.PoolEntry] | None = None,
    cache: SubexpressionCache | None = None,
    keep_weights: bool = False,
) -> SimResult:
    """Simulate one alpha. Raises `SimulationError` with one clear line for bad input."""
    s = settings if isinstance(settings, Settings) else make_settings(dict(settings or {}))
    if s.universe not in panel.universes:
        raise SimulationError(
            f"unknown universe {s.universe!r}; this panel offers {', '.join(sorted(panel.universes)) or 'none'}"
        )
    universe = np.ascontiguousarray(panel.universe(s.universe))
    ev = Evaluator(
        panel,
        universe=universe if s.pasteurize else None,
        shift=s.delay,
        cache=cache,
        nan_handling=s.nan_handling == OnOff.ON,
    )
    from alphamine.expr import check as lint

    diags = lint(expression, panel.catalogue, n_days=panel.n_days)
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise SimulationError(f"{errors[0].code} at {_where(errors[0])}: {errors[0].message}", errors[0].span)
    unit_warnings = [d.message for d in diags if d.code == "UNITS"]
    try:
        alpha = ev.evaluate_raw(expression)  # the cached array itself: ±inf are treated as NaN below
    except EvaluationError as e:
        raise SimulationError(str(e), e.span) from None
    weights, rounds = compute_weights(alpha, panel, s, ev, universe)
    fields = fields_used(parse(expression), panel.catalogue)
    result = finish(expression, panel, s, weights, rounds, unit_warnings, pool, keep_weights=keep_weights,
                    fields=fields)
    result.warnings = C.field_warnings(panel, fields, s.universe)
    return result


def _where(d: Any) -> str:
    span = getattr(d, "span", None)
    return f"{span.line}:{span.column}" if span is not None else "1:1"


def compute_weights(
    alpha: np.ndarray, panel: Panel, s: Settings, ev: Evaluator, universe: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 3-7 in the build frame: decay, universe mask, neutralize, scale, truncate. `alpha` may hold
    ±inf (evaluate_raw): decay_finite and build_weights treat them as NaN, as step 2 says."""
    decayed = decay_finite(alpha, s.decay) if s.decay > 1 else alpha
    codes, styles, neutralize = neutralization_inputs(panel, s, ev, universe)
    return build_weights(
        decayed,
        universe,
        codes,
        styles,
        neutralize,
        float(s.truncation),
        TRUNCATION_MAX_ROUNDS,
        TRUNCATION_TOLERANCE,
        NEUTRALIZED_ZERO_TOLERANCE,
    )


def finish(
    expression: str,
    panel: Panel,
    s: Settings,
    weights: np.ndarray,
    rounds: np.ndarray,
    unit_warnings: Sequence[str],
    pool: Sequence[C.PoolEntry] | None,
    *,
    keep_weights: bool = False,
    fields: Sequence[str] | None = None,
) -> SimResult:
    """Steps 8 on: positions in the PnL frame, max trade, PnL, periods, metrics, yearly table, checks.
    `fields`: the fields the expression reads (for STALE_DATA; parsed from `expression` when None)."""
    returns = np.ascontiguousarray(panel_returns(panel))
    lag = 1 - s.delay  # PnL row p holds the weights built on row p - lag
    if s.max_trade_on:
        target = position_frame(weights, s.delay) * BOOK_SIZE
        limit = np.full(panel.shape, np.nan)
        limit[1:] = s.max_trade_adv_fraction * adv_dollars(panel)[:-1]
        book, book_lag, scale = apply_max_trade(target, limit) / BOOK_SIZE, 0, BOOK_SIZE
    else:
        book, book_lag, scale = weights, lag, BOOK_SIZE
    sub = next_liquid_universe(panel, s.universe)
    sub_pnl: np.ndarray | None = None
    if sub is not None and book is weights:  # one pass over the weights for both books
        sub_mask = np.ascontiguousarray(panel.universe(sub))
        pnl, traded, longs, shorts, max_abs, sub_pnl = book_and_sub_series(book, book_lag, scale, returns, sub_mask)
    else:
        pnl, traded, longs, shorts, max_abs = book_series(book, book_lag, scale, returns)
        if sub is not None:  # max trade: the sub-universe test reads the weights before the trade cap
            sub_pnl = sub_universe_pnl(weights, lag, BOOK_SIZE, np.ascontiguousarray(panel.universe(sub)), returns)
    active = np.flatnonzero(traded > 0.0)  # the first position day trades the whole book from zero
    first = int(active[0]) if active.size else panel.n_days
    periods = split_periods(panel.dates, first, is_end=s.is_end, test_period=s.test_period)
    named = _ranges(periods)
    blocks = year_blocks(panel.dates, periods)
    ranges = [_clip(rng, first) for rng in named.values()] + [(lo, hi) for _, _, lo, hi in blocks]
    table = period_stats_many(pnl, traded, longs, shorts, ranges)  # every period in one compiled call
    metrics: dict[str, dict[str, Any]] = dict(zip(named, table[: len(named)], strict=True))
    yearly = [
        {"year": year, **row, "stage": stage}
        for (year, stage, _, _), row in zip(blocks, table[len(named) :], strict=True)
    ]
    if fields is None:
        fields = fields_used(parse(expression), panel.catalogue)
    checklist = run_checks(
        panel, s, periods, metrics["is"], pnl, max_abs, sub, sub_pnl, unit_warnings, pool,
        fields=fields, book=book, book_lag=book_lag, held=longs + shorts,
    )  # fmt: skip
    for m in metrics.values():
        m["startDate"] = str(panel.dates[first]) if first < panel.n_days else None
    kept = None
    if keep_weights:
        kept = book if book_lag == 0 else position_frame(book, s.delay)
    return SimResult(
        expression=expression,
        settings=s,
        dates=panel.dates,
        daily_pnl=pnl,
        traded=traded,
        long_counts=longs,
        short_counts=shorts,
        periods=periods,
        metrics=metrics,
        yearly_rows=yearly,
        checks=checklist,
        truncation_rounds=int(rounds.max()) if rounds.size else 0,
        data_fingerprint=panel.fingerprint(),
        weights=kept,
    )


def _ranges(p: Periods) -> dict[str, tuple[int, int]]:
    return {"is": p.is_range, "os": p.os_range, "train": p.train_range, "test": p.test_range}


def _clip(rng: tuple[int, int], first: int) -> tuple[int, int]:
    """A period's day range from the first position day on (empty when it ends before)."""
    lo, hi = max(rng[0], first), rng[1]
    return (lo, hi) if hi > lo else (0, 0)


def run_checks(
    panel: Panel,
    s: Settings,
    periods: Periods,
    is_stats: Mapping[str, float],
    pnl: np.ndarray,
    max_abs: np.ndarray,
    sub: str | None,
    sub_pnl: np.ndarray | None,
    unit_warnings: Sequence[str],
    pool: Sequence[C.PoolEntry] | None,
    *,
    fields: Sequence[str],
    book: np.ndarray,
    book_lag: int,
    held: np.ndarray,
) -> list[dict[str, Any]]:
    """The check list; STALE_DATA reads the `fields` of the expression, the `book` whose PnL row p holds
    row p - `book_lag` and `held`, the positions per PnL row (a WARNING at most: it never fails)."""
    lo, hi = max(periods.is_range[0], periods.first), periods.is_range[1]
    out = C.threshold_checks(is_stats, s.check_profile, s.delay)
    out.append(C.concentrated_weight(max_abs, panel.dates, lo, hi))
    sub_sharpe = None
    if sub is not None and sub_pnl is not None:
        sub_sharpe = sharpe(sub_pnl[lo:hi]) if hi > lo else 0.0
    out.append(
        C.sub_universe_check(
            is_stats["sharpe"], sub_sharpe, universe_size(s.universe), universe_size(sub) if sub else None
        )
    )
    out.append(C.self_correlation(panel.dates, pnl, lo, hi, is_stats["sharpe"], pool))
    if s.check_profile == CheckProfile.CONSULTANT:
        out.append(C.two_year_sharpe(panel.dates, pnl, lo, hi, s.delay))
        out.append(C.ladder(panel.dates, pnl, lo, hi, s.delay, is_stats["turnover"]))
    out.append(C.units_check(unit_warnings))
    out.append(C.data_length_check(max(hi - lo, 0)))
    out.append(stale_data(panel, fields, book, book_lag, held, periods))
    return out

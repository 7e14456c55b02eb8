"""The six named optimizers: evidence-triggered repairs of a simulated alpha.

Why: BRAIN researchers fix a near-miss alpha with a handful of standard moves, chosen by which check
it failed: smooth a high-turnover signal, speed up a stale one, flip a reliably wrong one, raise
fitness by trading less, fill a sparse one, orthogonalize a crowded one. Each optimizer here is one
such move set, fired by thresholds on the `Evidence` (named constants below, so they can be tuned).

Contract: `triggered(evidence)` is a pure predicate; `propose(parent, evidence, ctx, max_n)` returns
at most `max_n` lint-clean children, best-first (a fixed order: the most reliable repair first),
unique by (canonical structure, settings) and different from the parent, each with
`generator="optimizer:<Name>"`, `strategy=<Name>`, `params` describing the change and
`parent_id=None` (the controller links the stored parent). Deterministic (no randomness).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alphamine.expr import Call, Name, Node, Number, lookbacks, map_nodes, parse, replace
from alphamine.generate.candidate import Candidate, Evidence, GenerationContext
from alphamine.generate.mutate import (
    as_node,
    backfill_inputs,
    call,
    candidate_key,
    dedup,
    group_fields,
    lint_clean,
    make_candidate,
    negate,
    scale_lookbacks,
)
from alphamine.generate.rotation import supported
from alphamine.sim.settings import GROUP_NEUTRALIZATIONS, Neutralization, Settings

HIGH_TURNOVER_TRIGGER = 0.4  # above this daily turnover, smooth (BRAIN fails at 0.7; IND max 0.4)
LOW_TURNOVER_TRIGGER = 0.02  # below this, speed up (BRAIN fails at 0.01)
SHORT_FLIP_SHARPE = -0.5  # a Sharpe this negative is a reliable signal with the wrong sign
LOW_FITNESS_MIN_SHARPE = 0.8  # "decent" Sharpe: worth repairing fitness
LOW_FITNESS_TRIGGER = 1.0  # BRAIN's LOW_FITNESS limit (delay 1)
STRONG_SMOOTHING_TURNOVER = 0.5  # above this, LowFitness smooths harder (decay 8, ts_decay_linear 10)
FITNESS_TURNOVER_FLOOR = 0.125  # fitness divides by max(turnover, this): trading less helps down to it
LOW_COVERAGE_TRIGGER = 0.5  # fraction of the universe holding a position
GROUP_BACKFILL_DAYS = 20  # peers' values of the last month fill a member's gap
CORRELATION_TRIGGER = 0.7  # BRAIN's SELF_CORRELATION limit
COMMON_FACTORS = ("rank(-returns)",)  # orthogonalize against these when the pool alpha is unknown
FINEST_FIRST = (Neutralization.SUBINDUSTRY, Neutralization.INDUSTRY, Neutralization.SECTOR, Neutralization.MARKET)
SMOOTHERS = frozenset({"ts_decay_linear", "ts_mean", "hump", "ts_decay_exp_window"})

Proposal = tuple[Node | str, Settings | None, dict[str, Any]]


class Optimizer:
    """Base class: subclasses set `name`, `description`, and implement `triggered` and `proposals`."""

    name = "Optimizer"
    description = ""

    def triggered(self, evidence: Evidence) -> bool:
        raise NotImplementedError

    def proposals(self, node: Node, parent: Candidate, evidence: Evidence, ctx: GenerationContext) -> list[Proposal]:
        raise NotImplementedError

    def propose(self, parent: Candidate, evidence: Evidence, ctx: GenerationContext, max_n: int) -> list[Candidate]:
        if max_n <= 0:
            return []
        made = [
            make_candidate(
                expr, ctx, generator=f"optimizer:{self.name}", thesis=self._thesis(parent),
                settings=settings or parent.settings, strategy=self.name, params=params, tags=parent.tags,
            )
            for expr, settings, params in self.proposals(as_node(parent.expression), parent, evidence, ctx)
        ]
        return dedup(made, {candidate_key(parent)})[:max_n]

    def _thesis(self, parent: Candidate) -> Any:
        return parent.thesis

    def __repr__(self) -> str:
        return f"{self.name}()"


def _smooth(node: Node, k: int) -> Proposal:
    return call("ts_decay_linear", node, float(k)), None, {"change": "ts_decay_linear", "k": k}


def _decay(settings: Settings, k: int) -> Proposal | None:
    return None if settings.decay >= k else ("", settings.with_(decay=k), {"change": "decay", "decay": k})


def _windows(node: Node, factor: float, ctx: GenerationContext) -> Proposal | None:
    scaled = scale_lookbacks(node, factor, n_days=ctx.n_days)
    return None if scaled is None else (scaled, None, {"change": "windows", "factor": factor})


def _fill(node: Node, items: Sequence[Proposal | None]) -> list[Proposal]:
    """Drop Nones; an empty expression means 'the parent's expression, other settings'."""
    return [(p[0] if p[0] != "" else node, p[1], p[2]) for p in items if p is not None]


class HighTurnover(Optimizer):
    name = "HighTurnover"
    description = "Turnover too high: smooth the signal (linear decay, mean, decay setting, hump, longer windows)."

    def triggered(self, evidence: Evidence) -> bool:
        return evidence.turnover > HIGH_TURNOVER_TRIGGER or evidence.failed("HIGH_TURNOVER")

    def proposals(self, node: Node, parent: Candidate, evidence: Evidence, ctx: GenerationContext) -> list[Proposal]:
        s = parent.settings
        return _fill(node, [
            _smooth(node, 10),
            _decay(s, max(8, 2 * s.decay)),
            (call("ts_mean", node, 5.0), None, {"change": "ts_mean", "k": 5}),
            _windows(node, 2.0, ctx),
            _smooth(node, 20),
            (call("hump", node, hump=0.01), None, {"change": "hump", "hump": 0.01}),
        ])


class LowTurnover(Optimizer):
    name = "LowTurnover"
    description = "Turnover too low: shorten windows, drop smoothing, trade the signal's recent deviation."

    def triggered(self, evidence: Evidence) -> bool:
        return evidence.turnover < LOW_TURNOVER_TRIGGER or evidence.failed("LOW_TURNOVER")

    def proposals(self, node: Node, parent: Candidate, evidence: Evidence, ctx: GenerationContext) -> list[Proposal]:
        s = parent.settings
        unsmoothed = map_nodes(node, _unsmooth)
        return _fill(node, [
            (call("ts_zscore", node, 20.0), None, {"change": "ts_zscore", "k": 20}),
            _windows(node, 0.25, ctx),
            _windows(node, 0.5, ctx),
            None if unsmoothed == node else (unsmoothed, None, {"change": "unsmooth"}),
            None if s.decay <= 1 else ("", s.with_(decay=0), {"change": "decay", "decay": 0}),
        ])


def _unsmooth(n: Node) -> Node:
    return n.args[0] if isinstance(n, Call) and n.func in SMOOTHERS and n.args else n


class ShortFlip(Optimizer):
    name = "ShortFlip"
    description = "Reliably negative Sharpe: the signal has the wrong sign; flip it."

    def triggered(self, evidence: Evidence) -> bool:
        return evidence.sharpe < SHORT_FLIP_SHARPE

    def proposals(self, node: Node, parent: Candidate, evidence: Evidence, ctx: GenerationContext) -> list[Proposal]:
        flipped = negate(node)
        out: list[Proposal] = [(flipped, None, {"change": "negate"})]
        if evidence.turnover > HIGH_TURNOVER_TRIGGER:
            decayed = parent.settings.with_(decay=max(4, parent.settings.decay))
            out.append((flipped, decayed, {"change": "negate+decay", "decay": decayed.decay}))
        return out

    def _thesis(self, parent: Candidate) -> Any:
        return None  # re-inferred: a flipped reversal is a momentum bet


class LowFitness(Optimizer):
    name = "LowFitness"
    description = "Decent Sharpe, low fitness: trade less (decay, smoothing) or earn more per trade (longer windows)."

    def triggered(self, evidence: Evidence) -> bool:
        low = evidence.fitness < LOW_FITNESS_TRIGGER or evidence.failed("LOW_FITNESS")
        return evidence.sharpe >= LOW_FITNESS_MIN_SHARPE and low

    def proposals(self, node: Node, parent: Candidate, evidence: Evidence, ctx: GenerationContext) -> list[Proposal]:
        s = parent.settings
        if evidence.turnover > FITNESS_TURNOVER_FLOOR:  # fitness pays for every unit of turnover cut
            strong, mild, k = (8, 4, 10) if evidence.turnover > STRONG_SMOOTHING_TURNOVER else (4, 2, 5)
            both = s.with_(decay=max(s.decay, strong), truncation=min(s.truncation, 0.05))
            items = [_decay(s, strong), _smooth(node, k), _decay(s, mild), _windows(node, 2.0, ctx),
                     ("", both, {"change": "decay+truncation", "decay": both.decay, "truncation": both.truncation}),
                     _decay(s, 2)]  # mildest: for fast-decaying edges that smoothing would kill
        else:  # turnover is already at the floor: raise returns instead
            items = [_windows(node, 2.0, ctx), ("", s.with_(truncation=min(s.truncation, 0.05)),
                                                {"change": "truncation", "truncation": min(s.truncation, 0.05)}),
                     _windows(node, 0.5, ctx)]
        return _fill(node, items)


class CoverageRepairer(Optimizer):
    name = "CoverageRepairer"
    description = "Too few positions: backfill the inputs, fill from group peers, undo to_nan."

    def triggered(self, evidence: Evidence) -> bool:
        return evidence.universe_size > 0 and evidence.coverage < LOW_COVERAGE_TRIGGER

    def proposals(self, node: Node, parent: Candidate, evidence: Evidence, ctx: GenerationContext) -> list[Proposal]:
        out: list[Proposal | None] = []
        for d in (252, 60):
            filled = backfill_inputs(node, ctx.catalogue, d)
            out.append(None if filled is None else (filled, None, {"change": "ts_backfill", "lookback": d}))
        longer = _longer_backfills(node, 252)
        out.append(None if longer is None else (longer, None, {"change": "longer_backfill", "lookback": 252}))
        no_to_nan = map_nodes(node, lambda n: n.args[0] if isinstance(n, Call) and n.func == "to_nan" and n.args else n)
        out.append(None if no_to_nan == node else (no_to_nan, None, {"change": "drop_to_nan"}))
        groups = group_fields(ctx.catalogue)
        if groups:
            g = "industry" if "industry" in groups else groups[0]
            filled = backfill_inputs(node, ctx.catalogue, GROUP_BACKFILL_DAYS, group=g)
            out.append(None if filled is None else (filled, None, {
                "change": "group_backfill", "group": g, "lookback": GROUP_BACKFILL_DAYS}))
        return _fill(node, out)


def _longer_backfills(node: Node, lookback: int) -> Node | None:
    uses = [u for u in lookbacks(node) if u.operator == "ts_backfill" and u.value < lookback]
    for u in uses:
        node = replace(node, u.path, Number(float(lookback)))
    return node if uses else None


class Correlation(Optimizer):
    name = "Correlation"
    description = "Too correlated with the pool: regress out the correlated alpha or a common factor, " \
                  "neutralize by a finer group."

    def triggered(self, evidence: Evidence) -> bool:
        high = evidence.max_correlation is not None and evidence.max_correlation >= CORRELATION_TRIGGER
        return high or evidence.failed("SELF_CORRELATION")

    def proposals(self, node: Node, parent: Candidate, evidence: Evidence, ctx: GenerationContext) -> list[Proposal]:
        out: list[Proposal | None] = []
        for factor in [evidence.correlated_with, *COMMON_FACTORS]:
            f = _factor(factor, ctx)
            if f is not None:
                out.append((call("regression_neut", node, f), None, {"change": "regression_neut", "against": factor}))
        s = parent.settings
        finer = [n for n in FINEST_FIRST if n != s.neutralization and supported(n, ctx.catalogue)]
        if finer:
            params = {"change": "neutralization", "neutralization": finer[0].value}
            out.append(("", s.with_(neutralization=finer[0]), params))
        for n in FINEST_FIRST:
            if n in GROUP_NEUTRALIZATIONS and supported(n, ctx.catalogue):
                out.append((call("group_neutralize", node, Name(GROUP_NEUTRALIZATIONS[n])), None,
                            {"change": "group_neutralize", "group": GROUP_NEUTRALIZATIONS[n]}))
                break
        return _fill(node, out)


def _factor(text: str | None, ctx: GenerationContext) -> Node | None:
    if not text:
        return None
    try:
        node = as_node(parse(text))
    except Exception:
        return None
    return node if lint_clean(node, ctx) else None


OPTIMIZERS: tuple[Optimizer, ...] = (
    LowFitness(), LowTurnover(), HighTurnover(), ShortFlip(), CoverageRepairer(), Correlation(),
)


def triggered_optimizers(evidence: Evidence) -> list[Optimizer]:
    """The optimizers whose trigger fires on `evidence`, in `OPTIMIZERS` order."""
    return [o for o in OPTIMIZERS if o.triggered(evidence)]


def evidence_from_result(
    result: Any,
    universe_size: float | None = None,
    *,
    panel: Any = None,
    max_correlation: float | None = None,
    correlated_with: str | None = None,
) -> Evidence:
    """`Evidence` from a `SimResult` (IS metrics and checks). The universe size is the mean number of
    members over the IS days, taken from `panel` when given; else `universe_size`; else the mean
    number of positions (coverage 1)."""
    m: Mapping[str, Any] = result.metrics["is"]
    if universe_size is None and panel is not None:
        lo, hi = result.periods.is_range
        lo = max(lo, result.periods.first)
        members = np.asarray(panel.universe(result.settings.universe))[lo:hi].sum(axis=1)
        universe_size = float(members.mean()) if members.size else 0.0
    if universe_size is None:
        universe_size = float(m["longCount"]) + float(m["shortCount"])
    return Evidence(
        sharpe=float(m["sharpe"]), fitness=float(m["fitness"]), turnover=float(m["turnover"]),
        returns=float(m["returns"]), margin=float(m["margin"]), drawdown=float(m["drawdown"]),
        long_count=float(m["longCount"]), short_count=float(m["shortCount"]), universe_size=universe_size,
        checks={c["name"]: c["result"] for c in result.checks},
        max_correlation=max_correlation, correlated_with=correlated_with,
    )

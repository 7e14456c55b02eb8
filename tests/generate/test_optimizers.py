"""The six named optimizers: triggers on evidence, and each makes its intended change on a planted
case, verified by simulation on a small synthetic market (planted short-term reversal)."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel
from alphamine.expr import check
from alphamine.generate import (
    OPTIMIZERS,
    Candidate,
    Correlation,
    CoverageRepairer,
    Evidence,
    HighTurnover,
    LowFitness,
    LowTurnover,
    Optimizer,
    ShortFlip,
    evidence_from_result,
    infer_thesis,
    triggered_optimizers,
)
from alphamine.generate import optimizers as O
from alphamine.sim.result import SimResult
from alphamine.sim.simulate import simulate

from .conftest import make_ctx


def _ev(**kw: object) -> Evidence:
    base: dict = dict(sharpe=1.0, fitness=1.2, turnover=0.2, returns=0.1, margin=0.001, drawdown=0.1,
                      long_count=50, short_count=50, universe_size=100, checks={})
    base.update(kw)
    return Evidence(**base)


def _cand(panel: Panel, expr: str) -> Candidate:
    return Candidate(expr, make_ctx(panel).base_settings, "test", infer_thesis(expr, panel.catalogue))


def _sim(panel: Panel, c: Candidate) -> SimResult:
    return simulate(c.expression, panel, c.settings)


def _children(opt: Optimizer, panel: Panel, parent: Candidate, evidence: Evidence) -> list[Candidate]:
    kids = opt.propose(parent, evidence, make_ctx(panel), 10)
    assert kids, f"{opt.name} proposed nothing"
    for k in kids:
        assert k.generator == f"optimizer:{opt.name}" and k.strategy == opt.name and k.params
        assert k.parent_id is None
        assert not [d for d in check(k.expression, panel.catalogue, n_days=panel.n_days) if d.severity == "error"]
        assert (k.expression, k.settings) != (parent.expression, parent.settings)
    assert kids == opt.propose(parent, evidence, make_ctx(panel, seed=99), 10)  # deterministic
    assert len(opt.propose(parent, evidence, make_ctx(panel), 1)) == 1
    return kids


# ------------------------------------------------------------------------------------ triggers
def test_six_named_optimizers() -> None:
    assert [o.name for o in OPTIMIZERS] == ["LowFitness", "LowTurnover", "HighTurnover", "ShortFlip",
                                            "CoverageRepairer", "Correlation"]


@pytest.mark.parametrize(("opt", "fires", "quiet"), [
    (HighTurnover(), _ev(turnover=O.HIGH_TURNOVER_TRIGGER + 0.01), _ev(turnover=0.3)),
    (HighTurnover(), _ev(turnover=0.3, checks={"HIGH_TURNOVER": "FAIL"}), _ev(checks={"HIGH_TURNOVER": "PASS"})),
    (LowTurnover(), _ev(turnover=O.LOW_TURNOVER_TRIGGER - 0.001), _ev(turnover=0.05)),
    (LowTurnover(), _ev(checks={"LOW_TURNOVER": "FAIL"}), _ev(turnover=0.02)),
    (ShortFlip(), _ev(sharpe=-0.8), _ev(sharpe=-0.3)),
    (LowFitness(), _ev(sharpe=1.2, fitness=0.6), _ev(sharpe=0.3, fitness=0.2)),
    (LowFitness(), _ev(sharpe=1.2, fitness=1.1, checks={"LOW_FITNESS": "FAIL"}), _ev(sharpe=1.5, fitness=1.3)),
    (CoverageRepairer(), _ev(long_count=10, short_count=10), _ev(long_count=40, short_count=40)),
    (Correlation(), _ev(max_correlation=0.75), _ev(max_correlation=0.5)),
    (Correlation(), _ev(checks={"SELF_CORRELATION": "FAIL"}), _ev(checks={"SELF_CORRELATION": "PENDING"})),
])
def test_triggers(opt: Optimizer, fires: Evidence, quiet: Evidence) -> None:
    assert opt.triggered(fires)
    assert not opt.triggered(quiet)
    assert opt.name in [o.name for o in triggered_optimizers(fires)]


def test_nothing_triggers_on_a_healthy_alpha() -> None:
    assert triggered_optimizers(_ev(sharpe=1.8, fitness=1.4, turnover=0.2, max_correlation=0.3)) == []


# ------------------------------------------------------------------------------------ planted cases
def test_high_turnover_lowers_turnover(syn: Panel) -> None:
    parent = _cand(syn, "rank(-returns)")
    r = _sim(syn, parent)
    ev = evidence_from_result(r, panel=syn)
    assert HighTurnover().triggered(ev)
    for k in _children(HighTurnover(), syn, parent, ev):
        assert _sim(syn, k).metrics["is"]["turnover"] < 0.75 * ev.turnover, k.expression


def test_low_turnover_raises_turnover(syn: Panel) -> None:
    parent = _cand(syn, "rank(ts_mean(close, 120))")
    ev = evidence_from_result(_sim(syn, parent), panel=syn)
    assert LowTurnover().triggered(ev)
    kids = _children(LowTurnover(), syn, parent, ev)
    tv = [_sim(syn, k).metrics["is"]["turnover"] for k in kids]
    assert tv[0] > max(2 * ev.turnover, O.LOW_TURNOVER_TRIGGER)
    assert all(t > ev.turnover for t in tv)


def test_short_flip_turns_negative_sharpe_positive(syn: Panel) -> None:
    parent = _cand(syn, "rank(ts_delta(close, 5))")  # momentum bet against the planted reversal
    ev = evidence_from_result(_sim(syn, parent), panel=syn)
    assert ev.sharpe < O.SHORT_FLIP_SHARPE and ShortFlip().triggered(ev)
    kids = _children(ShortFlip(), syn, parent, ev)
    assert kids[0].expression == "-rank(ts_delta(close, 5))"
    assert kids[0].thesis.type == "reversal"
    for k in kids:
        assert _sim(syn, k).metrics["is"]["sharpe"] > 0.5


def test_low_fitness_raises_fitness(syn: Panel) -> None:
    parent = _cand(syn, "rank(-returns)")
    ev = evidence_from_result(_sim(syn, parent), panel=syn)
    assert LowFitness().triggered(ev)
    fit = [_sim(syn, k).metrics["is"]["fitness"] for k in _children(LowFitness(), syn, parent, ev)]
    assert fit[0] > ev.fitness + 0.2
    assert max(fit) >= O.LOW_FITNESS_TRIGGER


def test_coverage_repairer_raises_coverage(syn: Panel) -> None:
    T, _ = syn.shape
    rare = np.where((np.arange(T) % 10 == 0)[:, None], syn["bookvalue"] / syn["cap"], np.nan)
    info = FieldInfo("rare_value", FieldType.MATRIX, unit=Unit.RATIO)
    panel = syn.with_fields(matrices={"rare_value": rare}, catalogue={"rare_value": info})
    parent = _cand(panel, "rank(rare_value)")
    ev = evidence_from_result(_sim(panel, parent), panel=panel)
    assert ev.coverage < O.LOW_COVERAGE_TRIGGER and CoverageRepairer().triggered(ev)
    kids = _children(CoverageRepairer(), panel, parent, ev)
    cov = [evidence_from_result(_sim(panel, k), panel=panel).coverage for k in kids]
    assert cov[0] > 0.8 > 2 * ev.coverage
    assert all(c >= ev.coverage - 0.01 for c in cov)


def test_correlation_lowers_pool_correlation(syn: Panel) -> None:
    pool = simulate("rank(-returns)", syn, make_ctx(syn).base_settings)

    def corr(r: SimResult) -> float:
        lo, hi = r.periods.is_range
        lo = max(lo, r.periods.first, pool.periods.first)
        return float(np.corrcoef(r.daily_pnl[lo:hi], pool.daily_pnl[lo:hi])[0, 1])

    parent = _cand(syn, "rank(-ts_decay_linear(returns, 2))")
    r = _sim(syn, parent)
    ev = evidence_from_result(r, panel=syn, max_correlation=corr(r), correlated_with="rank(-returns)")
    assert Correlation().triggered(ev), ev.max_correlation
    kids = _children(Correlation(), syn, parent, ev)
    assert kids[0].params["change"] == "regression_neut"
    c = [corr(_sim(syn, k)) for k in kids]
    assert abs(c[0]) < 0.3
    assert all(x < ev.max_correlation for x in c)  # type: ignore[operator]

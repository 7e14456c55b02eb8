"""Check-matched repairs: each failing check gets its own moves, children lint clean with valid settings
the data offers, the cut covers every failing check, and the moves change what they claim (checked by
simulation on the planted synthetic market for HIGH_TURNOVER)."""

from __future__ import annotations

import dataclasses

import pytest

from alphamine.data.fields import FieldType
from alphamine.data.panel import Panel
from alphamine.expr import check
from alphamine.generate import Candidate, Evidence, GenerationContext, infer_thesis
from alphamine.generate.repairs import REPAIRS, offered_universes, propose_repairs, repairable_failures
from alphamine.generate.rotation import supported
from alphamine.sim.settings import Neutralization, Settings
from alphamine.sim.simulate import simulate, universe_size

from .conftest import make_ctx

ALL = tuple(REPAIRS)
PARENT = "-ts_delta(close, 5)"
SETTINGS_MOVES = {"decay", "truncation", "universe", "neutralization"}


def _ev(**kw: object) -> Evidence:
    base: dict = dict(
        sharpe=1.2,
        fitness=0.8,
        turnover=0.5,
        returns=0.1,
        margin=0.001,
        drawdown=0.1,
        long_count=50,
        short_count=50,
        universe_size=100,
        checks={},
    )
    base.update(kw)
    return Evidence(**base)


def _parent(ctx: GenerationContext, expr: str = PARENT, **settings: object) -> Candidate:
    s = ctx.base_settings.with_(**settings) if settings else ctx.base_settings
    return Candidate(expr, s, "template:test", infer_thesis(expr, ctx.catalogue), tags=("t",))


def _moves(kids: list[Candidate], name: str) -> list[str]:
    return [k.params["move"] for k in kids if k.params["repairs"] == name]


def _assert_valid(kids: list[Candidate], parent: Candidate, ctx: GenerationContext) -> None:
    keys = set()
    universes = {name for _, name in offered_universes(ctx)}
    for k in kids:
        name, move = k.params["repairs"], k.params["move"]
        assert k.generator == f"repair:{name}" and k.strategy == f"{name}:{move}"
        assert move in {m.name for m in REPAIRS[name]}
        assert k.parent_id is None and k.thesis == parent.thesis and k.tags == parent.tags
        assert not [d for d in check(k.expression, ctx.catalogue, n_days=ctx.n_days) if d.severity == "error"]
        assert Settings.from_brain(k.settings.to_brain()) == k.settings
        assert k.settings.universe in universes and supported(k.settings.neutralization, ctx.catalogue)
        assert (k.expression, k.settings) != (parent.expression, parent.settings)
        keys.add((k.expression, k.settings.key()))
    assert len(keys) == len(kids)


# ------------------------------------------------------------------------------------ matching
@pytest.mark.parametrize(
    ("name", "moves"),
    [
        ("HIGH_TURNOVER", ["decay", "ts_decay_linear", "trade_when"]),
        ("LOW_SUB_UNIVERSE_SHARPE", ["universe", "liquidity_filter", "liquidity_weight"]),
        ("CONCENTRATED_WEIGHT", ["truncation", "rank"]),  # close is dense: no backfill move
        ("LOW_FITNESS", ["decay", "ts_decay_linear", "hump", "windows"]),
        ("SELF_CORRELATION", ["orthogonalize", "neutralization", "orthogonalize_common"]),
    ],
)
def test_each_check_gets_its_matched_moves(sample: Panel, name: str, moves: list[str]) -> None:
    ctx = make_ctx(sample)
    parent = _parent(ctx)
    kids = propose_repairs(parent, [name], _ev(), ctx, 20, correlated_expression="rank(-ts_mean(returns, 20))")
    assert kids and {k.params["repairs"] for k in kids} == {name}
    assert list(dict.fromkeys(_moves(kids, name))) == moves  # the table's order, the most reliable first
    _assert_valid(kids, parent, ctx)


def test_settings_moves_change_the_right_setting(sample: Panel) -> None:
    ctx = make_ctx(sample)
    parent = _parent(ctx, decay=4, truncation=0.08)
    kids = propose_repairs(parent, ALL, _ev(), ctx, 40, correlated_expression="rank(-returns)")
    by = {(k.params["repairs"], k.params["move"]): k for k in kids}
    decay = by[("HIGH_TURNOVER", "decay")]
    assert decay.settings.decay > parent.settings.decay and decay.params["decay"] == [4, 8]
    assert decay.expression == parent.expression
    trunc = by[("CONCENTRATED_WEIGHT", "truncation")]
    assert trunc.settings.truncation < parent.settings.truncation and trunc.params["truncation"] == [0.08, 0.04]
    uni = by[("LOW_SUB_UNIVERSE_SHARPE", "universe")]
    assert uni.params["universe"] == ["TOP500", "TOP200"] and uni.settings.universe == "TOP200"
    assert (universe_size(uni.settings.universe) or 0) < (universe_size(parent.settings.universe) or 0)
    neut = [k for k in kids if k.strategy == "SELF_CORRELATION:neutralization"]
    assert neut and all(k.settings.neutralization != parent.settings.neutralization for k in neut)
    orth = by[("SELF_CORRELATION", "orthogonalize")]
    assert orth.expression.startswith("regression_neut(") and orth.params["against"] == "rank(-returns)"
    for k in kids:  # a settings move changes exactly the setting it names; an expression move none
        changed = {f for f in Settings.model_fields if getattr(k.settings, f) != getattr(parent.settings, f)}
        move = k.params["move"]
        assert changed == ({move} if move in SETTINGS_MOVES else set())
        assert (k.expression == parent.expression) == (move in SETTINGS_MOVES)


def test_decay_doubles_and_untruncated_parents_get_a_cap(sample: Panel) -> None:
    ctx = make_ctx(sample)
    kids = propose_repairs(
        _parent(ctx, decay=10, truncation=0.0), ["HIGH_TURNOVER", "CONCENTRATED_WEIGHT"], _ev(), ctx, 10
    )
    by = {k.strategy: k for k in kids}
    assert by["HIGH_TURNOVER:decay"].settings.decay == 20
    assert 0 < by["CONCENTRATED_WEIGHT:truncation"].settings.truncation <= 0.05
    floor = propose_repairs(_parent(ctx, truncation=0.01), ["CONCENTRATED_WEIGHT"], _ev(), ctx, 10)
    assert "truncation" not in _moves(floor, "CONCENTRATED_WEIGHT")  # already at the floor


def test_smaller_universe_only_when_the_data_offers_one(syn: Panel) -> None:
    ctx = make_ctx(syn)  # TOP120, with TOP60 and TOP20 on offer
    kids = propose_repairs(_parent(ctx), ["LOW_SUB_UNIVERSE_SHARPE"], _ev(), ctx, 10)
    assert kids[0].params["move"] == "universe" and kids[0].settings.universe == "TOP60"
    smallest = propose_repairs(_parent(ctx, universe="TOP20"), ["LOW_SUB_UNIVERSE_SHARPE"], _ev(), ctx, 10)
    assert smallest and "universe" not in _moves(smallest, "LOW_SUB_UNIVERSE_SHARPE")
    bare = dataclasses.replace(
        ctx, catalogue={k: v for k, v in syn.catalogue.items() if v.type != FieldType.UNIVERSE or k == "TOP120"}
    )
    kids = propose_repairs(_parent(bare), ["LOW_SUB_UNIVERSE_SHARPE"], _ev(), bare, 10)
    assert kids and "universe" not in _moves(kids, "LOW_SUB_UNIVERSE_SHARPE")
    assert all(k.settings.universe == "TOP120" for k in kids)


def test_concentrated_weight_backfills_sparse_inputs_only(sample: Panel) -> None:
    ctx = make_ctx(sample)
    sparse = next(k for k, v in sample.catalogue.items() if v.type == FieldType.MATRIX and v.coverage < 0.7)
    kids = propose_repairs(_parent(ctx, f"rank({sparse})"), ["CONCENTRATED_WEIGHT"], _ev(), ctx, 10)
    assert _moves(kids, "CONCENTRATED_WEIGHT") == ["truncation", "backfill"]  # already ranked: no rank wrapper
    assert "ts_backfill(" in kids[1].expression


def test_neutralizations_stay_supported_and_skip_the_parents(syn: Panel) -> None:
    no_sub = {k: v for k, v in syn.catalogue.items() if k != "subindustry"}
    ctx = dataclasses.replace(
        make_ctx(syn, neutralizations=("INDUSTRY", "SUBINDUSTRY", "SECTOR", "MARKET")), catalogue=no_sub
    )  # SUBINDUSTRY needs its group field
    kids = propose_repairs(_parent(ctx), ["SELF_CORRELATION"], _ev(), ctx, 10)
    neut = [k.settings.neutralization for k in kids if k.params["move"] == "neutralization"]
    assert neut == [Neutralization.SECTOR, Neutralization.MARKET]


def test_orthogonalize_needs_a_usable_correlated_expression(sample: Panel) -> None:
    ctx = make_ctx(sample)
    for corr in (None, "#12", "rank(no_such_field)", PARENT):
        kids = propose_repairs(_parent(ctx), ["SELF_CORRELATION"], _ev(correlated_with=corr), ctx, 10)
        assert "orthogonalize" not in _moves(kids, "SELF_CORRELATION")
        assert "orthogonalize_common" in _moves(kids, "SELF_CORRELATION")
    kids = propose_repairs(_parent(ctx), ["SELF_CORRELATION"], _ev(correlated_with="rank(volume)"), ctx, 10)
    assert kids[0].params == {
        "repairs": "SELF_CORRELATION",
        "move": "orthogonalize",
        "wrapper": "regression_neut",
        "against": "rank(volume)",
    }


def test_low_fitness_is_repaired_only_with_a_good_sharpe_and_costly_turnover(sample: Panel) -> None:
    ctx = make_ctx(sample)
    assert propose_repairs(_parent(ctx), ["LOW_FITNESS"], _ev(sharpe=0.3), ctx, 10) == []
    assert propose_repairs(_parent(ctx), ["LOW_FITNESS"], _ev(turnover=0.1), ctx, 10) == []
    assert propose_repairs(_parent(ctx), ["LOW_FITNESS"], _ev(), ctx, 10)
    failing = {c: "FAIL" for c in (*ALL, "LOW_SHARPE")}
    assert repairable_failures(_ev(checks=failing)) == list(ALL)
    assert repairable_failures(_ev(checks=failing, sharpe=0.3)) == [c for c in ALL if c != "LOW_FITNESS"]
    assert repairable_failures(_ev(checks={"HIGH_TURNOVER": "PASS"})) == []


# ------------------------------------------------------------------------------------ the cut
def test_max_n_covers_every_failing_check_and_dedups_across_checks(sample: Panel) -> None:
    ctx = make_ctx(sample)
    parent = _parent(ctx)
    kids = propose_repairs(parent, list(reversed(ALL)), _ev(), ctx, len(ALL), correlated_expression="rank(-returns)")
    assert [k.params["repairs"] for k in kids] == list(ALL)  # REPAIRS order whatever the caller's order
    # HIGH_TURNOVER and LOW_FITNESS share decay / ts_decay_linear: each child is proposed once
    both = propose_repairs(parent, ["HIGH_TURNOVER", "LOW_FITNESS"], _ev(), ctx, 2)
    assert [k.strategy for k in both] == ["HIGH_TURNOVER:decay", "LOW_FITNESS:ts_decay_linear"]
    everything = propose_repairs(parent, ALL, _ev(), ctx, 100, correlated_expression="rank(-returns)")
    _assert_valid(everything, parent, ctx)
    assert len(propose_repairs(parent, ALL, _ev(), ctx, 3)) == 3
    assert propose_repairs(parent, ALL, _ev(), ctx, 0) == []
    assert propose_repairs(parent, ["LOW_SHARPE", "DATA_LENGTH"], _ev(), ctx, 5) == []


def test_deterministic_whatever_the_rng(sample: Panel) -> None:
    a = propose_repairs(_parent(make_ctx(sample)), ALL, _ev(), make_ctx(sample, seed=1), 30, "rank(-returns)")
    b = propose_repairs(_parent(make_ctx(sample)), ALL[::-1], _ev(), make_ctx(sample, seed=99), 30, "rank(-returns)")
    assert a == b and len(a) > len(ALL)


# ------------------------------------------------------------------------------------ by simulation
def test_high_turnover_repairs_trade_less(syn: Panel) -> None:
    ctx = make_ctx(syn)
    parent = _parent(ctx, "rank(-returns)")
    base = simulate(parent.expression, syn, parent.settings)
    assert {c["name"]: c["result"] for c in base.checks}["HIGH_TURNOVER"] == "FAIL"
    kids = propose_repairs(parent, ["HIGH_TURNOVER"], _ev(), ctx, 10)
    assert [k.params["move"] for k in kids] == ["decay", "ts_decay_linear", "trade_when"]
    for k in kids:
        assert simulate(k.expression, syn, k.settings).metrics["is"]["turnover"] < base.metrics["is"]["turnover"]

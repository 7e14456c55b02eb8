"""Generic variants: each strategy makes its intended change and keeps lineage fields."""

from __future__ import annotations

import pytest

from alphamine.data.panel import Panel
from alphamine.expr import Call, canonical, check, lookbacks, parse, structural_hash, walk
from alphamine.generate import STRATEGIES, Candidate, Evidence, generic_variants, infer_thesis
from alphamine.generate.mutate import BACKFILL_OPS
from alphamine.sim.settings import Neutralization

from .conftest import make_ctx

EVIDENCE = Evidence(1.0, 0.8, 0.3, 0.05, 0.001, 0.1, 50, 50, 110, {})
PARENT_EXPR = "group_rank(ts_mean(ts_backfill(earnings, 252), 20) / cap - ts_delta(close, 10), sector)"


def _parent(panel: Panel, expr: str = PARENT_EXPR) -> Candidate:
    ctx = make_ctx(panel)
    thesis = infer_thesis(expr, panel.catalogue)
    return Candidate(canonical(expr), ctx.base_settings.with_(decay=2), "template:x", thesis, tags=("t",))


def _by(cands: list[Candidate], strategy: str) -> list[Candidate]:
    return [c for c in cands if c.strategy == strategy]


def _calls(expr: str) -> list[str]:
    return [n.func for n in walk(parse(expr)) if isinstance(n, Call)]


@pytest.fixture
def variants(syn: Panel) -> tuple[Candidate, list[Candidate]]:
    parent = _parent(syn)
    return parent, generic_variants(parent, EVIDENCE, make_ctx(syn, seed=1), 500)


def test_every_strategy_present_lint_clean_unique_with_lineage(syn: Panel, variants: tuple) -> None:
    parent, out = variants
    assert {c.strategy for c in out} == set(STRATEGIES)
    keys = {(structural_hash(c.expression), c.settings.key()) for c in out}
    assert len(keys) == len(out)
    assert (structural_hash(parent.expression), parent.settings.key()) not in keys
    for c in out:
        assert c.generator == f"variant:{c.strategy}"
        assert c.parent_id is None and isinstance(c.params, dict)
        assert c.expression == canonical(c.expression)
        assert not [d for d in check(c.expression, syn.catalogue, n_days=syn.n_days) if d.severity == "error"]
        assert c.settings.universe == parent.settings.universe
        assert c.tags == parent.tags


def test_window_sweep_scales_exactly_the_signal_lookbacks(variants: tuple) -> None:
    parent, out = variants
    before = [(u.operator, u.value) for u in lookbacks(parse(parent.expression))]
    sweeps = _by(out, "window_sweep")
    assert {c.params["factor"] for c in sweeps} == {0.5, 2.0}
    for c in sweeps:
        f = c.params["factor"]
        after = [(u.operator, u.value) for u in lookbacks(parse(c.expression))]
        expected = [(op, v if op in BACKFILL_OPS else float(max(2, round(v * f)))) for op, v in before]
        assert after == expected
        assert c.settings == parent.settings
        # nothing but the numbers changed
        assert _calls(c.expression) == _calls(parent.expression)


def test_decay_sweep_changes_only_decay(variants: tuple) -> None:
    parent, out = variants
    sweeps = _by(out, "decay_sweep")
    assert sorted(c.settings.decay for c in sweeps) == [0, 4, 8]
    for c in sweeps:
        assert c.expression == parent.expression
        assert c.settings.with_(decay=parent.settings.decay) == parent.settings
        assert c.params == {"decay": c.settings.decay}


def test_rank_zscore_swap(variants: tuple) -> None:
    parent, out = variants
    [c] = _by(out, "rank_zscore_swap")
    assert c.expression == parent.expression.replace("group_rank(", "group_zscore(")


def test_neutralization_decay_cross(variants: tuple) -> None:
    parent, out = variants
    cross = _by(out, "neutralization_decay_cross")
    neuts = {c.settings.neutralization for c in cross}
    assert parent.settings.neutralization not in neuts
    assert neuts == {Neutralization.SUBINDUSTRY, Neutralization.SECTOR, Neutralization.MARKET}
    assert {c.settings.decay for c in cross} == {0, 4}
    assert all(c.expression == parent.expression for c in cross)


def test_sign_flip_negates_and_double_flip_restores(syn: Panel, variants: tuple) -> None:
    parent, out = variants
    [c] = _by(out, "sign_flip")
    assert c.expression == canonical(f"-({parent.expression})")
    back = _by(generic_variants(c, EVIDENCE, make_ctx(syn), 500), "sign_flip")
    assert back[0].expression == parent.expression
    rev = _parent(syn, "rank(-returns)")
    [flip] = _by(generic_variants(rev, EVIDENCE, make_ctx(syn), 500), "sign_flip")
    assert flip.thesis.type == "momentum" and rev.thesis.type == "reversal"


def test_turnover_control_wraps(variants: tuple) -> None:
    parent, out = variants
    wrapped = _by(out, "turnover_control")
    assert {c.params["wrapper"] for c in wrapped} == {"ts_decay_linear", "ts_mean", "hump"}
    for c in wrapped:
        root = parse(c.expression).result
        assert isinstance(root, Call) and root.func == c.params["wrapper"]
        assert canonical(root.args[0]) == parent.expression


def test_coverage_repair_backfills_inputs(variants: tuple) -> None:
    _, out = variants
    repairs = _by(out, "coverage_repair")
    methods = {c.params["method"] for c in repairs}
    assert methods == {"ts_backfill", "group_backfill"}
    for c in repairs:
        if c.params["method"] == "ts_backfill":
            # every raw MATRIX input now sits inside a backfill
            assert f"ts_backfill(cap, {c.params['lookback']})" in c.expression
            assert f"ts_backfill(close, {c.params['lookback']})" in c.expression
            assert "ts_backfill(ts_backfill" not in c.expression


def test_max_n_spreads_over_strategies_and_is_deterministic(syn: Panel) -> None:
    parent = _parent(syn)
    a = generic_variants(parent, EVIDENCE, make_ctx(syn, seed=5), 7)
    b = generic_variants(parent, EVIDENCE, make_ctx(syn, seed=5), 7)
    assert a == b and len(a) == 7
    assert {c.strategy for c in a} == set(STRATEGIES)
    assert generic_variants(parent, EVIDENCE, make_ctx(syn, seed=5), 0) == []

"""Evolutionary search on a synthetic catalogue: typed moves keep types, classes, grid, units; the
generator's offspring lint clean, are deterministic and ranked by fitness x novelty."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphamine.data import synthetic
from alphamine.data.panel import Panel
from alphamine.expr import Call, Name, Number, ValueType, check, fields_used, infer, lookbacks, walk
from alphamine.expr.operators import default_operators, symbol_table
from alphamine.expr.walk import get, operator_name
from alphamine.generate import TEMPLATE_FAMILIES, GenerationContext
from alphamine.generate.evolve import EvolutionGenerator, Parent
from alphamine.generate.evolve_ops import (
    MOVES,
    NOT_SWAPPED,
    WINDOW_GRID,
    add_wrapper,
    double_wraps,
    grid_neighbours,
    is_trivial,
    mutate_field,
    mutate_operator,
    mutate_window,
    remove_wrapper,
    signature_classes,
    signature_key,
    structural_distance,
    subtree_crossover,
    typed_slots,
)
from alphamine.generate.mutate import BACKFILL_OPS, as_node, is_fundamental
from alphamine.opspec import ArgKind
from alphamine.sim.settings import Settings

OPS = default_operators()
FIXED = (
    "rank(ts_mean(close, 20) - ts_mean(close, 60))",
    "-rank(ts_corr(close, volume, 10))",
    "group_rank(ts_delta(returns, 5), industry)",
    "zscore(ts_backfill(bookvalue, 252) / cap)",
    "rank(ts_decay_linear(ts_backfill(vec_avg(sentiment_events), 60), 5))",
    "group_neutralize(ts_std_dev(returns, 20), sector) > 0 ? rank(volume) : -rank(adv20)",
)


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(60, 400, seed=1)


@pytest.fixture(scope="module")
def library(panel: Panel) -> list[str]:
    """Lint-clean parents: the template library's first fills on this catalogue, plus FIXED."""
    fills = [f.render(c, panel.catalogue) for f in TEMPLATE_FAMILIES if (c := f.first_fill(panel.catalogue))]
    return [e for e in [*fills, *FIXED] if not _errors(e, panel)]


def _ctx(panel: Panel, seed: int, **kw: object) -> GenerationContext:
    return GenerationContext(panel.catalogue, panel.n_days, Settings(universe="TOP60"), np.random.default_rng(seed),
                             **kw)  # type: ignore[arg-type]


def _errors(expr: object, panel: Panel, *, ignore: tuple[str, ...] = ()) -> list[str]:
    return [d.code for d in check(expr, panel.catalogue, n_days=panel.n_days)  # type: ignore[arg-type]
            if d.severity == "error" and d.code not in ignore]


def _parents(exprs: list[str], rng: np.random.Generator, first_id: int = 1) -> list[Parent]:
    s = Settings(universe="TOP60")
    return [Parent(e, s, float(rng.normal()), candidate_id=first_id + i, run_id="r0") for i, e in enumerate(exprs)]


# ------------------------------------------------------------------------------------- the generator
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
       pool=st.lists(st.integers(0, 10_000), max_size=4))
def test_every_offspring_is_lint_clean_and_new(panel: Panel, library: list[str], seed: int, picks: list[int],
                                               pool: list[int]) -> None:
    rng = np.random.default_rng(seed)
    parents = _parents([library[i % len(library)] for i in picks], rng)
    ready = _parents([library[i % len(library)] for i in pool], rng, first_id=100)
    out = EvolutionGenerator(parents, ready).generate(_ctx(panel, seed), 8)
    known = {as_node(p.expression) for p in [*parents, *ready]}
    by_id = {p.candidate_id: p for p in [*parents, *ready]}
    keys = set()
    for c in out:
        assert not _errors(c.expression, panel), c.expression
        move = c.generator.removeprefix("evolve:")
        assert move in MOVES and c.strategy == move == c.params["op"]
        assert c.parent_id == c.params["parents"][0] and c.parent_id in {p.candidate_id for p in parents}
        assert len(c.params["parents"]) == (2 if move == "crossover" else 1)
        assert c.params["runs"] == [by_id[i].run_id for i in c.params["parents"]]
        assert as_node(c.expression) not in known and not is_trivial(c.expression)
        assert double_wraps(c.expression) <= max(double_wraps(by_id[i].expression) for i in c.params["parents"])
        keys.add((c.expression, c.settings.key()))
    assert len(keys) == len(out) <= 8
    scores = [c.params["score"] for c in out]
    assert scores == sorted(scores, reverse=True)


def test_same_seed_same_offspring(panel: Panel, library: list[str]) -> None:
    parents = _parents(library[:12], np.random.default_rng(0))
    gen = EvolutionGenerator(parents, parents[8:])
    runs = [[(c.expression, c.generator, dict(c.params)) for c in gen.generate(_ctx(panel, s), 15)] for s in (3, 3, 4)]
    assert runs[0] == runs[1] and len(runs[0]) == 15
    assert runs[0] != runs[2]


def test_thesis_settings_and_tags_come_from_the_primary_parent(panel: Panel, library: list[str]) -> None:
    from alphamine.generate.thesis import thesis_for

    thesis = thesis_for("momentum")
    s = Settings(universe="TOP60", decay=6)
    parent = Parent(library[0], s, 1.0, candidate_id=7, run_id="old", thesis=thesis, tags=("template",))
    out = EvolutionGenerator([parent]).generate(_ctx(panel, 1), 10)
    assert out
    for c in out:
        assert c.thesis == thesis and c.settings == s and c.tags == ("template", "evolve")
        assert c.parent_id == 7 and c.params["runs"][0] == "old"


def test_novelty_ranking_prefers_structurally_distant_offspring(panel: Panel) -> None:
    s = Settings(universe="TOP60")
    parents = [Parent("rank(ts_mean(close, 20) - ts_mean(open, 60))", s, 1.0, candidate_id=1)]
    ready = [Parent("rank(ts_mean(close, 20) - ts_mean(open, 40))", s, 1.0, candidate_id=2),
             Parent("zscore(ts_mean(close, 20))", s, 1.0, candidate_id=3)]
    kw = {"novelty_weight": 1.0, "correlation_penalty": 0.0}
    everything = EvolutionGenerator(parents, ready, oversample=1, **kw).generate(_ctx(panel, 5), 30)
    top = EvolutionGenerator(parents, ready, oversample=10, **kw).generate(_ctx(panel, 5), 3)
    assert len(everything) == 30
    distance = {c.expression: min(structural_distance(c.expression, r.expression) for r in ready) for c in everything}
    for c in everything:  # equal fitness: the score is the distance to the nearest ready alpha
        assert c.params["novelty"] == pytest.approx(distance[c.expression], abs=1e-6)
        assert c.params["score"] == pytest.approx(c.params["fitness"] * distance[c.expression], abs=1e-6)
    assert [c.expression for c in top] == [c.expression for c in everything[:3]]
    assert min(distance[c.expression] for c in top) >= max(distance[c.expression] for c in everything[3:])


def test_pnl_correlation_of_the_parents_to_the_pool_is_a_penalty(panel: Panel) -> None:
    s = Settings(universe="TOP60")
    dates = np.datetime64("2015-01-01") + np.arange(200)
    rng = np.random.default_rng(0)
    crowded, fresh = rng.normal(size=200), rng.normal(size=200)
    ready = [Parent("zscore(ts_delta(vwap, 5))", s, 1.0, candidate_id=9, pnl=(dates, crowded))]
    parents = [Parent("rank(ts_mean(close, 20))", s, 1.0, candidate_id=1, pnl=(dates, crowded + 0.01 * fresh)),
               Parent("rank(ts_mean(volume, 20))", s, 1.0, candidate_id=2, pnl=(dates, fresh))]
    moves = {"mutate_window": 1.0}
    out = EvolutionGenerator(parents, ready, move_weights=moves).generate(_ctx(panel, 2), 10)
    pen = {c.parent_id: c.params["novelty"] / min(structural_distance(c.expression, r.expression) for r in ready)
           for c in out}
    assert pen[1] == pytest.approx(1 - 0.5 * np.corrcoef(crowded, crowded + 0.01 * fresh)[0, 1], abs=1e-4)
    assert pen[2] > 0.9


def test_no_parents_or_no_budget_gives_nothing(panel: Panel) -> None:
    assert EvolutionGenerator([]).generate(_ctx(panel, 0), 5) == []
    assert EvolutionGenerator(_parents(list(FIXED), np.random.default_rng(0))).generate(_ctx(panel, 0), 0) == []
    with pytest.raises(ValueError):
        EvolutionGenerator([], move_weights={"teleport": 1.0})


# ------------------------------------------------------------------------------------- the moves
def test_signature_classes_come_from_the_declarations() -> None:
    classes = signature_classes(OPS)
    assert {"ts_median", "ts_sum", "ts_std_dev"} <= set(classes["ts_mean"])
    assert "group_zscore" in classes["group_rank"] and "rank" not in classes.get("ts_mean", ())
    assert not NOT_SWAPPED & set(classes)
    for name, others in classes.items():
        assert name not in others
        assert all(signature_key(OPS[o]) == signature_key(OPS[name]) for o in others)


@pytest.mark.parametrize("seed", range(40))
def test_operator_swap_keeps_the_signature_class(library: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    old = as_node(library[seed % len(library)])
    new = mutate_operator(old, rng, OPS)
    symbols = symbol_table(OPS)
    if new is None:  # nothing swappable in this tree
        assert not {operator_name(n, symbols) for n in walk(old)} & set(signature_classes(OPS))
        return
    pairs = [(operator_name(a, symbols), operator_name(b, symbols)) for a, b in zip(walk(old), walk(new), strict=True)]
    changed = [(a, b) for a, b in pairs if a != b]
    assert len(changed) == 1
    a, b = changed[0]
    assert a is not None and b is not None and signature_key(OPS[a]) == signature_key(OPS[b])
    assert a not in NOT_SWAPPED and b not in NOT_SWAPPED


@pytest.mark.parametrize("seed", range(40))
def test_window_mutation_stays_on_the_grid_and_within_history(panel: Panel, library: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    old = as_node(library[seed % len(library)])
    n_days = 130  # tight: nested windows must still fit
    new = mutate_window(old, rng, n_days=n_days, catalogue=panel.catalogue, operators=OPS)
    if new is None:
        return
    before, after = lookbacks(old, OPS), lookbacks(new, OPS)
    moved = [(u, v) for u, v in zip(before, after, strict=True) if u.value != v.value]
    assert len(moved) == 1
    u, v = moved[0]
    assert v.operator not in BACKFILL_OPS and v.value in WINDOW_GRID and v.value in grid_neighbours(u.value)
    assert v.value <= n_days
    if infer(old, panel.catalogue, operators=OPS).lookback <= n_days:
        assert infer(new, panel.catalogue, operators=OPS).lookback <= n_days


def test_window_grid_neighbours() -> None:
    assert grid_neighbours(20) == [10, 40] and grid_neighbours(21) == [20, 40] and grid_neighbours(252) == [250]
    assert grid_neighbours(1) == [3]


@pytest.mark.parametrize("seed", range(40))
def test_field_swap_keeps_type_and_unit(panel: Panel, library: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    cat = panel.catalogue
    old = library[seed % len(library)]
    new = mutate_field(old, rng, cat)
    if new is None:
        return
    gone = set(fields_used(as_node(old), cat)) - set(fields_used(new, cat))
    came = set(fields_used(new, cat)) - set(fields_used(as_node(old), cat))
    assert len(gone) == len(came) == 1  # every read of the field swapped, for a field not read before
    a, b = cat[gone.pop()], cat[came.pop()]
    assert (a.type, a.unit, is_fundamental(a)) == (b.type, b.unit, is_fundamental(b))
    assert b.name != "market"


def test_field_swap_avoids_fields(panel: Panel) -> None:
    others = {"open", "high", "low"}
    for seed in range(20):
        new = mutate_field("rank(close - ts_mean(close, 5))", np.random.default_rng(seed), panel.catalogue,
                           avoid=others)
        assert new is not None and fields_used(new, panel.catalogue) == ["vwap"]


@pytest.mark.parametrize("seed", range(60))
def test_crossover_respects_types(panel: Panel, library: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = library[seed % len(library)]
    b = library[(7 * seed + 3) % len(library)]
    child = subtree_crossover(a, b, rng, panel.catalogue, OPS)
    if child is None:
        return
    assert not _errors(child, panel, ignore=("LOOKBACK_TOO_LONG",))  # types, kinds, groups, vectors all fine
    allowed = {ArgKind.SERIES: {ValueType.MATRIX, ValueType.CONSTANT}, ArgKind.GROUP: {ValueType.GROUP},
               ArgKind.VECTOR: {ValueType.VECTOR}}
    for path, kind in typed_slots(child, OPS):
        if kind in allowed:
            assert infer(get(child, path), panel.catalogue, operators=OPS).type in allowed[kind]


def test_crossover_never_donates_constants_or_crosses_kinds(panel: Panel) -> None:
    a = "group_rank(ts_mean(close, 20) - open, industry)"
    for seed in range(30):
        child = subtree_crossover(a, "ts_sum(volume, 7) * 3 + group_neutralize(returns, sector)",
                                  np.random.default_rng(seed), panel.catalogue, OPS)
        assert child is not None and not _errors(child, panel)
        numbers = {n.value for n in walk(child) if isinstance(n, Number)}
        assert numbers <= {20.0, 7.0, 3.0} and (3.0 not in numbers or 7.0 in numbers)  # 3 only with its ts_sum
        assert isinstance(child, Call) and child.args[1] in (Name("industry"), Name("sector"))  # GROUP slot
    assert subtree_crossover("rank(close)", "5", np.random.default_rng(0), panel.catalogue, OPS) is None


def test_wrappers_are_added_and_removed_without_double_normalizing(panel: Panel, library: list[str]) -> None:
    for seed in range(40):
        rng = np.random.default_rng(seed)
        e = library[seed % len(library)]
        for new in (add_wrapper(e, rng, panel.catalogue, OPS), remove_wrapper(e, rng)):
            if new is not None:
                assert double_wraps(new) <= double_wraps(e) and not is_trivial(new)
    for seed in range(20):
        new = add_wrapper("rank(close)", np.random.default_rng(seed), panel.catalogue, OPS)
        assert new is not None and double_wraps(new) == 0
    assert remove_wrapper("rank(close)", np.random.default_rng(0)) is None
    assert double_wraps("rank(-zscore(close))") == 1 and double_wraps("rank(ts_mean(zscore(close), 5))") == 0


def test_structural_distance() -> None:
    assert structural_distance("rank(close - open)", "rank(close - open)") == 0.0
    assert structural_distance("rank(open * close)", "rank(close * open)") == 0.0  # canonical spelling
    near = structural_distance("rank(ts_mean(close, 20) - open)", "rank(ts_mean(close, 40) - open)")
    far = structural_distance("rank(ts_mean(close, 20) - open)", "zscore(ts_std_dev(volume, 5))")
    assert 0.0 < near < far <= 1.0
    assert structural_distance("close", "volume") == 1.0

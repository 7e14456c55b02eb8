"""Cross-sectional / group operators: registry sanity, the kernel calling contract, and hypothesis
properties (rank bounds and monotonicity, neutralization, scale, no mixing across days)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cross_common import cs_data, grp_data

from alphamine.data.fields import FieldType
from alphamine.ops.registry import REGISTRY, ArgKind, Category, Operator

CROSS = ["rank", "zscore", "normalize", "scale", "scale_down", "quantile", "winsorize", "truncate",
         "rank_by_side", "regression_neut", "regression_proj", "vector_neut", "vector_proj"]
GROUP = ["group_neutralize", "group_rank", "group_zscore", "group_scale", "group_mean", "group_median",
         "group_max", "group_min", "group_sum", "group_std_dev", "group_count", "group_backfill",
         "group_normalize", "group_cartesian_product", "group_coalesce", "group_vector_neut",
         "group_vector_proj"]
NAMES = CROSS + GROUP
OVERRIDES: dict[str, dict[str, Any]] = {
    "normalize": {"useStd": True, "limit": 1.0},
    "scale": {"longscale": 2.0},
    "winsorize": {"std": 1.0},
    "truncate": {"maxPercent": 0.1},
    "group_backfill": {"d": 3, "std": 1.0},
    "group_normalize": {"constantCheck": True},
    "quantile": {"driver": "cauchy"},
}
PROP = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _call(op: Operator, x: np.ndarray, y: np.ndarray, g: np.ndarray, g2: np.ndarray) -> np.ndarray:
    series, groups = iter([x, y]), iter([g, g2])
    consts = {p.name: p.default for p in op.params if p.kind.is_constant}
    consts.update({p.name: 5 for p in op.params if p.kind == ArgKind.LOOKBACK})
    consts.update(OVERRIDES.get(op.name, {}))
    args = [next(series) if p.kind == ArgKind.SERIES else next(groups) if p.kind == ArgKind.GROUP
            else consts[p.name] for p in op.params]
    return op.kernel(*args)


def _inputs(seed: int, T: int = 16, N: int = 11) -> tuple[np.ndarray, ...]:
    x = cs_data(seed, T=T, N=N)
    y = cs_data(seed + 1, T=T, N=N)
    return x, y, grp_data(seed, T=T, N=N), np.random.default_rng(seed).integers(-1, 3, (T, N)).astype(np.int32)


# ------------------------------------------------------------------------------------------ registry
def test_all_registered_with_docs_and_categories() -> None:
    mine = {n for n, o in REGISTRY.items() if o.kernel.__module__.startswith("alphamine.ops.cross")}
    assert mine == set(NAMES)
    for name in NAMES:
        op = REGISTRY[name]
        assert op.category == (Category.CROSS_SECTIONAL if name in CROSS else Category.GROUP)
        assert len(op.doc) > 60, name
        assert "NaN" in op.doc or op.output == FieldType.GROUP, name
        kinds = [p.kind for p in op.params]
        if name in GROUP and name not in ("group_cartesian_product", "group_coalesce"):
            assert kinds.count(ArgKind.GROUP) == 1 and op.param("group") is not None, name
    assert REGISTRY["group_cartesian_product"].output == FieldType.GROUP
    assert REGISTRY["group_coalesce"].output == FieldType.GROUP
    assert REGISTRY["group_coalesce"].variadic_index == 1
    assert REGISTRY["group_backfill"].time_series
    assert REGISTRY["group_backfill"].lookback({"d": 20, "std": 4.0}) == 20
    units = {"rank": "dimensionless", "zscore": "dimensionless", "quantile": "dimensionless",
             "group_rank": "dimensionless", "group_zscore": "dimensionless", "scale": "dimensionless",
             "group_neutralize": "first", "group_mean": "first", "group_median": "first", "group_max": "first",
             "group_min": "first", "group_sum": "first", "winsorize": "first", "truncate": "first",
             "regression_neut": "first", "vector_neut": "first", "normalize": "first"}
    for name, unit in units.items():
        assert REGISTRY[name].unit_rule == unit, name


# -------------------------------------------------------------------------------- calling contract
@pytest.mark.parametrize("name", NAMES)
def test_contract_readonly_broadcast_fresh_output(name: str) -> None:
    op = REGISTRY[name]
    x, y, g, g2 = _inputs(3)
    want = _call(op, x, y, g, g2)
    ro = [a.copy() for a in (x, y, g, g2)]
    for a in ro:
        a.setflags(write=False)
    fortran = [np.asfortranarray(a) for a in (x, y, g, g2)]
    for args in (ro, fortran):
        out = _call(op, *args)
        assert out.flags.c_contiguous and out.flags.writeable and out.shape == x.shape
        assert out.dtype == (np.int32 if op.output == FieldType.GROUP else np.float64)
        np.testing.assert_array_equal(out, want)
    for a, b in zip(ro, (x, y, g, g2), strict=True):
        np.testing.assert_array_equal(a, b)  # inputs untouched
    # a broadcast literal works and gives the same as its materialized copy
    lit = np.broadcast_to(2.5, x.shape)
    glit = np.broadcast_to(np.int32(1), x.shape)
    if op.output == FieldType.GROUP:
        np.testing.assert_array_equal(_call(op, x, y, glit, g2), _call(op, x, y, glit.copy(), g2))
    else:
        np.testing.assert_array_equal(_call(op, lit, y, g, g2), _call(op, lit.copy(), y, g, g2))
        np.testing.assert_array_equal(_call(op, x, lit, g, g2), _call(op, x, lit.copy(), g, g2))


def test_empty_shapes() -> None:
    for name in NAMES:
        op = REGISTRY[name]
        for shape in ((0, 5), (4, 0)):
            x = np.zeros(shape)
            g = np.zeros(shape, np.int32)
            assert _call(op, x, x, g, g).shape == shape, name


# ------------------------------------------------------------------------------------ properties
finite = st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 1))
cell = st.one_of(finite, st.just(np.nan), st.sampled_from([0.0, 1.0, -1.0]))


@st.composite
def matrices(draw: st.DrawFn, max_t: int = 6, max_n: int = 9) -> np.ndarray:
    T = draw(st.integers(1, max_t))
    N = draw(st.integers(1, max_n))
    return np.array(draw(st.lists(cell, min_size=T * N, max_size=T * N)), dtype=float).reshape(T, N)


@PROP
@given(matrices())
def test_rank_in_unit_interval_and_monotone(x: np.ndarray) -> None:
    r = REGISTRY["rank"].kernel(x)
    np.testing.assert_array_equal(np.isnan(r), np.isnan(x))
    v = r[~np.isnan(r)]
    assert ((v >= 0) & (v <= 1)).all()
    for t in range(x.shape[0]):
        ok = ~np.isnan(x[t])
        a, b = x[t, ok], r[t, ok]
        less = a[:, None] < a[None, :]
        assert (b[:, None] < b[None, :])[less].all()
        assert (b[:, None] == b[None, :])[a[:, None] == a[None, :]].all()


@PROP
@given(matrices(), st.data())
def test_group_neutralize_sums_to_zero(x: np.ndarray, data: st.DataObject) -> None:
    g = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=x.size, max_size=x.size)), np.int32)
    g = g.reshape(x.shape)
    out = REGISTRY["group_neutralize"].kernel(x, g)
    assert np.isnan(out[(g < 0) | np.isnan(x)]).all()
    for t in range(x.shape[0]):
        for c in range(4):
            sel = (g[t] == c) & ~np.isnan(x[t])
            if sel.any():
                assert abs(out[t, sel].sum()) <= 1e-9 * max(1.0, np.abs(x[t, sel]).sum())


@PROP
@given(matrices(), st.floats(0.1, 10))
def test_scale_gives_unit_book(x: np.ndarray, s: float) -> None:
    out = REGISTRY["scale"].kernel(x, s)
    for t in range(x.shape[0]):
        ok = ~np.isnan(x[t])
        if np.abs(x[t, ok]).sum() == 0:
            assert np.isnan(out[t]).all()
        else:
            assert np.abs(out[t, ok]).sum() == pytest.approx(s, rel=1e-9)


def _partition(codes: np.ndarray) -> list[list[int]]:
    """A row's grouping as label-free equivalence classes (plus the no-group cells)."""
    classes: dict[int, list[int]] = {}
    for i, c in enumerate(codes.tolist()):
        classes.setdefault(c if c >= 0 else -1 - i, []).append(i)
    return sorted(classes.values())


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), s=st.integers(0, 9))
def test_rows_never_mix(name: str, seed: int, s: int) -> None:
    """Changing row s changes no other row (group_backfill: no earlier row, i.e. no look-ahead). Group
    outputs are compared as partitions: their labels are dense over the whole panel."""
    op = REGISTRY[name]
    x, y, g, g2 = _inputs(seed % 7, T=10, N=8)
    base = _call(op, x, y, g, g2)
    rng = np.random.default_rng(seed)
    x2, y2, ga, gb = x.copy(), y.copy(), g.copy(), g2.copy()
    x2[s] = np.round(rng.standard_normal(x.shape[1]) * 3, 1)
    x2[s, rng.random(x.shape[1]) < 0.3] = np.nan
    y2[s] = rng.standard_normal(x.shape[1])
    ga[s] = rng.integers(-1, 6, x.shape[1])
    gb[s] = rng.integers(-1, 6, x.shape[1])
    out = _call(op, x2, y2, ga, gb)
    other = np.arange(x.shape[0]) < s if op.time_series else np.arange(x.shape[0]) != s
    if op.output == FieldType.GROUP:
        for t in np.flatnonzero(other):
            assert _partition(out[t]) == _partition(base[t])
    else:
        np.testing.assert_array_equal(out[other], base[other])

"""bucket, densify, tail, left_tail, right_tail, clamp: worked examples, references and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_elem_common import INF, NAN, assert_same, cellwise, check_fresh, elem_data, kernel, readonly

from alphamine.ops.elementwise.transform import bucket_boundaries
from conftest import make_groups


def bucket(x: np.ndarray, range: str = "", buckets: str = "", skipBegin: bool = False,
           skipEnd: bool = False, skipBoth: bool = False, NANGroup: bool = False) -> np.ndarray:
    return kernel("bucket")(np.asarray(x, dtype=np.float64), range, buckets, skipBegin, skipEnd, skipBoth,
                            NANGroup)


def codes(*v: int) -> np.ndarray:
    return np.array([v], dtype=np.int32)


def row(*v: float) -> np.ndarray:
    return np.array([v], dtype=np.float64)


def test_bucket_registry_and_article_examples() -> None:
    np.testing.assert_array_equal(bucket(row(-1, 3, 6, 8, 12), buckets="2,5,6,7,10"), codes(0, 1, 2, 4, 5))
    np.testing.assert_array_equal(bucket(row(0.05, 0.5, 0.9), range="0.1,1,0.1"), codes(0, 4, 8))
    np.testing.assert_array_equal(bucket(row(0.1, 0.3, 0.6, 0.8), buckets="0.2,0.5,0.7"), codes(0, 1, 2, 3))
    # range "0, 1, 0.1": boundaries 0, 0.1, ..., 1 → rank values use codes 0..10
    np.testing.assert_array_equal(bucket(row(0, 0.05, 0.3, 1.0, 1.2), range="0, 1, 0.1"), codes(0, 1, 3, 10, 11))


def test_bucket_skips_and_nan_group() -> None:
    x = row(-1, 3, 6, 8, 12, NAN, -INF, INF, 10, 2)
    b = "2,5,6,7,10"
    np.testing.assert_array_equal(bucket(x, buckets=b), codes(0, 1, 2, 4, 5, -1, 0, 5, 4, 0))
    np.testing.assert_array_equal(bucket(x, buckets=b, NANGroup=True), codes(0, 1, 2, 4, 5, 6, 0, 5, 4, 0))
    np.testing.assert_array_equal(bucket(x, buckets=b, skipBegin=True), codes(-1, 0, 1, 3, 4, -1, -1, 4, 3, -1))
    np.testing.assert_array_equal(bucket(x, buckets=b, skipEnd=True, NANGroup=True),
                                  codes(0, 1, 2, 4, -1, 5, 0, -1, 4, 0))
    both = codes(-1, 0, 1, 3, -1, 4, -1, -1, 3, -1)
    np.testing.assert_array_equal(bucket(x, buckets=b, skipBoth=True, NANGroup=True), both)
    np.testing.assert_array_equal(bucket(x, buckets=b, skipBegin=True, skipEnd=True, NANGroup=True), both)


def test_bucket_boundaries_and_errors() -> None:
    np.testing.assert_array_equal(bucket_boundaries("0.1,1,0.1"), np.round(np.arange(1, 11) / 10, 12))
    np.testing.assert_array_equal(bucket_boundaries("0, 1, 0.3"), [0, 0.3, 0.6, 0.9, 1.0])
    np.testing.assert_array_equal(bucket_boundaries(buckets="1 2 4"), [1, 2, 4])
    for kw in ({}, {"range_spec": "0,1,0.1", "buckets": "1,2"}, {"range_spec": "0,1"}, {"range_spec": "1,0,0.1"},
               {"range_spec": "0,1,0"}, {"buckets": "1,1,2"}, {"buckets": "3,2"}, {"buckets": "a,b"}):
        with pytest.raises(ValueError):
            bucket_boundaries(**kw)


def _ref_code(v: float, b: list[float], skip_begin: bool, skip_end: bool, nan_group: bool) -> int:
    n = len(b)
    if math.isnan(v):
        return n + 1 - skip_begin - skip_end if nan_group else -1
    c = sum(1 for e in b if e < v)  # number of boundaries strictly below v
    if (skip_begin and c == 0) or (skip_end and c == n):
        return -1
    return c - skip_begin


@pytest.mark.parametrize(
    "flags", [(False, False, False), (True, False, True), (False, True, False), (True, True, True)]
)
def test_bucket_matches_reference(flags: tuple[bool, bool, bool]) -> None:
    sb, se, ng = flags
    x = readonly(np.clip(elem_data(20), -3, 3))
    for spec in ({"range": "-1,1,0.25"}, {"buckets": "-0.5,0,0.1,1.5"}):
        out = bucket(x, **spec, skipBegin=sb, skipEnd=se, NANGroup=ng)
        b = list(bucket_boundaries(spec.get("range", ""), spec.get("buckets", "")))
        expect = np.vectorize(lambda v, b=b: _ref_code(float(v), b, sb, se, ng))(x)
        np.testing.assert_array_equal(out, expect)
        check_fresh(out, x, dtype=np.int32)


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(np.float64, (4, 6), elements=st.floats(-5, 5) | st.just(NAN) | st.just(INF)),
    edges=st.lists(st.floats(-4, 4, allow_subnormal=False), min_size=1, max_size=6, unique=True),
    sb=st.booleans(), se=st.booleans(), ng=st.booleans(),
)
def test_bucket_codes_are_in_range(x: np.ndarray, edges: list[float], sb: bool, se: bool, ng: bool) -> None:
    b = sorted(edges)
    out = bucket(x, buckets=",".join(repr(e) for e in b), skipBegin=sb, skipEnd=se, NANGroup=ng)
    n_buckets = len(b) + 1 - sb - se
    assert out.dtype == np.int32
    assert out.min() >= -1 and out.max() <= n_buckets - (0 if ng else 1)
    assert np.array_equal(out == n_buckets, np.isnan(x) & ng)
    ok = ~np.isnan(x) & (out >= 0)
    # codes are monotone in x among grouped cells
    xs, cs = x[ok], out[ok]
    order = np.argsort(xs, kind="stable")
    assert np.all(np.diff(cs[order]) >= 0)


def _ref_densify(g: np.ndarray) -> np.ndarray:
    out = np.full(g.shape, -1, dtype=np.int32)
    for t in range(g.shape[0]):
        present = sorted({int(c) for c in g[t] if c >= 0})
        for j, c in enumerate(g[t]):
            if c >= 0:
                out[t, j] = present.index(int(c))
    return out


def test_densify_matches_reference_and_example() -> None:
    g = make_groups(3, T=20, N=9, n_groups=4) * 7 + 2  # sparse codes
    g[g < 0] = -1
    g[5] = -1  # a day without groups
    g[6, :3] = [-5, 99, 1000]
    g = readonly(g.astype(np.int32))
    out = kernel("densify")(g)
    np.testing.assert_array_equal(out, _ref_densify(g))
    check_fresh(out, g, dtype=np.int32)
    np.testing.assert_array_equal(kernel("densify")(np.array([[0, 1, 2, 99, 2]], dtype=np.int32)),
                                  codes(0, 1, 2, 3, 2))
    np.testing.assert_array_equal(kernel("densify")(np.full((2, 3), -1, dtype=np.int32)), np.full((2, 3), -1))


@settings(max_examples=60, deadline=None)
@given(g=arrays(np.int32, (5, 7), elements=st.integers(-3, 50)))
def test_densify_gives_zero_to_n_minus_one(g: np.ndarray) -> None:
    out = kernel("densify")(g)
    assert np.array_equal(out < 0, g < 0)
    for t in range(g.shape[0]):
        n = len(set(g[t][g[t] >= 0].tolist()))
        assert set(out[t][out[t] >= 0].tolist()) == set(range(n))
        # same code ↔ same densified code, and order preserved
        valid = g[t] >= 0
        a, d = g[t][valid], out[t][valid]
        assert np.array_equal(np.sign(a[:, None] - a[None, :]), np.sign(d[:, None] - d[None, :]))


def test_tails_and_clamp_examples() -> None:
    x = row(0.1, 0.3, 0.5, 0.7, 0.9, NAN)
    assert_same(kernel("left_tail")(x, 0.5), row(0.1, 0.3, 0.5, NAN, NAN, NAN))
    assert_same(kernel("right_tail")(x, 0.5), row(NAN, NAN, 0.5, 0.7, 0.9, NAN))
    assert_same(kernel("tail")(x, 0.3, 0.7, 0.0), row(0.1, 0.3, 0, 0.7, 0.9, NAN))
    assert_same(kernel("tail")(x, 0.3, 0.7, NAN), row(0.1, 0.3, NAN, 0.7, 0.9, NAN))
    assert_same(kernel("clamp")(x, 0.3, 0.7), row(0.3, 0.3, 0.5, 0.7, 0.7, NAN))
    assert_same(kernel("clamp")(x, 0.3, 0.7, True), row(0.1, 0.3, NAN, 0.7, 0.9, NAN))
    assert_same(kernel("clamp")(x, 0.3, 0.7, True, 9.0), row(0.1, 0.3, 9, 0.7, 0.9, NAN))
    assert_same(kernel("clamp")(row(-INF, INF), -1.0, 1.0), row(-1, 1))
    with pytest.raises(ValueError, match="lower <= upper"):
        kernel("clamp")(x, 1.0, 0.0)


def test_tails_and_clamp_match_reference() -> None:
    x = readonly(elem_data(21))
    lo, hi = -0.5, 0.8
    assert_same(kernel("tail")(x, lo, hi, 7.0), cellwise(lambda a: 7.0 if lo < a < hi else a, x))
    assert_same(kernel("left_tail")(x, hi), cellwise(lambda a: NAN if a > hi else a, x))
    assert_same(kernel("right_tail")(x, lo), cellwise(lambda a: NAN if a < lo else a, x))
    assert_same(kernel("clamp")(x, lo, hi),
                cellwise(lambda a: a if math.isnan(a) else min(max(a, lo), hi), x))
    out = kernel("clamp")(x, lo, hi, True, -9.0)
    assert_same(out, cellwise(lambda a: -9.0 if lo < a < hi else a, x))
    check_fresh(out, x)

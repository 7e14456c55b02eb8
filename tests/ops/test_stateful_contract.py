"""Contract of the stateful operators: registration, kernel calling contract (read-only / broadcast
inputs, fresh C-contiguous float64 output, inputs untouched) and no look-ahead (hypothesis)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphamine.ops.registry import REGISTRY, REQUIRED, ArgKind, Category, EvalContext, Operator

EXPECTED: dict[str, Category] = {
    **{
        name: Category.TIME_SERIES
        for name in (
            "ts_backfill",
            "kth_element",
            "last_diff_value",
            "days_from_last_change",
            "ts_step",
            "hump",
            "hump_decay",
            "jump_decay",
            "ts_delta_limit",
            "ts_target_tvr_decay",
            "ts_target_tvr_delta_limit",
            "ts_target_tvr_hump",
            "inst_tvr",
            "ts_weighted_decay",
        )
    },
    "trade_when": Category.TRANSFORMATIONAL,
    "keep": Category.TRANSFORMATIONAL,
    "filter": Category.TRANSFORMATIONAL,
}
NAMES = sorted(EXPECTED)

# non-default constants that exercise each operator's interesting branch
OVERRIDES: dict[str, dict[str, Any]] = {
    "ts_step": {"c": 1.0},
    "hump": {"hump": 0.02},
    "hump_decay": {"p": 0.3},
    "ts_delta_limit": {"limit_volume": 0.2},
    "filter": {"h": "0.5,0.3,0.2", "t": "0.4,-0.1"},
    "ts_target_tvr_decay": {"target_tvr": 0.2},
    "ts_target_tvr_hump": {"lambda_max": 0.05, "target_tvr": 0.2},
    "ts_target_tvr_delta_limit": {"target_tvr": 0.2},
}


def _mine() -> dict[str, Operator]:
    return {n: o for n, o in REGISTRY.items() if o.kernel.__module__.startswith("alphamine.ops.stateful")}


def _call(op: Operator, series_args: list[np.ndarray], consts: dict[str, Any], shape: tuple[int, int]) -> np.ndarray:
    it = iter(series_args)
    args = [next(it) if p.kind == ArgKind.SERIES else consts[p.name] for p in op.params]
    kwargs: dict[str, Any] = {"ctx": EvalContext(shape=shape)} if op.needs_context else {}
    return op.kernel(*args, **kwargs)


def _consts(op: Operator, d: int, k: int, flag: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in op.params:
        if p.kind == ArgKind.LOOKBACK:
            out[p.name] = d
        elif p.kind == ArgKind.INT:
            out[p.name] = k
        elif p.kind == ArgKind.BOOL:
            out[p.name] = flag
        elif p.kind != ArgKind.SERIES:
            out[p.name] = p.default
    out.update(OVERRIDES.get(op.name, {}))
    return out


def _inputs(series, op: Operator, seed: int, T: int, N: int) -> list[np.ndarray]:
    n = sum(p.kind == ArgKind.SERIES for p in op.params)
    xs = [series(seed=seed + 31 * i, T=T, N=N, nan_frac=0.2) for i in range(n)]
    if op.name == "trade_when":
        xs[0] -= 0.5
        xs[2] -= 1.0
    return xs


def test_exactly_the_expected_operators_are_registered() -> None:
    mine = _mine()
    assert set(mine) == set(EXPECTED)
    for name, op in mine.items():
        assert op.category == EXPECTED[name], name
        assert op.time_series, name
        assert len(op.doc.strip()) > 40, name
        assert op.assumptions, f"{name}: list the semantic choices"
        assert op.examples, name
        defaults = {p.name: p.default for p in op.params if p.default is not REQUIRED}
        consts = {**defaults, **{p.name: 5 for p in op.params if p.kind == ArgKind.LOOKBACK}}
        assert op.lookback(consts) >= 0
        if any(p.kind == ArgKind.LOOKBACK and p.name == "d" for p in op.params):
            assert op.lookback({**consts, "d": 7}) == 7


def test_ts_backfill_binds_positional_and_brain_keyword_window() -> None:
    op = REGISTRY["ts_backfill"]
    assert op.bind(["x", 60], {}) == {"x": "x", "lookback": 60}
    assert op.bind(["x"], {"lookback": 60}) == {"x": "x", "lookback": 60}
    assert op.bind(["x", 60], {"k": 2, "ignore": "NAN"})["k"] == 2


@pytest.mark.parametrize("name", NAMES)
def test_kernel_contract_readonly_broadcast_and_untouched_inputs(series, name: str) -> None:
    op = REGISTRY[name]
    T, N = 25, 7
    xs = _inputs(series, op, 3, T, N)
    consts = _consts(op, 4, 2, True)
    expected = _call(op, [x.copy() for x in xs], consts, (T, N))
    # read-only, non-contiguous views (Fortran order, reversed columns) and a broadcast literal
    views = []
    for i, x in enumerate(xs):
        v = np.asfortranarray(x[:, ::-1])[:, ::-1]
        if i == len(xs) - 1 and i > 0:
            v = np.broadcast_to(x[3], (T, N))
            expected = _call(op, [*[a.copy() for a in xs[:-1]], np.ascontiguousarray(v)], consts, (T, N))
        v.flags.writeable = False
        views.append(v)
    before = [v.copy() for v in views]
    got = _call(op, views, consts, (T, N))
    assert got.shape == (T, N) and got.dtype == np.float64
    assert got.flags.c_contiguous and got.flags.writeable  # numba-owned buffer: owndata is False
    assert all(not np.shares_memory(got, v) for v in views)
    np.testing.assert_array_equal(got, expected)
    for v, b in zip(views, before, strict=True):
        np.testing.assert_array_equal(v, b)
    # every input a broadcast literal row (zero strides, read-only)
    lits = [np.broadcast_to(x[2], (T, N)) for x in xs]
    np.testing.assert_array_equal(_call(op, lits, consts, (T, N)),
                                  _call(op, [np.ascontiguousarray(v) for v in lits], consts, (T, N)))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_look_ahead(series, name: str, data: st.DataObject) -> None:
    op = REGISTRY[name]
    T = data.draw(st.integers(1, 24), label="T")
    N = data.draw(st.integers(1, 8), label="N")
    cut = data.draw(st.integers(0, T - 1), label="cut")
    seed = data.draw(st.integers(0, 10_000), label="seed")
    consts = _consts(
        op,
        d=data.draw(st.integers(1, 8), label="d"),
        k=data.draw(st.integers(1, 3), label="k"),
        flag=data.draw(st.booleans(), label="flag"),
    )
    xs = _inputs(series, op, seed, T, N)
    base = _call(op, xs, consts, (T, N))
    # 1. changing every row after `cut` (values, NaNs, infinities) leaves rows <= cut unchanged
    rng = np.random.default_rng(seed + 1)
    changed = []
    for x in xs:
        y = x.copy()
        tail = rng.standard_normal((T - cut - 1, N)) * 10
        tail[rng.random(tail.shape) < 0.3] = np.nan
        tail[rng.random(tail.shape) < 0.05] = np.inf
        y[cut + 1 :] = tail
        changed.append(y)
    np.testing.assert_array_equal(_call(op, changed, consts, (T, N))[: cut + 1], base[: cut + 1])
    # 2. a panel that ends at `cut` gives the same rows
    short = [x[: cut + 1] for x in xs]
    np.testing.assert_array_equal(_call(op, short, consts, (cut + 1, N)), base[: cut + 1])

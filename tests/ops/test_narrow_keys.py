"""32-bit rank keys (`ops/cross/narrow_keys.py`): every rank they give is bit-identical to the 64-bit
path and matches the slow reference, on data built to make the truncated keys collide."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cross_common import by_group, close, ref_rank

from alphamine.ops.cross import sorting as S
from alphamine.ops.cross.narrow_keys import NARROW_MAX_INDEX_BITS


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.int64), b.view(np.int64))


def _cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(11)
    out = []
    for n in (1, 2, 3, 64, 65, 500, 1 << NARROW_MAX_INDEX_BITS):
        T = 9
        normal = rng.normal(size=(T, n))
        holes = normal.copy()
        holes[rng.random(holes.shape) < 0.3] = np.nan
        special = rng.normal(size=(T, n))
        for value, share in ((np.inf, 0.1), (-np.inf, 0.1), (0.0, 0.1), (-0.0, 0.1), (1e300, 0.05),
                             (-1e300, 0.05), (1e-300, 0.05), (5e-324, 0.05), (np.nan, 0.05)):
            special[rng.random(special.shape) < share] = value
        out += [
            ("normal", normal),
            ("holes", holes),
            ("ties", np.round(rng.normal(size=(T, n)), 1)),
            ("few values", rng.integers(0, 4, (T, n)).astype(float)),
            # distinct values in the last mantissa bits: one long collision run (mergesort branch)
            ("ulps", 1.0 + rng.integers(0, 3 * n, (T, n)) * np.finfo(float).eps),
            ("ratios near 1", 1.0 + rng.normal(0, 1e-4, (T, n))),
            ("prices", np.round(np.exp(rng.normal(3, 1, (T, n))), 2)),
            ("special", special),
            ("outlier centre", np.where(np.arange(n) % 7 == 0, 1e12, rng.normal(size=(T, n)))),
            ("all nan", np.full((T, n), np.nan)),
        ]
    return out


@pytest.mark.parametrize("mode", [S.RANK, S.QUANT_P], ids=["rank", "quantile_p"])
def test_narrow_keys_give_the_bits_of_the_wide_keys(mode: int) -> None:
    for name, x in _cases():
        narrow = S._run(x, None, mode, narrow=True)[0]
        wide = S._run(x, None, mode, narrow=False)[0]
        _same_bits(narrow, wide)
        if mode == S.RANK and x.shape[1] <= 65:  # the slow reference is quadratic
            close(narrow, by_group(x, None, ref_rank))
        assert name  # (the case's name shows in a failure's locals)


def test_narrow_keys_are_the_default_only_for_short_single_group_rank_rows() -> None:
    x = np.random.default_rng(0).normal(size=(3, 40))
    _, _, nvalid = S._run(x, None, S.RANK)
    assert (nvalid == 40).all()
    wide = 1 << NARROW_MAX_INDEX_BITS
    assert S._run(np.zeros((1, wide + 1)), None, S.RANK)[0].shape == (1, wide + 1)  # wide path, still right


_cell = st.one_of(
    st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: round(v, 2)),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 1.0 + 2**-52, 1.0 - 2**-53]),
    st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 4), st.integers(1, 80), st.data())
def test_narrow_equals_wide_on_arbitrary_rows(t: int, n: int, data: st.DataObject) -> None:
    x = np.array(data.draw(st.lists(_cell, min_size=t * n, max_size=t * n)), dtype=float).reshape(t, n)
    _same_bits(S._run(x, None, S.RANK, narrow=True)[0], S._run(x, None, S.RANK, narrow=False)[0])

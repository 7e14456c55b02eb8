"""The one-pass shift kernels give the numpy expressions they replaced, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.ops.ts.ops_basic import ts_delay, ts_delta


def _x() -> np.ndarray:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 9))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[5, 2] = np.inf
    x[8, 2] = np.inf  # inf - inf = NaN at d = 3
    x[7, 4] = -np.inf
    return x


@pytest.mark.parametrize("d", [1, 3, 39, 40, 100])
def test_delay_and_delta_equal_the_numpy_expressions(d: int) -> None:
    x = _x()
    past = np.full(x.shape, np.nan)
    if d < x.shape[0]:
        past[d:] = x[:-d]
    with np.errstate(invalid="ignore"):
        want_delta = x - past
    assert ts_delay(x, d).tobytes() == past.tobytes()
    assert ts_delta(x, d).tobytes() == want_delta.tobytes()
    ro = x.copy()
    ro.flags.writeable = False  # cached evaluator inputs are read-only
    assert ts_delta(ro, d).tobytes() == want_delta.tobytes()
    assert ts_delta(np.asfortranarray(x), d).tobytes() == want_delta.tobytes()


def test_shift_rejects_a_non_positive_lookback() -> None:
    with pytest.raises(ValueError, match="lookback"):
        ts_delta(_x(), 0)

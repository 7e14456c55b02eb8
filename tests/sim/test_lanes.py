"""Lane sums: exactly the arithmetic the source spells out, whatever the compiler did with it.

The point of `sim.lanes` is reproducibility: a resumed run must give the same bits as an uninterrupted
one, although its inputs arrive as a readonly memmap instead of a fresh array (another compiled
specialization). So the kernels are checked bit for bit against a pure-Python replay of the lane
order, and against themselves across memory layouts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alphamine.sim.book import book_and_sub_series
from alphamine.sim.lanes import LANES, abs_max_bits, abs_sum
from alphamine.sim.positions import build_weights


def _lane_sum_replay(values: np.ndarray) -> float:
    """The documented order in plain Python floats: lane j % LANES in column order, then the tree."""
    lanes = [0.0] * LANES
    for j, v in enumerate(values.tolist()):
        lanes[j % LANES] += v
    h = LANES // 2
    while h > 0:
        for i in range(h):
            lanes[i] += lanes[i + h]
        h //= 2
    return lanes[0]


@pytest.mark.parametrize("n", [0, 1, 5, LANES - 1, LANES, LANES + 1, 3 * LANES + 7, 3001])
def test_abs_sum_is_the_documented_lane_order_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    row = rng.standard_normal(n) * 10.0 ** rng.integers(-8, 8, n)  # magnitudes that expose any reorder
    got = abs_sum(row, np.empty(LANES))
    assert got == _lane_sum_replay(np.abs(row))
    assert got == pytest.approx(float(np.abs(row).sum()), rel=1e-12)


def test_abs_max_bits_is_the_bits_of_the_largest_magnitude() -> None:
    row = np.array([0.5, -3.25, 2.0, -0.0, 1e-300])
    assert abs_max_bits(row) == np.array([3.25]).view(np.int64)[0]
    assert abs_max_bits(np.zeros(0)) == 0


def _layouts(a: np.ndarray, tmp: Path, name: str) -> list[np.ndarray]:
    """The same values as: a fresh array, a readonly one, one 8 bytes off a 64-byte boundary, a memmap."""
    readonly = a.copy()
    readonly.flags.writeable = False
    buf = np.empty(a.size + 1, dtype=a.dtype)
    shifted = buf[1:].reshape(a.shape)
    shifted[...] = a
    np.save(tmp / f"{name}.npy", a)
    mapped = np.load(tmp / f"{name}.npy", mmap_mode="r")
    return [a.copy(), readonly, shifted, mapped]


def _panel(T: int, N: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    alpha = rng.standard_t(3, (T, N))
    alpha[rng.random((T, N)) < 0.1] = np.nan
    universe = rng.random((T, N)) < 0.9
    codes = rng.integers(0, 80, (T, N)).astype(np.int32)  # more groups than the kernel's first guess
    returns = rng.normal(0.0, 0.02, (T, N))
    returns[rng.random((T, N)) < 0.05] = np.nan
    sub = rng.random((T, N)) < 0.4
    return alpha, universe, codes, returns, sub


def test_weights_and_book_do_not_depend_on_memory_layout(tmp_path: Path) -> None:
    T, N = 40, 3 * LANES + 11
    alpha, universe, codes, returns, sub = _panel(T, N)
    styles = np.zeros((T, N, 0))
    results = []
    for a, u, c, r, s in zip(
        _layouts(alpha, tmp_path, "a"),
        _layouts(universe, tmp_path, "u"),
        _layouts(codes, tmp_path, "c"),
        _layouts(returns, tmp_path, "r"),
        _layouts(sub, tmp_path, "s"),
        strict=True,
    ):
        weights, rounds = build_weights(a, u, c, styles, True, 0.02, 20, 1e-9, 1e-9)
        series = book_and_sub_series(weights, 1, 2e7, r, s)
        results.append([weights.tobytes(), rounds.tobytes(), *(x.tobytes() for x in series)])
    assert rounds.max() > 0  # the truncation rounds ran too
    assert all(res == results[0] for res in results[1:])

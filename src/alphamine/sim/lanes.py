"""Row sums that are fast and bit-for-bit reproducible: lane accumulators.

Why: a float sum written as `s += x[j]` is one serial chain of dependent additions (a few cycles each),
and LLVM will only vectorize it when allowed to reassociate (fastmath). With reassociation the grouping
is chosen per compiled specialization (a readonly memmap and a fresh array compile separately), so a
resumed run could differ from an uninterrupted one in the last bits; docs/architecture.md has the story.

Here a row of N values is summed into `LANES` independent accumulators: lane i takes the elements
i, i + LANES, i + 2·LANES, ... in column order, and the lanes are then folded in a fixed pairwise tree. The
accumulation loop is elementwise over the lanes (no reduction inside it), which the loop vectorizer
handles without fastmath, and the arithmetic is fixed by the source: the result is the same bit for
bit whatever vector width the compiler picks, or none. The grouping also bounds rounding error better
than one serial chain (each lane sums N / LANES terms).

Kernels with several sums in one pass write the block pattern themselves (`for base in range(0, full,
LANES)` calling a block function with the constant `LANES`, then once for the tail): a block loop whose
trip count is not the constant compiles to scalar code with store-to-load chains, several times slower.
Scratch lanes are float64 arrays of shape (k, LANES), allocated once per kernel call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LANES = 64  # a power of two (see `fold`); 32 let LLVM fully unroll a one-sum block into scalar code
ABS_BITS = np.int64(0x7FFFFFFFFFFFFFFF)  # clears the sign: for |x| the IEEE bits order like the values


@njit(cache=True, nogil=True, error_model="numpy")
def fold(lanes: np.ndarray) -> float:
    """Σ lanes as a fixed pairwise tree (lane i + lane i + h for h = LANES/2, ..., 1), in place: the
    last step of every lane sum. Short independent chains instead of one serial chain of LANES adds."""
    h = LANES // 2
    while h > 0:
        for i in range(h):
            lanes[i] += lanes[i + h]
        h //= 2
    return lanes[0]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _abs_block(row: np.ndarray, base: int, n: int, lanes: np.ndarray) -> None:
    for i in range(n):
        lanes[i] += abs(row[base + i])


@njit(cache=True, nogil=True, error_model="numpy")
def abs_sum(row: np.ndarray, lanes: np.ndarray) -> float:
    """Σ|row| as a lane sum; `lanes` is float64 scratch of length LANES (overwritten)."""
    n = row.shape[0]
    lanes[:] = 0.0
    full = n - n % LANES
    for base in range(0, full, LANES):
        _abs_block(row, base, LANES, lanes)
    _abs_block(row, full, n - full, lanes)
    return fold(lanes)


@njit(cache=True, nogil=True, error_model="numpy")
def abs_max_bits(row: np.ndarray) -> np.int64:
    """The IEEE bits of max |row| (an integer max vectorizes where a float max does not; exact)."""
    bits = row.view(np.int64)
    mx = np.int64(0)
    for j in range(row.shape[0]):
        mx = max(mx, bits[j] & ABS_BITS)
    return mx

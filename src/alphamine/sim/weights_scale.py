"""Power-of-two rescaling of a day's row, so that huge or tiny finite alphas get the positions their
values imply.

Why: the settings pipeline is scale invariant per day (weights = neutralized row / Σ|neutralized row|,
truncation relative to that), but `rank(close) * 1e308` overflows Σ|row| (a day without positions under
NONE) and feeds ±inf to the risk-model regression (LinAlgError), and a row of subnormals loses bits when
demeaned. Multiplying by 2^k is exact in binary floating point as long as the results stay normal, so a
row brought to max |x| in [0.5, 1) by `math.ldexp` gives exactly the positions the unscaled row would
give if exponents were unbounded.

Contract: only rows whose Σ|x| (a positive number, possibly +inf) lies outside [ROW_SCALE_LOW,
ROW_SCALE_HIGH] are rescaled, so ordinary alphas keep bit-identical results. Rows hold finite values or
zeros (non-members are 0) when these run.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

ROW_SCALE_HIGH = 2.0**500
"""Σ|x| above this (or +inf) is brought down: far below overflow even after a regression's products."""

ROW_SCALE_LOW = 2.0**-500
"""A positive Σ|x| below this is brought up: far above the subnormal range."""


@njit(cache=True, nogil=True, error_model="numpy")
def needs_rescale(total: float) -> bool:
    """True when a row with Σ|x| = `total` must be rescaled (0 and NaN never: nothing to scale)."""
    return total > 0.0 and not (ROW_SCALE_LOW <= total <= ROW_SCALE_HIGH)


@njit(cache=True, nogil=True, error_model="numpy")
def rescale_row(row: np.ndarray) -> None:
    """In place: row *= 2^-e with e the binary exponent of max |row| over its finite values, so the
    largest |value| lands in [0.5, 1). Exact for every value that stays normal; non-finite values
    are left as they are (they are not positions)."""
    biggest = 0.0
    for j in range(row.shape[0]):
        a = abs(row[j])
        if a - a == 0.0 and a > biggest:
            biggest = a
    if biggest == 0.0:
        return
    e = math.frexp(biggest)[1]
    for j in range(row.shape[0]):
        row[j] = math.ldexp(row[j], -e)

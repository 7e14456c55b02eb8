"""vec_* reductions on ragged, NaN-padded (T, N, K) vectors against per-cell Python references."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from test_elem_common import NAN, assert_same, check_fresh, kernel


def ragged(seed: int = 0, T: int = 6, N: int = 7, K: int = 5) -> np.ndarray:
    """Random vectors of length 0..K padded with NaN, a few interior NaNs, ties and constant vectors."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal((T, N, K)), 1)
    lengths = rng.integers(0, K + 1, (T, N))
    x[np.arange(K)[None, None, :] >= lengths[:, :, None]] = np.nan
    x[0, 0, :] = np.nan  # empty
    x[0, 1, :] = [2.0, 2.0, 2.0, NAN, NAN]  # constant
    x[0, 2, :] = [3.0, NAN, NAN, NAN, NAN]  # one element
    x[0, 3, :] = [1.0, NAN, 4.0, NAN, 2.0]  # interior NaNs
    x.setflags(write=False)
    return x


def _valid(v: np.ndarray) -> list[float]:
    return [float(a) for a in v if not math.isnan(a)]


def _moments(vals: list[float]) -> tuple[float, float, float, float]:
    n = len(vals)
    m = sum(vals) / n
    return m, *(sum((v - m) ** k for v in vals) / n for k in (2, 3, 4))  # type: ignore[return-value]


def _std(vals: list[float]) -> float:
    return math.sqrt(_moments(vals)[1])


def _ir(vals: list[float]) -> float:
    s = _std(vals)
    return NAN if s == 0 else _moments(vals)[0] / s


def _skew(vals: list[float]) -> float:
    _, m2, m3, _ = _moments(vals)
    return NAN if m2 == 0 else m3 / m2**1.5


def _kurt(vals: list[float]) -> float:
    _, m2, _, m4 = _moments(vals)
    return NAN if m2 == 0 else m4 / m2**2 - 3.0


def _pct(p: float) -> Callable[[list[float]], float]:
    def f(vals: list[float]) -> float:
        s = sorted(vals)
        pos = p * (len(s) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (pos - lo) * (s[hi] - s[lo])

    return f


REFS: dict[str, Callable[[list[float]], float]] = {
    "vec_avg": lambda v: sum(v) / len(v),
    "vec_sum": lambda v: math.fsum(v),
    "vec_max": max,
    "vec_min": min,
    "vec_range": lambda v: max(v) - min(v),
    "vec_stddev": _std,
    "vec_ir": _ir,
    "vec_skewness": _skew,
    "vec_kurtosis": _kurt,
    "vec_norm": lambda v: math.fsum(abs(a) for a in v),
}


def reference(x: np.ndarray, f: Callable[[list[float]], float], empty: float = NAN) -> np.ndarray:
    out = np.empty(x.shape[:2])
    for t, n in np.ndindex(*x.shape[:2]):
        vals = _valid(x[t, n])
        out[t, n] = f(vals) if vals else empty
    return out


@pytest.mark.parametrize("name", sorted(REFS))
def test_vector_reductions_match_reference(name: str) -> None:
    x = ragged(1)
    out = kernel(name)(x)
    assert out.shape == x.shape[:2]
    assert_same(out, reference(x, REFS[name]), rtol=1e-9, atol=1e-12)
    check_fresh(out, x)


def test_vec_count_percentage_powersum_choose() -> None:
    x = ragged(2)
    assert_same(kernel("vec_count")(x), reference(x, lambda v: float(len(v)), empty=0.0))
    for p in (0.0, 0.25, 0.5, 0.9, 1.0):
        assert_same(kernel("vec_percentage")(x, p), reference(x, _pct(p)), rtol=1e-12)
    for c in (2.0, 3.0, 0.0, 0.5):
        def ps(v: list[float], c: float = c) -> float:
            return math.fsum(NAN if a < 0 and c != int(c) else a**c for a in v)

        assert_same(kernel("vec_powersum")(x, c), reference(x, ps), rtol=1e-12)
    for nth in (0, 1, 3, 9):
        assert_same(kernel("vec_choose")(x, nth), reference(x, lambda v, k=nth: v[k] if k < len(v) else NAN))


def test_golden_vec_examples_and_empty_vectors() -> None:
    x = np.full((3, 2, 5), np.nan)
    x[0, 0, :3] = [10, 20, 30]
    x[1, 0, :3] = [13, 5, 15]
    x[2, 0, :] = [3, 12, 8, 20, 7]
    assert_same(kernel("vec_avg")(x)[:, 0], np.array([20.0, 11.0, 10.0]))
    assert_same(kernel("vec_sum")(x)[:, 0], np.array([60.0, 33.0, 50.0]))
    assert_same(kernel("vec_count")(x)[:, 0], np.array([3.0, 3.0, 5.0]))
    assert_same(kernel("vec_percentage")(x)[:, 0], np.array([20.0, 13.0, 8.0]))
    assert_same(kernel("vec_choose")(x, 1)[:, 0], np.array([20.0, 5.0, 12.0]))
    # column 1: empty vectors
    for name in REFS:
        assert np.isnan(kernel(name)(x)[:, 1]).all(), name
    assert (kernel("vec_count")(x)[:, 1] == 0).all()
    for name, args in (("vec_percentage", (0.5,)), ("vec_powersum", (2.0,)), ("vec_choose", (0,))):
        assert np.isnan(kernel(name)(x, *args)[:, 1]).all()


def test_zero_length_vectors_and_bad_arguments() -> None:
    x = np.empty((2, 3, 0))
    assert (kernel("vec_count")(x) == 0).all()
    for name in (*REFS, "vec_percentage", "vec_choose", "vec_powersum"):
        assert np.isnan(kernel(name)(x)).all(), name
    with pytest.raises(ValueError, match="percentage"):
        kernel("vec_percentage")(ragged(), 1.5)
    with pytest.raises(ValueError, match=r"\(T, N, K\)"):
        kernel("vec_avg")(np.zeros((2, 3)))


def test_no_runtime_warnings_on_all_nan(recwarn: pytest.WarningsRecorder) -> None:
    x = np.full((2, 2, 3), np.nan)
    for name in (*REFS, "vec_count", "vec_percentage", "vec_choose", "vec_powersum"):
        kernel(name)(x)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]

"""The fused position kernels against the loop reference, and the pipeline's invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphamine.sim.book import apply_max_trade, book_and_sub_series, book_series, sub_universe_pnl
from alphamine.sim.decay import decay_alpha
from alphamine.sim.positions import build_weights
from tests.sim.reference import ref_book, ref_decay, ref_weights


def _market(seed: int, T: int = 30, N: int = 14) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # N = 14 stays inside one block of lane sums (sim.lanes.LANES = 64); N = 201 crosses three blocks
    # and a tail
    rng = np.random.default_rng(seed)
    A = np.round(rng.standard_normal((T, N)), 1)  # ties
    A[rng.random((T, N)) < 0.15] = np.nan
    A[:, 0] = 2.0  # constant name
    A[: T // 2, 1] = np.nan  # enters late
    A[3, :] = np.nan  # a day with no alpha at all
    A[4, 5] = np.inf
    U = rng.random((T, N)) < 0.85
    U[:, 2] = False  # never in the universe
    codes = np.broadcast_to(rng.integers(0, 4, N), (T, N)).astype(np.int32).copy()
    codes[:, N - 1] = 9  # a one-member group -> 0 weight
    codes[rng.random((T, N)) < 0.05] = -1
    r = rng.normal(0, 0.02, (T, N))
    r[rng.random((T, N)) < 0.05] = np.nan
    return A, U, codes, r


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_decay_matches_reference(n: int) -> None:
    A, *_ = _market(1)
    np.testing.assert_allclose(decay_alpha(A, n), ref_decay(A, n), equal_nan=True, rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("neutralize", [False, True])
@pytest.mark.parametrize("truncation", [0.0, 0.1, 0.2])
@pytest.mark.parametrize("n_styles", [0, 2])
@pytest.mark.parametrize("N", [14, 201])
def test_weights_match_reference(seed: int, neutralize: bool, truncation: float, n_styles: int, N: int) -> None:
    A, U, codes, _ = _market(seed, N=N)
    if not neutralize:
        codes = np.zeros_like(codes)
    T = A.shape[0]
    styles = np.random.default_rng(seed + 50).standard_normal((T, N, n_styles))
    got, rounds = build_weights(A, U, codes, styles, neutralize, truncation, 20, 1e-9, 1e-9)
    want = ref_weights(A, U, codes, neutralize, truncation, styles if n_styles else None)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert rounds.max() <= 20


def test_weights_match_reference_with_more_groups_than_the_first_guess() -> None:
    # the group sums start sized for 64 codes and grow; codes here reach 150, some of them empty
    A, U, _, _ = _market(6, N=201)
    codes = np.random.default_rng(6).integers(0, 151, A.shape).astype(np.int32)
    codes[:, :20] = -1
    got, _ = build_weights(A, U, codes, np.zeros((*A.shape, 0)), True, 0.05, 20, 1e-9, 1e-9)
    np.testing.assert_allclose(got, ref_weights(A, U, codes, True, 0.05, None), atol=1e-12)


def test_one_member_group_gets_zero_and_unlabelled_names_get_nothing() -> None:
    A, U, codes, _ = _market(4)
    W, _ = build_weights(A, U, codes, np.zeros((*A.shape, 0)), True, 0.0, 20, 1e-9, 1e-9)
    assert np.all(W[:, -1] == 0.0)
    assert np.all(W[codes < 0] == 0.0)
    assert np.all(W[~U] == 0.0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), cap=st.sampled_from([0.05, 0.08, 0.15, 0.3]))
def test_truncation_cap_and_group_neutrality(seed: int, cap: float) -> None:
    rng = np.random.default_rng(seed)
    T, N = 6, 60
    A = rng.standard_t(2, (T, N))
    U = rng.random((T, N)) < 0.9
    codes = np.broadcast_to(rng.integers(0, 3, N), (T, N)).astype(np.int32).copy()
    W, rounds = build_weights(A, U, codes, np.zeros((T, N, 0)), True, cap, 20, 1e-9, 1e-9)
    for t in range(T):
        gross = np.abs(W[t]).sum()
        if gross == 0:
            continue
        assert gross == pytest.approx(1.0)
        for g in range(3):
            assert abs(W[t, codes[t] == g].sum()) < 1e-12  # neutral per group
        if rounds[t] < 20:  # converged: nothing above the cap (P19 tolerance)
            assert np.abs(W[t]).max() <= cap * (1 + 1e-9)


@pytest.mark.parametrize("delay", [0, 1])
@pytest.mark.parametrize("N", [14, 201])
def test_daily_book_matches_reference(delay: int, N: int) -> None:
    A, U, codes, r = _market(3, N=N)
    W, _ = build_weights(A, U, codes, np.zeros((*A.shape, 0)), True, 0.0, 20, 1e-9, 1e-9)
    ref = ref_book(W, r, delay)
    pnl, traded, longs, shorts, max_abs = book_series(W, 1 - delay, 2e7, r)
    np.testing.assert_allclose(max_abs, np.abs(ref["pos"]).max(axis=1) / 2e7, rtol=1e-12)
    # a materialized positions matrix read with lag 0 gives the same series
    again = book_series(ref["pos"] / 2e7, 0, 2e7, r)
    np.testing.assert_allclose(again[0], ref["pnl"], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(pnl, ref["pnl"], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(traded, ref["traded"], rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(longs, ref["longs"])
    np.testing.assert_array_equal(shorts, ref["shorts"])


def test_max_trade_caps_every_change() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(0, 1e5, (50, 8))
    limit = np.full((50, 8), 3e4)
    limit[:5] = np.nan  # no ADV yet: cannot trade
    pos = apply_max_trade(target, limit)
    change = np.diff(np.vstack([np.zeros((1, 8)), pos]), axis=0)
    assert np.all(np.abs(change[5:]) <= 3e4 + 1e-9)
    assert np.all(pos[:5] == 0.0)
    # with a huge limit the target is reached
    np.testing.assert_allclose(apply_max_trade(target, np.full_like(target, 1e12)), target)


@pytest.mark.parametrize("N", [14, 201])
def test_sub_universe_pnl_matches_reference(N: int) -> None:
    A, U, codes, r = _market(5, N=N)
    W, _ = build_weights(A, U, codes, np.zeros((*A.shape, 0)), True, 0.0, 20, 1e-9, 1e-9)
    sub = np.random.default_rng(9).random(A.shape) < 0.5
    want = np.zeros(A.shape[0])
    for t in range(A.shape[0]):
        names = [j for j in range(A.shape[1]) if sub[t, j] and W[t, j] != 0]
        if not names:
            continue
        mean = sum(W[t, j] for j in names) / len(names)
        gross = sum(abs(W[t, j] - mean) for j in names)
        if gross > 0:
            want[t] = sum((W[t, j] - mean) / gross * 2e7 * (0 if np.isnan(r[t, j]) else r[t, j]) for j in names)
    np.testing.assert_allclose(sub_universe_pnl(W, 0, 2e7, sub, r), want, rtol=1e-10, atol=1e-6)


@pytest.mark.parametrize("lag", [0, 1, 2])
@pytest.mark.parametrize("T", [1, 2, 3, 12])
@pytest.mark.parametrize("N", [37, 150])
def test_book_and_sub_series_is_bit_identical_to_the_separate_kernels(lag: int, T: int, N: int) -> None:
    # the fused kernel is software-pipelined over days: check it against book_series + sub_universe_pnl
    # bit for bit, with an empty day, a constant day (sub gross 0), an empty sub day and missing returns
    rng = np.random.default_rng(T * 10 + lag)
    W = rng.standard_normal((T, N))
    W[rng.random((T, N)) < 0.3] = 0.0
    W[T // 2] = 0.0
    W[T - 1, :] = 0.25 if T > 2 else W[T - 1, :]
    r = rng.standard_normal((T, N)) * 0.02
    r[rng.random((T, N)) < 0.1] = np.nan
    sub = rng.random((T, N)) < 0.5
    sub[0] = False
    got = book_and_sub_series(W, lag, 2e7, r, sub)
    want = (*book_series(W, lag, 2e7, r), sub_universe_pnl(W, lag, 2e7, sub, r))
    for g, w in zip(got, want, strict=True):
        assert g.tobytes() == w.tobytes()

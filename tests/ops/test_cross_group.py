"""Group operators against slow references and small worked examples (P15)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_cross_common import (
    NAN,
    by_group,
    by_group_pairs,
    close,
    cs_data,
    grp_data,
    ref_clip,
    ref_mean,
    ref_median,
    ref_minmax,
    ref_rank,
    ref_std,
    ref_vec,
    ref_zscore,
)

from alphamine.ops import get
from alphamine.ops.cross import backfill
from alphamine.ops.cross.kernels import demean_by_group, group_rank_rows


def k(name: str):
    return get(name).kernel


def row(*v: float) -> np.ndarray:
    return np.array([v], dtype=float)


def grow(*c: int) -> np.ndarray:
    return np.array([c], dtype=np.int32)


CASES = [(cs_data(0), grp_data(0)), (cs_data(1, T=20, N=9), grp_data(1, T=20, N=9)),
         (cs_data(2, inf=True), grp_data(2))]


# ------------------------------------------------------------------------------------------- goldens
def test_p15_one_member_groups() -> None:
    x = row(1, 2, 3, 4, NAN, 6)
    g = grow(0, 0, 1, -1, 2, 2)  # group 1 and group 2 (NaN partner) have one valid member
    close(k("group_neutralize")(x, g), row(-0.5, 0.5, 0, NAN, NAN, 0))
    close(k("group_rank")(x, g), row(0, 1, 0.5, NAN, NAN, 0.5))
    close(k("group_zscore")(x, g), row(-1, 1, NAN, NAN, NAN, NAN))
    close(k("group_std_dev")(x, g), row(0.5, 0.5, 0, NAN, NAN, 0))
    close(k("group_count")(x, g), row(2, 2, 1, NAN, NAN, 1))


def test_group_examples() -> None:
    x = row(1, 5, 3, 10, 20, 2, NAN)
    g = grow(0, 0, 0, 1, 1, 1, 1)
    close(k("group_neutralize")(x, g), row(-2, 2, 0, -(2 / 3), 28 / 3, -(26 / 3), NAN))
    close(k("group_rank")(x, g), row(0, 1, 0.5, 0.5, 1, 0, NAN))
    close(k("group_sum")(x, g), row(9, 9, 9, 32, 32, 32, NAN))
    close(k("group_max")(x, g), row(5, 5, 5, 20, 20, 20, NAN))
    close(k("group_min")(x, g), row(1, 1, 1, 2, 2, 2, NAN))
    close(k("group_median")(x, g), row(3, 3, 3, 10, 10, 10, NAN))
    close(k("group_median")(row(4, 1, 3, 2), grow(0, 0, 0, 0)), row(2.5, 2.5, 2.5, 2.5))
    close(k("group_scale")(x, g), row(0, 1, 0.5, 8 / 18, 1, 0, NAN))
    close(k("group_normalize")(x, g), row(1 / 9, 5 / 9, 3 / 9, 10 / 32, 20 / 32, 2 / 32, NAN))
    close(k("group_zscore")(row(1, 3, 7, 7), grow(0, 0, 1, 1)), row(-1, 1, NAN, NAN))


def test_group_mean_weighted_p15() -> None:
    x = row(1, 3, 5, NAN, 2, 4)
    w = row(1, 3, NAN, 1, 0, 0)
    g = grow(0, 0, 0, 0, 1, 1)
    # group 0: pairs (1,1), (3,3) -> 10/4; x=5 (NaN weight) still gets it; NaN x stays NaN; Σw=0 -> NaN
    close(k("group_mean")(x, w, g), row(2.5, 2.5, 2.5, NAN, NAN, NAN))
    close(k("group_mean")(x, np.broadcast_to(1.0, x.shape), g), row(3, 3, 3, NAN, 3, 3))


def test_group_normalize_constant_check() -> None:
    x = row(1, 1.005, 2, 4, 0, 0)
    g = grow(0, 0, 1, 1, 2, 2)
    close(k("group_normalize")(x, g, False, 0.01, 2.0), row(2 / 2.005, 2.01 / 2.005, 2 / 3, 4 / 3, NAN, NAN))
    close(k("group_normalize")(x, g, True, 0.01, 1.0), row(NAN, NAN, 1 / 3, 2 / 3, NAN, NAN))


def test_group_backfill_example() -> None:
    # one group of 3 instruments over 4 days; today's NaN for the second instrument
    x = np.array([[4, NAN, 1], [2, 3, NAN], [NAN, 1, 6], [5, NAN, 2]], dtype=float)
    g = np.zeros(x.shape, np.int32)
    vals = np.array([4, 1, 2, 3, 1, 6, 5, 2], dtype=float)  # mean 3, sample std sqrt(24/7)
    sd = math.sqrt(24 / 7)
    want = np.mean(np.clip(vals, 3 - sd, 3 + sd))
    out = k("group_backfill")(x, g, 4, 1.0)
    assert out[3, 1] == pytest.approx(want)
    assert out[3, 1] != pytest.approx(3.0)
    assert k("group_backfill")(x, g, 4, 4.0)[3, 1] == pytest.approx(3.0)
    close(out[3, [0, 2]], np.array([5.0, 2.0]))
    # d = 1: today's valid group values only; a negative code -> NaN even when x is valid
    g2 = g.copy()
    g2[3, 0] = -1
    out1 = k("group_backfill")(x, g2, 1, 4.0)
    close(out1[3], np.array([NAN, 2.0, 2.0]))


def test_cartesian_product_and_coalesce() -> None:
    g1 = np.array([[0, 0, 1, 1, -1], [1, 0, 1, 0, 0]], np.int32)
    g2 = np.array([[2, 5, 2, 2, 1], [2, 2, -1, 5, 5]], np.int32)
    out = k("group_cartesian_product")(g1, g2)
    assert out.dtype == np.int32 and out.flags.c_contiguous
    # pairs present: (0,2) (0,5) (1,2) -> codes 0, 1, 2 in (g1, g2) order, stable across days
    assert out.tolist() == [[0, 1, 2, 2, -1], [2, 0, -1, 1, 1]]
    a = np.array([[0, -1, 1, -1, -1]], np.int32)
    b = np.array([[3, 2, -1, -1, 0]], np.int32)
    c = np.array([[0, 0, 0, 0, 1]], np.int32)
    # offsets: b by 2 (max a + 1), c by 2 + 4
    assert k("group_coalesce")(a, b, c).tolist() == [[0, 4, 1, 6, 2]]
    assert k("group_coalesce")(a, b).tolist() == [[0, 4, 1, -1, 2]]


def test_simulator_helpers() -> None:
    x, g = CASES[0]
    close(demean_by_group(x, g), k("group_neutralize")(x, g))
    close(group_rank_rows(x, g), k("group_rank")(x, g))
    # huge sparse codes (e.g. raw GICS numbers) are remapped, not used as array sizes
    big = np.where(g >= 0, g * 10_000_019 + 45_102_010, -1).astype(np.int32)
    close(demean_by_group(x, big), demean_by_group(x, g))
    close(group_rank_rows(x, big), group_rank_rows(x, g))


# ------------------------------------------------------------------------------------- vs references
SINGLE = [
    ("group_neutralize", (), lambda v: v - ref_mean(v)),
    ("group_rank", (), ref_rank),
    ("group_zscore", (), ref_zscore),
    ("group_scale", (), ref_minmax),
    ("group_median", (), ref_median),
    ("group_max", (), lambda v: np.full(len(v), np.max(v))),
    ("group_min", (), lambda v: np.full(len(v), np.min(v))),
    ("group_sum", (), lambda v: np.full(len(v), np.sum(v))),
    ("group_std_dev", (), lambda v: np.full(len(v), ref_std(v))),
    ("group_count", (), lambda v: np.full(len(v), float(len(v)))),
    ("group_normalize", (False, 0.01, 1.0),
     lambda v: np.full(len(v), NAN) if np.sum(np.abs(v)) == 0 else v / np.sum(np.abs(v))),
    ("group_normalize", (True, 0.3, 2.0),
     lambda v: np.full(len(v), NAN) if np.sum(np.abs(v)) == 0 or np.max(v) - np.min(v) <= 0.3
     else 2 * v / np.sum(np.abs(v))),
]


@pytest.mark.parametrize(("name", "args", "ref"), SINGLE, ids=[f"{n}{a}" for n, a, _ in SINGLE])
@pytest.mark.parametrize("ci", range(len(CASES)))
def test_single_input_vs_reference(name: str, args: tuple, ref, ci: int) -> None:
    x, g = CASES[ci]
    close(k(name)(x, g, *args), by_group(x, g, ref))


def ref_wmean(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> np.ndarray:
    T, N = x.shape
    out = np.full((T, N), NAN)
    for t in range(T):
        for i in range(N):
            c = g[t, i]
            if c < 0 or math.isnan(x[t, i]):
                continue
            pairs = [(x[t, j], w[t, j]) for j in range(N)
                     if g[t, j] == c and not math.isnan(x[t, j]) and not math.isnan(w[t, j])]
            sw = sum(b for _, b in pairs)
            if pairs and sw != 0:
                out[t, i] = sum(a * b for a, b in pairs) / sw
    return out


@pytest.mark.parametrize("ci", range(len(CASES)))
def test_pair_ops_vs_reference(ci: int) -> None:
    x, g = CASES[ci]
    y = cs_data(ci + 20, T=x.shape[0], N=x.shape[1])
    w = np.abs(cs_data(ci + 30, T=x.shape[0], N=x.shape[1]))
    w[0, :] = 0.0
    with np.errstate(all="ignore"):
        close(k("group_mean")(x, w, g), ref_wmean(x, w, g))
    close(k("group_vector_neut")(x, y, g), by_group_pairs(x, y, g, ref_vec(False)))
    close(k("group_vector_proj")(x, y, g), by_group_pairs(x, y, g, ref_vec(True)))


def ref_backfill(x: np.ndarray, g: np.ndarray, d: int, std: float) -> np.ndarray:
    T, N = x.shape
    out = np.where(g >= 0, x, NAN)
    for t in range(T):
        for i in range(N):
            c = g[t, i]
            if c < 0 or not math.isnan(x[t, i]):
                continue
            vals = np.array([x[r, j] for r in range(max(0, t - d + 1), t + 1) for j in range(N)
                             if g[r, j] == c and not math.isnan(x[r, j])])
            if len(vals) == 0:
                continue
            if len(vals) >= 2:
                m = np.mean(vals)
                sd = 0.0 if np.all(vals == vals[0]) else np.std(vals, ddof=1)
                vals = ref_clip(vals, m - std * sd, m + std * sd)
            out[t, i] = np.mean(vals)
    return out


@pytest.mark.parametrize(("d", "std"), [(1, 4.0), (3, 0.5), (5, 4.0), (8, 1.0), (100, 0.7)])
@pytest.mark.parametrize("ci", [0, 1])
@pytest.mark.parametrize("ring", [True, False], ids=["ring", "direct"])
def test_group_backfill_vs_reference(d: int, std: float, ci: int, ring: bool,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if not ring:
        monkeypatch.setattr(backfill, "_RING_LIMIT", 0)
    x, g = CASES[ci]
    x = x.copy()
    x[np.random.default_rng(ci).random(x.shape) < 0.2] = NAN
    g = g.copy()
    g[10:, 2] = 0  # a membership change over time
    close(k("group_backfill")(x, g, d, std), ref_backfill(x, g, d, std), tol=1e-8)


def test_cartesian_and_coalesce_vs_reference() -> None:
    g1 = grp_data(0)
    g2 = np.random.default_rng(9).integers(-1, 4, g1.shape).astype(np.int32)
    out = k("group_cartesian_product")(g1, g2)
    pairs = sorted({(a, b) for a, b in zip(g1.ravel(), g2.ravel(), strict=True) if a >= 0 and b >= 0})
    code = {p: i for i, p in enumerate(pairs)}
    want = [[code.get((a, b), -1) if a >= 0 and b >= 0 else -1 for a, b in zip(r1, r2, strict=True)]
            for r1, r2 in zip(g1.tolist(), g2.tolist(), strict=True)]
    assert out.tolist() == want
    co = k("group_coalesce")(g1, g2)
    off = int(g1.max()) + 1
    want_co = [[a if a >= 0 else (b + off if b >= 0 else -1) for a, b in zip(r1, r2, strict=True)]
               for r1, r2 in zip(g1.tolist(), g2.tolist(), strict=True)]
    assert co.tolist() == want_co

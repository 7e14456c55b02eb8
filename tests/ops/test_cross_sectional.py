"""Cross-sectional operators against slow references and brain.md worked examples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from test_cross_common import (
    INF,
    NAN,
    avg_ranks,
    by_group,
    by_group_pairs,
    close,
    cs_data,
    ref_clip,
    ref_mean,
    ref_minmax,
    ref_rank,
    ref_reg,
    ref_std,
    ref_vec,
    ref_zscore,
)

from alphamine.ops import get
from alphamine.ops.cross.kernels import rank_rows, sort_rows


def k(name: str):  # the registered kernel
    return get(name).kernel


def row(*v: float) -> np.ndarray:
    return np.array([v], dtype=float)


DATA = [cs_data(0), cs_data(1, T=20, N=9), cs_data(2, inf=True)]


# ------------------------------------------------------------------------------------------- goldens
def test_rank_worked_example() -> None:
    close(k("rank")(row(4, 3, 6, 10, 2)), row(0.5, 0.25, 0.75, 1, 0))


def test_rank_ties_single_and_nan() -> None:
    close(k("rank")(row(1, 2, 2, NAN, 3)), row(0, 0.5, 0.5, NAN, 1))
    close(k("rank")(row(NAN, 7, NAN)), row(NAN, 0.5, NAN))
    close(k("rank")(row(NAN, NAN)), row(NAN, NAN))
    close(k("rank")(row(-INF, 0.0, -0.0, INF)), row(0, 0.5, 0.5, 1))
    close(k("rank")(row(2, 2, 2)), row(0.5, 0.5, 0.5))


def test_vector_neut_worked_example() -> None:
    close(k("vector_neut")(row(1, 2, 3), row(3, 4, 5)), row(-0.56, -0.08, 0.40))
    close(k("vector_proj")(row(1, 2, 3), row(3, 4, 5)), row(1.56, 2.08, 2.60))


def test_truncate_worked_example() -> None:
    close(k("truncate")(row(3, 7, 20, 6), 0.5), row(3, 7, 18, 6))
    close(k("truncate")(row(-30, 7, NAN, 3), 0.5), row(-20, 7, NAN, 3))


def test_quantile_examples() -> None:
    x = row(4, 3, 6, 10, 2)  # ranks (0.5, .25, .75, 1, 0), n = 5: p = 0.2 + 0.6 r
    p = np.array([[0.5, 0.35, 0.65, 0.8, 0.2]])
    close(k("quantile")(x), stats.norm.ppf(p))
    close(k("quantile")(x, "gaussian", 2.0), 2 * stats.norm.ppf(p))
    close(k("quantile")(x, "Uniform", 1.0), p - 0.5)
    close(k("quantile")(x, "cauchy", 1.0), stats.cauchy.ppf(p))
    close(k("quantile")(row(NAN, 3, NAN)), row(NAN, 0, NAN))
    with pytest.raises(ValueError):
        k("quantile")(x, "lognormal", 1.0)


def test_normalize_example() -> None:
    x = row(3, 5, 6, 2)  # mean 4, population std sqrt(2.5)
    close(k("normalize")(x), row(-1, 1, 2, -2))
    close(k("normalize")(x, True, 0.0), row(-1, 1, 2, -2) / np.sqrt(2.5))
    close(k("normalize")(x, True, 1.0), row(-0.632455532, 0.632455532, 1, -1))
    close(k("normalize")(row(1, 1, NAN), True, 0.0), row(NAN, NAN, NAN))


def test_winsorize_example() -> None:
    x = row(2, 4, 5, 6, 3, 8, 10)  # mean 5.4286, population std 2.6112
    close(k("winsorize")(x, 1.0), row(2.817762, 4, 5, 6, 3, 8, 8.039381), tol=1e-6)
    close(k("winsorize")(x, 4.0), x)


def test_zscore_and_p8() -> None:
    close(k("zscore")(row(1, 2, 3, NAN)), row(-np.sqrt(1.5), 0, np.sqrt(1.5), NAN))
    close(k("zscore")(row(0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1)), np.full((1, 7), NAN))  # exact constant
    close(k("zscore")(row(NAN, 5, NAN)), row(NAN, NAN, NAN))


def test_scale_modes_p17() -> None:
    x = row(2, -1, 3, -3, 0, NAN)
    close(k("scale")(x), x / 9)
    close(k("scale")(x, 2.0, 0.0, 0.0), 2 * x / 9)
    close(k("scale")(x, 1.0, 2.0, 0.0), row(0.8, -0.25, 1.2, -0.75, 0, NAN))  # shorts use 1
    close(k("scale")(x, 1.0, 0.0, 3.0), row(0.4, -0.75, 0.6, -2.25, 0, NAN))  # longs use 1
    close(k("scale")(row(0, 0, NAN)), row(NAN, NAN, NAN))  # Σ|x| = 0 (P8)
    close(k("scale")(row(1, 2, 0), 1.0, 1.0, 1.0), row(1 / 3, 2 / 3, 0))  # no shorts: long side only


def test_scale_down_and_rank_by_side() -> None:
    close(k("scale_down")(row(1, 3, 5, NAN), 0.5), row(-0.5, 0, 0.5, NAN))
    close(k("scale_down")(row(4, 4)), row(NAN, NAN))
    # positives (1, 3, 3) -> 1/3, 5/6, 5/6; negatives |(-2, -4)| -> -1/2, -1; zero -> 0; Σ|.| = 3.5
    out = k("rank_by_side")(row(1, 3, 3, -2, -4, 0, NAN), 2, 1.0)
    close(out, row(1 / 3, 5 / 6, 5 / 6, -0.5, -1, 0, NAN) / 3.5)


def test_regression_example() -> None:
    y = row(1, 3, 2, 5, NAN)
    x = row(1, 2, 3, 4, 5)
    beta = 1.1  # cov = 2.75/4, var = 1.25
    fit = 2.75 + beta * (x - 2.5)
    fit[0, 4] = NAN
    close(k("regression_proj")(y, x), fit)
    close(k("regression_neut")(y, x), y - fit)
    close(k("regression_neut")(y, row(2, 2, 2, 2, 2)), np.full((1, 5), NAN))


# ------------------------------------------------------------------------------------- vs references
def ref_scale(v: np.ndarray, s: float = 1.0, ls: float = 0.0, ss: float = 0.0) -> np.ndarray:
    tot = np.sum(np.abs(v))
    if tot == 0:
        return np.full(len(v), NAN)
    if ls <= 0 and ss <= 0:
        return v * s / tot
    pos, neg = np.sum(v[v > 0]), -np.sum(v[v < 0])
    return np.array([u * (ls or 1.0) / pos if u > 0 else (u * (ss or 1.0) / neg if u < 0 else 0.0) for u in v])


def ref_side(v: np.ndarray, s: float) -> np.ndarray:
    pos, neg = v[v > 0], -v[v < 0]
    rp, rn = avg_ranks(pos) / max(len(pos), 1), avg_ranks(neg) / max(len(neg), 1)
    out = np.zeros(len(v))
    out[v > 0] = rp
    out[v < 0] = -rn
    return ref_scale(out, s)


def ref_quantile(v: np.ndarray, driver: str, sigma: float) -> np.ndarray:
    n = len(v)
    p = 1 / n + ref_rank(v) * (1 - 2 / n)
    if driver == "gaussian":
        return sigma * stats.norm.ppf(p)
    if driver == "cauchy":
        return sigma * stats.cauchy.ppf(p)
    return sigma * (p - np.mean(p))


def ref_normalize(v: np.ndarray, use_std: bool, limit: float) -> np.ndarray:
    r = v - ref_mean(v)
    if use_std:
        sd = ref_std(v)
        r = np.full(len(v), NAN) if sd == 0 else r / sd
    return np.clip(r, -limit, limit) if limit > 0 else r


SINGLE = [
    ("rank", (), ref_rank),
    ("zscore", (), ref_zscore),
    ("normalize", (False, 0.0), lambda v: ref_normalize(v, False, 0.0)),
    ("normalize", (True, 0.0), lambda v: ref_normalize(v, True, 0.0)),
    ("normalize", (True, 0.7), lambda v: ref_normalize(v, True, 0.7)),
    ("normalize", (False, 0.3), lambda v: ref_normalize(v, False, 0.3)),
    ("scale", (1.0, 0.0, 0.0), ref_scale),
    ("scale", (3.0, 0.0, 0.0), lambda v: ref_scale(v, 3.0)),
    ("scale", (1.0, 2.0, 0.0), lambda v: ref_scale(v, 1.0, 2.0, 0.0)),
    ("scale", (1.0, 0.5, 4.0), lambda v: ref_scale(v, 1.0, 0.5, 4.0)),
    ("scale_down", (0.0,), ref_minmax),
    ("scale_down", (0.25,), lambda v: ref_minmax(v, 0.25)),
    ("quantile", ("gaussian", 1.0), lambda v: ref_quantile(v, "gaussian", 1.0)),
    ("quantile", ("uniform", 2.0), lambda v: ref_quantile(v, "uniform", 2.0)),
    ("quantile", ("cauchy", 0.5), lambda v: ref_quantile(v, "cauchy", 0.5)),
    ("winsorize", (4.0,), lambda v: ref_clip(v, ref_mean(v) - 4 * ref_std(v), ref_mean(v) + 4 * ref_std(v))),
    ("winsorize", (0.5,), lambda v: ref_clip(v, ref_mean(v) - 0.5 * ref_std(v), ref_mean(v) + 0.5 * ref_std(v))),
    ("truncate", (0.01,), lambda v: ref_clip(v, -0.01 * np.sum(np.abs(v)), 0.01 * np.sum(np.abs(v)))),
    ("truncate", (0.15,), lambda v: ref_clip(v, -0.15 * np.sum(np.abs(v)), 0.15 * np.sum(np.abs(v)))),
    ("rank_by_side", (2, 1.0), lambda v: ref_side(v, 1.0)),
    ("rank_by_side", (0, 2.0), lambda v: ref_side(v, 2.0)),
]


@pytest.mark.parametrize(("name", "args", "ref"), SINGLE, ids=[f"{n}{a}" for n, a, _ in SINGLE])
@pytest.mark.parametrize("di", range(len(DATA)))
def test_single_input_vs_reference(name: str, args: tuple, ref, di: int) -> None:
    x = DATA[di]
    close(k(name)(x, *args), by_group(x, None, ref))


PAIRS = [
    ("vector_neut", ref_vec(False)),
    ("vector_proj", ref_vec(True)),
    ("regression_neut", ref_reg(False)),
    ("regression_proj", ref_reg(True)),
]


@pytest.mark.parametrize(("name", "ref"), PAIRS, ids=[n for n, _ in PAIRS])
@pytest.mark.parametrize("di", range(len(DATA)))
def test_pair_vs_reference(name: str, ref, di: int) -> None:
    a = DATA[di]
    b = cs_data(di + 10, T=a.shape[0], N=a.shape[1])
    close(k(name)(a, b), by_group_pairs(a, b, None, ref))
    close(k(name)(a, a), by_group_pairs(a, a, None, ref))


def test_rank_matches_pandas_on_larger_data() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((40, 700)), 2)
    x[rng.random(x.shape) < 0.2] = NAN
    ref = pd.DataFrame(x.T).rank(method="average").to_numpy().T
    n = np.sum(~np.isnan(x), axis=1, keepdims=True)
    close(rank_rows(x), (ref - 1) / (n - 1))


def test_sort_rows_is_exact_despite_key_truncation() -> None:
    # values differing only in the last mantissa bits collide in the truncated sort key
    base = 1.0 + np.arange(40) * np.finfo(float).eps
    rng = np.random.default_rng(3)
    x = np.vstack([rng.permutation(base), -rng.permutation(base), rng.permutation(base) * 1e-300])
    order, nvalid = sort_rows(x)
    assert (nvalid == 40).all()
    for t in range(3):
        assert np.all(np.diff(x[t, order[t]]) > 0)
    close(rank_rows(x), by_group(x, None, ref_rank))

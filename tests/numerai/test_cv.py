"""Era CV: the embargo holds, coverage is as documented, and OOF predictions never see their own era."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphamine.numerai.cv import Fold, era_codes, kfold, make_folds, oof_predict, walkforward

PROP = settings(max_examples=300, deadline=None)
splits = st.integers(2, 10).flatmap(
    lambda k: st.tuples(st.integers(k, 400), st.just(k), st.integers(0, 40), st.integers(1, 30))
)


def _check_embargo(folds: list[Fold], embargo: int) -> None:
    for f in folds:
        assert f.train and f.validation and not set(f.train) & set(f.validation)
        assert f.validation == tuple(range(f.validation[0], f.validation[-1] + 1))  # contiguous, so the ends suffice
        assert min(abs(t - v) for t in f.train for v in (f.validation[0], f.validation[-1])) > embargo


@PROP
@given(splits)
def test_kfold_embargo_and_coverage(case: tuple[int, int, int, int]) -> None:
    n, k, embargo, min_train = case
    folds = kfold(n, k, embargo, min_train)
    _check_embargo(folds, embargo)
    assert all(len(f.train) >= min_train for f in folds)
    validated = [v for f in folds for v in f.validation]
    assert len(validated) == len(set(validated))  # at most once
    # exactly once, except the eras of a dropped fold: one whose embargo-trimmed complement is too small
    size = n // k
    for b in range(k):
        start, end = b * size, (n if b == k - 1 else (b + 1) * size)
        kept = max(0, start - embargo) + max(0, n - end - embargo) >= min_train
        assert all((e in set(validated)) == kept for e in range(start, end))


@PROP
@given(splits)
def test_walkforward_embargo_and_coverage(case: tuple[int, int, int, int]) -> None:
    n, k, embargo, min_train = case
    folds = walkforward(n, k, embargo, min_train)
    _check_embargo(folds, embargo)
    for f in folds:
        assert max(f.train) < f.validation[0] - embargo  # only the past, minus the embargo
        assert f.train == tuple(range(len(f.train)))
    validated = [v for f in folds for v in f.validation]
    assert len(validated) == len(set(validated))
    assert 0 not in validated  # the first block never has training eras
    if validated:
        assert validated == list(range(validated[0], n))  # a suffix of history


def test_reference_fold_sizes_from_example_scripts() -> None:
    """Numbers verified on numerai/example-scripts' era_cv_splits (expanding, 5 folds, embargo 13)."""
    full = walkforward(1198, 5, 13)
    assert [f.index for f in full] == [1, 2, 3, 4]
    assert [len(f.train) for f in full] == [226, 465, 704, 943]
    assert [len(f.validation) for f in full] == [239, 239, 239, 242]
    down = walkforward(300, 5, 13)
    assert [len(f.train) for f in down] == [47, 107, 167, 227]
    first, second = tuple(range(5)), tuple(range(5, 10))
    assert kfold(10, 2, 0) == [Fold(0, second, first), Fold(1, first, second)]


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="folds must be >= 2"):
        kfold(10, 1)
    with pytest.raises(ValueError, match="cannot make"):
        walkforward(3, 5)
    with pytest.raises(ValueError, match="embargo must be >= 0"):
        kfold(10, 2, -1)
    with pytest.raises(ValueError, match="unknown CV scheme"):
        make_folds(10, "random")
    with pytest.raises(ValueError, match="leaves no fold"):
        make_folds(20, "walkforward", 2, 13)


def test_era_codes_sort_numerically() -> None:
    codes, names = era_codes(pd.Series(["10", "9", "10", "100"]))
    assert names == ["9", "10", "100"] and codes.tolist() == [1, 0, 1, 2]


class EraSpy:
    """A model whose prediction for a row is 1.0 if it was trained on that row's era, else 0.0."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> EraSpy:
        self.seen = set(X["era_code"].tolist())
        return self

    def predict(self, X: pd.DataFrame, eras: Any = None) -> np.ndarray:
        assert eras is not None and (np.asarray(eras) == X["era_code"].to_numpy()).all()
        return X["era_code"].isin(self.seen).to_numpy(dtype=float)


@settings(max_examples=100, deadline=None)
@given(splits, st.sampled_from(["kfold", "walkforward"]), st.integers(1, 4), st.randoms(use_true_random=False))
def test_oof_never_from_a_model_that_saw_the_era(
    case: tuple[int, int, int, int], scheme: str, rows_per_era: int, rnd: Any
) -> None:
    n, k, embargo, min_train = case
    try:
        folds = make_folds(n, scheme, k, embargo, min_train)
    except ValueError:
        return  # no fold with enough training eras: nothing to predict
    eras = [f"{e:04d}" for e in range(n) for _ in range(rows_per_era)]
    rnd.shuffle(eras)  # rows in any order
    codes, _ = era_codes(pd.Series(eras))
    X = pd.DataFrame({"era_code": codes})
    oof = oof_predict(EraSpy, X, np.zeros(len(X)), codes, folds)
    validated_eras = {v for f in folds for v in f.validation}
    assert (oof.validated == np.isin(codes, list(validated_eras))).all()
    assert (oof.prediction[oof.validated] == 0.0).all()
    assert np.isnan(oof.prediction[~oof.validated]).all() and (oof.fold[~oof.validated] == -1).all()
    for f in folds:
        assert set(codes[oof.fold == f.index]) == set(f.validation)

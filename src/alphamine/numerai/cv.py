"""Era-wise cross-validation with an embargo, and out-of-fold (OOF) predictions.

Why eras and an embargo: rows of one era share a date, and Numerai's targets look 20 or 60 market
days ahead, so targets of neighbouring weekly eras overlap. A row-wise split, or an era split with
training eras right next to the validation block, leaks the future into training. numerai/
example-scripts' agents use contiguous era blocks with a 13-era embargo; so do we.

Contract (eras are *positions* 0..n_eras-1 in the sorted era list; `Fold.train`/`Fold.validation`
are sorted tuples of positions):
- Blocks: the eras are cut into `folds` contiguous blocks of `n_eras // folds` eras; the remainder
  goes to the last block.
- `kfold`: fold k validates block k and trains on every era more than `embargo` positions away
  from it: train = [0, start − embargo) ∪ [end + embargo, n). So |t − v| > embargo for every
  training era t and validation era v of a fold (at least `embargo` eras lie strictly between).
- `walkforward` (expanding window): fold k validates block k and trains on [0, start − embargo):
  only the past, minus the embargo.
- A fold whose training set has fewer than `min_train_eras` eras is dropped, and its block is then
  not validated. Coverage: every era is validated at most once. `kfold`: every era is validated
  exactly once, except the eras of a dropped block k, i.e. one with
  max(0, start_k − embargo) + max(0, n_eras − end_k − embargo) < min_train_eras.
  `walkforward`: block k is validated iff start_k − embargo ≥ min_train_eras, so the first block
  never is (its training set is empty) and the validated eras are a suffix of history.
- Embargo positions count eras *in the loaded data*: on scouting data (every 4th era) an embargo of
  13 spans 52 real weeks.
- OOF: each validation row is predicted only by its own fold's model, which never saw that row's
  era (nor any era within `embargo` of it). Rows of unvalidated eras get NaN and fold −1.
- No early stopping: a fold's model is fit on its training eras only, with a fixed number of
  iterations; validation eras are never passed to `fit` (early stopping on them would pick the
  iteration count with knowledge of the OOF targets and inflate OOF scores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from alphamine.numerai.data import sort_eras

Scheme = Literal["kfold", "walkforward"]
SCHEMES: tuple[str, ...] = ("kfold", "walkforward")
DEFAULT_EMBARGO = 13


@dataclass(frozen=True)
class Fold:
    """One split: fold number (its block's number) and the era positions it trains and validates on."""

    index: int
    train: tuple[int, ...]
    validation: tuple[int, ...]


class Predictor(Protocol):
    """What `oof_predict` needs of a model: fit on rows, predict rows (with their era codes)."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> Any: ...

    def predict(self, X: pd.DataFrame, eras: np.ndarray | None = None) -> np.ndarray: ...


def _blocks(n_eras: int, folds: int) -> list[tuple[int, int]]:
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    if n_eras < folds:
        raise ValueError(f"{n_eras} eras cannot make {folds} folds")
    size = n_eras // folds
    return [(k * size, n_eras if k == folds - 1 else (k + 1) * size) for k in range(folds)]


def _check(embargo: int, min_train_eras: int) -> None:
    if embargo < 0:
        raise ValueError(f"embargo must be >= 0, got {embargo}")
    if min_train_eras < 1:
        raise ValueError(f"min_train_eras must be >= 1, got {min_train_eras}")


def kfold(n_eras: int, folds: int = 5, embargo: int = DEFAULT_EMBARGO, min_train_eras: int = 1) -> list[Fold]:
    """Blocked K-fold with `embargo` eras removed on both sides of each validation block."""
    _check(embargo, min_train_eras)
    out = []
    for k, (start, end) in enumerate(_blocks(n_eras, folds)):
        train = (*range(0, max(0, start - embargo)), *range(min(n_eras, end + embargo), n_eras))
        if len(train) >= min_train_eras:
            out.append(Fold(k, train, tuple(range(start, end))))
    return out


def walkforward(n_eras: int, folds: int = 5, embargo: int = DEFAULT_EMBARGO, min_train_eras: int = 1) -> list[Fold]:
    """Expanding-window walk-forward: train on every era before `block_start − embargo`."""
    _check(embargo, min_train_eras)
    out = []
    for k, (start, end) in enumerate(_blocks(n_eras, folds)):
        train = tuple(range(0, max(0, start - embargo)))
        if len(train) >= min_train_eras:
            out.append(Fold(k, train, tuple(range(start, end))))
    return out


def make_folds(
    n_eras: int, scheme: str = "walkforward", folds: int = 5, embargo: int = DEFAULT_EMBARGO, min_train_eras: int = 1
) -> list[Fold]:
    """`kfold` or `walkforward` by name; raises if no fold is left."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown CV scheme {scheme!r} (known: {', '.join(SCHEMES)})")
    split = kfold if scheme == "kfold" else walkforward
    out = split(n_eras, folds, embargo, min_train_eras)
    if not out:
        raise ValueError(f"{scheme} with {folds} folds and embargo {embargo} leaves no fold with training eras "
                         f"on {n_eras} eras")
    return out


def era_codes(eras: pd.Series | Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(position of each row's era in the sorted era list, that list): the integer form folds index."""
    values = pd.Series(eras).astype(str)
    names = sort_eras(values.unique())
    lookup = {name: i for i, name in enumerate(names)}
    return values.map(lookup).to_numpy(dtype=np.int64), names


@dataclass(frozen=True, eq=False)
class OOF:
    """Out-of-fold predictions aligned to the input rows: NaN / −1 where the row was not validated."""

    prediction: np.ndarray
    fold: np.ndarray

    @property
    def validated(self) -> np.ndarray:
        return self.fold >= 0


def oof_predict(
    build: Callable[[], Predictor],
    X: pd.DataFrame,
    y: np.ndarray | pd.Series,
    codes: np.ndarray,
    folds: Sequence[Fold],
) -> OOF:
    """Fit a fresh `build()` model per fold on its training eras, predict its validation eras.

    `codes` are era positions per row (`era_codes`). A row in two folds' validation sets raises."""
    target = np.asarray(y, dtype=np.float64)
    codes = np.asarray(codes)
    if not len(X) == len(target) == len(codes):
        raise ValueError("X, y and era codes must have the same number of rows")
    prediction = np.full(len(X), np.nan)
    fold_of = np.full(len(X), -1, dtype=np.int64)
    for f in folds:
        train_rows = np.flatnonzero(np.isin(codes, f.train))
        val_rows = np.flatnonzero(np.isin(codes, f.validation))
        if len(train_rows) == 0 or len(val_rows) == 0:
            continue
        if (fold_of[val_rows] >= 0).any():
            raise ValueError(f"fold {f.index} validates rows another fold already validated")
        model = build()
        model.fit(X.iloc[train_rows], target[train_rows])
        prediction[val_rows] = np.asarray(model.predict(X.iloc[val_rows], eras=codes[val_rows]), dtype=np.float64)
        fold_of[val_rows] = f.index
    return OOF(prediction, fold_of)

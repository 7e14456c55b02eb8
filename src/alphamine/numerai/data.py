"""Load real Numerai Classic parquet files (train/validation/live, full, downsampled) into `NumeraiData`.

Why a loader of our own: the files are large (v5 `train.parquet` is several GB with ~2,700 feature
columns), so reading them with `pd.read_parquet` and letting pandas pick dtypes costs 8× the memory
of the int8 data. This module reads only the columns a run needs (pyarrow projection), filters rows
while reading (scouting eras, missing targets), converts features column batch by column batch into
one int8 block, and names the file and the missing columns when it is handed the wrong file.

Contract:
- Features are always on the **0–4 bin scale**: int8 files (v5) are taken as they are; float files
  (older versions, bins 0/0.25/0.5/0.75/1) are multiplied by 4. The block is `int8` unless some value
  is missing (null/NaN), then `float32` with NaN. Values off the bin grid raise `NumeraiDataError`.
  A model trained on this scale must be fed live features on the same scale.
- `era` is a string Series ("0001", …); integer eras are zero-padded to 4 digits.
- `ids` is the file's `id` column/index as strings (a file without one gets "0", "1", … and cannot be
  joined to benchmark predictions); duplicate ids raise.
- Rows whose main target is NaN are dropped (`drop_missing_target=True`): in `validation.parquet`
  those are the "test" rows. `target=None` reads a file without targets (live).
- Benchmark predictions (`benchmark_col`) come from the data file itself when it has that column,
  else from `benchmark_path`, else from `<stem>_benchmark_models.parquet` next to the data file
  (Numerai's naming). They are joined **by id**; ids the benchmark file lacks get NaN (benchmark files
  cover fewer eras), and an id whose era differs between the two files raises.
- Scouting keeps the eras whose position in the sorted era list is a multiple of `scouting_step`
  (Numerai's "downsampled" files use step 4, offset 0).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BIN_MAX = 4
FEATURE_PREFIX = "feature_"
BENCHMARK_SUFFIX = "_benchmark_models.parquet"
_BATCH_COLUMNS = 256


class NumeraiDataError(ValueError):
    """A data file that is not what the run needs; the message names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class NumeraiData:
    """One loaded Numerai file. Every member shares the `ids` index (name "id"), in file order.

    `features`: int8 (or float32 with NaN) on the 0–4 scale, columns in the requested order.
    `targets`: float32, the main target first (empty columns for live data).
    `era`: string Series. `benchmark`: float Series named after its column, or None.
    """

    features: pd.DataFrame
    targets: pd.DataFrame
    era: pd.Series
    benchmark: pd.Series | None
    ids: pd.Index
    target_col: str | None
    source: Path

    @property
    def feature_names(self) -> list[str]:
        return [str(c) for c in self.features.columns]

    @property
    def target(self) -> pd.Series:
        """The main target column (raises for data loaded with `target=None`)."""
        if self.target_col is None:
            raise NumeraiDataError(f"{self.source}: loaded without a target")
        return self.targets[self.target_col]

    @property
    def eras(self) -> list[str]:
        """The distinct eras in order (numeric when every era is a number)."""
        return sort_eras(self.era.unique())

    def __len__(self) -> int:
        return len(self.ids)


def sort_eras(eras: Any) -> list[str]:
    """Distinct eras as strings, ordered as integers when all are numeric, else as strings.

    Why: "0001" < "0010" either way, but unpadded eras ("2" vs "10") must sort by value; CV folds and
    "last 200 eras" both depend on this order."""
    names = sorted({str(e) for e in eras})
    if all(n.isdigit() for n in names):
        return sorted(names, key=int)
    return names


def scouting_eras(eras: Sequence[str], step: int = 4, offset: int = 0) -> list[str]:
    """Every `step`-th era of the sorted era list, starting at position `offset` (Numerai downsampling)."""
    if step < 1 or not 0 <= offset < step:
        raise ValueError(f"scouting needs step >= 1 and 0 <= offset < step, got step={step}, offset={offset}")
    return sort_eras(eras)[offset::step]


def load_feature_sets(path: str | Path) -> dict[str, list[str]]:
    """`feature_sets` of a Numerai `features.json`: set name → feature names."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NumeraiDataError(f"{p}: no such features.json") from None
    except (OSError, ValueError) as e:
        raise NumeraiDataError(f"{p}: not valid JSON: {e}") from None
    sets = doc.get("feature_sets") if isinstance(doc, dict) else None
    if not isinstance(sets, dict):
        raise NumeraiDataError(f'{p}: not a Numerai features.json (no "feature_sets" object)')
    return {str(k): [str(f) for f in v] for k, v in sets.items() if isinstance(v, list)}


def resolve_features(
    path: Path, columns: Sequence[str], feature_set: str | None, features_json: str | Path | None
) -> list[str]:
    """The feature list: a named set from features.json, or (set None) every `feature_*` column."""
    if feature_set is None:
        return [c for c in columns if c.startswith(FEATURE_PREFIX)]
    fj = Path(features_json) if features_json is not None else path.parent / "features.json"
    sets = load_feature_sets(fj)
    if feature_set not in sets:
        raise NumeraiDataError(f"{fj}: no feature set {feature_set!r} (has: {', '.join(sorted(sets))})")
    return sets[feature_set]


def _schema_names(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    if not path.exists():
        raise NumeraiDataError(f"{path}: no such file")
    try:
        return list(pq.read_schema(path).names)
    except Exception as e:  # pyarrow raises ArrowInvalid/OSError for non-parquet files
        raise NumeraiDataError(f"{path}: not a parquet file: {e}") from None


def _require(path: Path, names: Sequence[str], needed: Sequence[str], what: str) -> None:
    have = set(names)
    missing = [c for c in needed if c not in have]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise NumeraiDataError(f"{path}: not a Numerai {what} file: missing column(s) {shown}")


def _column_to_bins(path: Path, name: str, column: Any) -> np.ndarray:
    """One parquet column as float64 values on the 0–4 scale (NaN for missing); raises off the grid."""
    import pyarrow as pa

    floating = pa.types.is_floating(column.type)
    if not (floating or pa.types.is_integer(column.type)):
        raise NumeraiDataError(f"{path}: feature {name} has type {column.type}, expected int8 or float bins")
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    if floating:
        values = values * BIN_MAX
    finite = values[~np.isnan(values)]
    if finite.size and (finite.min() < 0 or finite.max() > BIN_MAX or not np.all(finite == np.round(finite))):
        scale = "0/0.25/0.5/0.75/1" if floating else "0..4"
        raise NumeraiDataError(f"{path}: feature {name} has values off the Numerai bins ({scale})")
    return values


def _read_features(path: Path, features: list[str], filters: Any, n_rows: int) -> pd.DataFrame:
    """Features in column batches into one int8 block (peak ≈ block + one batch); the block becomes
    float32 at the first missing value, from then on holding NaN."""
    import pyarrow.parquet as pq

    block: np.ndarray = np.empty((n_rows, len(features)), dtype=np.int8)
    for start in range(0, len(features), _BATCH_COLUMNS):
        names = features[start : start + _BATCH_COLUMNS]
        table = pq.read_table(path, columns=names, filters=filters)
        for j, name in enumerate(names):
            values = _column_to_bins(path, name, table.column(name))
            if block.dtype == np.int8 and np.isnan(values).any():
                block = block.astype(np.float32)
            block[:, start + j] = values
        del table
    return pd.DataFrame(block, columns=list(features))


def _era_strings(values: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(values):
        return values.map(lambda e: f"{int(e):04d}").astype(str)
    return values.astype(str)


def _find_column(path: Path, names: Sequence[str], wanted: str) -> str:
    """Exact name, else the unique column ending in `_<wanted>` (Numerai benchmark lookup)."""
    if wanted in names:
        return wanted
    hits = [n for n in names if n.endswith(f"_{wanted}")]
    if len(hits) == 1:
        return hits[0]
    cols = [n for n in names if n not in ("id", "era")]
    raise NumeraiDataError(f"{path}: no benchmark column {wanted!r} (has: {', '.join(cols[:10])})")


def _read_benchmark(
    path: Path, ids: pd.Index, era: pd.Series, column: str, era_col: str, source: Path
) -> pd.Series:
    import pyarrow.parquet as pq

    names = _schema_names(path)
    _require(path, names, ["id"], "benchmark-models")
    col = _find_column(path, names, column)
    cols = ["id", col] + ([era_col] if era_col in names else [])
    bench = pq.read_table(path, columns=cols).to_pandas()
    if "id" in bench.columns:
        bench = bench.set_index("id")
    if bench.index.has_duplicates:
        raise NumeraiDataError(f"{path}: duplicate ids")
    bench.index = bench.index.astype(str)
    joined = bench.reindex(ids)
    if era_col in joined.columns:
        present = joined[era_col].notna().to_numpy()
        theirs = _era_strings(joined.loc[present, era_col])
        ours = era.to_numpy()[present]
        bad = int((theirs.to_numpy() != ours).sum())
        if bad:
            raise NumeraiDataError(f"{path}: era of {bad} id(s) differs from {source}")
    return joined[col].astype(np.float32).rename(col)


def load_numerai(
    path: str | Path,
    *,
    feature_set: str | None = "small",
    features: Sequence[str] | None = None,
    features_json: str | Path | None = None,
    target: str | None = "target",
    aux_targets: Sequence[str] = (),
    benchmark_col: str | None = None,
    benchmark_path: str | Path | None = None,
    scouting: bool = False,
    scouting_step: int = 4,
    era_col: str = "era",
    drop_missing_target: bool = True,
) -> NumeraiData:
    """Load one Numerai parquet file (module doc has the contract).

    `features` (explicit names) wins over `feature_set` (a key of features.json's `feature_sets`,
    default file `features.json` next to `path`; None = every `feature_*` column of the file).
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    src = Path(path)
    names = _schema_names(src)
    feats = list(features) if features is not None else resolve_features(src, names, feature_set, features_json)
    target_cols = ([target] if target is not None else []) + [t for t in aux_targets if t != target]
    _require(src, names, [era_col, *target_cols, *feats], "data")
    if not feats:
        raise NumeraiDataError(f"{src}: no feature columns selected")

    filters: Any = None
    if scouting:
        all_eras = pq.read_table(src, columns=[era_col]).column(era_col).to_pandas()
        kept = scouting_eras(list(_era_strings(all_eras).unique()), scouting_step)
        raw = [int(e) for e in kept] if pd.api.types.is_integer_dtype(all_eras) else kept
        filters = pc.field(era_col).isin(raw)
    if target is not None and drop_missing_target:
        valid = pc.field(target).is_valid() & ~pc.is_nan(pc.field(target))
        filters = valid if filters is None else filters & valid

    meta_cols = [era_col, *target_cols] + (["id"] if "id" in names else [])
    in_file_bench = benchmark_col is not None and benchmark_col in names
    if in_file_bench:
        meta_cols.append(str(benchmark_col))
    meta = pq.read_table(src, columns=meta_cols, filters=filters).to_pandas()
    if "id" in meta.columns:
        meta = meta.set_index("id")
    ids = pd.Index(meta.index.astype(str), name="id") if "id" in names else pd.Index(
        [str(i) for i in range(len(meta))], name="id"
    )
    if ids.has_duplicates:
        raise NumeraiDataError(f"{src}: duplicate ids")

    feature_frame = _read_features(src, feats, filters, len(meta))
    feature_frame.index = ids
    era = pd.Series(_era_strings(meta[era_col]).to_numpy(), index=ids, name="era")
    targets = pd.DataFrame({t: meta[t].to_numpy(dtype=np.float32) for t in target_cols}, index=ids)

    bench: pd.Series | None = None
    if in_file_bench:
        bench = pd.Series(meta[benchmark_col].to_numpy(dtype=np.float32), index=ids, name=benchmark_col)
    elif benchmark_col is not None:
        if "id" not in names:
            raise NumeraiDataError(f"{src}: has no id column, so benchmark predictions cannot be joined")
        bpath = Path(benchmark_path) if benchmark_path is not None else src.with_name(src.stem + BENCHMARK_SUFFIX)
        bench = _read_benchmark(bpath, ids, era, benchmark_col, era_col, src)
    return NumeraiData(feature_frame, targets, era, bench, ids, target, src)

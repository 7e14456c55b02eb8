"""Loaders: user files (long or wide, parquet or CSV) -> `Panel`.

pandas lives only here, at the edge. Every problem with an input file is a `DataError` whose message
starts with the file path and says what is wrong (columns found, counts, examples, rows), so that the
CLI prints one line and never a traceback. Rows in messages count data rows from 1 (header excluded).

Normalisation: dates -> datetime64[D] ascending, instruments -> str ascending, values -> float64 with
NaN for a missing (date, instrument) row. Field names are made expression-friendly: lower case, runs
of non-word characters -> ``_`` ("Adj Close" -> ``adj_close``).
After loading, unless ``derived=False``: a ``market`` GROUP field (every instrument in group 0), the
derived pv1 fields (`alphamine.data.derived`) and the ``TOP<n>`` universes for ``universes=`` sizes
are added when the data has ``close`` and ``volume``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from alphamine.data.derived import PV_FIELDS, add_derived_fields, pv_info
from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.panel import Panel
from alphamine.data.universes import add_top_universes

__all__ = ["SUFFIXES", "add_market_group", "load_long", "load_wide", "read_table"]

PathLike = str | Path
SUFFIXES = (".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".txt")
DEFAULT_UNIVERSES = (500, 200, 100)
_EXAMPLES = 5

GROUP_DESCRIPTIONS = {
    "market": "The whole market: every instrument is in group 0 (for market-wide group operators).",
    "sector": "GICS sector (static classification applied to every date).",
    "industry_group": "GICS industry group (static classification applied to every date).",
    "industry": "GICS industry (static classification applied to every date).",
    "subindustry": "GICS sub-industry (static classification applied to every date).",
}


# ---------------------------------------------------------------------------------------- reading
def read_table(path: PathLike) -> pd.DataFrame:
    """A non-empty DataFrame from a parquet or CSV/TSV file; a pandas index saved in parquet comes
    back as ordinary columns."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: file not found")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, expected a file")
    low = p.name.lower()
    if not low.endswith(SUFFIXES):
        raise DataError(f"{p}: unknown file extension; expected one of {', '.join(SUFFIXES)}")
    if p.stat().st_size == 0:
        raise DataError(f"{p}: empty file")
    try:
        if low.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            df = pq.read_table(p).to_pandas(date_as_object=False)
        else:
            sep = "\t" if low.endswith((".tsv", ".txt")) else ","
            df = pd.read_csv(p, sep=sep)
    except pd.errors.EmptyDataError:
        raise DataError(f"{p}: empty file") from None
    except Exception as e:  # pyarrow / pandas parser errors have many types
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{p}: cannot be read ({msg})") from None
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()
    if len(df) == 0 or df.shape[1] == 0:
        raise DataError(f"{p}: empty file (no data rows)")
    return df


def _field_name(col: object) -> str:
    s = re.sub(r"\W+", "_", str(col).strip()).strip("_").lower()
    return s if s and not s[0].isdigit() else f"f_{s}"


def _find_col(df: pd.DataFrame, want: str, file: PathLike, role: str) -> str:
    cols = [str(c) for c in df.columns]
    if want in cols:
        return want
    ci = [c for c in cols if c.lower() == want.lower()]
    if len(ci) == 1:
        return ci[0]
    raise DataError(f"{file}: no {role} column {want!r}; columns found: {', '.join(cols)}")


def _rows(mask: np.ndarray) -> list[int]:
    return (np.flatnonzero(mask)[:_EXAMPLES] + 1).tolist()


def _parse_dates(s: pd.Series, file: PathLike, col: str) -> np.ndarray:
    """datetime64[D] (len(s),); DataError on missing or unparseable dates, with examples."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        parsed = s
    elif pd.api.types.is_integer_dtype(s.dtype) and s.between(10_000_101, 99_991_231).all():
        parsed = pd.to_datetime(s.astype(str), format="%Y%m%d", errors="coerce")  # 20130208
    else:  # one inferred format (fast); per-element parsing only if that leaves holes
        with warnings.catch_warnings():  # "could not infer format": handled just below
            warnings.simplefilter("ignore", UserWarning)
            parsed = pd.to_datetime(s, errors="coerce")
        if (parsed.isna() & s.notna()).any():
            parsed = pd.to_datetime(s, errors="coerce", format="mixed")
    missing = s.isna().to_numpy()
    if missing.any():
        raise DataError(f"{file}: {int(missing.sum())} rows have no {col!r} (rows {_rows(missing)})")
    bad = parsed.isna().to_numpy()
    if bad.any():
        ex = s[bad].astype(str).unique()[:_EXAMPLES].tolist()
        raise DataError(f"{file}: {int(bad.sum())} unparseable dates in column {col!r}, e.g. {ex} (rows {_rows(bad)})")
    return parsed.to_numpy().astype("datetime64[D]")


def _is_numeric(s: pd.Series) -> bool:
    """A column is numeric if its dtype is, or if most of its non-missing text parses as numbers."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return True
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return False
    nonnull = int(s.notna().sum())
    ok = int(pd.to_numeric(s, errors="coerce").notna().sum())
    return ok > 0 and 2 * ok >= nonnull


def _to_float(s: pd.Series, file: PathLike, col: str, where: str = "") -> np.ndarray:
    """float64 values; DataError naming the column, examples and rows when text does not parse."""
    if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    conv = pd.to_numeric(s, errors="coerce")
    bad = (s.notna() & conv.isna()).to_numpy()
    if bad.any():
        ex = s[bad].astype(str).unique()[:_EXAMPLES].tolist()
        raise DataError(
            f"{file}: non-numeric values in column {col!r}, e.g. {ex} "
            f"({int(bad.sum())} values{where}; rows {_rows(bad)})"
        )
    return conv.to_numpy(dtype=np.float64, na_value=np.nan)


def _codes(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """int32 codes (-1 = missing) over labels sorted by value (numbers numerically), as str."""
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.int32), tuple(str(u) for u in uniques)


# ---------------------------------------------------------------------------------------- finishing
def add_market_group(panel: Panel) -> Panel:
    """Add the ``market`` GROUP field (all 0) unless present."""
    if "market" in panel:
        return panel
    return panel.with_fields(
        groups={"market": np.zeros(panel.shape, dtype=np.int32)},
        group_labels={"market": ("market",)},
        catalogue={"market": _group_info("market", 1)},
    )


def _group_info(name: str, n_labels: int, source: str = "") -> FieldInfo:
    desc = GROUP_DESCRIPTIONS.get(name) or f"Group field from column {name!r}{source} ({n_labels} labels)."
    return FieldInfo(name=name, type=FieldType.GROUP, dataset="pv1", category="pv", description=desc)


def _matrix_info(name: str, source: str) -> FieldInfo:
    if name in PV_FIELDS:
        return pv_info(name)
    return FieldInfo(
        name=name,
        type=FieldType.MATRIX,
        dataset="user",
        category="other",
        description=f"Column {name!r} of {source}.",
        unit=Unit.NONE,
    )


def meta_groups(
    meta: PathLike, instruments: np.ndarray, *, ticker_col: str = "ticker", group_cols: Sequence[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
    """Per-instrument group codes (N,) int32 and labels from a meta table (ticker -> columns).

    ``group_cols=None`` takes every text or integer column; float, date and boolean columns are
    ignored (a static number is not a daily field). Tickers absent from the meta get -1; meta tickers
    absent from the data are ignored.
    """
    df = read_table(meta)
    tcol = _find_col(df, ticker_col, meta, "ticker")
    tick = df[tcol].astype(str).str.strip()
    dup = tick.duplicated(keep=False).to_numpy()
    if dup.any():
        ex = tick[dup].unique()[:_EXAMPLES].tolist()
        raise DataError(f"{meta}: {int(tick[dup].nunique())} tickers appear more than once, e.g. {ex}")
    if group_cols is None:
        kinds = {c: pd.api.types.infer_dtype(df[c], skipna=True) for c in df.columns if c != tcol}
        cols = [c for c, k in kinds.items() if k in ("string", "integer", "categorical")]
    else:
        cols = [_find_col(df, c, meta, "group") for c in group_cols]
    pos = pd.Index(tick).get_indexer(pd.Index(instruments))  # (N,) row of each instrument, -1 absent
    codes: dict[str, np.ndarray] = {}
    labels: dict[str, tuple[str, ...]] = {}
    for c in cols:  # one pass per meta column, vectorized over instruments
        c_codes, c_labels = _codes(df[c])
        codes[_field_name(c)] = np.where(pos >= 0, c_codes[pos], -1).astype(np.int32)
        labels[_field_name(c)] = c_labels
    return codes, labels


def _finish(
    panel: Panel,
    meta: PathLike | None,
    *,
    ticker_col: str,
    group_cols: Sequence[str] | None,
    universes: Sequence[int],
    derived: bool,
) -> Panel:
    if meta is not None:
        codes, labels = meta_groups(meta, panel.instruments, ticker_col=ticker_col, group_cols=group_cols)
        clash = sorted(set(codes) & set(panel.catalogue))
        if clash:
            raise DataError(f"{meta}: meta columns {clash} clash with data fields of the same name")
        T = panel.n_days
        panel = panel.with_fields(
            groups={k: np.broadcast_to(v, (T, v.size)) for k, v in codes.items()},
            group_labels=labels,
            catalogue={k: _group_info(k, len(labels[k]), f" of {meta}") for k in codes},
        )
    if not derived:
        return panel
    panel = add_market_group(panel)
    panel = add_derived_fields(panel)
    if "close" in panel.matrices and "volume" in panel.matrices and universes:
        panel = add_top_universes(panel, universes)
    return panel


# ---------------------------------------------------------------------------------------- long
def load_long(
    path: PathLike,
    meta: PathLike | None = None,
    *,
    date_col: str = "date",
    ticker_col: str = "ticker",
    name: str | None = None,
    group_cols: Sequence[str] | None = None,
    universes: Sequence[int] = DEFAULT_UNIVERSES,
    derived: bool = True,
) -> Panel:
    """A Panel from a long table: one row per (date, ticker), any number of value columns.

    Numeric columns (or text columns that are mostly numbers) become MATRIX fields; text columns
    become GROUP fields (codes over sorted labels, -1 where no row); datetime columns are ignored.
    `meta`: optional ticker -> group table (see `meta_groups`). Duplicate (date, ticker) rows, missing
    or unparseable dates, missing tickers and non-numeric values in a numeric column are DataErrors.
    """
    df = read_table(path)
    dcol = _find_col(df, date_col, path, "date")
    tcol = _find_col(df, ticker_col, path, "ticker")
    dates = _parse_dates(df[dcol], path, dcol)
    tick_s = df[tcol]
    if tick_s.isna().any():
        miss = tick_s.isna().to_numpy()
        raise DataError(f"{path}: {int(miss.sum())} rows have no {tcol!r} (rows {_rows(miss)})")
    keys = pd.DataFrame({"d": dates, "t": tick_s.astype(str).str.strip()})
    dup = keys.duplicated(keep=False).to_numpy()
    if dup.any():
        pairs = keys[dup].drop_duplicates()
        ex = [f"({d}, {t})" for d, t in zip(pairs["d"].astype(str)[:_EXAMPLES], pairs["t"][:_EXAMPLES], strict=True)]
        raise DataError(
            f"{path}: {len(pairs)} duplicate (date, ticker) pairs in {int(dup.sum())} rows, e.g. {', '.join(ex)}"
        )
    udates, ri = np.unique(dates, return_inverse=True)
    ci, utick = pd.factorize(keys["t"], sort=True)
    T, N = udates.size, len(utick)
    mats: dict[str, np.ndarray] = {}
    grps: dict[str, np.ndarray] = {}
    labels: dict[str, tuple[str, ...]] = {}
    cat: dict[str, FieldInfo] = {}
    src = Path(path).name
    for c in df.columns:  # one pass per column (a handful), each vectorized over rows
        if c in (dcol, tcol) or pd.api.types.is_datetime64_any_dtype(df[c].dtype):
            continue
        fname = _field_name(c)
        if fname in cat:
            raise DataError(f"{path}: columns map to the same field name {fname!r}; rename one")
        if _is_numeric(df[c]):
            arr = np.full((T, N), np.nan)
            arr[ri, ci] = _to_float(df[c], path, str(c))
            mats[fname] = arr
            cat[fname] = _matrix_info(fname, src)
        else:
            codes, labs = _codes(df[c])
            g = np.full((T, N), -1, dtype=np.int32)
            g[ri, ci] = codes
            grps[fname], labels[fname] = g, labs
            cat[fname] = _group_info(fname, len(labs), f" of {src}")
    if not mats:
        raise DataError(f"{path}: no numeric value columns besides {dcol!r} and {tcol!r}")
    panel = Panel(
        udates,
        list(utick),
        matrices=mats,
        groups=grps,
        group_labels=labels,
        catalogue=cat,
        name=name or Path(path).stem,
    )
    return _finish(panel, meta, ticker_col=ticker_col, group_cols=group_cols, universes=universes, derived=derived)


# ---------------------------------------------------------------------------------------- wide
def _wide_sources(
    source: Mapping[str, PathLike] | PathLike | Iterable[PathLike],
) -> tuple[dict[str, Path], Path | None]:
    if isinstance(source, Mapping):
        return {str(k): Path(v) for k, v in source.items()}, None
    if isinstance(source, str | Path):
        d = Path(source)
        if not d.exists():
            raise DataError(f"{d}: directory not found")
        if not d.is_dir():
            return {_field_name(d.name.split(".")[0]): d}, None
        files = sorted(p for p in d.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))
        meta = next((p for p in files if p.name.split(".")[0].lower() == "meta"), None)
        out = {_field_name(p.name.split(".")[0]): p for p in files if p != meta}
        if not out:
            raise DataError(f"{d}: no data files ({', '.join(SUFFIXES)}) in this directory")
        return out, meta
    return {_field_name(Path(p).name.split(".")[0]): Path(p) for p in source}, None


def _read_wide(path: Path, date_col: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dates (T,), tickers (N,) str, values (T, N) float64) of one wide file."""
    df = read_table(path)
    dcol = (
        _find_col(df, date_col, path, "date")
        if date_col
        else (next((str(c) for c in df.columns if str(c).lower() == "date"), str(df.columns[0])))
    )
    dates = _parse_dates(df[dcol], path, dcol)
    body = df.drop(columns=[dcol])
    if body.shape[1] == 0:
        raise DataError(f"{path}: no ticker columns besides the date column {dcol!r}")
    dup = pd.Series(dates).duplicated(keep=False).to_numpy()
    if dup.any():
        ex = np.unique(dates[dup])[:_EXAMPLES].astype(str).tolist()
        raise DataError(f"{path}: {int(np.unique(dates[dup]).size)} dates appear more than once, e.g. {ex}")
    tick = np.asarray([str(c).strip() for c in body.columns], dtype=object)
    numeric = body.dtypes.map(lambda t: pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))
    values = np.full(body.shape, np.nan)
    num_idx = np.flatnonzero(numeric.to_numpy())
    if num_idx.size:
        values[:, num_idx] = body.iloc[:, num_idx].to_numpy(dtype=np.float64, na_value=np.nan)
    txt_idx = np.flatnonzero(~numeric.to_numpy())
    if txt_idx.size:  # all text columns in one vectorized pass
        raw = pd.Series(body.iloc[:, txt_idx].to_numpy(dtype=object).ravel())
        conv = pd.to_numeric(raw, errors="coerce")
        bad = (raw.notna() & conv.isna()).to_numpy().reshape(len(body), txt_idx.size)
        if bad.any():
            r, c = np.nonzero(bad)
            ex = [
                f"{body.columns[txt_idx[j]]}={raw.iloc[i * txt_idx.size + j]!r} (row {i + 1})"
                for i, j in zip(r[:_EXAMPLES], c[:_EXAMPLES], strict=True)
            ]
            raise DataError(f"{path}: {int(bad.sum())} non-numeric values, e.g. {', '.join(ex)}")
        values[:, txt_idx] = conv.to_numpy(dtype=np.float64, na_value=np.nan).reshape(len(body), -1)
    return dates, tick, values


def load_wide(
    source: Mapping[str, PathLike] | PathLike | Iterable[PathLike],
    meta: PathLike | None = None,
    *,
    date_col: str | None = None,
    ticker_col: str = "ticker",
    name: str | None = None,
    group_cols: Sequence[str] | None = None,
    universes: Sequence[int] = DEFAULT_UNIVERSES,
    derived: bool = True,
) -> Panel:
    """A Panel from wide files, one per field: rows = dates, columns = tickers.

    `source` is ``{"close": "close.csv", ...}``, a list of files (field = file stem), or a directory
    (every data file in it; a file named ``meta.*`` there is used as `meta` unless one is given).
    The date column is `date_col`, else a column named ``date``, else the first column. Dates and
    tickers are the union over files; a field is NaN where its file has no value.
    """
    files, found_meta = _wide_sources(source)
    meta = meta if meta is not None else found_meta
    parts = {f: _read_wide(p, date_col) for f, p in files.items()}
    udates = np.unique(np.concatenate([d for d, _, _ in parts.values()]))
    utick = np.unique(np.concatenate([t for _, t, _ in parts.values()]).astype(str))
    mats: dict[str, np.ndarray] = {}
    for f, (d, t, v) in parts.items():
        if len(set(t.tolist())) != t.size:
            raise DataError(f"{files[f]}: a ticker column appears more than once")
        arr = np.full((udates.size, utick.size), np.nan)
        arr[np.ix_(np.searchsorted(udates, d), np.searchsorted(utick, t.astype(str)))] = v
        mats[f] = arr
    first = next(iter(files.values()))
    cat = {f: _matrix_info(f, files[f].name) for f in mats}
    panel = Panel(udates, utick.tolist(), matrices=mats, catalogue=cat, name=name or first.parent.name)
    return _finish(panel, meta, ticker_col=ticker_col, group_cols=group_cols, universes=universes, derived=derived)

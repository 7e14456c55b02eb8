"""The Panel: a market as dense arrays (dates x instruments), plus its field catalogue.

Contract (ARCHITECTURE.md "Arrays, not frames, inside"):
- `dates` datetime64[D] (T,), strictly increasing; `instruments` str (N,), unique.
- MATRIX fields float64 (T, N), NaN = missing; GROUP fields int32 (T, N), -1 = none, with a label
  table per group field; VECTOR fields float64 (T, N, K), NaN-padded; universes bool (T, N).
- Immutable: arrays are read-only and the mappings are proxies; "changes" build a new Panel that
  shares the untouched arrays.
- `fingerprint()` is a stable content hash (same data -> same hex string across processes and
  machines), used as a cache key for simulation results.
- `ages` (optional; `alphamine.data.freshness`): MATRIX field -> float32 (T, N) age in days of its value, NaN
  = none. Not in `fingerprint()`: metadata of the source that fixed the values (hashing re-keys results).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any

import numpy as np

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType


def _not_nan(a: np.ndarray) -> np.ndarray:
    return ~np.isnan(a)


def _labelled(a: np.ndarray) -> np.ndarray:
    return a >= 0


def _vec_present(a: np.ndarray) -> np.ndarray:
    return ~np.all(np.isnan(a), axis=2) if a.shape[2] else np.zeros(a.shape[:2], bool)


def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def _per_object(table: Mapping[str, np.ndarray], fn: Callable[[np.ndarray], np.ndarray]) -> dict[str, np.ndarray]:
    """`fn` of each value, once per distinct array object (fields sharing an ages array keep sharing one)."""
    done: dict[int, np.ndarray] = {}
    return {k: done[id(v)] if id(v) in done else done.setdefault(id(v), fn(v)) for k, v in table.items()}


def mask_key(mask: np.ndarray) -> str:
    """Content hash (blake2b-64 hex of the packed bits) of a boolean (T, N) mask."""
    return hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=8).hexdigest()


class Panel:
    """A dense market panel. Build with the constructor or the loaders in `alphamine.data`."""

    __slots__ = (
        "_catalogue",
        "_fingerprint",
        "_universe_keys",
        "ages",
        "dates",
        "group_labels",
        "groups",
        "instruments",
        "matrices",
        "name",
        "universes",
        "vectors",
    )

    def __init__(
        self,
        dates: Any,
        instruments: Iterable[str],
        matrices: Mapping[str, np.ndarray] | None = None,
        groups: Mapping[str, np.ndarray] | None = None,
        vectors: Mapping[str, np.ndarray] | None = None,
        universes: Mapping[str, np.ndarray] | None = None,
        catalogue: Mapping[str, FieldInfo] | None = None,
        group_labels: Mapping[str, Iterable[str]] | None = None,
        name: str = "",
        *,
        trust_catalogue: bool | Collection[str] = False,
        ages: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        d = np.asarray(dates).astype("datetime64[D]")
        inst = np.asarray([str(x) for x in instruments], dtype=object)
        if d.ndim != 1 or inst.ndim != 1:
            raise DataError("panel: dates and instruments must be 1-D")
        if d.size > 1 and not bool(np.all(d[1:] > d[:-1])):
            raise DataError("panel: dates must be strictly increasing")
        if len(set(inst.tolist())) != inst.size:
            raise DataError("panel: instruments must be unique")
        T, N = d.size, inst.size
        mats: dict[str, np.ndarray] = {}
        for k, v in (matrices or {}).items():
            a = np.ascontiguousarray(v, dtype=np.float64)
            if a.shape != (T, N):
                raise DataError(f"panel: MATRIX field {k!r} has shape {a.shape}, expected {(T, N)}")
            mats[k] = _readonly(a)
        grps: dict[str, np.ndarray] = {}
        for k, v in (groups or {}).items():
            a = np.ascontiguousarray(v, dtype=np.int32)
            if a.shape != (T, N):
                raise DataError(f"panel: GROUP field {k!r} has shape {a.shape}, expected {(T, N)}")
            grps[k] = _readonly(a)
        vecs: dict[str, np.ndarray] = {}
        for k, v in (vectors or {}).items():
            a = np.ascontiguousarray(v, dtype=np.float64)
            if a.ndim != 3 or a.shape[:2] != (T, N):
                raise DataError(f"panel: VECTOR field {k!r} has shape {a.shape}, expected {(T, N)}+(K,)")
            vecs[k] = _readonly(a)
        unis: dict[str, np.ndarray] = {}
        for k, v in (universes or {}).items():
            a = np.ascontiguousarray(v, dtype=bool)
            if a.shape != (T, N):
                raise DataError(f"panel: universe {k!r} has shape {a.shape}, expected {(T, N)}")
            unis[k] = _readonly(a)
        agez = _per_object(ages or {}, lambda v: _readonly(np.ascontiguousarray(v, dtype=np.float32)))
        if bad := [k for k, a in agez.items() if k not in mats or a.shape != (T, N)]:
            raise DataError(f"panel: ages {bad} must be {(T, N)} arrays of MATRIX fields")
        all_names = [*mats, *grps, *vecs, *unis]
        dup = {n for n in all_names if all_names.count(n) > 1}
        if dup:
            raise DataError(f"panel: field names used twice: {sorted(dup)}")
        self.dates: np.ndarray = _readonly(d)
        self.instruments: np.ndarray = _readonly(inst)
        self.matrices: Mapping[str, np.ndarray] = MappingProxyType(mats)
        self.groups: Mapping[str, np.ndarray] = MappingProxyType(grps)
        self.vectors: Mapping[str, np.ndarray] = MappingProxyType(vecs)
        self.universes: Mapping[str, np.ndarray] = MappingProxyType(unis)
        self.ages: Mapping[str, np.ndarray] = MappingProxyType(agez)
        self.group_labels: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {k: tuple(v) for k, v in (group_labels or {}).items()}
        )
        self.name = name
        self._fingerprint: str | None = None
        self._universe_keys: dict[str, str] = {}
        self._catalogue: Mapping[str, FieldInfo] = MappingProxyType(
            self._build_catalogue(catalogue or {}, trust=trust_catalogue)
        )

    # ------------------------------------------------------------------ shape and access
    @property
    def n_days(self) -> int:
        return int(self.dates.size)

    @property
    def n_instruments(self) -> int:
        return int(self.instruments.size)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_days, self.n_instruments)

    @property
    def catalogue(self) -> Mapping[str, FieldInfo]:
        return self._catalogue

    def __contains__(self, name: object) -> bool:
        return name in self._catalogue

    def __getitem__(self, name: str) -> np.ndarray:
        return self.field(name)

    def field(self, name: str) -> np.ndarray:
        """The array of any field or universe; KeyError with close matches otherwise."""
        for table in (self.matrices, self.groups, self.vectors, self.universes):
            if name in table:
                return table[name]
        import difflib

        close = difflib.get_close_matches(name, list(self._catalogue), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"panel has no field {name!r}{hint}")

    def fields(self, type: FieldType | None = None) -> list[str]:
        return [k for k, v in self._catalogue.items() if type is None or v.type == type]

    def universe(self, name: str) -> np.ndarray:
        try:
            return self.universes[name]
        except KeyError:
            raise KeyError(
                f"panel has no universe {name!r}; available: {', '.join(sorted(self.universes)) or 'none'}"
            ) from None

    def date_index(self, date: Any) -> int:
        """Row of `date` (exact match); KeyError otherwise."""
        d = np.datetime64(date, "D")
        i = int(np.searchsorted(self.dates, d))
        if i >= self.n_days or self.dates[i] != d:
            raise KeyError(f"date {d} is not a trading day of this panel")
        return i

    # ------------------------------------------------------------------ derivation
    def replace(self, **changes: Any) -> Panel:
        """A new Panel with some constructor arguments replaced (arrays are shared, not copied).

        Catalogue entries of fields that still exist are kept (their coverage is recomputed); pass
        `catalogue=` to override descriptions. Ages are kept for the MATRIX fields that still exist.
        """
        kw: dict[str, Any] = {
            "dates": self.dates,
            "instruments": self.instruments,
            "matrices": self.matrices,
            "groups": self.groups,
            "vectors": self.vectors,
            "universes": self.universes,
            "catalogue": self._catalogue,
            "group_labels": self.group_labels,
            "name": self.name,
        }
        kw.update(changes)
        kw.setdefault("ages", {k: v for k, v in self.ages.items() if k in kw["matrices"]})
        return Panel(**kw)

    def with_fields(
        self,
        matrices: Mapping[str, np.ndarray] | None = None,
        groups: Mapping[str, np.ndarray] | None = None,
        vectors: Mapping[str, np.ndarray] | None = None,
        universes: Mapping[str, np.ndarray] | None = None,
        catalogue: Mapping[str, FieldInfo] | None = None,
        group_labels: Mapping[str, Iterable[str]] | None = None,
        ages: Mapping[str, np.ndarray] | None = None,
    ) -> Panel:
        """A new Panel with fields added (or replaced when the name exists with the same type).

        Coverage is recomputed only for the fields named here (all of them when `close`, the coverage
        denominator, is replaced). A replaced MATRIX field loses its ages unless `ages` gives new ones."""
        changed = {*(matrices or {}), *(groups or {}), *(vectors or {}), *(universes or {}), *(catalogue or {})}
        keep = () if "close" in (matrices or {}) else tuple(k for k in self._catalogue if k not in changed)
        return self.replace(
            trust_catalogue=keep,
            matrices={**self.matrices, **(matrices or {})},
            groups={**self.groups, **(groups or {})},
            vectors={**self.vectors, **(vectors or {})},
            universes={**self.universes, **(universes or {})},
            catalogue={**self._catalogue, **(catalogue or {})},
            group_labels={**self.group_labels, **(group_labels or {})},
            ages={**{k: v for k, v in self.ages.items() if k not in (matrices or {})}, **(ages or {})},
        )

    def slice(self, start: Any = None, end: Any = None, instruments: Iterable[str] | None = None) -> Panel:
        """Rows with start <= date <= end (inclusive, either may be None) and the given instruments
        (in the given order). Universes are sliced, not recomputed: membership stays point-in-time."""
        lo = 0 if start is None else int(np.searchsorted(self.dates, np.datetime64(start, "D"), "left"))
        hi = (
            self.n_days
            if end is None
            else int(np.searchsorted(self.dates, np.datetime64(end, "D"), "right"))
        )
        if instruments is None:
            cols: np.ndarray | slice = slice(None)
            inst = self.instruments
        else:
            pos = {s: i for i, s in enumerate(self.instruments.tolist())}
            wanted = list(instruments)
            missing = [s for s in wanted if s not in pos]
            if missing:
                raise KeyError(f"panel has no instruments {missing[:10]}")
            cols = np.asarray([pos[s] for s in wanted], dtype=np.intp)
            inst = np.asarray(wanted, dtype=object)
        rows = slice(lo, hi)

        def cut(a: np.ndarray) -> np.ndarray:
            return a[rows][:, cols]

        return self.replace(
            dates=self.dates[rows],
            instruments=inst,
            matrices={k: cut(v) for k, v in self.matrices.items()},
            groups={k: cut(v) for k, v in self.groups.items()},
            vectors={k: cut(v) for k, v in self.vectors.items()},
            universes={k: cut(v) for k, v in self.universes.items()},
            ages=_per_object(self.ages, cut),
        )

    # ------------------------------------------------------------------ identity
    def fingerprint(self) -> str:
        """Stable content hash (blake2b-128 hex) of dates, instruments and every field's values."""
        if self._fingerprint is None:
            h = hashlib.blake2b(digest_size=16)
            h.update(b"alphamine-panel-v1")
            h.update(self.dates.astype("datetime64[D]").astype(np.int64).tobytes())
            h.update("\x1f".join(self.instruments.tolist()).encode())
            for kind, table in (
                ("M", self.matrices),
                ("G", self.groups),
                ("V", self.vectors),
                ("U", self.universes),
            ):
                for k in sorted(table):
                    a = np.ascontiguousarray(table[k])
                    h.update(f"|{kind}:{k}:{a.dtype.str}:{a.shape}|".encode())
                    h.update(a.tobytes() if not a.flags.c_contiguous else a.data.cast("B"))
            for k in sorted(self.group_labels):
                h.update(f"|L:{k}|".encode())
                h.update("\x1f".join(self.group_labels[k]).encode())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def universe_key(self, name: str) -> str:
        """`mask_key` of universe `name`, memoized like
        `fingerprint` (a panel's arrays are read-only views: it is immutable by contract)."""
        key = self._universe_keys.get(name)
        if key is None:
            key = mask_key(self.universe(name))
            self._universe_keys[name] = key
        return key

    def __repr__(self) -> str:
        span = f"{self.dates[0]}..{self.dates[-1]}" if self.n_days else "empty"
        return (
            f"Panel({self.name or 'unnamed'}: {self.n_days} days {span}, {self.n_instruments} instruments, "
            f"{len(self.matrices)} matrix, {len(self.groups)} group, {len(self.vectors)} vector fields, "
            f"universes {sorted(self.universes)})"
        )

    # ------------------------------------------------------------------ edges (pandas)
    def frame(self, name: str) -> Any:
        """A MATRIX/GROUP/universe field as a pandas DataFrame (dates x instruments), for users."""
        import pandas as pd

        a = self.field(name)
        if a.ndim != 2:
            raise KeyError(f"field {name!r} is a VECTOR field; reduce it first")
        return pd.DataFrame(a, index=pd.DatetimeIndex(self.dates, name="date"), columns=self.instruments)

    # ------------------------------------------------------------------ catalogue
    def _alive(self) -> np.ndarray | None:
        if "close" in self.matrices:
            return ~np.isnan(self.matrices["close"])
        return None

    def _build_catalogue(
        self, given: Mapping[str, FieldInfo], trust: bool | Collection[str] = False
    ) -> dict[str, FieldInfo]:
        """Coverage is recomputed from the arrays, except for trusted names (`trust=True`: all): then a
        given entry of the right type is kept as is, so that opening a memory-mapped cache does not read
        every array and `with_fields` does not rescan the fields it leaves alone."""
        trusted = (lambda _n: True) if trust is True else frozenset(trust or ()).__contains__
        denom_cache: list[np.ndarray] = []

        def denom() -> np.ndarray:
            if not denom_cache:
                alive = self._alive()
                denom_cache.append(
                    alive.sum(axis=1) if alive is not None else np.full(self.n_days, self.n_instruments)
                )
            return denom_cache[0]

        def cov(present: np.ndarray) -> tuple[float, float]:
            if self.n_days == 0 or self.n_instruments == 0:
                return 0.0, 0.0
            per_day = present.sum(axis=1)
            d = denom()
            ok = d > 0
            frac = np.where(ok, per_day / np.maximum(d, 1), 0.0)
            coverage = float(np.clip(frac[ok].mean(), 0.0, 1.0)) if ok.any() else 0.0
            return coverage, float((per_day > 0).mean())

        def entry(
            name: str, ftype: FieldType, present: Callable[[], np.ndarray], **defaults: Any
        ) -> FieldInfo:
            base = given.get(name)
            if base is not None and base.type == ftype and base.name == name and trusted(name):
                return base
            c, dc = cov(present())
            if base is not None and base.type == ftype:
                return FieldInfo(
                    name=name,
                    type=ftype,
                    dataset=base.dataset,
                    category=base.category,
                    description=base.description,
                    unit=base.unit,
                    coverage=c,
                    date_coverage=dc,
                    approximate=base.approximate,
                )
            return FieldInfo(name=name, type=ftype, coverage=c, date_coverage=dc, **defaults)

        cat: dict[str, FieldInfo] = {}
        for k, a in self.matrices.items():
            cat[k] = entry(k, FieldType.MATRIX, partial(_not_nan, a), category="other", dataset="other")
        for k, a in self.vectors.items():
            cat[k] = entry(k, FieldType.VECTOR, partial(_vec_present, a), category="other", dataset="other")
        for k, a in self.groups.items():
            cat[k] = entry(k, FieldType.GROUP, partial(_labelled, a), category="pv", dataset="pv1")
        for k, a in self.universes.items():
            cat[k] = entry(k, FieldType.UNIVERSE, partial(np.asarray, a), category="pv", dataset="pv1")
        return cat

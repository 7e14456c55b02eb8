"""A Panel on disk: one ``.npy`` per array plus a ``panel.json`` manifest, opened memory-mapped.

Why: a big panel (3000 instruments x 10 years) takes seconds to build from parquet but opens in
milliseconds from ``.npy`` files with ``np.load(mmap_mode="r")``; pages are read only when a field
is used, and several worker processes share them through the OS page cache.

Layout of a cache directory::

    panel.json      manifest: format, version, name, dates, instruments, fields (kind, file, dtype,
                    shape, catalogue entry), group labels, fingerprint
    m0000.npy ...   MATRIX fields (float64 T x N)   g*.npy GROUP (int32)   v*.npy VECTOR   u*.npy universes
    a0000.npy ...   field ages (float32 T x N, `Panel.ages`), one file per shared array; the optional
                    manifest key ``ages`` lists {file, fields}. Caches without it open with no ages.

Writes are atomic: everything goes into a temporary sibling directory that is renamed into place, so
a reader never sees a half-written cache. Opening trusts the manifest's catalogue (no coverage scan);
``verify=True`` recomputes the fingerprint and compares it with the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from alphamine.data.cache_manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    info_from_json,
    info_to_json,
    read_catalogue,
    read_manifest,
)
from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo
from alphamine.data.panel import Panel

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "open_panel", "read_catalogue", "save_panel"]

_KINDS = {"M": "matrices", "G": "groups", "V": "vectors", "U": "universes"}


def save_panel(panel: Panel, directory: str | Path) -> Path:
    """Write `panel` to `directory` (replacing an existing cache there) and return the path."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        fields: list[dict[str, Any]] = []
        for kind, attr in _KINDS.items():
            table = getattr(panel, attr)
            for i, (name, arr) in enumerate(table.items()):
                fname = f"{kind.lower()}{i:04d}.npy"
                np.save(tmp / fname, np.ascontiguousarray(arr), allow_pickle=False)
                fields.append(
                    {
                        "name": name,
                        "kind": kind,
                        "file": fname,
                        "dtype": arr.dtype.str,
                        "shape": list(arr.shape),
                        "info": info_to_json(panel.catalogue[name]),
                    }
                )
        ages: dict[int, dict[str, Any]] = {}  # one file per distinct ages array (a report table's fields)
        for name, arr in panel.ages.items():
            if id(arr) not in ages:
                ages[id(arr)] = {"file": f"a{len(ages):04d}.npy", "fields": []}
                np.save(tmp / ages[id(arr)]["file"], np.ascontiguousarray(arr), allow_pickle=False)
            ages[id(arr)]["fields"].append(name)
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": panel.name,
            "dates": panel.dates.astype(str).tolist(),
            "instruments": panel.instruments.tolist(),
            "fields": fields,
            "group_labels": {k: list(v) for k, v in panel.group_labels.items()},
            "ages": list(ages.values()),
            "fingerprint": panel.fingerprint(),
        }
        with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f)
            f.flush()
            os.fsync(f.fileno())
        old: Path | None = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def open_panel(directory: str | Path, mmap: bool = True, *, verify: bool = False) -> Panel:
    """The Panel saved in `directory`; arrays are read-only memory maps when `mmap` (else loaded).

    DataError for a missing or corrupt manifest, a format version mismatch, a missing or malformed
    array file, or (with `verify`) a fingerprint that differs from the manifest's.
    """
    d = Path(directory)
    m = read_manifest(d)
    try:
        dates = np.asarray(m["dates"], dtype="datetime64[D]")
        instruments = [str(s) for s in m["instruments"]]
        tables: dict[str, dict[str, np.ndarray]] = {attr: {} for attr in _KINDS.values()}
        catalogue: dict[str, FieldInfo] = {}
        for fld in m["fields"]:
            path = d / fld["file"]
            try:
                arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise DataError(f"{path}: cannot read array for field {fld['name']!r} ({e})") from None
            if list(arr.shape) != list(fld["shape"]) or arr.dtype.str != fld["dtype"]:
                raise DataError(
                    f"{path}: field {fld['name']!r} is {arr.dtype.str}{arr.shape}, manifest says "
                    f"{fld['dtype']}{tuple(fld['shape'])}"
                )
            if not mmap:
                arr.flags.writeable = False
            tables[_KINDS[fld["kind"]]][fld["name"]] = arr
            catalogue[fld["name"]] = info_from_json(fld["name"], fld["info"])
        ages: dict[str, np.ndarray] = {}
        for entry in m.get("ages", []):
            path = d / entry["file"]
            try:
                arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise DataError(f"{path}: cannot read the ages of fields {entry['fields'][:3]} ({e})") from None
            ages.update(dict.fromkeys(entry["fields"], arr))
        panel = Panel(
            dates,
            instruments,
            catalogue=catalogue,
            group_labels=m.get("group_labels", {}),
            name=str(m.get("name", "")),
            trust_catalogue=True,
            ages=ages,
            **tables,
        )
    except (KeyError, TypeError) as e:
        raise DataError(f"{d / MANIFEST}: corrupt manifest (bad or missing entry {e})") from None
    if verify and panel.fingerprint() != m.get("fingerprint"):
        raise DataError(f"{d}: fingerprint mismatch: the arrays changed since the cache was written")
    return panel

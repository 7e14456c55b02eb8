"""The panel cache's manifest (`panel.json`): its format and the field catalogue it records.

Why apart from `alphamine.data.cache`: reading the catalogue needs no numpy, so `alphamine lint` gets the
bundled sample's fields in milliseconds without importing numpy or opening an array.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType, Unit

FORMAT = "alphamine-panel"
FORMAT_VERSION = 1
MANIFEST = "panel.json"

def info_to_json(info: FieldInfo) -> dict[str, Any]:
    return {
        "type": info.type.value,
        "dataset": info.dataset,
        "category": info.category,
        "description": info.description,
        "unit": info.unit.value,
        "coverage": info.coverage,
        "date_coverage": info.date_coverage,
        "approximate": info.approximate,
    }


def info_from_json(name: str, d: dict[str, Any]) -> FieldInfo:
    return FieldInfo(
        name=name,
        type=FieldType(d["type"]),
        dataset=str(d["dataset"]),
        category=str(d["category"]),
        description=str(d["description"]),
        unit=Unit(d["unit"]),
        coverage=float(d["coverage"]),
        date_coverage=float(d["date_coverage"]),
        approximate=bool(d["approximate"]),
    )


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise DataError(f"{directory}: not a panel cache (no {MANIFEST})")
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: corrupt manifest ({e})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise DataError(f"{path}: not an alphamine panel manifest")
    if m.get("version") != FORMAT_VERSION:
        raise DataError(
            f"{path}: cache format version {m.get('version')!r}, this alphamine reads version "
            f"{FORMAT_VERSION}; rebuild the cache"
        )
    return m


def read_catalogue(directory: str | Path) -> tuple[dict[str, FieldInfo], int]:
    """(catalogue, number of days) of the panel cached in `directory`, from its manifest alone (no
    array is opened). DataError as `open_panel` for a missing or corrupt manifest."""
    d = Path(directory)
    m = read_manifest(d)
    try:
        catalogue = {str(f["name"]): info_from_json(str(f["name"]), f["info"]) for f in m["fields"]}
        return catalogue, len(m["dates"])
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"{d / MANIFEST}: malformed manifest ({e})") from None

"""Where the bundled sample and its per-machine disk cache live (no numpy, pandas or numba here).

Why a module of its own: `alphamine lint` needs the sample's field catalogue, not its arrays; reading
the cache's manifest (`sample_catalogue`) answers in milliseconds without building or mapping the
panel. `alphamine.data.sample` builds and opens the panel itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alphamine.data.fields import FieldInfo

SAMPLE_DIR = Path(__file__).with_name("sample")
SAMPLE_FILES = {
    "daily": "sp500_daily.parquet",
    "meta": "sp500_daily_meta.parquet",
    "fundamentals": "sp500_fundamentals_annual.parquet",
}
GICS_LEVELS = ("sector", "industry_group", "industry", "subindustry")
SAMPLE_UNIVERSES = (500, 200, 100)
SHARES_COLUMN = "estimated_shares_outstanding"
CACHE_ENV = "ALPHAMINE_CACHE_DIR"
NO_CACHE_ENV = "ALPHAMINE_NO_DISK_CACHE"
_KEYED_MODULES = (
    "panel",
    "fields",
    "derived",
    "universes",
    "fundamentals",
    "loaders",
    "sample",
    "sample_paths",
    "cache",
)


def sample_path(kind: str) -> Path:
    """Path of a bundled file: ``daily``, ``meta`` or ``fundamentals``."""
    return SAMPLE_DIR / SAMPLE_FILES[kind]


def sample_cache_dir() -> Path | None:
    """The disk cache directory for this exact sample and code, or None when disabled."""
    if os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0"):
        return None
    base = os.environ.get(CACHE_ENV) or (
        str(Path(os.environ["XDG_CACHE_HOME"]) / "alphamine")
        if os.environ.get("XDG_CACHE_HOME")
        else str(Path.home() / ".cache" / "alphamine")
    )
    return Path(base) / f"sample-{_sample_key(Path(base))}"


def _keyed_files() -> list[Path]:
    here = Path(__file__).parent
    return [SAMPLE_DIR / f for f in SAMPLE_FILES.values()] + [here / f"{mod}.py" for mod in _KEYED_MODULES]


def _sample_key(base: Path) -> str:
    """blake2b of the sample files and the modules that shape the panel. Hashing ~9 MB costs ~12 ms per
    start, so the digest is remembered in `<cache>/sample-key.json` beside the (path, size, mtime)
    of each file it covers and recomputed whenever any of them differs."""
    files = _keyed_files()
    stamp = [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    memo = base / "sample-key.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        known = json.loads(memo.read_text(encoding="utf-8"))
        if known["files"] == stamp:
            return str(known["key"])
    h = hashlib.blake2b(digest_size=10)
    for f in files:
        h.update(f.read_bytes())
    key = h.hexdigest()
    with contextlib.suppress(OSError):
        base.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f"{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"files": stamp, "key": key}), encoding="utf-8")
        os.replace(tmp, memo)
    return key


def sample_catalogue() -> tuple[dict[str, FieldInfo], int] | None:
    """(field catalogue, number of days) of the bundled sample from its disk cache's manifest, or None
    when there is no usable cache yet (then open the panel with `load_sample`, which writes one)."""
    from alphamine.data.cache_manifest import MANIFEST, read_catalogue
    from alphamine.data.errors import DataError

    try:
        d = sample_cache_dir()
    except OSError:
        return None
    if d is None or not (d / MANIFEST).is_file():
        return None
    try:
        return read_catalogue(d)
    except DataError:
        return None

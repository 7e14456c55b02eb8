"""Where the bundled sample and its per-machine disk cache live (no numpy, pandas or numba here).

Why a module of its own: `alphamine lint` needs the sample's field catalogue, not its arrays; reading
the cache's manifest (`sample_catalogue`) answers in milliseconds without building or mapping the
panel. `alphamine.data.sample` builds and opens the panel itself.
"""

from __future__ import annotations

import hashlib
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
    h = hashlib.blake2b(digest_size=10)
    for f in SAMPLE_FILES.values():
        h.update((SAMPLE_DIR / f).read_bytes())
    here = Path(__file__).parent
    for mod in _KEYED_MODULES:
        h.update((here / f"{mod}.py").read_bytes())
    return Path(base) / f"sample-{h.hexdigest()}"


def sample_catalogue() -> tuple[dict[str, FieldInfo], int] | None:
    """(field catalogue, number of days) of the bundled sample from its disk cache's manifest, or None
    when there is no usable cache yet (then open the panel with `load_sample`, which writes one)."""
    from alphamine.data.cache import MANIFEST, read_catalogue
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

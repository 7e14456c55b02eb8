"""The bundled real sample: 505 S&P 500 stocks, 2013-02-08..2018-02-07 (1259 trading days).

The files live in ``alphamine/data/sample/`` (see its README.md for provenance, licenses and quirks).
The panel is built once per process (``functools.cache``) and is immutable, so sharing it is safe.
It is also saved once per machine as a memory-mapped cache (`alphamine.data.cache`) under
``$ALPHAMINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/alphamine``, else ``~/.cache/alphamine``; later
processes open it in milliseconds and share its pages. The cache key hashes the bundled files and the
source of the data-layer modules, so a code change can never serve stale arrays; older sample caches
are removed when a new one is written. ``ALPHAMINE_NO_DISK_CACHE=1`` turns the disk cache off; any
failure to read or write it falls back to building in memory.

Contents: MATRIX ``open high low close volume`` (pv1, not cleaned), the derived pv1 fields
(``returns vwap dollar_volume adv20``, and ``sharesout``/``cap`` from the point-in-time
``estimated_shares_outstanding``, hence approximate), GROUP ``sector industry_group industry
subindustry market``, the 75 annual 10-K line items as dataset ``fundamental`` (available 90 days
after the fiscal period end), and the universes ``TOP500 TOP200 TOP100``.
"""

from __future__ import annotations

import functools
import shutil

from alphamine.data.cache import MANIFEST, open_panel, save_panel
from alphamine.data.derived import add_derived_fields, pv_info
from alphamine.data.errors import DataError
from alphamine.data.fundamentals import DEFAULT_LAG_DAYS, load_fundamentals
from alphamine.data.loaders import add_market_group, load_long
from alphamine.data.panel import Panel
from alphamine.data.sample_paths import (
    CACHE_ENV,
    GICS_LEVELS,
    NO_CACHE_ENV,
    SAMPLE_DIR,
    SAMPLE_FILES,
    SAMPLE_UNIVERSES,
    SHARES_COLUMN,
    sample_cache_dir,
    sample_path,
)
from alphamine.data.universes import add_top_universes

__all__ = [
    "CACHE_ENV",
    "GICS_LEVELS",
    "NO_CACHE_ENV",
    "SAMPLE_DIR",
    "SAMPLE_FILES",
    "SAMPLE_UNIVERSES",
    "SHARES_COLUMN",
    "build_sample",
    "load_sample",
    "sample_cache_dir",
    "sample_path",
]

@functools.cache
def load_sample() -> Panel:
    """The bundled S&P 500 panel (memory-mapped from the disk cache when possible, else built), once
    per process."""
    try:
        d = sample_cache_dir()
    except OSError:
        d = None
    if d is not None and (d / MANIFEST).is_file():
        try:
            return open_panel(d)
        except DataError:
            pass  # half-removed or corrupt: rebuild below
    panel = build_sample()
    if d is not None:
        try:
            for old in d.parent.glob("sample-*"):
                if old.is_dir() and old.name != d.name:
                    shutil.rmtree(old, ignore_errors=True)
            save_panel(panel, d)
        except OSError:
            pass
    return panel


def build_sample() -> Panel:
    """Build the sample panel from the bundled files (no caching of any kind)."""
    panel = load_long(
        sample_path("daily"),
        sample_path("meta"),
        group_cols=GICS_LEVELS,
        name="sp500",
        derived=False,
    )
    panel = load_fundamentals(sample_path("fundamentals"), panel, lag_days=DEFAULT_LAG_DAYS)
    panel = add_market_group(panel)
    panel = add_derived_fields(panel, shares=panel.matrices[SHARES_COLUMN])
    note = (
        " Approximate: from the point-in-time annual estimated_shares_outstanding (net income / EPS), "
        f"available {DEFAULT_LAG_DAYS} days after the fiscal period end."
    )
    catalogue = {
        k: pv_info(k, description=pv_info(k).description + note, approximate=True) for k in ("sharesout", "cap")
    }
    panel = panel.with_fields(catalogue=catalogue)
    return add_top_universes(panel, SAMPLE_UNIVERSES)

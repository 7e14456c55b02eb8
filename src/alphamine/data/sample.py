"""The bundled real sample: 505 S&P 500 stocks, 2013-02-08..2018-02-07 (1259 trading days).

The files live in ``alphamine/data/sample/`` (see its README.md for provenance, licenses and quirks).
The panel is built once per process (``functools.cache``) and is immutable, so sharing it is safe.

Contents: MATRIX ``open high low close volume`` (pv1, not cleaned), the derived pv1 fields
(``returns vwap dollar_volume adv20``, and ``sharesout``/``cap`` from the point-in-time
``estimated_shares_outstanding``, hence approximate), GROUP ``sector industry_group industry
subindustry market``, the 75 annual 10-K line items as dataset ``fundamental`` (available 90 days
after the fiscal period end), and the universes ``TOP500 TOP200 TOP100``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alphamine.data.derived import add_derived_fields, pv_info
from alphamine.data.fundamentals import DEFAULT_LAG_DAYS, load_fundamentals
from alphamine.data.loaders import add_market_group, load_long
from alphamine.data.panel import Panel
from alphamine.data.universes import add_top_universes

__all__ = ["GICS_LEVELS", "SAMPLE_DIR", "SAMPLE_FILES", "SAMPLE_UNIVERSES", "load_sample", "sample_path"]

SAMPLE_DIR = Path(__file__).with_name("sample")
SAMPLE_FILES = {
    "daily": "sp500_daily.parquet",
    "meta": "sp500_daily_meta.parquet",
    "fundamentals": "sp500_fundamentals_annual.parquet",
}
GICS_LEVELS = ("sector", "industry_group", "industry", "subindustry")
SAMPLE_UNIVERSES = (500, 200, 100)
SHARES_COLUMN = "estimated_shares_outstanding"


def sample_path(kind: str) -> Path:
    """Path of a bundled file: ``daily``, ``meta`` or ``fundamentals``."""
    return SAMPLE_DIR / SAMPLE_FILES[kind]


@functools.cache
def load_sample() -> Panel:
    """The bundled S&P 500 panel (built on first call, then cached for the process)."""
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

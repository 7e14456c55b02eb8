"""The market panel and everything that builds one (loaders, bundled sample, synthetic markets).

Names are imported on first use (`alphamine._lazy`): `alphamine.data.fields` alone stays cheap for
commands that only need the field model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphamine._lazy import keep_exports_over_submodules, lazy_exports

_EXPORTS = {
    "open_panel": "alphamine.data.cache",
    "save_panel": "alphamine.data.cache",
    "add_derived_fields": "alphamine.data.derived",
    "DataError": "alphamine.data.errors",
    "FieldInfo": "alphamine.data.fields",
    "FieldType": "alphamine.data.fields",
    "Unit": "alphamine.data.fields",
    "join_point_in_time": "alphamine.data.fundamentals",
    "load_fundamentals": "alphamine.data.fundamentals",
    "load_long": "alphamine.data.loaders",
    "load_wide": "alphamine.data.loaders",
    "Panel": "alphamine.data.panel",
    "load_sample": "alphamine.data.sample",
    "open_source": "alphamine.data.sources",
    "DataSource": "alphamine.data.sources",
    "SyntheticTruth": "alphamine.data.synthetic",
    "synthetic": "alphamine.data.synthetic",
    "ModelParams": "alphamine.data.synthetic_model",
    "SignalStrengths": "alphamine.data.synthetic_model",
    "add_top_universes": "alphamine.data.universes",
    "top_n_universe": "alphamine.data.universes",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
keep_exports_over_submodules(__name__, [n for n in _EXPORTS if _EXPORTS[n] == f"{__name__}.{n}"])

if TYPE_CHECKING:
    from alphamine.data.cache import open_panel, save_panel
    from alphamine.data.derived import add_derived_fields
    from alphamine.data.errors import DataError
    from alphamine.data.fields import FieldInfo, FieldType, Unit
    from alphamine.data.fundamentals import join_point_in_time, load_fundamentals
    from alphamine.data.loaders import load_long, load_wide
    from alphamine.data.panel import Panel
    from alphamine.data.sample import load_sample
    from alphamine.data.sources import DataSource, open_source
    from alphamine.data.synthetic import SyntheticTruth, synthetic
    from alphamine.data.synthetic_model import ModelParams, SignalStrengths
    from alphamine.data.universes import add_top_universes, top_n_universe

__all__ = [
    "DataError",
    "DataSource",
    "FieldInfo",
    "FieldType",
    "ModelParams",
    "Panel",
    "SignalStrengths",
    "SyntheticTruth",
    "Unit",
    "add_derived_fields",
    "add_top_universes",
    "join_point_in_time",
    "load_fundamentals",
    "load_long",
    "load_sample",
    "load_wide",
    "open_panel",
    "open_source",
    "save_panel",
    "synthetic",
    "top_n_universe",
]

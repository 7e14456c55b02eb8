"""The market panel and everything that builds one (loaders, bundled sample, synthetic markets)."""

from alphamine.data.cache import open_panel, save_panel
from alphamine.data.derived import add_derived_fields
from alphamine.data.errors import DataError
from alphamine.data.fields import FieldInfo, FieldType, Unit
from alphamine.data.fundamentals import join_point_in_time, load_fundamentals
from alphamine.data.loaders import load_long, load_wide
from alphamine.data.panel import Panel
from alphamine.data.sample import load_sample
from alphamine.data.synthetic import SyntheticTruth, synthetic
from alphamine.data.synthetic_model import ModelParams, SignalStrengths
from alphamine.data.universes import add_top_universes, top_n_universe

__all__ = [
    "DataError",
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
    "save_panel",
    "synthetic",
    "top_n_universe",
]

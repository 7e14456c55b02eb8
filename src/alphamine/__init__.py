"""alphamine: turns ideas into checked, simulated, remembered and reported formulaic alphas.

The public API in one import: data (`load_sample`, `synthetic`, `load_long`, `Panel`), the language
(`parse`, `check`, `canonical`), evaluation and simulation (`Evaluator`, `evaluate`, `simulate`,
`simulate_many` with `close_workers`, `Settings`, `SimResult`), and `retain_freed_memory` for batch
processes. Names are imported on first use (`alphamine._lazy`), so `import alphamine` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphamine._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "DataError": "alphamine.data.errors",
    "FieldInfo": "alphamine.data.fields",
    "FieldType": "alphamine.data.fields",
    "Unit": "alphamine.data.fields",
    "Panel": "alphamine.data.panel",
    "load_long": "alphamine.data.loaders",
    "load_wide": "alphamine.data.loaders",
    "load_sample": "alphamine.data.sample",
    "synthetic": "alphamine.data.synthetic",
    "open_source": "alphamine.data.sources",
    "Diagnostic": "alphamine.expr.diagnostics",
    "canonical": "alphamine.expr.printer",
    "structural_hash": "alphamine.expr.printer",
    "check": "alphamine.expr.checker",
    "parse": "alphamine.expr.parser",
    "SimFailure": "alphamine.sim.batch",
    "SimSpec": "alphamine.sim.batch",
    "close_workers": "alphamine.sim.batch",
    "simulate_many": "alphamine.sim.batch",
    "EvaluationError": "alphamine.sim.evaluate",
    "Evaluator": "alphamine.sim.evaluate",
    "evaluate": "alphamine.sim.evaluate",
    "retain_freed_memory": "alphamine.sim.memory",
    "SimResult": "alphamine.sim.result",
    "Settings": "alphamine.sim.settings",
    "SettingsError": "alphamine.sim.settings",
    "make_settings": "alphamine.sim.settings",
    "SimulationError": "alphamine.sim.simulate",
    "simulate": "alphamine.sim.simulate",
    "Backend": "alphamine.backends.base",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from alphamine.backends.base import Backend
    from alphamine.data.errors import DataError
    from alphamine.data.fields import FieldInfo, FieldType, Unit
    from alphamine.data.loaders import load_long, load_wide
    from alphamine.data.panel import Panel
    from alphamine.data.sample import load_sample
    from alphamine.data.sources import open_source
    from alphamine.data.synthetic import synthetic
    from alphamine.expr.checker import check
    from alphamine.expr.diagnostics import Diagnostic
    from alphamine.expr.parser import parse
    from alphamine.expr.printer import canonical, structural_hash
    from alphamine.sim.batch import SimFailure, SimSpec, close_workers, simulate_many
    from alphamine.sim.evaluate import EvaluationError, Evaluator, evaluate
    from alphamine.sim.memory import retain_freed_memory
    from alphamine.sim.result import SimResult
    from alphamine.sim.settings import Settings, SettingsError, make_settings
    from alphamine.sim.simulate import SimulationError, simulate

__all__ = [
    "Backend",
    "DataError",
    "Diagnostic",
    "EvaluationError",
    "Evaluator",
    "FieldInfo",
    "FieldType",
    "Panel",
    "Settings",
    "SettingsError",
    "SimFailure",
    "SimResult",
    "SimSpec",
    "SimulationError",
    "Unit",
    "__version__",
    "canonical",
    "check",
    "close_workers",
    "evaluate",
    "load_long",
    "load_sample",
    "load_wide",
    "make_settings",
    "open_source",
    "parse",
    "retain_freed_memory",
    "simulate",
    "simulate_many",
    "structural_hash",
    "synthetic",
]

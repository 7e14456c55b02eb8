"""alphamine: turns ideas into checked, simulated, remembered and reported formulaic alphas.

The public API in one import: data (`load_sample`, `synthetic`, `load_long`, `Panel`), the language
(`parse`, `check`, `canonical`), evaluation and simulation (`Evaluator`, `evaluate`, `simulate`,
`simulate_many` with `close_workers`, `Settings`, `SimResult`), and `retain_freed_memory` for batch
processes.
"""

from alphamine.data import DataError, FieldInfo, FieldType, Panel, Unit, load_long, load_sample, load_wide, synthetic
from alphamine.expr import Diagnostic, canonical, check, parse, structural_hash
from alphamine.sim.batch import SimFailure, SimSpec, close_workers, simulate_many
from alphamine.sim.evaluate import EvaluationError, Evaluator, evaluate
from alphamine.sim.memory import retain_freed_memory
from alphamine.sim.result import SimResult
from alphamine.sim.settings import Settings, SettingsError, make_settings
from alphamine.sim.simulate import SimulationError, simulate

__version__ = "0.1.0"

__all__ = [
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
    "parse",
    "retain_freed_memory",
    "simulate",
    "simulate_many",
    "structural_hash",
    "synthetic",
]

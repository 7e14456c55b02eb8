"""Numerai-style ML experiments: data loading, synthetic data, era CV, scoring, models, experiments.

Why lazy: `import alphamine.numerai` must stay cheap and must work without the `numerai` extra
(lightgbm, scikit-learn, numerai-tools, pyyaml). Names are imported on first use (`alphamine._lazy`),
and those libraries are imported only inside the functions that need them. See docs/numerai.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphamine._lazy import lazy_exports

_EXPORTS = {
    "NumeraiData": "alphamine.numerai.data",
    "NumeraiDataError": "alphamine.numerai.data",
    "load_numerai": "alphamine.numerai.data",
    "load_feature_sets": "alphamine.numerai.data",
    "SynthSpec": "alphamine.numerai.synth",
    "SyntheticNumerai": "alphamine.numerai.synth",
    "write_synthetic": "alphamine.numerai.synth",
    "Scores": "alphamine.numerai.scoring",
    "Summary": "alphamine.numerai.scoring",
    "score_frame": "alphamine.numerai.scoring",
    "Fold": "alphamine.numerai.cv",
    "make_folds": "alphamine.numerai.cv",
    "oof_predict": "alphamine.numerai.cv",
    "NumeraiModel": "alphamine.numerai.models",
    "ModelError": "alphamine.numerai.models",
    "build_model": "alphamine.numerai.models",
    "model_types": "alphamine.numerai.models",
    "register_model": "alphamine.numerai.models",
    "ConfigError": "alphamine.numerai.config",
    "ExperimentConfig": "alphamine.numerai.config",
    "load_config": "alphamine.numerai.config",
    "ExperimentResult": "alphamine.numerai.experiment",
    "run_experiment": "alphamine.numerai.experiment",
    "sweep": "alphamine.numerai.experiment",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from alphamine.numerai.config import ConfigError, ExperimentConfig, load_config
    from alphamine.numerai.cv import Fold, make_folds, oof_predict
    from alphamine.numerai.data import NumeraiData, NumeraiDataError, load_feature_sets, load_numerai
    from alphamine.numerai.experiment import ExperimentResult, run_experiment, sweep
    from alphamine.numerai.models import ModelError, NumeraiModel, build_model, model_types, register_model
    from alphamine.numerai.scoring import Scores, Summary, score_frame
    from alphamine.numerai.synth import SyntheticNumerai, SynthSpec, write_synthetic

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "ExperimentResult",
    "Fold",
    "ModelError",
    "NumeraiData",
    "NumeraiDataError",
    "NumeraiModel",
    "Scores",
    "Summary",
    "SynthSpec",
    "SyntheticNumerai",
    "build_model",
    "load_config",
    "load_feature_sets",
    "load_numerai",
    "make_folds",
    "model_types",
    "oof_predict",
    "register_model",
    "run_experiment",
    "score_frame",
    "sweep",
    "write_synthetic",
]

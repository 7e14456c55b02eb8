"""Everything that proposes candidates: templates, field factory, theme sampler, variants, optimizers."""

from alphamine.generate.candidate import THESIS_TYPES, Candidate, Evidence, GenerationContext, Generator, Thesis
from alphamine.generate.families import TEMPLATE_FAMILIES
from alphamine.generate.field_factory import FieldFactory
from alphamine.generate.optimizers import (
    OPTIMIZERS,
    Correlation,
    CoverageRepairer,
    HighTurnover,
    LowFitness,
    LowTurnover,
    Optimizer,
    ShortFlip,
    evidence_from_result,
    triggered_optimizers,
)
from alphamine.generate.rotation import allowed_neutralizations, rotate_neutralization
from alphamine.generate.templates import Slot, TemplateFamily, TemplateGenerator
from alphamine.generate.themes import ThemeSampler, novelty
from alphamine.generate.thesis import infer_thesis, thesis_for
from alphamine.generate.variants import STRATEGIES, generic_variants

__all__ = [
    "OPTIMIZERS",
    "STRATEGIES",
    "TEMPLATE_FAMILIES",
    "THESIS_TYPES",
    "Candidate",
    "Correlation",
    "CoverageRepairer",
    "Evidence",
    "FieldFactory",
    "GenerationContext",
    "Generator",
    "HighTurnover",
    "LowFitness",
    "LowTurnover",
    "Optimizer",
    "ShortFlip",
    "Slot",
    "TemplateFamily",
    "TemplateGenerator",
    "ThemeSampler",
    "Thesis",
    "allowed_neutralizations",
    "evidence_from_result",
    "generic_variants",
    "infer_thesis",
    "novelty",
    "rotate_neutralization",
    "thesis_for",
    "triggered_optimizers",
]

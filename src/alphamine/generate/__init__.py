"""Everything that proposes candidates: templates, field factory, theme sampler, variants, optimizers."""

from alphamine.generate.candidate import THESIS_TYPES, Candidate, Evidence, GenerationContext, Generator, Thesis

__all__ = ["THESIS_TYPES", "Candidate", "Evidence", "GenerationContext", "Generator", "Thesis"]

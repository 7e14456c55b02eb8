"""The LLM agents of one run, behind the pipeline's `ResearchAgents` seam.

Why a facade: the pipeline sits below this package, so it cannot import the agents; the CLI (the
composition root) builds this object and hands it down, and the stages call its few methods:
`generator` (GENERATE's llm share), `enhance` (ENHANCE, beside the deterministic repairs),
`hold` (DECIDE with `--use-llm-decide`: a second opinion that can only hold a candidate back),
`note` (the critic's novelty note on a newly ready alpha) and `flush` (the usage file the reports and
`prompt compare` read). Every method keeps the agents' error policy: a paused or failing LLM returns
nothing and the run continues with the deterministic generators.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from alphamine.generate import Candidate, GenerationContext
from alphamine.llm.agents import PromptCounts, search_block
from alphamine.llm.budget import Budget
from alphamine.llm.client import LLMClient
from alphamine.llm.enhancer import LLMEnhancer, search_yearly
from alphamine.llm.generator import EvidenceSnapshot, LLMGenerator
from alphamine.llm.prompts import PromptLibrary
from alphamine.llm.reviewers import critic_note, llm_decide, nearest_ready
from alphamine.pipeline.run_usage import write_usage

EVIDENCE_SIZE = 5


class LLMAgents:
    """One run's agents over one client, budget, prompt library and prompt counts."""

    def __init__(self, client: LLMClient, budget: Budget, prompts: PromptLibrary, *, share: float = 0.5,
                 use_decide: bool = False, describe: str = "") -> None:
        self.client, self.budget, self.prompts = client, budget, prompts
        self.share, self.use_decide, self.describe = share, use_decide, describe
        self.counts = PromptCounts()
        self.session = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        self._store: Any = None
        self._run_id = ""
        self._backend: str | None = None
        self.generator = LLMGenerator(client, prompts, counts=self.counts, evidence=self._evidence)
        self.enhancer = LLMEnhancer(client, prompts, counts=self.counts)

    def bind(self, store: Any, run_id: str, backend: str | None) -> None:
        """The store the evidence provider and the critic read (the run's)."""
        self._store, self._run_id, self._backend = store, run_id, backend

    @property
    def paused(self) -> str | None:
        return self.budget.check()

    # ------------------------------------------------------------------ GENERATE
    def _evidence(self, ctx: GenerationContext) -> EvidenceSnapshot:
        """The run's best and worst simulated candidates by search-period fitness."""
        if self._store is None:
            return EvidenceSnapshot()
        rows = [r for r in self._store.candidates(run_id=self._run_id) if r.status != "generated"]
        results = self._store.results_for([r.id for r in rows], backend=self._backend)
        scored = []
        for r in rows:
            if r.id not in results:
                continue
            block = search_block(results[r.id].metrics)
            fit = block.get("fitness")
            if isinstance(fit, int | float) and math.isfinite(fit):
                scored.append((float(fit), r.expression, dict(block)))
        scored.sort(key=lambda t: -t[0])
        best = [(e, m) for _, e, m in scored[:EVIDENCE_SIZE]]
        worst = [(e, m) for _, e, m in scored[-EVIDENCE_SIZE:]] if len(scored) > EVIDENCE_SIZE else []
        return EvidenceSnapshot(best=best, worst=worst)

    # ------------------------------------------------------------------ ENHANCE
    def enhance(self, parent: Candidate, res: Any, evidence: Any, failed: Sequence[str],
                lineage: Sequence[Any], ctx: GenerationContext, max_n: int) -> list[Candidate]:
        return self.enhancer.propose(parent, evidence, search_block(res.metrics), list(failed), search_yearly(res),
                                     lineage, ctx, max_n)

    # ------------------------------------------------------------------ DECIDE
    def hold(self, row: Any, res: Any, checks: Sequence[Mapping[str, Any]], verdict: Any) -> str | None:
        """The reason to hold `row` back (keep it `promising`), or None (no opinion, or keep)."""
        if not self.use_decide:
            return None
        opinion = llm_decide(self.client, self.prompts, row, search_block(res.metrics), checks, verdict,
                             yearly=search_yearly(res), counts=self.counts)
        if opinion is None or not opinion.hold:
            return None
        return f"held by {opinion.prompt_version}: " + "; ".join(opinion.reasons)

    # ------------------------------------------------------------------ critic
    def note(self, row: Any) -> str | None:
        """The critic's plain-language novelty note on a ready alpha against the run's other ready ones."""
        if self._store is None:
            return None
        near = nearest_ready(self._store, self._run_id, row, backend=self._backend)
        return critic_note(self.client, self.prompts, row.expression, near, settings=row.settings,
                           thesis=row.thesis, counts=self.counts)

    # ------------------------------------------------------------------ usage
    def flush(self, run_dir: Any) -> None:
        write_usage(run_dir, self.budget.summary(), self.counts.as_dict(), session=self.session)

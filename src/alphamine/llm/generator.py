"""`LLMGenerator`: the `Generator` protocol on make-v1 (hypothesis -> thesis -> expressions).

Why a generator and not a stage: GENERATE already mixes proposers (templates, field factory) through
the theme sampler, and everything downstream (INSPECT, dedup, the quota) works on `Candidate`s. An LLM
that proposes through the same seam needs no stage of its own, and a run without an LLM, or whose LLM
budget is spent, simply gets fewer LLM candidates.

Contract of `generate(ctx, n)`:
- Up to `ceil(n / n_per_call)` make-v1 calls, each asking for `min(n_per_call, what is missing)`
  expressions, with the compact catalogue, operators, settings, the evidence and the saturated
  families; a hypothesis from `hypotheses` (in turn) or none (the model proposes one).
- Every expression passes the lint gate (`agents.Agent.pass_or_fix`: one fix-v1 round, else dropped).
- Each candidate: the canonical expression, `ctx.base_settings`, `generator="llm:<prompt name>"`
  (`llm:make-v1`), the model's thesis, `params={"prompt_version", "knowledge", "hypothesis"}` (plus
  `fix` when fix-v1 repaired it), tags `("llm",)`; unique by (structure, settings) within the call.
- At most `n` candidates, in the model's order. Never raises: on `LLMError` / `PromptError` it
  returns what it has and sets `last_error` (cleared at the start of each call).
- `evidence` (a callable, e.g. wired from the store) gives the best and worst simulated candidates
  (search-period metrics; `agents.search_block` is applied again here) and may override the saturated
  families and stale fields; without it the prompt says "no simulated candidates yet" and the
  context's `saturated` / `stale_fields` are used. A failing provider costs the evidence, not the call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alphamine.generate.candidate import Candidate, GenerationContext, Thesis
from alphamine.generate.mutate import candidate_key
from alphamine.llm.agents import AGENT_ERRORS, Agent, PromptCounts, operators_text, search_block
from alphamine.llm.client import LLMClient
from alphamine.llm.context import catalogue_view, evidence_view, saturated_view, settings_view
from alphamine.llm.prompts import MakeReply, PromptLibrary

log = logging.getLogger("alphamine.llm.generator")

MAKE_PROMPT = "make-v1"
MAX_PER_CALL = 10  # MakeReply accepts at most 10 expressions
EVIDENCE_LIMIT = 5


@dataclass(frozen=True)
class EvidenceSnapshot:
    """What the store says so far: `best`/`worst` are (expression, search-period metrics) pairs;
    `saturated`/`stale_fields` replace the context's when given (None: use the context's)."""

    best: Sequence[tuple[str, Mapping[str, Any]]] = ()
    worst: Sequence[tuple[str, Mapping[str, Any]]] = ()
    saturated: Iterable[Iterable[str]] | None = None
    stale_fields: Iterable[str] | None = None


EvidenceProvider = Callable[[GenerationContext], EvidenceSnapshot]


class LLMGenerator(Agent):
    """make-v1 through the lint gate (module doc). `name = "llm"` for the theme sampler."""

    name = "llm"

    def __init__(
        self,
        client: LLMClient,
        prompts: PromptLibrary,
        *,
        n_per_call: int = 4,
        hypotheses: Sequence[str] | None = None,
        evidence: EvidenceProvider | None = None,
        counts: PromptCounts | None = None,
        prompt: str = MAKE_PROMPT,
    ) -> None:
        if not 1 <= n_per_call <= MAX_PER_CALL:
            raise ValueError(f"n_per_call must be 1..{MAX_PER_CALL} (got {n_per_call})")
        super().__init__(client, prompts, counts=counts)
        self.n_per_call = n_per_call
        self.hypotheses = tuple(h for h in (hypotheses or ()) if h.strip())
        self.evidence = evidence
        self.prompt = prompt
        self._turn = 0

    def __repr__(self) -> str:
        return f"LLMGenerator({self.prompt}, n_per_call={self.n_per_call}, last_error={self.last_error!r})"

    def next_hypothesis(self) -> str | None:
        """The next hypothesis in turn (None when none were given: the model proposes one)."""
        if not self.hypotheses:
            return None
        h = self.hypotheses[self._turn % len(self.hypotheses)]
        self._turn += 1
        return h

    def _snapshot(self, ctx: GenerationContext) -> EvidenceSnapshot:
        if self.evidence is None:
            return EvidenceSnapshot()
        try:
            return self.evidence(ctx)
        except Exception as e:  # the evidence is a courtesy to the model; never worth the call
            log.warning("LLM generator: the evidence provider failed (%s: %s); asking without it", type(e).__name__, e)
            return EvidenceSnapshot()

    def context(self, ctx: GenerationContext, n_expressions: int, hypothesis: str | None) -> dict[str, Any]:
        """The make-v1 context: compact views only (no data values, search-period metrics only)."""
        snap = self._snapshot(ctx)
        best = [(e, search_block(m)) for e, m in snap.best][:EVIDENCE_LIMIT]
        worst = [(e, search_block(m)) for e, m in snap.worst][:EVIDENCE_LIMIT]
        saturated = ctx.saturated if snap.saturated is None else snap.saturated
        stale = ctx.stale_fields if snap.stale_fields is None else snap.stale_fields
        return {
            "hypothesis": hypothesis or "",
            "n_expressions": n_expressions,
            "settings": settings_view(ctx.base_settings),
            "catalogue": catalogue_view(ctx.catalogue),
            "operators": operators_text(),
            "evidence": evidence_view(best, worst, limit=EVIDENCE_LIMIT),
            "saturated": saturated_view(saturated, stale),
        }

    def generate(self, ctx: GenerationContext, n: int) -> list[Candidate]:
        """At most `n` lint-clean candidates (module doc); never raises."""
        self.last_error = None
        out: list[Candidate] = []
        seen: set[tuple[str, str]] = set()
        if n <= 0:
            return out
        for _ in range(math.ceil(n / self.n_per_call)):
            want = min(self.n_per_call, n - len(out))
            if want <= 0:
                break
            try:
                self._one_call(ctx, want, out, seen)
            except AGENT_ERRORS as e:
                self._fail(e)
                break
        return out[:n]

    def _one_call(self, ctx: GenerationContext, want: int, out: list[Candidate], seen: set[tuple[str, str]]) -> None:
        """One make-v1 call; its lint-clean, new candidates are appended to `out` as they pass, so an
        error in a later fix call keeps the earlier ones."""
        hypothesis = self.next_hypothesis()
        rendered, reply = self.ask(self.prompt, self.context(ctx, want, hypothesis), MakeReply, "generator")
        version = rendered.version
        thesis = Thesis(reply.thesis.type, reply.thesis.rationale, reply.thesis.failure_mode)
        self.counts.add(version, proposed=len(reply.expressions))
        for expression in reply.expressions:
            linted = self.pass_or_fix(expression, ctx, thesis, "generator")
            if linted.expression is None:
                self.counts.add(version, dropped=1)
                continue
            self.counts.add(version, valid=int(linted.fixed_from is None), fixed=int(linted.fixed_from is not None))
            cand = Candidate(
                expression=linted.expression,
                settings=ctx.base_settings,
                generator=f"llm:{rendered.name}",
                thesis=thesis,
                params={
                    "prompt_version": version,
                    "knowledge": list(rendered.knowledge_ids),
                    "hypothesis": hypothesis,
                    **linted.fix_params,
                },
                tags=("llm",),
            )
            key = candidate_key(cand)
            if key in seen:
                self.counts.add(version, repeated=1)
                continue
            seen.add(key)
            out.append(cand)
            self.counts.add(version, candidates=1)

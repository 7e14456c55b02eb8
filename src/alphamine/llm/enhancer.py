"""`LLMEnhancer`: enhance-v1 repairs of a promising candidate that fails some checks.

Why next to the named optimizers: they fire fixed moves on thresholds; a model can read the whole
picture (the failed checks, the yearly table, what the lineage already tried) and propose a move
nobody wrote down. Its proposals go through exactly what the optimizers' do: the lint gate, settings
validation, dedup against the parent, then INSPECT and the simulation quota.

Contract of `propose(parent, evidence, metrics, failed_checks, yearly, lineage, ctx, max_n)`:
- One enhance-v1 call asking for up to `min(max_n, 5)` repairs (no call when `max_n <= 0`). The
  model sees the parent's expression, settings and thesis, the search-period metrics
  (`agents.search_block`; the caller passes the search block, a stored metrics mapping is reduced
  again), the failed checks (`failed_checks`, else those `evidence` marks FAIL), the yearly table of
  the search period (`search_yearly` builds it; OS rows are dropped here whatever is passed) and the
  lineage (root first: `CandidateRow`s, `Candidate`s, mappings or strings).
- A repair's settings change is applied with `Settings.with_` and must be one the data offers: a
  neutralization `generate.rotation.supported` by the catalogue, a universe the catalogue lists (when
  it lists any). A repair whose settings are invalid is dropped and counted (`settings_rejected`), its
  reason kept in `rejected`.
- Each expression passes the lint gate (one fix-v1 round, else dropped).
- Each child: `generator="llm:enhance-v1"`, `strategy="llm:enhance"`, the parent's thesis and tags,
  `params={"prompt_version", "knowledge", "diagnosis", "why", "settings": {name: [old, new]}}` (plus
  `fix`), `parent_id=None` (the controller links the stored parent); unique by (structure, settings)
  and different from the parent; at most `max_n`, in the model's order.
- Never raises: `LLMError` / `PromptError` -> what it has, and `last_error`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alphamine.data.fields import FieldType
from alphamine.generate.candidate import Candidate, Evidence, GenerationContext
from alphamine.generate.mutate import candidate_key
from alphamine.generate.rotation import supported
from alphamine.llm.agents import AGENT_ERRORS, Agent, PromptCounts, operators_text, search_block, thesis_text
from alphamine.llm.client import LLMClient
from alphamine.llm.context import checks_view, lineage_view, metrics_view, settings_view, yearly_view
from alphamine.llm.prompts import EnhanceReply, PromptLibrary, Repair
from alphamine.sim.settings import Settings, SettingsError

ENHANCE_PROMPT = "enhance-v1"
MAX_REPAIRS = 5  # EnhanceReply accepts at most 5


def search_yearly(res: Any) -> list[dict[str, Any]]:
    """The yearly rows of a stored result (`ResultRow`) that lie in the search period: IS rows only,
    and, when the run has a validation window, only years that end before it starts (a year that
    straddles the window is left out rather than leak validation days)."""
    rows = [dict(r) for r in res.yearly if str(r.get("stage", "IS")).upper() == "IS"]
    lo, hi = (int(x) for x in res.test_range)
    if hi <= lo or lo >= len(res.dates):
        return rows
    first_validation_year = int(str(res.dates[lo])[:4])
    return [r for r in rows if int(r.get("year", 0)) < first_validation_year]


def _lineage_step(step: Any) -> Any:
    if isinstance(step, Mapping | str):
        return step
    return {
        "expression": getattr(step, "expression", ""),
        "strategy": getattr(step, "strategy", None),
        "params": {k: v for k, v in (getattr(step, "params", None) or {}).items() if isinstance(v, int | float | str)},
    }


def _failed(failed_checks: Sequence[str] | Mapping[str, Any] | None, evidence: Evidence | None) -> Any:
    if failed_checks:
        return failed_checks
    if evidence is not None:
        return {k: v for k, v in evidence.checks.items() if v == "FAIL"}
    return ()


class LLMEnhancer(Agent):
    """enhance-v1 through settings validation and the lint gate (module doc)."""

    name = "llm-enhancer"

    def __init__(
        self,
        client: LLMClient,
        prompts: PromptLibrary,
        *,
        counts: PromptCounts | None = None,
        prompt: str = ENHANCE_PROMPT,
    ) -> None:
        super().__init__(client, prompts, counts=counts)
        self.prompt = prompt
        self.rejected: list[str] = []

    def __repr__(self) -> str:
        return f"LLMEnhancer({self.prompt}, last_error={self.last_error!r})"

    def context(
        self,
        parent: Candidate,
        evidence: Evidence | None,
        metrics: Mapping[str, Any] | None,
        failed_checks: Sequence[str] | Mapping[str, Any] | None,
        yearly: Sequence[Mapping[str, Any]],
        lineage: Sequence[Any],
        max_repairs: int,
    ) -> dict[str, Any]:
        """The enhance-v1 context (search-period numbers only)."""
        shown = search_block(metrics) if metrics else evidence
        years = [r for r in yearly if str(r.get("stage", "IS")).upper() == "IS"]
        return {
            "expression": parent.expression,
            "settings": settings_view(parent.settings),
            "thesis": thesis_text(parent.thesis),
            "metrics": metrics_view(shown) if shown is not None else "n/a",
            "failed_checks": checks_view(_failed(failed_checks, evidence)),
            "yearly": yearly_view(years),
            "lineage": lineage_view([_lineage_step(s) for s in lineage]),
            "operators": operators_text(),
            "max_repairs": max_repairs,
        }

    def settings_for(self, parent: Settings, repair: Repair, ctx: GenerationContext) -> tuple[Settings, dict[str, Any]]:
        """The repaired settings and the changes as {name: [old, new]}; `SettingsError` when invalid
        or not offered by the data."""
        asked = {k: v for k, v in repair.settings.model_dump().items() if v is not None}
        if "neutralization" in asked:
            asked["neutralization"] = str(asked["neutralization"]).upper()
            if not supported(asked["neutralization"], ctx.catalogue):
                raise SettingsError(f"neutralization {asked['neutralization']} is not supported by this data")
        if "universe" in asked:
            asked["universe"] = str(asked["universe"]).upper()
            offered = {k for k, v in ctx.catalogue.items() if v.type == FieldType.UNIVERSE}
            if offered and asked["universe"] not in offered:
                raise SettingsError(f"universe {asked['universe']} is not offered ({', '.join(sorted(offered))})")
        settings = parent.with_(**asked) if asked else parent
        before, after = parent.model_dump(mode="json"), settings.model_dump(mode="json")
        changes = {k: [before[k], after[k]] for k in asked if before.get(k) != after.get(k)}
        return settings, changes

    def propose(
        self,
        parent: Candidate,
        evidence: Evidence | None,
        metrics: Mapping[str, Any] | None,
        failed_checks: Sequence[str] | Mapping[str, Any] | None,
        yearly: Sequence[Mapping[str, Any]],
        lineage: Sequence[Any],
        ctx: GenerationContext,
        max_n: int,
    ) -> list[Candidate]:
        """At most `max_n` children of `parent` (module doc); never raises."""
        self.last_error, self.rejected = None, []
        out: list[Candidate] = []
        if max_n <= 0:
            return out
        seen = {candidate_key(parent)}
        try:
            context = self.context(parent, evidence, metrics, failed_checks, yearly, lineage, min(max_n, MAX_REPAIRS))
            rendered, reply = self.ask(self.prompt, context, EnhanceReply, "enhancer")
            version = rendered.version
            self.counts.add(version, proposed=len(reply.repairs))
            for repair in reply.repairs:
                try:
                    settings, changes = self.settings_for(parent.settings, repair, ctx)
                except SettingsError as e:
                    self.counts.add(version, settings_rejected=1)
                    self.rejected.append(f"{repair.expression}: {e}")
                    continue
                linted = self.pass_or_fix(repair.expression, ctx, parent.thesis, "enhancer")
                if linted.expression is None:
                    self.counts.add(version, dropped=1)
                    continue
                self.counts.add(version, valid=int(linted.fixed_from is None), fixed=int(linted.fixed_from is not None))
                child = Candidate(
                    expression=linted.expression,
                    settings=settings,
                    generator=f"llm:{rendered.name}",
                    thesis=parent.thesis,
                    strategy="llm:enhance",
                    params={
                        "prompt_version": version,
                        "knowledge": list(rendered.knowledge_ids),
                        "diagnosis": reply.diagnosis,
                        "why": repair.why,
                        "settings": changes,
                        **linted.fix_params,
                    },
                    tags=parent.tags,
                )
                key = candidate_key(child)
                if key in seen:
                    self.counts.add(version, repeated=1)
                    continue
                seen.add(key)
                out.append(child)
                self.counts.add(version, candidates=1)
                if len(out) >= max_n:
                    break
        except AGENT_ERRORS as e:
            self._fail(e)
        return out

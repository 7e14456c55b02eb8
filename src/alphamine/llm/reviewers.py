"""The reviewing agents: a second opinion that can only hold a candidate back, and a novelty note.

Why these powers and no more: the decision rules (`pipeline.decide`, the submit gate) are
deterministic, tested and the only authority on `ready`. A model can usefully notice what rules do
not (a thesis the numbers contradict, a result carried by one year), so `llm_decide` may HOLD a
candidate the rules would pass, for a person to look at, but it has no way to promote: its verdict has
no such value, and for a candidate the rules did not pass (anything but `gate_pending` / `ready`) it is
not even asked. The critic writes plain language for the report's candidate page; it changes nothing.

Contracts:
- `llm_decide(client, prompts, row, metrics, checks, rule_verdict)` -> `LLMVerdict(hold, reasons,
  prompt_version)`, or None for "no opinion": a verdict the LLM cannot make more careful (no call is
  made), or any `LLMError` / `PromptError` (logged). `metrics` are shown through
  `agents.search_block`; `checks` should be what DECIDE reads (`pipeline.validation.search_checks`)
  when called before the gate.
- `nearest_ready(store, run_id, candidate, k=3)` (pure read of the store): the run's ready alphas
  nearest to `candidate`, by structure (Jaccard similarity of the sets of sub-expression shapes,
  windows and constants blanked, so a renamed window is the same structure) and by PnL correlation
  (`sim.checks.aligned_correlation` of the daily PnL of the search period only:
  `pipeline.trial_gate.search_range`, never validation or OS). Ranked by the larger of the two, then id.
- `critic_note(client, prompts, expression, neighbours)` -> the model's note (stripped, at most
  `MAX_NOTE_CHARS`), None without neighbours (no call) or on any error.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from alphamine.expr import Number, inline, normalize, parse, to_source, walk
from alphamine.llm.agents import AGENT_ERRORS, PromptCounts, counted, search_block, thesis_text
from alphamine.llm.client import LLMClient
from alphamine.llm.context import checks_view, metrics_view, neighbours_view, settings_view, yearly_view
from alphamine.llm.prompts import DecisionReply, PromptLibrary

log = logging.getLogger("alphamine.llm.reviewers")

DECISION_PROMPT = "decision-v1"
CRITIC_PROMPT = "critic-v1"
HOLDABLE = frozenset({"gate_pending", "ready"})
"""Rule verdicts an LLM may hold back; for any other there is nothing to hold and no call is made."""
MAX_NOTE_CHARS = 2000
_NUMBER = re.compile(r"(?<![A-Za-z_0-9])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class LLMVerdict:
    """The LLM's opinion on top of the rules: `hold` or not (there is no "promote")."""

    hold: bool
    reasons: tuple[str, ...]
    prompt_version: str


class Neighbour(NamedTuple):
    """A ready alpha near a candidate: `similarity` is structural (1 = same shape; the structural
    distance is 1 - similarity), `correlation` the search-period PnL correlation (None: unknown)."""

    candidate_id: int
    expression: str
    similarity: float
    correlation: float | None

    def view(self) -> dict[str, Any]:
        """The mapping `llm.context.neighbours_view` reads."""
        return {
            "id": self.candidate_id,
            "expression": self.expression,
            "structure": self.similarity,
            "correlation": self.correlation,
        }


def _status(rule_verdict: Any) -> tuple[str, str]:
    status = getattr(rule_verdict, "status", rule_verdict)
    reasons = getattr(rule_verdict, "reasons", ())
    return str(getattr(status, "value", status)), "; ".join(str(r) for r in reasons)


def _checks(checks: Mapping[str, Any] | Sequence[Any]) -> Any:
    if isinstance(checks, Mapping):
        return checks
    if all(isinstance(c, Mapping) for c in checks):
        return {str(c.get("name")): c.get("result") for c in checks}
    return [str(c) for c in checks]


def llm_decide(
    client: LLMClient,
    prompts: PromptLibrary,
    row: Any,
    metrics: Mapping[str, Any],
    checks: Mapping[str, Any] | Sequence[Any],
    rule_verdict: Any,
    *,
    yearly: Sequence[Mapping[str, Any]] = (),
    counts: PromptCounts | None = None,
) -> LLMVerdict | None:
    """A hold-or-keep second opinion on a candidate the rules pass (module doc). `row` is a
    `CandidateRow` or `Candidate`; `rule_verdict` a `pipeline.decide.Verdict` or a status string."""
    status, why = _status(rule_verdict)
    if status not in HOLDABLE:
        return None
    context = {
        "expression": row.expression,
        "settings": settings_view(row.settings),
        "thesis": thesis_text(getattr(row, "thesis", None)),
        "metrics": metrics_view(search_block(metrics)),
        "checks": checks_view(_checks(checks)),
        "rule_verdict": status,
        "rule_reasons": why,
        "yearly": yearly_view([r for r in yearly if str(r.get("stage", "IS")).upper() == "IS"]) if yearly else "",
    }
    try:
        rendered = prompts.render(DECISION_PROMPT, context)
        with counted(counts, rendered.version):
            reply = client.chat_json("decision", rendered.system, rendered.user, DecisionReply)
    except AGENT_ERRORS as e:
        log.warning("LLM decision: no opinion (%s: %s)", type(e).__name__, e)
        return None
    hold = reply.verdict == "hold"
    if counts is not None:
        counts.add(rendered.version, hold=int(hold), keep=int(not hold))
    return LLMVerdict(hold, tuple(reply.reasons), rendered.version)


def critic_note(
    client: LLMClient,
    prompts: PromptLibrary,
    expression: str,
    neighbours: Sequence[Neighbour | tuple[int, str, float, float | None]],
    *,
    settings: Any = None,
    thesis: Any = None,
    counts: PromptCounts | None = None,
) -> str | None:
    """A plain-language novelty note against `neighbours` (module doc)."""
    near = [n if isinstance(n, Neighbour) else Neighbour(*n) for n in neighbours]
    if not near:
        return None
    context = {
        "expression": expression,
        "neighbours": neighbours_view([n.view() for n in near]),
        "settings": settings_view(settings) if settings is not None else "",
        "thesis": thesis_text(thesis) if thesis is not None else "",
    }
    try:
        rendered = prompts.render(CRITIC_PROMPT, context)
        with counted(counts, rendered.version):
            note = client.chat_text("critic", rendered.system, rendered.user)
    except AGENT_ERRORS as e:
        log.warning("LLM critic: no note (%s: %s)", type(e).__name__, e)
        return None
    if counts is not None:
        counts.add(rendered.version, notes=1)
    return note.strip()[:MAX_NOTE_CHARS]


# ---- nearest ready alphas (pure) -------------------------------------------------------------------


@lru_cache(maxsize=4096)
def shapes(expression: str) -> frozenset[str]:
    """The expression's sub-expression shapes: canonical text of every sub-tree of the inlined,
    normalized tree, numbers blanked to `#`, bare numbers left out. Empty when it does not parse."""
    try:
        node = normalize(inline(parse(expression)))
    except Exception:
        return frozenset()
    return frozenset(_NUMBER.sub("#", to_source(n)) for n in walk(node) if not isinstance(n, Number))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of `shapes(a)` and `shapes(b)` (0 when either has none)."""
    sa, sb = shapes(a), shapes(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def search_correlation(a: Any, b: Any) -> float | None:
    """PnL correlation of two stored results over their search periods only (None: undefined)."""
    from alphamine.pipeline.trial_gate import search_range
    from alphamine.sim.checks import aligned_correlation

    (alo, ahi), (blo, bhi) = search_range(a), search_range(b)
    if ahi <= alo or bhi <= blo:
        return None
    c = aligned_correlation(a.dates[alo:ahi], a.pnl[alo:ahi], b.dates[blo:bhi], b.pnl[blo:bhi])
    return None if math.isnan(c) else c


def nearest_ready(
    store: Any, run_id: str, candidate: Any, k: int = 3, *, backend: str | None = None
) -> list[Neighbour]:
    """The run's `k` ready alphas nearest to `candidate` (a `CandidateRow`; module doc)."""
    from alphamine.store.status import CandidateStatus

    ready = [r for r in store.candidates(run_id=run_id, status=CandidateStatus.READY) if r.id != candidate.id]
    if not ready or k <= 0:
        return []
    results = store.results_for([candidate.id, *(r.id for r in ready)], backend=backend)
    own = results.get(candidate.id)
    out = []
    for r in ready:
        other = results.get(r.id)
        corr = search_correlation(own, other) if own is not None and other is not None else None
        out.append(Neighbour(r.id, r.expression, round(similarity(candidate.expression, r.expression), 6), corr))
    out.sort(key=lambda n: (-max(n.similarity, n.correlation if n.correlation is not None else 0.0), n.candidate_id))
    return out[:k]

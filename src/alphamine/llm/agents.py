"""The LLM research agents on the generators' seams: what they share, and where each one lives.

Why agents and not a chat: every answer of a model is untrusted text. An agent turns it into the same
typed objects the deterministic generators produce (`Candidate`), after the same static checks, so the
pipeline cannot tell (and need not care) who proposed a candidate, while the candidate records who did
(`generator="llm:<prompt>"`, the prompt version and the approved lessons in `params`).

The agents (each in its own module, re-exported here):
- `LLMGenerator` (`llm.generator`): the `Generator` protocol on make-v1, for GENERATE.
- `LLMEnhancer` (`llm.enhancer`): enhance-v1 repairs of a promising candidate, for ENHANCE.
- `llm_decide`, `LLMVerdict`, `critic_note`, `nearest_ready`, `Neighbour` (`llm.reviewers`): a
  second opinion that can only hold a candidate back, and a plain-language novelty note.

Shared contract (this module):
- Lint gate (`LintGate.pass_or_fix`): every expression a model writes is checked with
  `alphamine.expr.check(expr, ctx.catalogue, n_days=ctx.n_days)`. One that has errors is sent back
  ONCE with its diagnostics (fix-v1 -> `FixReply`); if the repair still has errors the expression is
  dropped and counted. A field the data does not have is an UNKNOWN_FIELD error, so it can never
  become a candidate, let alone be simulated.
- Error policy: `LLMError` (a paused budget included) and `PromptError` (a broken override template)
  never leave an agent's public call: it returns what it has (possibly nothing) and records why in
  `last_error` (the client's messages never hold the key). The run goes on with the deterministic
  generators.
- Only search-period numbers reach a model: `search_block` reduces a stored metrics mapping to its
  `train` block (when the run has a validation window) or `is`, never `test` or `os`.
- `PromptCounts`: per prompt version, what its answers became (proposed, valid at once, fixed,
  dropped, candidates, holds...). One instance per run, shared by the agents, is what
  `pipeline.run_usage.write_usage` records and `alphamine prompt compare` reads.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from alphamine.expr import canonical, check
from alphamine.generate.candidate import GenerationContext, Thesis
from alphamine.llm.client import LLMClient, LLMError, LLMPaused
from alphamine.llm.context import catalogue_view, diagnostics_view, operator_view
from alphamine.llm.prompts import FixReply, PromptError, PromptLibrary, RenderedPrompt

if TYPE_CHECKING:
    from alphamine.llm.enhancer import LLMEnhancer
    from alphamine.llm.generator import EvidenceSnapshot, LLMGenerator
    from alphamine.llm.reviewers import LLMVerdict, Neighbour, critic_note, llm_decide, nearest_ready

log = logging.getLogger("alphamine.llm.agents")

T = TypeVar("T", bound=BaseModel)
FIX_PROMPT = "fix-v1"
AGENT_ERRORS = (LLMError, PromptError)
"""What an agent turns into `last_error` instead of raising (module doc)."""

_EXPORTS = {
    "LLMGenerator": "alphamine.llm.generator",
    "EvidenceSnapshot": "alphamine.llm.generator",
    "LLMEnhancer": "alphamine.llm.enhancer",
    "LLMVerdict": "alphamine.llm.reviewers",
    "Neighbour": "alphamine.llm.reviewers",
    "critic_note": "alphamine.llm.reviewers",
    "llm_decide": "alphamine.llm.reviewers",
    "nearest_ready": "alphamine.llm.reviewers",
}


def __getattr__(name: str) -> Any:
    """Lazy re-exports (the agent modules import this one, so it cannot import them eagerly)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def search_block(metrics: Mapping[str, Any]) -> Mapping[str, Any]:
    """The metrics a model may see: a flat mapping as it is; a stored metrics mapping (blocks `is`,
    `os`, `train`, `test`) reduced to `train` when it is non-empty (the run has a validation window),
    else `is`. `os` and `test` are never returned (`pipeline.validation.search_metrics`)."""
    blocks = {"is", "os", "train", "test"}
    if not any(isinstance(metrics.get(k), Mapping) for k in blocks):
        return metrics
    train = metrics.get("train")
    if isinstance(train, Mapping) and train:
        return train
    is_block = metrics.get("is")
    return is_block if isinstance(is_block, Mapping) else {}


def thesis_text(thesis: Thesis | None) -> str:
    """One line for a prompt: `type: rationale (fails when: ...)`."""
    if thesis is None:
        return ""
    return f"{thesis.type}: {thesis.rationale} (expected to fail when: {thesis.failure_mode})"


class PromptCounts:
    """Per prompt version, named counters of what its answers became (thread-safe; module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, Counter[str]] = {}

    def __repr__(self) -> str:
        return f"PromptCounts({self.as_dict()})"

    def add(self, version: str, **counts: int) -> None:
        with self._lock:
            c = self._counts.setdefault(version, Counter())
            for key, n in counts.items():
                if n:
                    c[key] += int(n)

    def get(self, version: str, key: str) -> int:
        with self._lock:
            return int(self._counts.get(version, Counter()).get(key, 0))

    def as_dict(self) -> dict[str, dict[str, int]]:
        """Plain JSON-able data, versions and counter names sorted."""
        with self._lock:
            return {v: {k: int(n) for k, n in sorted(c.items())} for v, c in sorted(self._counts.items())}


@dataclass(frozen=True)
class Linted:
    """What the lint gate made of one model expression: `expression` is the canonical text (None when
    dropped); `fixed_from`/`fix_version` say whether fix-v1 repaired it; `errors` are the diagnostics
    of the original (and, when dropped, of the repair too)."""

    expression: str | None
    fixed_from: str | None = None
    fix_version: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def fix_params(self) -> dict[str, Any]:
        """What a candidate records about its repair (nothing when none was needed)."""
        if self.fixed_from is None:
            return {}
        return {"fix": {"prompt_version": self.fix_version, "from": self.fixed_from, "errors": list(self.errors)}}


@contextmanager
def counted(counts: PromptCounts | None, version: str) -> Iterator[None]:
    """Count one call of prompt `version` around the client call inside: `calls` when a request went
    out (a budget pause sends none and is not counted), `errors` too when it ended in an `LLMError`."""
    try:
        yield
    except LLMPaused:
        raise
    except LLMError:
        if counts is not None:
            counts.add(version, calls=1, errors=1)
        raise
    if counts is not None:
        counts.add(version, calls=1)


def lint_errors(expression: str, ctx: GenerationContext) -> list[Any]:
    """The checker's error diagnostics of `expression` against the context's catalogue and history."""
    return [d for d in check(expression, ctx.catalogue, n_days=ctx.n_days) if d.severity == "error"]


class Agent:
    """Base of the agents: the client, the prompt library, the shared counts and `last_error`."""

    def __init__(self, client: LLMClient, prompts: PromptLibrary, *, counts: PromptCounts | None = None) -> None:
        self.client, self.prompts = client, prompts
        self.counts = counts if counts is not None else PromptCounts()
        self.last_error: str | None = None

    def _fail(self, error: BaseException) -> None:
        """Record why the agent stopped (client and prompt errors are key-free by contract)."""
        self.last_error = f"{type(error).__name__}: {error}"
        log.warning("LLM agent %s stopped: %s", type(self).__name__, self.last_error)

    def ask(self, name: str, context: Mapping[str, Any], schema: type[T], agent: str) -> tuple[RenderedPrompt, T]:
        """Render prompt `name` and ask for `schema`; counts the call under the rendered version.
        Raises what the client or the library raises (callers apply the error policy)."""
        rendered = self.prompts.render(name, context)
        with counted(self.counts, rendered.version):
            reply = self.client.chat_json(agent, rendered.system, rendered.user, schema)
        return rendered, reply

    def pass_or_fix(self, expression: str, ctx: GenerationContext, thesis: Thesis | None, agent: str) -> Linted:
        """The lint gate (module doc): the canonical expression, repaired once by fix-v1 when needed,
        or `Linted(None)` when it still fails. LLM errors of the repair call propagate."""
        errors = lint_errors(expression, ctx)
        if not errors:
            return Linted(canonical(expression))
        shown = diagnostics_view(errors, expression)
        context = {
            "expression": expression,
            "diagnostics": shown,
            "thesis": thesis_text(thesis),
            "fields": catalogue_view(ctx.catalogue),
            "operators": _operators(),
        }
        rendered, reply = self.ask(FIX_PROMPT, context, FixReply, agent)
        codes = tuple(f"{d.code}: {d.message}" for d in errors)
        again = lint_errors(reply.expression, ctx)
        if again:
            self.counts.add(rendered.version, failed=1)
            return Linted(None, expression, rendered.version, codes + tuple(f"{d.code}: {d.message}" for d in again))
        self.counts.add(rendered.version, fixed=1)
        return Linted(canonical(reply.expression), expression, rendered.version, codes)


def _operators(names: Sequence[str] | None = None) -> str:
    from alphamine.expr.operators import default_operators

    return operator_view(default_operators(), names)


def operators_text() -> str:
    """The operator signatures every agent prompt shows (the registry, grouped by category)."""
    return _operators()


__all__ = [
    "AGENT_ERRORS",
    "Agent",
    "EvidenceSnapshot",
    "LLMEnhancer",
    "LLMGenerator",
    "LLMVerdict",
    "Linted",
    "Neighbour",
    "PromptCounts",
    "counted",
    "critic_note",
    "lint_errors",
    "llm_decide",
    "nearest_ready",
    "search_block",
    "thesis_text",
]

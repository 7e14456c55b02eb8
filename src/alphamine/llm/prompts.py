"""Versioned prompts: Jinja2 templates with a content-hash version, personal overrides, reply schemas.

Why versioned: a candidate an agent proposed is only explainable (and an agent only comparable with
another) when the exact prompt behind it is recorded. A prompt's version is its name plus the first
six hex digits of the SHA-256 of its template text (`make-v1@3fa2c1`); when approved lessons of the
knowledge base (`alphamine.llm.knowledge`) are rendered into it, their ids are part of the version
(`make-v1@3fa2c1+k2,k5`). Editing a template or approving/revoking a lesson therefore changes the
recorded version, and nothing else does.

Contract of a template (`<name>.j2`): it defines two blocks, `system` and `user`, rendered separately
with the caller's context (missing context is an error naming the variable, never an empty string).
Templates may read `thesis_types` (`alphamine.generate.candidate.THESIS_TYPES`) and `knowledge` (the
compact approved lessons; filled in by the library, not by callers). The built-in templates live in
`alphamine/llm/prompts/`; a file `<runtime-root>/prompts/<name>.j2` overrides the built-in of that name
(or adds a new prompt, e.g. `make-v2` to compare with `make-v1`), and its version hash differs by
construction. Templates render in Jinja2's sandbox without autoescaping (prompts are not HTML).

Reply schemas (`REPLY_SCHEMAS`) are the strict pydantic models of the JSON a prompt asks for, to pass
to `LLMClient.chat_json`; `critic-v1` replies in plain language (`chat_text`), so it has none.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

if TYPE_CHECKING:
    from jinja2 import Template

    from alphamine.llm.knowledge import KnowledgeBase

PROMPTS_DIRNAME = "prompts"
"""Folder of personal overrides inside a runtime root (and of the built-ins inside this package)."""
SUFFIX = ".j2"
HASH_DIGITS = 6
BLOCKS = ("system", "user")
DEFAULT_KNOWLEDGE_CHARS = 5000
"""Budget for the approved lessons rendered into a prompt (`KnowledgeBase.compact`)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class PromptError(ValueError):
    """A prompt that cannot be found, parsed or rendered; the message names the prompt and its file."""


@dataclass(frozen=True)
class PromptInfo:
    """One available prompt: `version` is `name@hash` of the template text (no knowledge ids)."""

    name: str
    version: str
    source: Literal["builtin", "override"]
    path: Path


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt's template text with its info."""

    info: PromptInfo
    text: str


@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered prompt: what goes to the model and the version to record with its reply."""

    name: str
    version: str
    system: str
    user: str
    knowledge_ids: tuple[str, ...] = ()

    @property
    def chars(self) -> int:
        return len(self.system) + len(self.user)

    @property
    def approx_tokens(self) -> int:
        """A rough token count (4 characters a token), for budgets and the size tests."""
        return (self.chars + 3) // 4


def template_version(name: str, text: str) -> str:
    """`name@hash`: the first six hex digits of the SHA-256 of the template text."""
    return f"{name}@{hashlib.sha256(text.encode('utf-8')).hexdigest()[:HASH_DIGITS]}"


def with_knowledge(version: str, ids: tuple[str, ...] | list[str]) -> str:
    """The recorded version: the template version plus the knowledge ids rendered into it."""
    return f"{version}+{','.join(ids)}" if ids else version


def _builtin_dir() -> Path:
    return Path(str(resources.files("alphamine.llm").joinpath(PROMPTS_DIRNAME)))


class PromptLibrary:
    """The prompts of one runtime root: built-ins, overridden by `<runtime-root>/prompts/<name>.j2`.

    `runtime_root=None` gives the built-ins only. `knowledge` defaults to the runtime root's
    `KnowledgeBase`; only its approved lessons are ever rendered.
    """

    def __init__(
        self,
        runtime_root: Path | None = None,
        *,
        knowledge: KnowledgeBase | None = None,
        knowledge_chars: int = DEFAULT_KNOWLEDGE_CHARS,
    ) -> None:
        self.runtime_root = Path(runtime_root) if runtime_root is not None else None
        if knowledge is None and self.runtime_root is not None:
            from alphamine.llm.knowledge import KnowledgeBase

            knowledge = KnowledgeBase(self.runtime_root)
        self.knowledge = knowledge
        self.knowledge_chars = knowledge_chars
        self._compiled: dict[str, tuple[Template, frozenset[str]]] = {}

    @property
    def override_dir(self) -> Path | None:
        return self.runtime_root / PROMPTS_DIRNAME if self.runtime_root is not None else None

    def _paths(self) -> dict[str, tuple[Path, Literal["builtin", "override"]]]:
        found: dict[str, tuple[Path, Literal["builtin", "override"]]] = {}
        for p in sorted(_builtin_dir().glob(f"*{SUFFIX}")):
            found[p.name[: -len(SUFFIX)]] = (p, "builtin")
        d = self.override_dir
        if d is not None and d.is_dir():
            for p in sorted(d.glob(f"*{SUFFIX}")):
                name = p.name[: -len(SUFFIX)]
                if _NAME.match(name):
                    found[name] = (p, "override")
        return found

    def list(self) -> list[PromptInfo]:
        """Every available prompt (an override replaces the built-in of its name), sorted by name."""
        return [self.get(name).info for name in sorted(self._paths())]

    def get(self, name: str) -> PromptTemplate:
        """The prompt `name` as it would render now (override first); `PromptError` when unknown."""
        if not _NAME.match(name):
            raise PromptError(f"{name!r} is not a prompt name (letters, digits, '-', '_', '.')")
        paths = self._paths()
        if name not in paths:
            raise PromptError(f"no prompt {name!r}; available: {', '.join(sorted(paths))}")
        path, source = paths[name]
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise PromptError(f"prompt {name}: cannot read {path}: {e}") from None
        return PromptTemplate(PromptInfo(name, template_version(name, text), source, path), text)

    def _compile(self, tmpl: PromptTemplate) -> tuple[Template, frozenset[str]]:
        key = tmpl.info.version + str(tmpl.info.path)
        if key in self._compiled:
            return self._compiled[key]
        from jinja2 import StrictUndefined, TemplateSyntaxError, meta
        from jinja2.sandbox import SandboxedEnvironment

        env = SandboxedEnvironment(
            undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
        )
        try:
            ast = env.parse(tmpl.text)
            compiled = env.from_string(tmpl.text)
        except TemplateSyntaxError as e:
            raise PromptError(f"prompt {tmpl.info.name} ({tmpl.info.path}): line {e.lineno}: {e.message}") from None
        missing = [b for b in BLOCKS if b not in compiled.blocks]
        if missing:
            raise PromptError(
                f"prompt {tmpl.info.name} ({tmpl.info.path}): needs the blocks {', '.join(BLOCKS)}; "
                f"missing {', '.join(missing)}"
            )
        self._compiled[key] = (compiled, frozenset(meta.find_undeclared_variables(ast)))
        return self._compiled[key]

    def _knowledge(self, variables: frozenset[str]) -> tuple[str, tuple[str, ...]]:
        if "knowledge" not in variables or self.knowledge is None:
            return "", ()
        text, ids = self.knowledge.compact(max_chars=self.knowledge_chars)
        return text, tuple(ids)

    def recorded_version(self, name: str) -> str:
        """The version a render of `name` would record now: template hash plus the approved lessons'
        ids when the template reads `knowledge`."""
        tmpl = self.get(name)
        return with_knowledge(tmpl.info.version, self._knowledge(self._compile(tmpl)[1])[1])

    def render(self, name: str, context: Mapping[str, Any], *, knowledge: bool = True) -> RenderedPrompt:
        """Render `name` with `context`. Approved lessons are added as `knowledge` when the template
        reads it (and `knowledge` is true); their ids become part of the version."""
        from jinja2 import TemplateError, UndefinedError

        tmpl = self.get(name)
        compiled, variables = self._compile(tmpl)
        text, ids = self._knowledge(variables) if knowledge else ("", ())
        ctx: dict[str, Any] = {"thesis_types": _thesis_types(), "knowledge": text, **context}
        try:
            parts = {b: "".join(compiled.blocks[b](compiled.new_context(dict(ctx)))).strip() for b in BLOCKS}
        except UndefinedError as e:
            raise PromptError(f"prompt {name} ({tmpl.info.path}): missing context: {e.message}") from None
        except TemplateError as e:
            raise PromptError(f"prompt {name} ({tmpl.info.path}): {e}") from None
        return RenderedPrompt(name, with_knowledge(tmpl.info.version, ids), parts["system"], parts["user"], ids)


def _thesis_types() -> tuple[str, ...]:
    from alphamine.generate.candidate import THESIS_TYPES

    return THESIS_TYPES


# ---- reply schemas ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ThesisReply(_Strict):
    type: str
    rationale: str = Field(min_length=1)
    failure_mode: str = Field(min_length=1)

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        types = _thesis_types()
        if v not in types:
            raise ValueError(f"thesis type must be one of {', '.join(types)}")
        return v


class MakeReply(_Strict):
    """make-v1: a thesis and 1-10 FASTEXPR expressions testing it."""

    thesis: ThesisReply
    expressions: list[str] = Field(min_length=1, max_length=10)


class FixReply(_Strict):
    """fix-v1: the repaired expression (sent back once) and what was changed."""

    expression: str = Field(min_length=1)
    explanation: str = ""


class SettingsChange(_Strict):
    """The settings a repair may change (None: keep the candidate's)."""

    decay: int | None = Field(default=None, ge=0, le=512)
    truncation: float | None = Field(default=None, ge=0.0, le=1.0)
    neutralization: str | None = None
    universe: str | None = None


class Repair(_Strict):
    expression: str = Field(min_length=1)
    settings: SettingsChange = Field(default_factory=SettingsChange)
    why: str = ""


class EnhanceReply(_Strict):
    """enhance-v1: a diagnosis of the failed checks and 1-5 repairs."""

    diagnosis: str = Field(min_length=1)
    repairs: list[Repair] = Field(min_length=1, max_length=5)


class DecisionReply(_Strict):
    """decision-v1: hold or keep, with reasons (on top of the rules, never instead of them)."""

    verdict: Literal["hold", "keep"]
    reasons: list[str] = Field(min_length=1)


class LessonDraft(_Strict):
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    evidence: list[str] = Field(default_factory=list)
    machine: dict[str, Any] | None = None


class LearnReply(_Strict):
    """learn-v1: candidate lessons drawn from one source (a person reviews them)."""

    lessons: list[LessonDraft] = Field(default_factory=list, max_length=8)


REPLY_SCHEMAS: dict[str, type[BaseModel] | None] = {
    "make-v1": MakeReply,
    "fix-v1": FixReply,
    "enhance-v1": EnhanceReply,
    "decision-v1": DecisionReply,
    "critic-v1": None,  # plain language: `chat_text`
    "learn-v1": LearnReply,
}

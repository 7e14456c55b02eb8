"""The knowledge base: lessons a person approved, rendered into prompts, and `learn` to draft new ones.

Why files and a person in the loop: a lesson changes what every agent proposes, so it must be
readable, diffable and approved by a person before it has any effect. Lessons live under
`<runtime-root>/knowledge/`: one markdown file per lesson (`k1.md`, `k2.md`, ...) and `index.json`
with id, title, source, status (proposed | approved | revoked) and timestamps; every write is atomic
(temporary file + rename). Only approved lessons reach `compact()`, hence prompts; approving or
revoking one changes the recorded prompt versions (`alphamine.llm.prompts`).

A lesson may carry a `## Machine Readable (JSON)` section: the first fenced json block after that
heading must hold a JSON object; it is parsed when the lesson is added (a malformed block is an error
naming the file) and kept, minified, in the compact form.

`learn` turns a folder of saved posts and notes into a review report of candidate lessons with their
sources; it never adds or approves anything.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

from alphamine.llm.context import read_source, score_sentences, split_sentences, topic_words

Status = Literal["proposed", "approved", "revoked"]
KNOWLEDGE_DIRNAME = "knowledge"
INDEX_FILENAME = "index.json"
STARTER_PREFIX = "starter:"
MACHINE_HEADING = re.compile(r"^#{1,6}[ \t]*machine[ \t]+readable[ \t]*\(json\)[ \t]*$", re.I | re.M)
FENCE = re.compile(r"^```[ \t]*json[ \t]*\n(.*?)^```[ \t]*$", re.I | re.M | re.S)
NEXT_HEADING = re.compile(r"^#{1,6}[ \t]", re.M)
COMPACT_LINES = 2
__all__ = ["KnowledgeBase", "KnowledgeError", "LearnReport", "Lesson", "learn"]


class KnowledgeError(ValueError):
    """A lesson or index that cannot be read, parsed or found; the message names the file or id."""


@dataclass(frozen=True)
class Lesson:
    """One lesson: its index entry plus its markdown `text` and parsed machine-readable block."""

    id: str
    title: str
    source: str
    status: Status
    created: str
    path: Path
    text: str = ""
    machine: dict[str, Any] | None = None
    approved: str | None = None
    revoked: str | None = None

    def entry(self) -> dict[str, Any]:
        """The index.json entry (no text)."""
        return {"id": self.id, "title": self.title, "source": self.source, "status": self.status,
                "created": self.created, "approved": self.approved, "revoked": self.revoked,
                "file": self.path.name}

    def compact(self, lines: int = COMPACT_LINES) -> str:
        """`[k2] Title` + the first prose lines + `json: {...}` (minified), for prompts."""
        out = [f"[{self.id}] {self.title}"]
        out += [f"  {line}" for line in prose_lines(self.text)[:lines]]
        if self.machine is not None:
            out.append("  json: " + json.dumps(self.machine, separators=(",", ":"), sort_keys=True))
        return "\n".join(out)


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def parse_machine_block(text: str, origin: str) -> dict[str, Any] | None:
    """The JSON object of the `## Machine Readable (JSON)` section, None without the heading."""
    head = MACHINE_HEADING.search(text)
    if head is None:
        return None
    rest = text[head.end():]
    stop = NEXT_HEADING.search(rest)
    fence = FENCE.search(rest, 0, stop.start() if stop else len(rest))
    if fence is None:
        raise KnowledgeError(f"{origin}: the Machine Readable (JSON) section has no ```json fenced block")
    try:
        value = json.loads(fence.group(1))
    except json.JSONDecodeError as e:
        raise KnowledgeError(f"{origin}: the Machine Readable (JSON) block is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise KnowledgeError(f"{origin}: the Machine Readable (JSON) block must be a JSON object, "
                             f"got {type(value).__name__}")
    return value


def prose_lines(text: str, width: int = 240) -> list[str]:
    """The lesson's prose as logical lines: a paragraph or a bullet (its wrapped lines joined), each
    cut to `width` characters; headings, fences and the machine-readable section left out."""
    head = MACHINE_HEADING.search(text)
    body = text[: head.start()] if head else text
    units: list[list[str]] = []
    in_fence, fresh = False, True
    for raw in body.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            in_fence, fresh = not in_fence, True
            continue
        if in_fence or not line or line.startswith("#"):
            fresh = True
            continue
        if fresh or re.match(r"(?:[-*+]|\d+\.)\s", line):
            units.append([])
        units[-1].append(line)
        fresh = False
    out = [" ".join(u) for u in units]
    return [u if len(u) <= width else u[: width - 3].rstrip() + "..." for u in out]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def starter_lessons() -> builtins.list[Path]:
    """The starter lessons shipped with alphamine (`alphamine/llm/lessons/*.md`), sorted by name."""
    return sorted(Path(str(resources.files("alphamine.llm").joinpath("lessons"))).glob("*.md"))


def title_of(text: str, fallback: str) -> str:
    """The first `# ` heading of a markdown text, else `fallback`."""
    m = re.search(r"^#[ \t]+(.+?)[ \t]*$", text, re.M)
    return m.group(1) if m else fallback


class KnowledgeBase:
    """The lessons of one runtime root (`<runtime-root>/knowledge/`)."""

    def __init__(self, runtime_root: Path) -> None:
        self.dir = Path(runtime_root) / KNOWLEDGE_DIRNAME
        self.index_path = self.dir / INDEX_FILENAME

    def _entries(self) -> builtins.list[dict[str, Any]]:
        if not self.index_path.is_file():
            return []
        try:
            doc = json.loads(self.index_path.read_text(encoding="utf-8"))
            entries = doc["lessons"]
            if not isinstance(entries, builtins.list):
                raise TypeError("lessons is not a list")
            return entries
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise KnowledgeError(f"{self.index_path}: cannot read the knowledge index ({e})") from None

    def _save(self, entries: builtins.list[dict[str, Any]]) -> None:
        _atomic_write(self.index_path, json.dumps({"version": 1, "lessons": entries}, indent=2) + "\n")

    def _lesson(self, e: dict[str, Any], with_text: bool = True) -> Lesson:
        path = self.dir / str(e.get("file") or f"{e['id']}.md")
        text, machine = "", None
        if with_text:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise KnowledgeError(f"lesson {e['id']}: cannot read {path} ({err})") from None
            machine = parse_machine_block(text, str(path))
        return Lesson(id=e["id"], title=e["title"], source=e.get("source", ""), status=e["status"],
                      created=e.get("created", ""), path=path, text=text, machine=machine,
                      approved=e.get("approved"), revoked=e.get("revoked"))

    def add(self, path: Path, title: str | None = None, *, source: str | None = None) -> Lesson:
        """Copy the markdown file `path` in as a new proposed lesson (its machine block validated first).
        The title defaults to the file's first `# ` heading."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise KnowledgeError(f"cannot read {path}: {e}") from None
        machine = parse_machine_block(text, str(path))
        title = (title or title_of(text, path.stem)).strip()
        if not title:
            raise KnowledgeError(f"{path}: a lesson needs a title")
        entries = self._entries()
        n = max((int(e["id"][1:]) for e in entries if str(e["id"])[1:].isdigit()), default=0) + 1
        self.dir.mkdir(parents=True, exist_ok=True)
        while (self.dir / f"k{n}.md").exists():  # a file left by an interrupted add: never overwrite it
            n += 1
        lesson = Lesson(id=f"k{n}", title=title, source=source or str(path), status="proposed", created=now(),
                        path=self.dir / f"k{n}.md", text=text, machine=machine)
        _atomic_write(lesson.path, text)
        self._save([*entries, lesson.entry()])
        return lesson

    def list(self, status: Status | None = None) -> builtins.list[Lesson]:
        """Every lesson in id order (metadata only: `text` empty), optionally of one status."""
        lessons = [self._lesson(e, with_text=False) for e in self._entries()]
        lessons.sort(key=lambda x: (len(x.id), x.id))
        return [x for x in lessons if status is None or x.status == status]

    def show(self, lesson_id: str) -> Lesson:
        """The lesson with its text and machine block; `KnowledgeError` naming the id when unknown."""
        for e in self._entries():
            if e["id"] == lesson_id:
                return self._lesson(e)
        raise KnowledgeError(f"no lesson {lesson_id!r} in {self.dir}")

    def _set_status(self, lesson_id: str, status: Status) -> Lesson:
        entries = self._entries()
        for i, e in enumerate(entries):
            if e["id"] != lesson_id:
                continue
            lesson = self._lesson(e)  # a lesson whose file broke cannot be approved
            if lesson.status == status:
                return lesson
            stamp = now()
            lesson = replace(lesson, status=status, approved=stamp if status == "approved" else lesson.approved,
                             revoked=stamp if status == "revoked" else None)
            entries[i] = lesson.entry()
            self._save(entries)
            return lesson
        raise KnowledgeError(f"no lesson {lesson_id!r} in {self.dir}")

    def approve(self, lesson_id: str) -> Lesson:
        """Mark a lesson approved: from now on it is rendered into prompts (idempotent)."""
        return self._set_status(lesson_id, "approved")

    def revoke(self, lesson_id: str) -> Lesson:
        """Mark a lesson revoked: it no longer reaches any prompt (the file is kept)."""
        return self._set_status(lesson_id, "revoked")

    def approved(self) -> builtins.list[Lesson]:
        """The approved lessons with their text, in id order."""
        return [self.show(x.id) for x in self.list("approved")]

    def compact(self, max_chars: int = 5000) -> tuple[str, builtins.list[str]]:
        """The approved lessons in compact form, within `max_chars`, and the ids included (a lesson
        that does not fit whole is left out, never cut)."""
        parts: builtins.list[str] = []
        ids: builtins.list[str] = []
        used = 0
        for lesson in self.approved():
            text = lesson.compact()
            if used + len(text) + 1 > max_chars:
                continue
            parts.append(text)
            ids.append(lesson.id)
            used += len(text) + 1
        return "\n".join(parts), ids

    def install_starter(self) -> builtins.list[Lesson]:
        """Add the shipped starter lessons as proposed (those already installed are skipped)."""
        have = {e.get("source") for e in self._entries()}
        return [self.add(p, source=STARTER_PREFIX + p.name) for p in starter_lessons()
                if STARTER_PREFIX + p.name not in have]


# ---- learn ------------------------------------------------------------------------------------------


class JsonChat(Protocol):
    """The part of `alphamine.llm.client.LLMClient` that `learn` uses."""

    def chat_json(self, agent: str, system: str, user: str, schema: Any) -> Any: ...


@dataclass(frozen=True)
class CandidateLesson:
    """A lesson a person might write, with the source and the sentences it rests on."""

    title: str
    source: str
    summary: str
    evidence: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    score: float = 0.0
    machine: dict[str, Any] | None = None


@dataclass
class LearnReport:
    """The candidates `learn` found (best first) and the files it skipped, for review."""

    topic: str
    folder: Path
    mode: Literal["keyword", "llm"]
    candidates: builtins.list[CandidateLesson] = field(default_factory=builtins.list)
    skipped: builtins.list[tuple[str, str]] = field(default_factory=builtins.list)
    prompt_version: str | None = None

    def to_markdown(self) -> str:
        how = f"{self.mode} mode" + (f", prompt {self.prompt_version}" if self.prompt_version else "")
        out = [f"# Candidate lessons: {self.topic}", "",
               f"{len(self.candidates)} candidate(s) from `{self.folder}` ({how}). Nothing here is in the "
               "knowledge base: review each one, write the lesson as a markdown file (optionally with a "
               "`## Machine Readable (JSON)` block), then `alphamine knowledge add FILE --title T` and "
               "`alphamine knowledge approve ID`.", ""]
        for i, c in enumerate(self.candidates, 1):
            out += [f"## {i}. {c.title}", "", f"- source: `{c.source}`"]
            if c.keywords:
                out.append(f"- keywords: {', '.join(c.keywords)}")
            if self.mode == "keyword":
                out.append(f"- score: {c.score:g}")
            out += ["", c.summary, ""]
            out += [f"> {s}" for s in c.evidence]
            if c.machine is not None:
                out += ["", "```json", json.dumps(c.machine, indent=2, sort_keys=True), "```"]
            out.append("")
        if self.skipped:
            out += ["## Skipped", ""] + [f"- `{name}`: {why}" for name, why in self.skipped] + [""]
        return "\n".join(out).rstrip() + "\n"


MAX_EVIDENCE = 5
MAX_LLM_SOURCE_CHARS = 12_000


def learn(
    folder: Path,
    topic: str,
    client: JsonChat | None = None,
    *,
    runtime_root: Path | None = None,
    fields: builtins.list[str] | tuple[str, ...] = (),
) -> LearnReport:
    """Candidate lessons about `topic` from the markdown, HTML and text files under `folder`.

    With `client`, one `chat_json("learn", ...)` call per source with the learn-v1 prompt (overrides
    from `runtime_root`); without, a deterministic keyword extractor: sentences naming operators,
    fields, check names or topic words, scored, the best few per source, sources ranked by score.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise KnowledgeError(f"{folder} is not a folder")
    report = LearnReport(topic=topic, folder=folder, mode="llm" if client is not None else "keyword")
    sources = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        try:
            got = read_source(path)
        except (OSError, UnicodeDecodeError) as e:
            report.skipped.append((rel, f"cannot read ({e})"))
            continue
        if got is None:
            report.skipped.append((rel, "not markdown, HTML or text"))
            continue
        sources.append((rel, *got))
    if client is not None:
        _learn_llm(report, sources, client, runtime_root)
    else:
        _learn_keywords(report, sources, fields)
    return report


def _learn_keywords(report: LearnReport, sources: builtins.list[tuple[str, str, str]], fields: Any) -> None:
    words = topic_words(report.topic)
    for rel, title, text in sources:
        scored = score_sentences(split_sentences(text), words, fields)
        if not scored or (words and not any(s.topic_hits for s in scored)):
            report.skipped.append((rel, f"nothing about {report.topic}"))
            continue
        best = sorted(scored, key=lambda s: (-s.score, s.position))[:MAX_EVIDENCE]
        best.sort(key=lambda s: s.position)
        keywords = tuple(sorted({k for s in best for k in s.keywords}))
        report.candidates.append(CandidateLesson(
            title=title, source=rel, summary=max(best, key=lambda s: (s.score, -s.position)).text,
            evidence=tuple(s.text for s in best), keywords=keywords, score=float(sum(s.score for s in best))))
    report.candidates.sort(key=lambda c: (-c.score, c.source))


def _learn_llm(report: LearnReport, sources: builtins.list[tuple[str, str, str]], client: JsonChat,
               runtime_root: Path | None) -> None:
    from alphamine.llm.prompts import LearnReply, PromptLibrary

    library = PromptLibrary(runtime_root)
    for rel, _title, text in sources:
        prompt = library.render("learn-v1", {"topic": report.topic, "source": rel,
                                             "text": text[:MAX_LLM_SOURCE_CHARS]}, knowledge=False)
        report.prompt_version = prompt.version
        reply = client.chat_json("learn", prompt.system, prompt.user, LearnReply)
        parsed = reply if isinstance(reply, LearnReply) else LearnReply.model_validate(reply)
        if not parsed.lessons:
            report.skipped.append((rel, f"nothing about {report.topic}"))
        for draft in parsed.lessons:
            report.candidates.append(CandidateLesson(
                title=draft.title, source=rel, summary=draft.summary, evidence=tuple(draft.evidence),
                score=float(len(draft.evidence)), machine=draft.machine))

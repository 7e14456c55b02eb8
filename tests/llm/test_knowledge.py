"""The knowledge base: lesson lifecycle on files, the machine-readable block, what reaches `compact()`,
the starter set, and `learn` (keyword mode and a fake client); nothing here touches a network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alphamine.llm.knowledge import (
    KnowledgeBase,
    KnowledgeError,
    LearnReport,
    parse_machine_block,
    prose_lines,
    starter_lessons,
)
from alphamine.llm.knowledge import learn as learn_lessons
from alphamine.llm.prompts import LearnReply

LESSON = """# Smooth fast signals

Raise the decay setting before rewriting a fast reversal;
it is cheap and reversible.

- Try 2, 4 and 8 days.

## Machine Readable (JSON)

```json
{"check": "HIGH_TURNOVER",
 "decay": [2, 4, 8]}
```

## Notes

Written after run 12.
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_lifecycle(tmp_path: Path) -> None:
    root = tmp_path / "rt"
    kb = KnowledgeBase(root)
    assert kb.list() == [] and kb.compact() == ("", [])
    first = kb.add(_write(tmp_path, "a.md", LESSON), "Smooth fast signals")
    assert (first.id, first.status, first.approved, first.source) == ("k1", "proposed", None, str(tmp_path / "a.md"))
    assert first.path == root / "knowledge" / "k1.md" and first.path.read_text(encoding="utf-8") == LESSON
    second = kb.add(_write(tmp_path, "b.md", "# From the heading\n\nUse ts_backfill on sparse fields.\n"))
    assert (second.id, second.title, second.machine) == ("k2", "From the heading", None)
    assert [x.id for x in kb.list()] == ["k1", "k2"] and kb.approved() == []

    approved = kb.approve("k1")
    assert approved.status == "approved" and approved.approved
    assert kb.approve("k1").approved == approved.approved  # idempotent: the first approval is kept
    assert [x.id for x in kb.approved()] == ["k1"] and [x.id for x in kb.list("proposed")] == ["k2"]
    shown = kb.show("k1")
    assert shown.text == LESSON and shown.machine == {"check": "HIGH_TURNOVER", "decay": [2, 4, 8]}

    revoked = kb.revoke("k1")
    assert revoked.status == "revoked" and revoked.revoked and kb.approved() == []
    doc = json.loads((root / "knowledge" / "index.json").read_text(encoding="utf-8"))
    assert [(e["id"], e["status"], e["file"]) for e in doc["lessons"]] == [("k1", "revoked", "k1.md"),
                                                                           ("k2", "proposed", "k2.md")]
    assert sorted(p.name for p in (root / "knowledge").iterdir()) == ["index.json", "k1.md", "k2.md"]  # no temp files
    assert KnowledgeBase(root).show("k2").title == "From the heading"  # a new instance reads the same files
    for bad in ("k9", "nope"):
        with pytest.raises(KnowledgeError, match=f"no lesson '{bad}'"):
            kb.approve(bad)
    with pytest.raises(KnowledgeError, match="no lesson 'k3'"):
        kb.show("k3")


def test_machine_block_parsing(tmp_path: Path) -> None:
    assert parse_machine_block(LESSON, "x.md") == {"check": "HIGH_TURNOVER", "decay": [2, 4, 8]}
    assert parse_machine_block("# no block\n\ntext\n", "x.md") is None
    cases = {
        "bad.md": ("```json\n{\"check\": HIGH}\n```", "not valid JSON"),
        "list.md": ("```json\n[1, 2]\n```", "must be a JSON object, got list"),
        "nofence.md": ("just prose\n\n## Next\n\n```json\n{}\n```", "no ```json fenced block"),
    }
    kb = KnowledgeBase(tmp_path / "rt")
    for name, (block, message) in cases.items():
        path = _write(tmp_path, name, f"# T\n\nBody.\n\n## Machine Readable (JSON)\n\n{block}\n")
        with pytest.raises(KnowledgeError, match=message) as e:
            kb.add(path, "T")
        assert str(path) in str(e.value)
    assert kb.list() == []  # nothing was added
    with pytest.raises(KnowledgeError, match="cannot read"):
        kb.add(tmp_path / "missing.md", "T")


def test_only_approved_lessons_reach_compact(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path)
    a = kb.add(_write(tmp_path, "a.md", LESSON), "Smooth fast signals")
    b = kb.add(_write(tmp_path, "b.md", "# Backfill\n\nWrap sparse fields in ts_backfill(x, 250).\n"), "Backfill")
    c = kb.add(_write(tmp_path, "c.md", "# Secret\n\nA proposed lesson nobody approved.\n"), "Secret")
    kb.approve(a.id)
    kb.approve(b.id)
    kb.approve(c.id)
    kb.revoke(c.id)
    text, ids = kb.compact()
    assert ids == ["k1", "k2"] and "Secret" not in text and "nobody approved" not in text
    assert text.splitlines()[:4] == [
        "[k1] Smooth fast signals",
        "  Raise the decay setting before rewriting a fast reversal; it is cheap and reversible.",
        "  - Try 2, 4 and 8 days.",
        '  json: {"check":"HIGH_TURNOVER","decay":[2,4,8]}',
    ]
    assert "run 12" not in text  # the compact form stops at the machine-readable section
    small, small_ids = kb.compact(max_chars=len(text.split("\n[k2]")[0]) + 1)
    assert small_ids == ["k1"] and "[k2]" not in small  # a lesson that does not fit is left out whole


def test_prose_lines_join_wrapped_lines() -> None:
    assert prose_lines("# T\n\nOne\ntwo.\n\n- a\n  b\n- c\n\n```json\n{}\n```\n") == ["One two.", "- a b", "- c"]
    assert prose_lines("x" * 300)[0].endswith("...") and len(prose_lines("x" * 300)[0]) == 240


def test_starter_set_installs_as_proposed(tmp_path: Path) -> None:
    paths = starter_lessons()
    assert len(paths) >= 6
    kb = KnowledgeBase(tmp_path)
    added = kb.install_starter()
    assert len(added) == len(paths) and all(x.status == "proposed" for x in added)
    assert all(x.source.startswith("starter:") and x.machine for x in added)  # each carries a machine block
    titles = " ".join(x.title.lower() for x in added)
    for topic in ("turnover", "backfill", "neutralization", "normalizer"):
        assert topic in titles
    assert kb.compact() == ("", [])  # nothing changes behaviour until a person approves
    assert kb.install_starter() == [] and len(kb.list()) == len(paths)  # installing twice adds nothing


def test_corrupt_index_is_a_clear_error(tmp_path: Path) -> None:
    _write(tmp_path / "knowledge", "index.json", "{not json")
    with pytest.raises(KnowledgeError, match=r"index\.json: cannot read the knowledge index"):
        KnowledgeBase(tmp_path).list()


NOTES = {
    "forum/decay.md": (
        "# Turnover tricks\n\n"
        "I was stuck at 90% turnover for weeks. Raising decay to 4 fixed HIGH_TURNOVER without hurting sharpe.\n\n"
        "- Wrapping the signal in ts_decay_linear(x, 5) also lowers turnover.\n"
        "- My cat likes the keyboard.\n"
    ),
    "forum/post.html": (
        "<html><head><title>Trade less often</title><script>var turnover = 'script text';</script>"
        "<style>p { color: red }</style></head><body><h1>Ignore me</h1>"
        "<p>Use trade_when(volume &gt; adv20, alpha, -1) to cut turnover on event signals.</p>"
        "<p>Thanks for reading!</p></body></html>"
    ),
    "notes.txt": "Sparse fundamentals need ts_backfill before rank. Turnover is rarely a problem there.\n",
    "unrelated.txt": "The weather was nice today and the coffee was good as always.\n",
    "image.png": "not really a png",
}


def _notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    for name, text in NOTES.items():
        _write(folder, name, text)
    return folder


def test_learn_keyword_mode(tmp_path: Path) -> None:
    folder = _notes(tmp_path)
    report = learn_lessons(folder, "turnover control", runtime_root=tmp_path / "rt")
    assert isinstance(report, LearnReport) and report.mode == "keyword" and report.prompt_version is None
    by_source = {c.source: c for c in report.candidates}
    assert set(by_source) == {"forum/decay.md", "forum/post.html", "notes.txt"}
    assert report.candidates[0].source == "forum/decay.md"  # the richest source ranks first
    assert [c.score for c in report.candidates] == sorted((c.score for c in report.candidates), reverse=True)
    md = by_source["forum/decay.md"]
    assert md.title == "Turnover tricks" and "cat" not in " ".join(md.evidence)
    assert any("HIGH_TURNOVER" in s for s in md.evidence) and {"HIGH_TURNOVER", "ts_decay_linear"} <= set(md.keywords)
    html = by_source["forum/post.html"]
    assert html.title == "Trade less often"
    assert html.evidence == ("Use trade_when(volume > adv20, alpha, -1) to cut turnover on event signals.",)
    assert "script text" not in report.to_markdown() and "color" not in report.to_markdown()
    assert dict(report.skipped) == {"image.png": "not markdown, HTML or text",
                                    "unrelated.txt": "nothing about turnover control"}
    text = report.to_markdown()
    assert text.startswith("# Candidate lessons: turnover control\n")
    assert "## 1. Turnover tricks" in text and "- source: `forum/decay.md`" in text and "## Skipped" in text
    again = learn_lessons(folder, "turnover control")
    assert again.to_markdown() == learn_lessons(folder, "turnover control").to_markdown()  # deterministic
    assert not (tmp_path / "rt" / "knowledge").exists()  # learn never adds anything
    with pytest.raises(KnowledgeError, match="is not a folder"):
        learn_lessons(tmp_path / "missing", "x")


class FakeClient:
    """Answers like `LLMClient.chat_json`: a validated reply per call, and records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, Any]] = []

    def chat_json(self, agent: str, system: str, user: str, schema: Any) -> Any:
        self.calls.append((agent, system, user, schema))
        if "turnover" not in user.split("\n\n", 1)[1].lower():
            return schema.model_validate({"lessons": []})
        return {"lessons": [{"title": "Decay first", "summary": "Raise decay before rewriting.",
                             "evidence": ["Raising decay to 4 fixed HIGH_TURNOVER"], "machine": {"decay": 4}}]}


def test_learn_with_a_client(tmp_path: Path) -> None:
    folder = _notes(tmp_path)
    client = FakeClient()
    report = learn_lessons(folder, "turnover", client, runtime_root=tmp_path / "rt")
    assert report.mode == "llm" and report.prompt_version and report.prompt_version.startswith("learn-v1@")
    assert len(client.calls) == 4 and all(c[0] == "learn" and c[3] is LearnReply for c in client.calls)
    assert "script text" not in " ".join(c[2] for c in client.calls)
    assert {c.source for c in report.candidates} == {"forum/decay.md", "forum/post.html", "notes.txt"}
    assert report.candidates[0].machine == {"decay": 4} and '"decay": 4' in report.to_markdown()
    assert ("unrelated.txt", "nothing about turnover") in report.skipped
    assert not (tmp_path / "rt" / "knowledge").exists()

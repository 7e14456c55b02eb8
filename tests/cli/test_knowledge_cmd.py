"""`alphamine knowledge ...` and `alphamine prompt ...` through Typer's CliRunner: the lesson lifecycle,
`learn` to stdout and to a file, prompt list/show with overrides and knowledge ids, and one-line
errors with exit code 2.

The command tree is built here (the two sub-apps under a bare Typer), so the tests do not depend on how
`alphamine.cli.app` wires them."""

from __future__ import annotations

from pathlib import Path

import typer
from click.testing import Result
from typer.testing import CliRunner

from alphamine.cli.knowledge_cmd import knowledge_app
from alphamine.cli.prompt_cmd import prompt_app
from alphamine.llm.knowledge import starter_lessons

runner = CliRunner()
app = typer.Typer()
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(prompt_app, name="prompt")


@app.callback()
def _root() -> None:
    """A bare root, as `alphamine` has."""


def _run(root: Path, *args: str) -> Result:
    return runner.invoke(app, [*args, "--runtime-root", str(root)])


def test_lesson_lifecycle(tmp_path: Path) -> None:
    root = tmp_path / "rt"
    res = _run(root, "knowledge", "list")
    assert res.exit_code == 0 and "no lessons in" in res.stdout
    lesson = tmp_path / "decay.md"
    lesson.write_text("# x\n\nRaise decay first.\n\n## Machine Readable (JSON)\n\n```json\n{\"decay\": 4}\n```\n",
                      encoding="utf-8")
    res = _run(root, "knowledge", "add", str(lesson), "--title", "Decay first")
    assert res.exit_code == 0, res.output
    assert "added k1 (proposed): Decay first" in res.stdout and "knowledge approve k1" in res.stdout
    res = _run(root, "knowledge", "list")
    assert res.exit_code == 0 and "k1" in res.stdout and "proposed" in res.stdout and "Decay first" in res.stdout
    res = _run(root, "knowledge", "approve", "k1")
    assert res.exit_code == 0 and "approved k1: Decay first" in res.stdout
    res = _run(root, "knowledge", "list", "--status", "approved")
    assert res.exit_code == 0 and "approved" in res.stdout and "Decay first" in res.stdout
    res = _run(root, "knowledge", "show", "k1")
    assert res.exit_code == 0
    assert res.stdout.startswith("k1: Decay first\nstatus: approved") and "Raise decay first." in res.stdout
    assert '{"decay": 4}' in res.stdout
    res = _run(root, "knowledge", "revoke", "k1")
    assert res.exit_code == 0 and "revoked k1" in res.stdout
    assert "revoked" in _run(root, "knowledge", "show", "k1").stdout


def test_starter(tmp_path: Path) -> None:
    n = len(starter_lessons())
    res = _run(tmp_path, "knowledge", "starter")
    assert res.exit_code == 0, res.output
    assert f"{n} starter lesson(s) installed as proposed" in res.stdout and res.stdout.count("(proposed)") == n
    res = _run(tmp_path, "knowledge", "starter")
    assert res.exit_code == 0 and f"0 starter lesson(s) installed as proposed, {n} already there" in res.stdout
    assert _run(tmp_path, "knowledge", "list", "--status", "approved").stdout.startswith("no lessons")


def test_knowledge_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("# b\n\n## Machine Readable (JSON)\n\n```json\n[1]\n```\n", encoding="utf-8")
    cases = [
        (("knowledge", "approve", "k7"), "no lesson 'k7'"),
        (("knowledge", "show", "k7"), "no lesson 'k7'"),
        (("knowledge", "add", str(bad), "--title", "B"), "must be a JSON object"),
        (("knowledge", "add", str(tmp_path / "none.md")), "cannot read"),
        (("knowledge", "list", "--status", "maybe"), "--status must be one of proposed, approved, revoked"),
        (("knowledge", "learn", str(tmp_path / "nowhere"), "--topic", "x"), "is not a folder"),
        (("knowledge", "learn", str(tmp_path), "--topic", " "), "--topic must name"),
        (("prompt", "show", "make-v9"), "no prompt 'make-v9'"),
    ]
    for args, message in cases:
        res = _run(tmp_path / "rt", *args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.stderr and "Traceback" not in res.output, (args, res.stderr)
    assert "bad.md" in _run(tmp_path / "rt", "knowledge", "add", str(bad)).stderr


def test_learn_to_stdout_and_file(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("# Decay\n\nRaising decay fixed HIGH_TURNOVER for my reversal alpha.\n",
                                encoding="utf-8")
    (notes / "b.html").write_text("<p>Use ts_decay_linear(x, 5) when turnover is too high.</p>", encoding="utf-8")
    res = _run(tmp_path / "rt", "knowledge", "learn", str(notes), "--topic", "turnover")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("# Candidate lessons: turnover\n") and "- source: `b.html`" in res.stdout
    out = tmp_path / "review.md"
    res = _run(tmp_path / "rt", "knowledge", "learn", str(notes), "--topic", "turnover", "--output", str(out))
    assert res.exit_code == 0 and "wrote 2 candidate lesson(s) about 'turnover'" in res.stdout
    assert out.read_text(encoding="utf-8").startswith("# Candidate lessons: turnover\n")
    assert not (tmp_path / "rt" / "knowledge").exists()  # learn adds nothing


def test_prompt_list_and_show(tmp_path: Path) -> None:
    res = _run(tmp_path, "prompt", "list")
    assert res.exit_code == 0, res.output
    for name in ("make-v1", "fix-v1", "enhance-v1", "decision-v1", "critic-v1"):
        assert name in res.stdout
    assert "builtin" in res.stdout and "approved knowledge rendered into prompts that read it: none" in res.stdout
    res = _run(tmp_path, "prompt", "show", "make-v1")
    assert res.exit_code == 0
    head = res.stdout.splitlines()
    assert head[0].startswith("make-v1: make-v1@") and head[1].startswith("source: builtin (")
    assert "{% block system %}" in res.stdout and "recorded as" not in res.stdout
    version = head[0].split(": ")[1]

    _run(tmp_path, "knowledge", "starter")
    _run(tmp_path, "knowledge", "approve", "k2")
    res = _run(tmp_path, "prompt", "show", "make-v1")
    assert f"recorded as: {version}+k2 " in res.stdout
    assert "recorded as" not in _run(tmp_path, "prompt", "show", "fix-v1").stdout  # fix-v1 reads no knowledge
    assert "read it: k2" in _run(tmp_path, "prompt", "list").stdout

    override = tmp_path / "prompts" / "make-v1.j2"
    override.parent.mkdir()
    override.write_text("{% block system %}mine{% endblock %}{% block user %}{{ catalogue }}{% endblock %}\n",
                        encoding="utf-8")
    res = _run(tmp_path, "prompt", "show", "make-v1")
    assert res.exit_code == 0 and "source: override (" in res.stdout and version not in res.stdout
    assert "override" in _run(tmp_path, "prompt", "list").stdout

"""`alphamine knowledge learn --llm` drafts lessons with the LLM (one call per source, against the
loopback fake server) and adds or approves nothing."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from alphamine.cli.main import app


def test_learn_with_the_llm_drafts_lessons_per_source(llm_server, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ALPHAMINE_LLM", raising=False)
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "post.md").write_text("# Turnover\nUse ts_decay_linear to cut turnover below 0.4.\n")
    (notes / "forum.html").write_text("<html><body><p>Wrap sparse fundamentals in ts_backfill.</p></body></html>")
    llm_server.responder = lambda body: json.dumps({"lessons": [
        {"title": "Smooth fast signals", "summary": "ts_decay_linear lowers turnover", "evidence": ["post"]}]})
    env = {"LLM_PROVIDER": "custom", "LLM_BASE_URL": llm_server.url, "LLM_MODEL": "fake-model",
           "LLM_API_KEY": llm_server.key, "HOME": str(tmp_path / "home")}
    root = tmp_path / "rt"
    res = CliRunner().invoke(app, ["knowledge", "learn", str(notes), "--topic", "turnover", "--llm",
                                   "--runtime-root", str(root)], env=env)
    assert res.exit_code == 0, res.output
    assert "Smooth fast signals" in res.output
    assert len(llm_server.chat_requests) == 2  # one per source file
    res = CliRunner().invoke(app, ["knowledge", "list", "--runtime-root", str(root)], env=env)
    assert "Smooth fast signals" not in res.output  # drafted for review, never added

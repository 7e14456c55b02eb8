"""`--worker llm` end to end against a real OpenAI-compatible server on loopback (the LLM tests'
fake server): the LLM worker's file lands in experiments/, is validated, judged and recorded; a judge
failure sends the file back for a fix; the LLM Critic and Director write their notes files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alphamine.cli.lab_cmd import lab_app
from tests.lab.conftest import SAMPLE, make_leanlab_lab, read_records

fake_server = pytest.importorskip("tests.llm.fake_server", reason="the LLM tests' fake server is not available")

MEDIAN = SAMPLE.replace("Baseline: predict the training mean.", "The median.").replace(
    "sum(ys) / len(ys)", "sorted(ys)[len(ys) // 2]"
)
BROKEN = SAMPLE.replace("Baseline: predict the training mean.", "Broken on purpose.").replace(
    "return [self.m for _ in xs]", "return [self.m for _ in xs] if len(xs) < 20 else 1 / 0"
)


def _responder(body: dict[str, Any]) -> str:
    system = str(body["messages"][0]["content"])
    user = str(body["messages"][-1]["content"])
    if system.startswith("You are the WORKER"):
        if "CURRENT CONTENT of experiments/broken.py" in user:
            return json.dumps({"file_name": "broken.py", "code": MEDIAN, "notes": "fixed"})
        if "This is experiment number 1." in user:
            return json.dumps({"file_name": "experiments/median.py", "code": MEDIAN, "notes": "median"})
        return json.dumps({"file_name": "broken.py", "code": BROKEN, "notes": "oops"})
    if system.startswith("You are the CRITIC"):
        return "# Critic Feedback\n\nThe LLM critic read the ledger."
    return "# Director Notes\n\nThe LLM director read the ledger."


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    with fake_server.fake_llm_server() as server:
        server.responder = _responder
        monkeypatch.setenv("HOME", str(tmp_path))  # no secret file
        for var in ("MOONSHOT_API_KEY", "MOONSHOT_BASE_URL", "MOONSHOT_MODEL", "ALPHAMINE_LLM"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("LLM_PROVIDER", "custom")
        monkeypatch.setenv("LLM_BASE_URL", server.url)
        monkeypatch.setenv("LLM_MODEL", "fake-model")
        monkeypatch.setenv("LLM_API_KEY", server.key)
        yield server


def test_llm_worker_critic_and_director(llm_env: Any, tmp_path: Path) -> None:
    lab = make_leanlab_lab(tmp_path, critic_every=2, director_every=2)
    result = CliRunner().invoke(lab_app, ["run", str(lab), "--n", "2", "--worker", "llm"])
    assert result.exit_code == 0, result.output
    records = read_records(lab)
    assert [r["experiment_file"] for r in records] == ["experiments/median.py", "experiments/broken.py"]
    assert all(isinstance(r["rmse"], float) for r in records)
    assert records[1]["notes"] == "The median."  # the fixed file
    assert "asking the worker to fix it (1/3)" in result.output
    assert (lab / "Critic_Feedback.md").read_text().startswith("# Critic Feedback\n\nThe LLM critic")
    assert (lab / "Director_Notes.md").read_text().startswith("# Director Notes\n\nThe LLM director")
    worker_calls = [r for r in llm_env.chat_requests if "WORKER" in str(r.body["messages"][0]["content"])]
    assert len(worker_calls) == 3
    assert "MEMORY — best experiments so far" in worker_calls[1].body["messages"][-1]["content"]

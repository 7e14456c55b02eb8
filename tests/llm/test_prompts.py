"""Versioned prompts: content-hash versions, personal overrides, approved knowledge in the version,
the compact and value-free context views, and the strict reply schemas.

Everything is offline: no client is built; prompts are only rendered."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from alphamine.data import load_sample
from alphamine.expr.operators import default_operators
from alphamine.generate.candidate import THESIS_TYPES
from alphamine.llm.context import (
    catalogue_view,
    checks_view,
    diagnostics_view,
    evidence_view,
    lineage_view,
    metrics_view,
    neighbours_view,
    operator_view,
    saturated_view,
    settings_view,
    yearly_view,
)
from alphamine.llm.knowledge import KnowledgeBase
from alphamine.llm.prompts import (
    REPLY_SCHEMAS,
    DecisionReply,
    EnhanceReply,
    MakeReply,
    PromptError,
    PromptLibrary,
    template_version,
)
from alphamine.sim.settings import Settings

BUILTINS = ("critic-v1", "decision-v1", "enhance-v1", "fix-v1", "learn-v1", "make-v1")
SIZE_LIMIT = 24_000  # ~6k tokens
MINIMAL: dict[str, dict[str, Any]] = {
    "make-v1": {"settings": "universe=TOP500", "catalogue": "pv MATRIX: close", "operators": "rank(x)"},
    "fix-v1": {"expression": "rank(clos)", "diagnostics": "error UNKNOWN_FIELD: clos"},
    "enhance-v1": {"expression": "rank(-returns)", "settings": "decay=0", "metrics": "sharpe=1.1",
                   "failed_checks": "HIGH_TURNOVER FAIL"},
    "decision-v1": {"expression": "rank(-returns)", "settings": "decay=4", "metrics": "sharpe=1.6",
                    "checks": "(none failed)", "rule_verdict": "ready"},
    "critic-v1": {"expression": "rank(-returns)", "neighbours": "(no ready alphas yet)"},
    "learn-v1": {"topic": "turnover", "source": "a.md", "text": "Use decay."},
}
LESSON = """# Smooth fast signals

Raise decay before rewriting a fast reversal.

## Machine Readable (JSON)

```json
{"check": "HIGH_TURNOVER", "decay": [2, 4]}
```
"""


def _override(root: Path, name: str, text: str) -> Path:
    path = root / "prompts" / f"{name}.j2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _lesson(tmp_path: Path, name: str, text: str = LESSON) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtins_are_listed_with_content_hash_versions(tmp_path: Path) -> None:
    infos = PromptLibrary(tmp_path).list()
    assert tuple(i.name for i in infos) == BUILTINS
    for info in infos:
        assert info.source == "builtin" and info.path.is_file()
        digest = hashlib.sha256(info.path.read_text(encoding="utf-8").encode()).hexdigest()[:6]
        assert info.version == f"{info.name}@{digest}"
        assert re.fullmatch(rf"{re.escape(info.name)}@[0-9a-f]{{6}}", info.version)
    assert PromptLibrary(None).list() == infos  # no runtime root: the built-ins


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_renders_with_its_minimal_context(tmp_path: Path, name: str) -> None:
    r = PromptLibrary(tmp_path).render(name, MINIMAL[name])
    assert r.name == name and r.version == PromptLibrary(tmp_path).get(name).info.version
    assert r.system and r.user and "{{" not in r.system + r.user and "{%" not in r.system + r.user
    for value in MINIMAL[name].values():
        assert value in r.user


def test_override_wins_and_changes_the_version(tmp_path: Path) -> None:
    lib = PromptLibrary(tmp_path)
    builtin = lib.get("fix-v1")
    text = builtin.text.replace("Change as little as possible", "Change as little as you can")
    path = _override(tmp_path, "fix-v1", text)
    got = lib.get("fix-v1")
    assert got.info.source == "override" and got.info.path == path and got.text == text
    assert got.info.version != builtin.info.version == template_version("fix-v1", builtin.text)
    assert "as little as you can" in lib.render("fix-v1", MINIMAL["fix-v1"]).system
    assert {i.name: i.source for i in lib.list()}["fix-v1"] == "override"
    # a template change changes the version; the same text always gives the same version
    _override(tmp_path, "fix-v1", text + "\n")
    assert lib.get("fix-v1").info.version != got.info.version
    _override(tmp_path, "fix-v1", text)
    assert lib.get("fix-v1").info.version == got.info.version


def test_a_personal_prompt_is_listed_next_to_the_builtins(tmp_path: Path) -> None:
    _override(tmp_path, "make-v2", "{% block system %}Be brief.{% endblock %}"
              "{% block user %}{{ catalogue }}{% endblock %}")
    lib = PromptLibrary(tmp_path)
    info = {i.name: i for i in lib.list()}["make-v2"]
    assert info.source == "override"
    r = lib.render("make-v2", {"catalogue": "close"})
    assert (r.system, r.user, r.knowledge_ids) == ("Be brief.", "close", ())


def test_approved_knowledge_is_part_of_the_version(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path)
    lib = PromptLibrary(tmp_path)
    base = lib.get("make-v1").info.version
    first = kb.add(_lesson(tmp_path, "a.md"), "Smooth fast signals")
    r = lib.render("make-v1", MINIMAL["make-v1"])
    assert r.version == base and r.knowledge_ids == () and "Smooth fast signals" not in r.system  # proposed
    kb.approve(first.id)
    r = lib.render("make-v1", MINIMAL["make-v1"])
    assert r.version == f"{base}+k1" and r.knowledge_ids == ("k1",)
    assert "[k1] Smooth fast signals" in r.system and '{"check":"HIGH_TURNOVER","decay":[2,4]}' in r.system
    assert lib.recorded_version("make-v1") == r.version
    second = kb.add(_lesson(tmp_path, "b.md", LESSON.replace("Smooth", "Slow")), "Slow fast signals")
    kb.approve(second.id)
    assert lib.render("make-v1", MINIMAL["make-v1"]).version == f"{base}+k1,k2"
    kb.revoke(first.id)
    assert lib.render("make-v1", MINIMAL["make-v1"]).version == f"{base}+k2"
    assert lib.render("make-v1", MINIMAL["make-v1"], knowledge=False).version == base
    # prompts that do not read the knowledge keep their plain version
    for name in ("fix-v1", "critic-v1", "learn-v1"):
        assert lib.render(name, MINIMAL[name]).version == lib.get(name).info.version


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{% block system %}only a system{% endblock %}", "missing user"),
        ("{% block system %}{{ x {% endblock %}", "line 1"),
    ],
)
def test_broken_overrides_are_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = _override(tmp_path, "critic-v1", text)
    with pytest.raises(PromptError, match=message) as e:
        PromptLibrary(tmp_path).render("critic-v1", MINIMAL["critic-v1"])
    assert str(path) in str(e.value)


def test_missing_context_and_unknown_names(tmp_path: Path) -> None:
    lib = PromptLibrary(tmp_path)
    with pytest.raises(PromptError, match=r"missing context.*'settings'"):
        lib.render("make-v1", {"catalogue": "close", "operators": "rank(x)"})
    with pytest.raises(PromptError, match="no prompt 'make-v9'; available: critic-v1"):
        lib.get("make-v9")
    with pytest.raises(PromptError, match="not a prompt name"):
        lib.get("../secrets")


def _sample_prompt(root: Path) -> tuple[str, Any]:
    panel = load_sample()
    kb = KnowledgeBase(root)
    for lesson in kb.install_starter():
        kb.approve(lesson.id)
    context = {
        "hypothesis": "short-term reversal after volume spikes",
        "n_expressions": 4,
        "settings": settings_view(Settings(universe="TOP500")),
        "catalogue": catalogue_view(panel.catalogue),
        "operators": operator_view(default_operators()),
        "evidence": evidence_view([("rank(-returns)", {"is": {"sharpe": 1.31, "fitness": 0.92, "turnover": 0.41}})],
                                  [("rank(close)", {"is": {"sharpe": -0.2}})]),
        "saturated": saturated_view([{"close", "volume"}], ["cash_ratio"]),
    }
    r = PromptLibrary(root).render("make-v1", context)
    return r.system + "\n" + r.user, panel


def test_make_v1_for_the_sample_is_compact_and_holds_no_data_values(tmp_path: Path) -> None:
    prompt, panel = _sample_prompt(tmp_path)
    assert len(prompt) < SIZE_LIMIT, len(prompt)
    assert len(default_operators()) >= 140 and all(op.signature in prompt for op in default_operators().values())
    for name, info in panel.catalogue.items():
        assert re.search(rf"\b{re.escape(name)}\b", prompt), name  # every field and universe is named
        assert info.description not in prompt  # metadata only: no long descriptions either
    close = panel.matrices["close"]
    values = [float(v) for v in close[np.isfinite(close)][::997] if len(repr(float(v))) >= 6][:25]
    assert len(values) >= 10
    for v in values:
        assert repr(v) not in prompt, v
    volume = panel.matrices["volume"]
    for v in volume[np.isfinite(volume)][::4999][:10]:
        assert repr(float(v)) not in prompt and str(int(v)) not in prompt
    for t in THESIS_TYPES:
        assert t in prompt


def test_context_views() -> None:
    metrics = {"is": {"sharpe": 1.234567, "turnover": 0.5}, "os": {"sharpe": 9.87654}}
    assert metrics_view(metrics) == "sharpe=1.23 turnover=0.5"  # IS only
    assert "9.88" not in evidence_view([("rank(x)", metrics)]) and "best so far" in evidence_view([("a", {})])
    assert evidence_view([]) == "(no simulated candidates yet)"
    assert saturated_view() == "(nothing saturated)"
    assert "{close, volume}" in saturated_view([{"volume", "close"}])
    assert checks_view({"LOW_SHARPE": "FAIL", "LOW_FITNESS": "PASS"}) == "LOW_SHARPE FAIL"
    assert yearly_view([{"year": 2019, "sharpe": 1.5}]) == "2019: sharpe=1.5"
    assert lineage_view(["a", {"expression": "b", "strategy": "decay_sweep", "params": {"decay": 4}}]) == (
        "0. a\n1. [decay_sweep decay=4] b")
    assert diagnostics_view([{"code": "UNKNOWN_FIELD", "message": "clos", "severity": "error"}]) == (
        "error UNKNOWN_FIELD: clos")
    assert "PnL correlation=0.65" in neighbours_view([{"id": 3, "expression": "x", "structure": 0.8,
                                                        "correlation": 0.65}])
    assert settings_view({"universe": "TOP200", "decay": 4}) == "universe=TOP200, decay=4"
    ops = default_operators()
    assert operator_view(ops, ["rank", "ts_mean"]) == (
        "time_series: ts_mean(x, d)\ncross_sectional: rank(x, rate=2)")
    reordered = dict(reversed(list(ops.items())))
    assert operator_view(reordered) == operator_view(ops)  # the registry's order does not matter
    panel = load_sample()
    short = catalogue_view(panel.catalogue, limit=5)
    assert "more fields not listed" in short and "universes (settings, not fields)" in short


def test_reply_schemas_are_strict() -> None:
    assert set(REPLY_SCHEMAS) == set(BUILTINS) and REPLY_SCHEMAS["critic-v1"] is None
    good = {"thesis": {"type": "reversal", "rationale": "overreaction", "failure_mode": "trends"},
            "expressions": ["rank(-returns)"]}
    assert MakeReply.model_validate(good).expressions == ["rank(-returns)"]
    for bad in (
        {**good, "thesis": {**good["thesis"], "type": "astrology"}},
        {**good, "expressions": []},
        {**good, "extra": 1},
    ):
        with pytest.raises(ValidationError):
            MakeReply.model_validate(bad)
    rep = EnhanceReply.model_validate({"diagnosis": "too fast", "repairs": [
        {"expression": "rank(-returns)", "settings": {"decay": 4}}, {"expression": "ts_mean(x, 5)"}]})
    assert rep.repairs[0].settings.decay == 4 and rep.repairs[1].settings.neutralization is None
    with pytest.raises(ValidationError):
        EnhanceReply.model_validate({"diagnosis": "x", "repairs": [{"expression": "e", "settings": {"decay": -1}}]})
    assert DecisionReply.model_validate({"verdict": "hold", "reasons": ["one good year"]}).verdict == "hold"
    with pytest.raises(ValidationError):
        DecisionReply.model_validate({"verdict": "submit", "reasons": ["x"]})

"""Run reports built from real simulations: files, self-containment, escaping, IS/OS, flags, JSON."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from markupsafe import escape

from alphamine.report import (
    OS_COLLAPSE_RULE,
    RISK_MODEL_NOTE,
    ReportData,
    os_collapse,
    plots,
    render_html,
    render_markdown,
    result_json,
    write_reports,
)
from alphamine.report.view import fmt_delta

from .conftest import COLLAPSE_ID, ESCAPE_ID, FAST_ID, READY

SECRETS = ("sk-secret-value", "sk-should-never-show")


@pytest.fixture(scope="module")
def written(report_data: ReportData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_reports(tmp_path_factory.mktemp("run"), report_data)


@pytest.fixture(scope="module")
def html(written: dict[str, Path]) -> str:
    return written["html"].read_text(encoding="utf-8")


def card(html: str, cid: int) -> str:
    """The HTML of one candidate card."""
    m = re.search(rf'<article class="[^"]*" id="cand-{cid}">(.*?)</article>', html, re.S)
    assert m, f"no card for candidate {cid}"
    return m.group(1)


def table_row(html: str, cid: int) -> str:
    m = re.search(rf'<tr class="[^"]*">\s*<td class="n"><a href="#cand-{cid}">{cid}</a></td>(.*?)</tr>', html, re.S)
    assert m, f"no table row for candidate {cid}"
    return m.group(1)


def test_three_files_written_atomically(written: dict[str, Path]) -> None:
    assert {k: p.name for k, p in written.items()} == {
        "markdown": "run_report.md",
        "html": "run_report.html",
        "json": "run_result.json",
    }
    folder = written["html"].parent
    assert sorted(p.name for p in folder.iterdir()) == ["run_report.html", "run_report.md", "run_result.json"]
    for p in written.values():
        assert p.stat().st_size > 500
        assert stat.S_IMODE(p.stat().st_mode) == 0o644


def test_rewriting_replaces_the_old_report(report_data: ReportData, tmp_path: Path) -> None:
    (tmp_path / "run_report.html").write_text("old", encoding="utf-8")
    paths = write_reports(tmp_path, report_data)
    assert paths["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(tmp_path.glob(".*tmp"))


def test_html_is_self_contained(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", lowered)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", lowered)
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == 5  # pnl, funnel, scatter, correlation, improvements
    for src in srcs:
        assert src.startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(src.split(",", 1)[1])
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert b"http://" not in svg.replace(b"http://www.w3.org/", b"").replace(b"http://purl.org/", b"").replace(
            b"http://creativecommons.org/", b""
        )


def test_expressions_and_text_are_escaped(html: str, report_data: ReportData) -> None:
    expr = next(c.expression for c in report_data.candidates if c.id == ESCAPE_ID)
    assert "&&" in expr and "<" in expr and ">" in expr
    escaped = expr.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in html
    assert expr not in html
    assert "&lt;within days&gt; &amp; volume" in html
    assert "<within days>" not in html


def test_is_and_os_side_by_side(html: str, report_data: ReportData) -> None:
    assert html.count('<th class="n is">IS</th><th class="n os">OS</th>') == 6
    for label in ("Sharpe", "Fitness", "Turnover", "Returns", "Drawdown", "Margin (bps)"):
        assert f'<th class="group" colspan="2">{label}</th>' in html
    c = next(c for c in report_data.candidates if c.id == READY[0])
    row = table_row(html, c.id)
    cells = re.findall(r'<td class="n (is|os)[^"]*">([^<]*)</td>', row)
    assert [k for k, _ in cells] == ["is", "os"] * 6
    assert cells[0][1] == f"{c.is_metrics['sharpe']:.2f}" and cells[1][1] == f"{c.os_metrics['sharpe']:.2f}"
    assert cells[10][1] == f"{c.is_metrics['margin'] * 1e4:.1f}"  # margin in bps


def test_os_collapse_is_flagged(html: str, report_data: ReportData) -> None:
    index = report_data.by_id()
    assert os_collapse(index[COLLAPSE_ID]) is not None
    assert "OS collapse" in table_row(html, COLLAPSE_ID)
    assert "OS collapse" in card(html, COLLAPSE_ID)
    healthy = [i for i in READY if os_collapse(index[i]) is None]
    assert healthy
    for i in healthy:
        assert "OS collapse" not in table_row(html, i)
    assert str(escape(OS_COLLAPSE_RULE)) in html


@pytest.mark.parametrize(
    ("is_sharpe", "os_sharpe", "flagged"),
    [(2.0, 0.9, True), (2.0, 1.1, False), (0.8, 0.3, False), (0.5, -0.1, True), (-0.5, -1.0, False),
     (float("nan"), -1.0, False), (1.5, None, False)],
)  # fmt: skip
def test_os_collapse_rule(report_data: ReportData, is_sharpe: float, os_sharpe: float | None, flagged: bool) -> None:
    c = dataclasses.replace(
        report_data.candidates[0], is_metrics={"sharpe": is_sharpe}, os_metrics={"sharpe": os_sharpe}
    )
    assert (os_collapse(c) is not None) is flagged


def test_variant_shows_lineage_and_deltas(html: str, report_data: ReportData) -> None:
    index = report_data.by_id()
    child = next(c for c in report_data.candidates if c.parent_id is not None and c.parent_id in index and
                 c.id in report_data.highlighted_ids())  # fmt: skip
    parent = index[child.parent_id]  # type: ignore[index]
    text = card(html, child.id)
    assert f"#{parent.id}" in text and "decay_sweep" in text
    for m in ("sharpe", "fitness"):
        assert f"Δ {m} {fmt_delta(child.is_metrics[m] - parent.is_metrics[m])}" in text
    assert "Δ turnover" in text


def test_risk_model_note(written: dict[str, Path], report_data: ReportData) -> None:
    assert report_data.by_id()[FAST_ID].settings["neutralization"] == "FAST"
    assert str(escape(RISK_MODEL_NOTE)) in written["html"].read_text(encoding="utf-8")
    assert RISK_MODEL_NOTE in written["markdown"].read_text(encoding="utf-8")
    assert RISK_MODEL_NOTE in json.loads(written["json"].read_text(encoding="utf-8"))["notes"]
    plain = dataclasses.replace(report_data, candidates=[c for c in report_data.candidates if c.id != FAST_ID])
    assert RISK_MODEL_NOTE not in render_html(plain)
    assert RISK_MODEL_NOTE not in render_markdown(plain)


def test_no_secrets_in_any_report(written: dict[str, Path]) -> None:
    for p in written.values():
        text = p.read_text(encoding="utf-8")
        for s in SECRETS:
            assert s not in text, f"{s} leaked into {p.name}"
    assert "***" in written["json"].read_text(encoding="utf-8")


def _no_nan(token: str) -> None:
    raise AssertionError(f"non-JSON constant {token}")


def test_json_is_strict_and_complete(written: dict[str, Path], report_data: ReportData) -> None:
    doc = json.loads(written["json"].read_text(encoding="utf-8"), parse_constant=_no_nan)
    assert doc["run"]["id"] == report_data.run_id
    assert list(doc["funnel"]) == ["generated", "linted", "simulated", "promising", "ready"]
    assert doc["ready_ids"] == READY
    assert [c["id"] for c in doc["candidates"]] == [c.id for c in report_data.candidates]
    by_id = {c["id"]: c for c in doc["candidates"]}
    assert by_id[COLLAPSE_ID]["flags"]["os_collapse"]
    assert by_id[FAST_ID]["flags"]["risk_model_approximation"] is True
    c = by_id[READY[0]]
    assert {"sharpe", "fitness", "turnover", "returns", "drawdown", "margin"} <= set(c["is"]) & set(c["os"])
    assert c["checks"] and {"name", "result"} <= set(c["checks"][0])
    assert "pnl" not in c and "dates" not in c
    variant = next(c for c in doc["candidates"] if c["lineage"]["parent_id"] is not None)
    assert variant["deltas_vs_parent"] is None or set(variant["deltas_vs_parent"]) == {"sharpe", "fitness", "turnover"}
    assert len(doc["correlation"]["matrix"]) == len(READY)
    assert len(doc["improvements"]) == len(report_data.improvements)


def test_nan_metrics_become_null_and_dash(report_data: ReportData) -> None:
    c0 = report_data.candidates[0]
    broken = dataclasses.replace(c0, is_metrics={**c0.is_metrics, "sharpe": float("nan")},
                                 os_metrics={**c0.os_metrics, "fitness": np.float64("inf")})  # fmt: skip
    data = dataclasses.replace(report_data, candidates=[broken, *report_data.candidates[1:]], best_ids=[c0.id])
    doc = result_json(data)
    text = json.dumps(doc, allow_nan=False)  # raises on NaN/inf
    assert doc["candidates"][0]["is"]["sharpe"] is None and doc["candidates"][0]["os"]["fitness"] is None
    assert "NaN" not in text
    html = render_html(data)
    assert "nan" not in re.sub(r'src="[^"]+"', "", html).lower().replace("nanhandling", "").replace("nan_", "")


def test_markdown_has_the_tables(written: dict[str, Path], report_data: ReportData) -> None:
    md = written["markdown"].read_text(encoding="utf-8")
    assert "[run_report.html](run_report.html)" in md
    assert "| IS Sharpe | OS Sharpe | IS Fitness | OS Fitness |" in md
    assert "| stage | count | of previous | of generated |" in md
    assert "## Stage timeline" in md and "## Optimizer improvements" in md
    assert "⚠ OS collapse" in md
    for line in md.splitlines():
        if line.startswith("| # |"):
            assert line.count(" | ") == 3 + 12 - 1
    expr = next(c.expression for c in report_data.candidates if c.id == ESCAPE_ID)
    assert f"`{expr}`" in md  # code spans keep < > && as they are


def test_markdown_escapes_pipes(report_data: ReportData) -> None:
    c0 = report_data.candidates[0]
    odd = dataclasses.replace(c0, expression="rank(close) || rank(open)")
    md = render_markdown(dataclasses.replace(report_data, candidates=[odd], best_ids=[c0.id], ready_ids=[]))
    assert "`rank(close) \\|\\| rank(open)`" in md


def test_empty_run_still_renders(empty_data: ReportData, tmp_path: Path) -> None:
    paths = write_reports(tmp_path, empty_data)
    html = paths["html"].read_text(encoding="utf-8")
    assert "No candidate was simulated in this run." in html
    assert html.count("nothing to show") == 5
    assert "<img" not in html
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "No candidate was simulated" in md
    doc = json.loads(paths["json"].read_text(encoding="utf-8"), parse_constant=_no_nan)
    assert doc["candidates"] == [] and doc["correlation"] is None


def test_plot_functions_degrade_gracefully() -> None:
    assert plots.pnl_figure([]) is None
    assert plots.funnel_figure({}) is None
    assert plots.funnel_figure({"generated": 0}) is None
    assert plots.scatter_figure([], []) is None
    assert plots.correlation_figure([], None) is None
    assert plots.correlation_figure([1, 2], np.eye(3)) is None  # shape mismatch: no figure, no crash
    assert plots.improvements_figure([]) is None
    assert plots.improvements_figure([{"optimizer": "x", "before": {}, "after": {}}]) is None


def test_html_is_deterministic(report_data: ReportData) -> None:
    assert render_html(report_data) == render_html(report_data)


def test_pnl_plot_skips_candidates_without_a_usable_curve(report_data: ReportData) -> None:
    c0 = report_data.candidates[0]
    assert c0.pnl is not None
    mismatched = dataclasses.replace(c0, pnl=c0.pnl[:-3])
    no_curve = dataclasses.replace(c0, dates=None, pnl=None)
    assert plots.pnl_figure([mismatched, no_curve]) is None
    assert plots.pnl_figure([mismatched, c0]) is not None

"""The research-quality sections of the run reports against the store of a real small mining run
(synthetic market, trial-aware gate with a validation window, 2 iterations): search | validation | OS
Sharpe, DSR, PSR, trials and positive years per shown candidate with the rule that held it back; how
many candidates each trial-aware rule held back; the repair success table; field freshness by period.
Every number shown is compared with the stored one, the incremental report cache with a fresh read."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from alphamine.expr import canonical, structural_hash
from alphamine.generate.candidate import Candidate, Thesis
from alphamine.pipeline.config import DataSource, GateConfig, RunConfig
from alphamine.pipeline.controller import load_panel, start_run
from alphamine.pipeline.presets import resolve_settings
from alphamine.pipeline.reporting import build_report_data
from alphamine.pipeline.trial_gate import TRIAL_CHECKS
from alphamine.report import ReportData, render_html, render_markdown
from alphamine.report.research import TRIAL_RULES, candidate_research, research_quality
from alphamine.research.repair_table import RepairRow, outcomes_from_store, repair_success
from alphamine.sim.settings import make_settings
from alphamine.sim.simulate import simulate
from alphamine.store import GateRow, ResultRow, Store

RUN = "rq"
MIN_DSR = 0.995  # strict enough that the small run holds candidates back by DSR
THESIS = Thesis("reversal", "prices overshoot and revert", "trends")


def run_config(root: Path) -> RunConfig:
    settings = resolve_settings(root, None, {"universe": "TOP100", "decay": 2})
    return RunConfig(
        seed=3, settings=settings.to_brain(), data=DataSource(kind="synthetic", n_instruments=100, n_days=1000, seed=7),
        max_iterations=2, target_ready=50, candidates_per_iteration=20, max_variant_alphas=3,
        max_variants_per_alpha=3, max_enhance_alphas=6, workers=1, batch_size=8, gate=GateConfig(min_dsr=MIN_DSR),
    )  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("research")
    out = start_run(run_config(root), runtime_root=root, run_id=RUN, console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    return root


@pytest.fixture(scope="module")
def store(root: Path) -> Iterator[Store]:
    with Store.open(root / "alphamine.sqlite3") as s:
        yield s


@pytest.fixture(scope="module")
def data(store: Store) -> ReportData:
    return build_report_data(store, RUN)


@pytest.fixture(scope="module")
def files(root: Path) -> dict[str, str]:
    """The reports the run's own REPORT stage wrote (after its last SUBMIT_GATE)."""
    folder = root / "runs" / RUN
    names = {"md": "run_report.md", "html": "run_report.html", "json": "run_result.json"}
    return {k: (folder / name).read_text(encoding="utf-8") for k, name in names.items()}


@pytest.fixture(scope="module")
def stored(store: Store, data: ReportData) -> tuple[dict[int, ResultRow], dict[int, GateRow]]:
    """Results and the latest gate record that judged checks, per candidate of the run."""
    ids = [r.id for r in store.candidates(run_id=RUN)]
    judged = {i: g[-1] for i in ids if (g := [x for x in store.gate_history(i) if x.checks])}
    return store.results_for(ids), judged


def md_table(md: str, heading: str) -> list[list[str]]:
    """The body rows of the first Markdown table after `heading`, as cells."""
    lines = md.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("| "):
            break
        rows.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def checks_of(gate: GateRow) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in gate.checks}


def test_the_run_exercises_every_section(data: ReportData, stored: tuple[dict, dict]) -> None:
    _, judged = stored
    assert TRIAL_RULES == TRIAL_CHECKS  # the report knows every rule the gate records
    assert any(checks_of(g)["DEFLATED_SHARPE"]["result"] == "FAIL" for g in judged.values())
    assert all(c.test_metrics for c in data.candidates)  # trial-aware: every simulation has a validation window


def test_search_validation_os_table_shows_the_stored_numbers(files: dict[str, str], data: ReportData,
                                                             stored: tuple[dict, dict]) -> None:  # fmt: skip
    results, judged = stored
    rows = md_table(files["md"], "### Search, validation and OS")
    assert [int(r[0]) for r in rows] == data.highlighted_ids()  # best by IS fitness, then ready
    held_back_dsr = 0
    for r in rows:
        cid = int(r[0])
        m = results[cid].metrics
        train, test = m["train"]["sharpe"], m["test"]["sharpe"]
        assert r[2:7] == [f"{m['is']['sharpe']:.2f}", f"{train:.2f}", f"{test:.2f}", f"{m['os']['sharpe']:.2f}",
                          f"{test / train:.2f}"]  # fmt: skip
        if cid not in judged:
            assert r[7:13] == ["–"] * 6 and r[13] == "–"
            continue
        c = checks_of(judged[cid])
        dsr, stab = c["DEFLATED_SHARPE"], c["YEARLY_STABILITY"]
        t = dsr["trials"]
        assert r[7:13] == [f"{dsr['value']:.4f}", f"{dsr['psr']:.4f}", f"{t['n_trials_family']} / {t['n_trials_run']}",
                           f"{t['effective_trials']:.1f}", f"{dsr['run_dsr']:.4f}", f"{stab['value']:.0%}"]  # fmt: skip
        failed = [n for n, k in c.items() if k["result"] == "FAIL"]
        ready = next(x for x in data.candidates if x.id == cid).status == "ready"
        assert (r[13] == "–") == (ready or not failed)
        for name in failed if not ready else []:
            assert f"{name}: " in r[13]
        if dsr["result"] == "FAIL" and not ready:
            held_back_dsr += 1
            assert f"DEFLATED_SHARPE: DSR {dsr['value']:.4f} < {MIN_DSR:g}" in r[13]
    assert held_back_dsr, "no shown candidate was held back by DEFLATED_SHARPE"


def test_json_carries_the_unrounded_numbers(files: dict[str, str], stored: tuple[dict, dict]) -> None:
    results, judged = stored
    doc = json.loads(files["json"])
    for c in doc["candidates"]:
        m, q = results[c["id"]].metrics, c["research"]
        assert c["train"] == m["train"] and c["test"] == m["test"]
        assert (q["is_sharpe"], q["search_sharpe"], q["validation_sharpe"], q["os_sharpe"]) == (
            m["is"]["sharpe"], m["train"]["sharpe"], m["test"]["sharpe"], m["os"]["sharpe"])  # fmt: skip
        assert q["validation_ratio"] == m["test"]["sharpe"] / m["train"]["sharpe"]
        gate = judged.get(c["id"])
        if gate is None:
            assert q["dsr"] is None and (c["gate"] is None or c["gate"]["checks"] == [])
            continue
        assert c["gate"]["checks"] == gate.checks
        k = checks_of(gate)
        dsr, trials = k["DEFLATED_SHARPE"], k["DEFLATED_SHARPE"]["trials"]
        assert (q["dsr"], q["psr"], q["run_dsr"]) == (dsr["value"], dsr["psr"], dsr["run_dsr"])
        assert (q["n_trials_family"], q["n_trials_run"], q["effective_trials"]) == (
            trials["n_trials_family"], trials["n_trials_run"], trials["effective_trials"])  # fmt: skip
        assert q["run_effective_trials"] == dsr["run_trials"]["effective_trials"]
        assert (q["positive_years"], q["years"]) == (k["YEARLY_STABILITY"]["value"], k["YEARLY_STABILITY"]["years"])
    assert {c["id"]: c["research"]["dsr"] for c in doc["candidates"] if c["id"] in judged}


def test_rule_counts_equal_the_gate_records(files: dict[str, str], data: ReportData, stored: tuple[dict, dict]) -> None:
    _, judged = stored
    status = {c.id: c.status for c in data.candidates}
    want: dict[str, list[int]] = {}
    for cid, gate in judged.items():
        fails = [c["name"] for c in gate.checks if c["result"] == "FAIL"]
        for name, c in checks_of(gate).items():
            if name in TRIAL_CHECKS:
                n = want.setdefault(name, [0, 0, 0, 0, 0])
                held = c["result"] == "FAIL" and status[cid] != "ready"
                n[0] += 1
                n[1] += c["result"] == "PASS"
                n[2] += held
                n[3] += held and fails == [name]
                n[4] += c["result"] == "PENDING"
    doc = json.loads(files["json"])["research"]
    got = {r["check"]: [r["judged"], r["passed"], r["held_back"], r["sole"], r["pending"]] for r in doc["rules"]}
    assert got == want and doc["judged"] == len(judged)
    table = {r[0]: [int(x) for x in r[2:]] for r in md_table(files["md"], "### Trial-aware gate rules")}
    assert table == want
    assert f"DSR ≥ {MIN_DSR:g}" in files["md"] and f"{len(judged)} candidates judged" in files["md"]
    assert 'id="research-rules"' in files["html"] and f"DSR ≥ {MIN_DSR:g}" in files["html"]


def repair_md_rows(rows: list[RepairRow]) -> list[list[str]]:
    return [[r.check, str(r.attempts), str(r.simulated), str(r.fixed), "–" if r.rate is None else f"{r.rate:.0%}"]
            for r in rows]  # fmt: skip


def test_repair_table_equals_the_repair_module(files: dict[str, str], store: Store, data: ReportData) -> None:
    want = repair_success(outcomes_from_store(store, RUN))
    assert data.repairs == want
    doc = json.loads(files["json"])["research"]
    assert doc["repairs"] == [dataclasses.asdict(r) for r in want]
    if want:
        assert md_table(files["md"], "### Repair success") == repair_md_rows(want)
        assert 'id="research-repairs"' in files["html"] and all(f"<b>{r.check}</b>" in files["html"] for r in want)
    else:
        assert "_No repair was proposed in this run._" in files["md"]


def copy_store(root: Path, tmp_path: Path) -> Path:
    db = tmp_path / "copy.sqlite3"
    with sqlite3.connect(root / "alphamine.sqlite3") as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    return db


def test_repair_children_of_every_kind(root: Path, tmp_path: Path) -> None:
    """Repair children simulated (verdict in their own checks), judged only by the gate
    (SELF_CORRELATION is PENDING in a simulation), queued, and a duplicate with a stored result: the
    report's table (cached and fresh) equals `repair_table`'s."""
    panel = load_panel(run_config(root).data)
    with Store.open(copy_store(root, tmp_path)) as s:
        before = build_report_data(s, RUN)  # fills the cache first: the children arrive incrementally
        parent = next(r for r in s.candidates(run_id=RUN) if r.status == "promising")

        def child(expression: str, decay: int, check: str, status: str, simulate_it: bool) -> int:
            settings = make_settings({**parent.settings.to_brain(), "decay": decay})
            h = structural_hash(expression)
            if simulate_it:
                s.put_result(simulate(expression, panel, settings), expr_hash=h)
            return s.add_candidate(
                RUN, 1, Candidate(expression, settings, f"repair:{check}", THESIS, parent_id=parent.id,
                                  strategy="repair:decay", params={"repairs": check, "move": "decay"}),
                canonical=canonical(expression), expr_hash=h, status=status,
            )  # fmt: skip

        child("rank(-ts_delta(close, 7))", 11, "LOW_SHARPE", "promising", True)
        child("rank(-ts_delta(close, 9))", 11, "LOW_SHARPE", "duplicate", True)  # result stored, no simulation
        child("rank(-ts_delta(close, 13))", 11, "LOW_SHARPE", "queued", False)
        judged = child("rank(-ts_delta(open, 7))", 11, "SELF_CORRELATION", "promising", True)
        s.record_gate(judged, RUN, checks=[{"name": "SELF_CORRELATION", "result": "PASS", "value": 0.2,
                                             "limit": 0.7}], verdict="ready", reasons=("test",))  # fmt: skip
        after = build_report_data(s, RUN)
        want = repair_success(outcomes_from_store(s, RUN))
        with Store.open(s.where) as fresh_store:
            fresh = build_report_data(fresh_store, RUN)
    assert after.repairs == want == fresh.repairs and after.repairs != before.repairs
    by_check = {r.check: r for r in after.repairs}
    assert by_check["LOW_SHARPE"].attempts >= 3 and by_check["LOW_SHARPE"].simulated >= 2
    assert by_check["SELF_CORRELATION"].fixed >= 1
    assert md_table(render_markdown(after), "### Repair success") == repair_md_rows(want)


def test_field_freshness_is_the_worst_stored_share(files: dict[str, str], store: Store,
                                                   stored: tuple[dict, dict]) -> None:  # fmt: skip
    results, _ = stored
    worst: dict[str, dict[str, float]] = {}
    readers: dict[str, int] = {}
    for row in store.candidates(run_id=RUN):
        if row.status not in ("ready", "promising", "gate_pending"):
            continue
        stale = next(c for c in results[row.id].checks if c["name"] == "STALE_DATA")
        for name, shares in stale["fields"].items():
            readers[name] = readers.get(name, 0) + 1
            for period, share in shares.items():
                worst.setdefault(name, {})[period] = max(worst.get(name, {}).get(period, 0.0), share)
    doc = json.loads(files["json"])["research"]["freshness"]
    assert doc["periods"] == ["train", "test", "is", "os"]
    assert {f["field"]: f["shares"] for f in doc["fields"]} == worst and worst
    assert {f["field"]: f["candidates"] for f in doc["fields"]} == readers
    rows = md_table(files["md"], "### Field freshness by period")
    assert {r[0].strip("`"): [int(r[1]), *r[2:]] for r in rows} == {
        f: [readers[f], *[f"{worst[f][p] * 100:.1f}%" for p in ("train", "test", "is", "os")]] for f in worst
    }
    assert "| field | candidates | search | validation | IS | OS |" in files["md"]


def test_candidate_details_and_cards_name_the_failed_rule(files: dict[str, str], data: ReportData,
                                                          stored: tuple[dict, dict]) -> None:  # fmt: skip
    _, judged = stored
    shown = [i for i in data.highlighted_ids() if i in judged and data.by_id()[i].status != "ready"
             and checks_of(judged[i])["DEFLATED_SHARPE"]["result"] == "FAIL"]  # fmt: skip
    assert shown
    for cid in shown:
        dsr = checks_of(judged[cid])["DEFLATED_SHARPE"]
        details = files["md"].split(f"### #{cid} — ", 1)[1].split("\n### ", 1)[0]
        held = next(line for line in details.splitlines() if line.startswith("- **held back by:** "))
        assert f"DEFLATED_SHARPE: DSR {dsr['value']:.4f} < {MIN_DSR:g}" in held
        assert f"- trials: DSR {dsr['value']:.4f} · PSR {dsr['psr']:.4f}" in details
        card = re.search(rf'<article class="[^"]*" id="cand-{cid}">(.*?)</article>', files["html"], re.S)
        assert card and f"DEFLATED_SHARPE: DSR {dsr['value']:.4f} &lt; {MIN_DSR:g}" in card.group(1)


def test_reports_from_a_fresh_store_and_the_cache_agree(root: Path, store: Store, data: ReportData) -> None:
    with Store.open(root / "alphamine.sqlite3") as fresh_store:
        fresh = build_report_data(fresh_store, RUN)
    assert render_markdown(fresh) == render_markdown(data)
    assert [c.gate for c in fresh.candidates] == [c.gate for c in data.candidates]
    assert build_report_data(store, RUN).repairs == data.repairs  # the cached path: same table


def test_new_gate_records_reach_the_next_report(root: Path, tmp_path: Path) -> None:
    """A gate record added after a report (here: a family-cap decision) shows in the next one, read
    incrementally, exactly as a fresh store object reads it."""
    db = copy_store(root, tmp_path)
    with Store.open(db) as s:
        before = build_report_data(s, RUN)
        target = next(c for c in before.candidates if c.gate is None)
        reason = "gate: lineage family #1 would hold more than 33% of the ready set (diversity)"
        with s.transaction() as conn:
            s.record_gate(target.id, RUN, checks=[], verdict="promising", reasons=(reason,), conn=conn)
        after = build_report_data(s, RUN)
        with Store.open(db) as fresh_store:
            fresh = build_report_data(fresh_store, RUN)
    assert after.by_id()[target.id].gate == fresh.by_id()[target.id].gate
    assert after.by_id()[target.id].gate is not None and after.by_id()[target.id].gate.capped  # type: ignore[union-attr]
    capped = research_quality(after).family_capped
    assert capped == research_quality(before).family_capped + 1
    assert f"{capped} held back for diversity" in render_markdown(after)
    held = candidate_research(after.by_id()[target.id]).held_back_by
    assert [(h.check, h.rule) for h in held] == [("FAMILY_CAP", reason)]


def test_freshness_marks_stale_shares(report_data: ReportData) -> None:
    """Worst share per field and period over ready and promising candidates; ⚠ above the limit."""

    def stale(fields: dict[str, dict[str, float]]) -> dict[str, Any]:
        return {"name": "STALE_DATA", "result": "WARNING", "limit": 0.2, "value": 0.5, "limitDays": 400,
                "fields": fields}  # fmt: skip

    a, b, c = report_data.candidates[:3]
    cands = [
        dataclasses.replace(a, status="ready", checks=[stale({"sales": {"is": 0.1, "os": 0.5}})]),
        dataclasses.replace(b, status="promising",
                            checks=[stale({"sales": {"is": 0.3, "os": 0.05}, "close": {"is": 0.0, "os": 0.0}})]),
        dataclasses.replace(c, status="rejected", checks=[stale({"sales": {"is": 0.9, "os": 0.9}})]),  # not counted
    ]  # fmt: skip
    data = dataclasses.replace(report_data, candidates=cands, best_ids=[a.id], ready_ids=[a.id])
    q = research_quality(data)
    assert q.freshness_periods == ("is", "os") and q.freshness_candidates == 2
    assert [(r.field, r.candidates, r.shares) for r in q.freshness] == [
        ("sales", 2, {"is": 0.3, "os": 0.5}), ("close", 1, {"is": 0.0, "os": 0.0})]  # fmt: skip
    md = render_markdown(data)
    assert "| `sales` | 2 | ⚠ 30.0% | ⚠ 50.0% |" in md and "| `close` | 1 | 0.0% | 0.0% |" in md
    assert '<td class="n worse">50.0%</td>' in render_html(data)


def test_reports_without_gate_records_still_render(report_data: ReportData, empty_data: ReportData) -> None:
    md = render_markdown(report_data)
    assert "## Research quality" in md and "_No candidate was judged by the trial-aware gate yet._" in md
    assert "_No repair was proposed in this run._" in md
    rows = md_table(md, "### Search, validation and OS")
    assert [int(r[0]) for r in rows] == report_data.highlighted_ids()
    assert all(r[4] == "–" and r[7] == "–" for r in rows)  # no validation window, never judged
    classic = dataclasses.replace(report_data, gate_config={"mode": "classic"})
    assert "_Classic gate: the platform's checks only (no trial-aware rules)._" in render_markdown(classic)
    assert "## Research quality" in render_markdown(empty_data) and 'id="research"' in render_html(empty_data)

"""Importing other tools' outputs (`parse-artifact`): every format, every kind of bad row named by its
line, dedup against the store (same run, other runs, within the file), the run's settings under the
row's, and a real run that then lints and simulates what was imported. Real SQLite stores, real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from alphamine.data.sources import open_source
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.controller import resume_run
from alphamine.pipeline.importing import (
    ArtifactError,
    ImportedRow,
    ImportKind,
    Outcome,
    import_iteration,
    import_rows,
    parse_artifact,
)
from alphamine.pipeline.presets import resolve_settings
from alphamine.store import Store
from alphamine.store.status import SIMULATED_STATUSES

DATA = DataSource(kind="synthetic", n_instruments=50, n_days=300, seed=5)
CSV_TEXT = (
    "alpha_id,expression,status,sharpe,turnover,universe,decay,neutralization\n"
    "A1,rank(-returns),COMPLETE,1.25,12.5%,TOP20,3,sector\n"
    "\n"
    'A2,"-ts_delta(close, 5)",WARNING,,,,,\n'
    'A3,"a = rank(volume / adv20);\n-a",COMPLETE,0.4,0.3,,,\n'
)


def _config(root: Path, **kw: object) -> RunConfig:
    settings = resolve_settings(root, None, {"universe": "TOP50", "decay": 2})
    base: dict[str, object] = dict(
        seed=1, settings=settings.to_brain(), data=DATA, max_iterations=1, target_ready=50,
        candidates_per_iteration=4, max_variant_alphas=1, max_variants_per_alpha=1, max_enhance_alphas=1,
        workers=1, batch_size=4,
    )
    base.update(kw)
    return RunConfig(**base)  # type: ignore[arg-type]


def _new_run(store: Store, root: Path, run_id: str = "r1", **kw: object) -> str:
    """A run as `start_run` records it before its first stage."""
    config = _config(root, **kw)
    store.create_run(run_id, config=config.model_dump(mode="json"), seed=config.seed,
                     data_fingerprint=open_source(config.data).fingerprint(), runtime_root=str(root))
    return run_id


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "alphamine.sqlite3") as s:
        yield s


def _write(tmp_path: Path, name: str, content: object) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------- reading
def test_final_expressions_list_or_object(tmp_path: Path) -> None:
    plain = parse_artifact("final_expressions", _write(tmp_path, "f.json", ["rank(-returns)", " -ts_rank(close, 20) "]))
    wrapped = parse_artifact(ImportKind.FINAL_EXPRESSIONS, _write(tmp_path, "g.json", {"expressions": ["-close"]}))
    assert [(r.where, r.line, r.expression, dict(r.settings)) for r in plain] == [
        ("item 0", 0, "rank(-returns)", {}),
        ("item 1", 1, "-ts_rank(close, 20)", {}),
    ]
    assert [r.expression for r in wrapped] == ["-close"] and wrapped[0].artifact == "g.json"


def test_alpha_list_reads_brain_agent_alphas(tmp_path: Path) -> None:
    alphas = [
        {"type": "REGULAR", "regular": "rank(-returns)", "id": "Xy1",
         "settings": {"instrumentType": "EQUITY", "region": "USA", "universe": "top20", "delay": 1, "decay": 4,
                      "neutralization": "sector", "truncation": 0.05, "startDate": "2019-01-01"},
         "is": {"sharpe": 1.4, "fitness": "0.9"}},
        {"regular": {"code": "-ts_delta(close, 5)"}, "settings": {"nan_handling": "ON"}},
        {"expression": "rank(volume)", "sharpe": 0.2},
    ]
    rows = parse_artifact("alpha_list", _write(tmp_path, "alphas.json", {"alphas": alphas}))
    assert [r.expression for r in rows] == ["rank(-returns)", "-ts_delta(close, 5)", "rank(volume)"]
    assert dict(rows[0].settings) == {"instrumentType": "EQUITY", "region": "USA", "universe": "TOP20", "delay": 1,
                                      "decay": 4, "neutralization": "SECTOR", "truncation": 0.05}  # startDate: ignored
    assert rows[0].alpha_id == "Xy1" and dict(rows[0].metadata) == {"sharpe": 1.4, "fitness": 0.9}
    assert dict(rows[1].settings) == {"nanHandling": "ON"} and rows[1].alpha_id is None
    assert dict(rows[2].metadata) == {"sharpe": 0.2}


def test_simulation_status_csv_lines_settings_and_metrics(tmp_path: Path) -> None:
    rows = parse_artifact("simulation_status", _write(tmp_path, "sims.csv", CSV_TEXT))
    assert [(r.line, r.alpha_id, r.expression) for r in rows] == [
        (2, "A1", "rank(-returns)"),
        (4, "A2", "-ts_delta(close, 5)"),
        (5, "A3", "a = rank(volume / adv20);\n-a"),  # a quoted multi-line program is named by its first line
    ]
    assert dict(rows[0].settings) == {"universe": "TOP20", "decay": 3, "neutralization": "SECTOR"}
    assert dict(rows[0].metadata) == {"sharpe": 1.25, "turnover": 0.125, "status": "COMPLETE"}
    assert dict(rows[1].settings) == {} and dict(rows[1].metadata) == {"status": "WARNING"}


BAD = [
    ("alpha_list", "a.json", '[{"regular": "rank(close)"},\n {"regular": "x" "y"}]', ["line 2, column 18", "bad JSON"]),
    ("final_expressions", "f.json", '{"exprs": []}', ['expected a JSON list (or {"expressions": [...]})']),
    ("final_expressions", "f.json", '["rank(close)", 7, "  "]',
     ["2 bad rows", "item 1: expected an expression string, got a number", "item 2: empty expression"]),
    ("alpha_list", "a.json", '[{"settings": {"delay": 1}}]', ["item 0, regular: no expression"]),
    ("alpha_list", "a.json", '[{"regular": "rank(close)", "settings": {"delay": 3}}]',
     ["item 0, settings: invalid settings: delay must be 0 or 1 (got 3)"]),
    ("alpha_list", "a.json", '[{"regular": "rank(close)", "settings": {"colour": "red"}}]',
     ["item 0, settings: invalid settings: colour is not a setting"]),
    ("alpha_list", "a.json", '[{"type": "SUPER", "combo": "x"}]', ["item 0, type: only REGULAR alphas"]),
    ("alpha_list", "a.json", '[{"regular": "rank(close)", "is": {"sharpe": "high"}}]',
     ["item 0, sharpe: 'high' is not a number"]),
    ("simulation_status", "s.csv", "alpha_id,sharpe\nA1,1.0\n", ["line 1: no expression column"]),
    ("simulation_status", "s.csv", "expression,sharpe\nrank(close),1.0\n,2.0\n",
     ["line 3, expression: empty expression"]),
    ("simulation_status", "s.csv", "expression,sharpe\nrank(close),1.0\nrank(open),abc\n",
     ["line 3, sharpe: 'abc' is not a number"]),
    ("simulation_status", "s.csv", "expression,delay\nrank(close),1\nrank(open),5\n",
     ["line 3: invalid settings: delay must be 0 or 1 (got 5)"]),
    ("simulation_status", "s.csv", "expression,decay\nrank(close),two\n", ["line 2, decay: 'two' is not a number"]),
    ("simulation_status", "s.csv", "expression,sharpe\nts_delta(close, 5),1\n",
     ["line 2: 3 cells but the header has 2 (quote values that contain commas)"]),
    ("simulation_status", "s.csv", "", ["empty file"]),
]


@pytest.mark.parametrize(("kind", "name", "text", "expected"), BAD)
def test_a_bad_row_is_named_by_file_line_and_field(
    tmp_path: Path, kind: str, name: str, text: str, expected: list[str]
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(ArtifactError) as err:
        parse_artifact(kind, path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    for part in expected:
        assert part in message, message
    assert "\n" not in message


def test_many_bad_rows_are_all_counted_and_the_first_ten_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.csv", "expression,sharpe\n" + "".join(f"rank(close),x{i}\n" for i in range(13)))
    with pytest.raises(ArtifactError) as err:
        parse_artifact("simulation_status", path)
    assert len(err.value.problems) == 13
    assert "13 bad rows" in str(err.value) and "line 11," in str(err.value) and "(and 3 more)" in str(err.value)


def test_unknown_kind_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="unknown kind 'csv'"):
        parse_artifact("csv", tmp_path / "x")
    with pytest.raises(ArtifactError, match="cannot read it"):
        parse_artifact("alpha_list", tmp_path / "missing.json")


# ---------------------------------------------------------------------------------------- importing
def test_each_kind_imports_as_generated_candidates_with_provenance(tmp_path: Path, store: Store) -> None:
    run_id = _new_run(store, tmp_path)
    files = {
        "final_expressions": _write(tmp_path, "f.json", ["-ts_rank(close, 20)"]),
        "alpha_list": _write(tmp_path, "a.json", [{"regular": {"code": "rank(high - low)"}, "id": "Q9",
                                                   "is": {"sharpe": 2.0}}]),
        "simulation_status": _write(tmp_path, "s.csv", CSV_TEXT),
    }
    for kind, path in files.items():
        report = import_rows(store, run_id, parse_artifact(kind, path), iteration=0)
        assert report.rows and all(r.outcome == Outcome.ADDED for r in report.rows), report
    rows = {r.generator: r for r in store.candidates(run_id=run_id)}
    assert len(store.candidates(run_id=run_id)) == 5
    assert all(r.status == "generated" and r.iteration == 0 and r.tags == ("import",) for r in rows.values())
    final, alpha = rows["import:final_expressions"], rows["import:alpha_list"]
    assert final.source == "-ts_rank(close, 20)" and final.expression.startswith("-")  # leading minus kept
    assert final.params == {"artifact": "f.json", "line": 0, "where": "item 0"}
    assert alpha.params == {"artifact": "a.json", "line": 0, "where": "item 0", "alpha_id": "Q9",
                            "platform": {"sharpe": 2.0}}
    sims = [r for r in store.candidates(run_id=run_id) if r.generator == "import:simulation_status"]
    assert {r.params["alpha_id"]: r.params["line"] for r in sims} == {"A1": 2, "A2": 4, "A3": 5}
    first = next(r for r in sims if r.params["alpha_id"] == "A1")
    assert first.params["platform"] == {"sharpe": 1.25, "turnover": 0.125, "status": "COMPLETE"}
    assert first.thesis.type == "reversal"
    assert store.results_for([r.id for r in store.candidates(run_id=run_id)]) == {}  # claims are not results


def test_row_settings_override_the_runs_but_not_its_validation_window(tmp_path: Path, store: Store) -> None:
    run_id = _new_run(store, tmp_path)
    run_settings = store.get_run(run_id).config["settings"]  # type: ignore[union-attr]
    alphas = [{"regular": "rank(-returns)", "settings": {"universe": "TOP20", "decay": 7, "testPeriod": "P2Y",
                                                         "visualization": True}}]
    import_rows(store, run_id, parse_artifact("alpha_list", _write(tmp_path, "a.json", alphas)), iteration=0)
    import_rows(store, run_id, parse_artifact("final_expressions", _write(tmp_path, "f.json", ["rank(-returns)"])),
                iteration=0)
    overridden, plain = sorted(store.candidates(run_id=run_id), key=lambda r: r.id)
    assert (overridden.settings.universe, overridden.settings.decay) == ("TOP20", 7)
    assert overridden.settings.neutralization.value == run_settings["neutralization"]
    assert overridden.settings.test_period == plain.settings.test_period == run_settings["testPeriod"]
    assert overridden.settings.visualization is False
    assert plain.settings.to_brain() == run_settings and plain.settings_key != overridden.settings_key


def test_reimport_and_other_runs_and_repeats_are_duplicates(tmp_path: Path, store: Store) -> None:
    run_id = _new_run(store, tmp_path)
    other = _new_run(store, tmp_path, "r0")
    path = _write(tmp_path, "s.csv", CSV_TEXT)
    first = import_rows(store, run_id, parse_artifact("simulation_status", path), iteration=0)
    again = import_rows(store, run_id, parse_artifact("simulation_status", path), iteration=0)
    assert [r.outcome for r in again.rows] == [Outcome.DUPLICATE] * 3
    assert [r.candidate_id for r in again.rows] == [r.candidate_id for r in first.rows]
    assert all(r.detail.startswith("same as #") and r.detail.endswith("of this run") for r in again.rows)
    # the same alpha, written differently, in another run; and repeated within the file
    listed = ["-ts_delta(close,5)", "rank(close)", "rank( close )"]
    text = json.dumps([{"regular": e, "settings": {"universe": "TOP50"}} for e in listed])
    elsewhere = import_rows(store, other, parse_artifact("alpha_list", _write(tmp_path, "a.json", text)), iteration=0)
    outcomes = [(r.outcome, r.candidate_id, r.detail) for r in elsewhere.rows]
    a2 = first.rows[1].candidate_id
    assert outcomes[0] == (Outcome.DUPLICATE, a2, f"same as #{a2} of run {run_id}")
    assert outcomes[1][0] == Outcome.ADDED
    assert outcomes[2] == (Outcome.DUPLICATE, outcomes[1][1], "repeats item 1")
    assert len(store.candidates(run_id=other)) == 1


def test_syntax_errors_are_stored_invalid_with_the_line(tmp_path: Path, store: Store) -> None:
    run_id = _new_run(store, tmp_path)
    path = _write(tmp_path, "s.csv", 'expression\nrank(close)\n"rank(close"\n')
    report = import_rows(store, run_id, parse_artifact("simulation_status", path), iteration=0)
    assert [r.outcome for r in report.rows] == [Outcome.ADDED, Outcome.INVALID]
    bad = store.get_candidate(report.rows[1].candidate_id)  # type: ignore[arg-type]
    assert bad.status == "invalid" and bad.expression == "rank(close"
    assert bad.reasons[-1]["reason"].startswith("import line 3: syntax error at expression line 1, column 11")
    again = import_rows(store, run_id, parse_artifact("simulation_status", path), iteration=0)
    assert [r.outcome for r in again.rows] == [Outcome.DUPLICATE, Outcome.DUPLICATE]


def test_dry_run_writes_nothing(tmp_path: Path, store: Store) -> None:
    run_id = _new_run(store, tmp_path)
    rows = parse_artifact("final_expressions", _write(tmp_path, "f.json", ["rank(close)", "rank(close)", "rank("]))
    report = import_rows(store, run_id, rows, iteration=0, dry_run=True)
    assert report.dry_run and [r.outcome for r in report.rows] == [Outcome.ADDED, Outcome.DUPLICATE, Outcome.INVALID]
    assert all(r.candidate_id is None for r in report.rows) and store.candidates(run_id=run_id) == []


def test_import_is_all_or_nothing(tmp_path: Path, store: Store) -> None:
    run_id = _new_run(store, tmp_path)
    rows = [
        ImportedRow(ImportKind.ALPHA_LIST, "a.json", 0, "item 0", "rank(close)"),
        ImportedRow(ImportKind.ALPHA_LIST, "a.json", 1, "item 1", "rank(open)", {"delay": 5}),
    ]
    with pytest.raises(ArtifactError, match=r"a\.json: item 1, settings: invalid settings: delay"):
        import_rows(store, run_id, rows, iteration=0)
    assert store.candidates(run_id=run_id) == []


# ---------------------------------------------------------------------------------------- a real run
def test_a_run_lints_and_simulates_imported_candidates_then_refuses_more(tmp_path: Path, store: Store) -> None:
    run_id = _new_run(store, tmp_path)
    assert import_iteration(store, run_id) == (0, None)
    text = 'alpha_id,expression,sharpe\nA1,rank(-returns),9.9\nA2,"-ts_delta(close, 5)",\nA3,rank(no_such_field),\n'
    report = import_rows(store, run_id, parse_artifact("simulation_status", _write(tmp_path, "s.csv", text)),
                         iteration=0)
    ids = [r.candidate_id for r in report.rows if r.candidate_id is not None]
    assert len(ids) == 3
    outcome = resume_run(run_id, runtime_root=tmp_path, console=Console(quiet=True), quiet=True)
    assert outcome.status == "finished"
    good, minus, unknown = (store.get_candidate(i) for i in ids)
    assert good.status in SIMULATED_STATUSES and minus.status in SIMULATED_STATUSES
    results = store.results_for([good.id, minus.id])
    assert set(results) == {good.id, minus.id}
    assert results[good.id].metrics["is"]["sharpe"] != 9.9  # simulated here, not the claim
    assert unknown.status == "invalid" and "no_such_field" in (unknown.reasons[-1]["reason"] or "")
    iteration, note = import_iteration(store, run_id)
    assert iteration == 0 and note is not None and "inspected all 1 of its iterations" in note


def test_a_run_that_reached_its_target_will_not_reach_a_later_iteration(tmp_path: Path, store: Store) -> None:
    run_id = _new_run(store, tmp_path, max_iterations=3, target_ready=1)
    from alphamine.pipeline.config import STAGES

    for stage in STAGES:
        store.start_stage(run_id, 0, stage)
        store.finish_stage(run_id, 0, stage, {})
    assert import_iteration(store, run_id) == (1, None)
    rows = parse_artifact("final_expressions", _write(tmp_path, "f.json", ["rank(close)"]))
    cid = import_rows(store, run_id, rows, iteration=0).rows[0].candidate_id
    store.set_candidate_status([cid], "ready")  # type: ignore[list-item]
    iteration, note = import_iteration(store, run_id)
    assert iteration == 1 and note is not None and "stops before iteration 2" in note

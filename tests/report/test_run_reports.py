"""The REPORT stage on a real store: every written number read back equals the stored one exactly,
nothing is written as a numpy repr, the incremental result cache gives what a fresh read gives, and
stage timings come from the store's stage rows."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update

from alphamine.data import synthetic
from alphamine.expr import canonical, structural_hash
from alphamine.generate.candidate import Candidate, Thesis
from alphamine.pipeline import reporting
from alphamine.pipeline.config import DataSource, RunConfig
from alphamine.pipeline.reporting import build_report_data, stage_timings, write_artifacts, write_run_reports
from alphamine.report import ReportData, write_reports
from alphamine.sim.settings import make_settings
from alphamine.sim.simulate import simulate, universe_size
from alphamine.store import Store
from alphamine.store.schema import STAGES

RUN = "run-files"
THESIS = Thesis("reversal", "prices overshoot and revert", "trends")
# (expression, decay, status, parent index, generator)
SPECS: list[tuple[str, int, str, int | None, str]] = [
    ("rank(-returns)", 0, "ready", None, "template:test"),
    ("rank(-returns)", 4, "ready", 0, "optimizer:LowTurnover"),
    ("-ts_delta(close, 5)", 2, "promising", None, "template:test"),
    ("rank(volume/adv20)", 0, "rejected", None, "field_factory"),
    ("ts_rank(-returns, 5)", 4, "gate_pending", None, "template:test"),
]
LATER = [("rank(bookvalue/cap)", 0, "ready"), ("zscore(-returns)", 2, "promising")]
NUMPY_REPR = re.compile(r"np\.(float|int|bool|str|datetime)|numpy\.|array\(")


class World:
    """A run in a real SQLite store, its panel and universe, and a way to add simulated candidates."""

    def __init__(self, root: Path) -> None:
        self.panel = synthetic(80, 600, seed=1)
        self.universe = max(self.panel.universes, key=lambda u: universe_size(u) or 0)
        self.store = Store.open(root / "alphamine.sqlite3")
        config = RunConfig.model_validate(
            {
                "seed": 1,
                "settings": make_settings({"universe": self.universe}).to_brain(),
                "data": DataSource(kind="synthetic", n_instruments=80, n_days=600, seed=1),
            }
        )
        self.store.create_run(RUN, config=config.model_dump(mode="json"), seed=1,
                              data_fingerprint=self.panel.fingerprint(), runtime_root=str(root))  # fmt: skip
        self.ids: list[int] = []

    def add(self, expression: str, decay: int, status: str, parent: int | None, generator: str) -> int:
        settings = make_settings({"universe": self.universe, "decay": decay})
        res = simulate(expression, self.panel, settings)
        h = structural_hash(expression)
        self.store.put_result(res, expr_hash=h)
        cid = self.store.add_candidate(
            RUN, 0, Candidate(expression, settings, generator, THESIS, parent_id=parent,
                              strategy="decay" if parent else None, params={"decay": decay} if parent else {}),
            canonical=canonical(expression), expr_hash=h, status="simulated",
        )  # fmt: skip
        self.store.set_candidate_status([cid], status, reason=f"test: {status}")
        self.ids.append(cid)
        return cid


def _world(root: Path) -> World:
    w = World(root)
    for expr, decay, status, parent, generator in SPECS:
        w.add(expr, decay, status, None if parent is None else w.ids[parent], generator)
    w.store.add_candidate(RUN, 0, Candidate("rank(close)", make_settings({"universe": w.universe}), "t", THESIS),
                          canonical="rank(close)", expr_hash=structural_hash("rank(close)"))  # fmt: skip
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A finished run the file tests only read."""
    w = _world(tmp_path_factory.mktemp("store"))
    yield w
    w.store.close()


@pytest.fixture()
def growing(tmp_path: Path) -> Iterator[World]:
    """A run of its own that a test extends."""
    w = _world(tmp_path)
    yield w
    w.store.close()


@pytest.fixture(scope="module")
def written(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_run_reports(world.store, RUN, tmp_path_factory.mktemp("run"))


def _cell_equals(text: str, value: Any) -> bool:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return text == ""
    if isinstance(value, int):
        return text == str(value)
    return float(text) == value  # exact: the file holds the shortest repr that round-trips


def test_candidates_csv_reads_back_exactly(world: World, written: dict[str, Path]) -> None:
    rows = {r.id: r for r in world.store.candidates(run_id=RUN)}
    results = world.store.results_for(world.ids)
    with written["candidates_csv"].open(newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert sorted(int(t["id"]) for t in table) == sorted(world.ids)  # simulated ones only
    for t in table:
        cid = int(t["id"])
        row, res = rows[cid], results[cid]
        assert t["status"] == row.status and t["expression"] == row.expression
        assert t["parent_id"] == ("" if row.parent_id is None else str(row.parent_id))  # never "12.0"
        assert t["decay"] == str(row.settings.decay)
        for period in ("is", "os"):
            for k in reporting.CSV_METRICS:
                assert _cell_equals(t[f"{period}_{k}"], res.metrics[period][k]), (cid, period, k)
    frame = pd.read_csv(written["candidates_csv"]).set_index("id")
    for cid in world.ids:
        assert frame.loc[cid, "is_sharpe"] == results[cid].metrics["is"]["sharpe"]
        assert frame.loc[cid, "os_margin"] == results[cid].metrics["os"]["margin"]
    assert frame["decay"].dtype.kind == "i"


def test_ready_pnl_csv_reads_back_exactly(world: World, written: dict[str, Path]) -> None:
    ready = [r.id for r in world.store.candidates(run_id=RUN, status="ready")]
    results = world.store.results_for(ready)
    with written["ready_pnl"].open(newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    header, body = table[0], table[1:]
    assert header[0] == "date" and sorted(header[1:]) == sorted(f"#{i}" for i in ready)
    for k, name in enumerate(header[1:], start=1):
        dates, pnl = results[int(name[1:])].pnl_series()
        cells = [(r[0], r[k]) for r in body if r[k] != ""]
        assert [d for d, _ in cells] == [str(d) for d in dates.astype("datetime64[D]")]
        np.testing.assert_array_equal(np.array([float(v) for _, v in cells]), pnl)  # bit for bit
    frame = pd.read_csv(written["ready_pnl"], index_col="date", parse_dates=True)
    name = header[1]
    dates, pnl = results[int(name[1:])].pnl_series()
    np.testing.assert_array_equal(frame[name].dropna().to_numpy(), pnl)


def _no_nan(token: str) -> None:
    raise AssertionError(f"non-JSON constant {token}")


def test_run_result_json_matches_the_store(world: World, written: dict[str, Path]) -> None:
    doc = json.loads(written["json"].read_text(encoding="utf-8"), parse_constant=_no_nan)
    results = world.store.results_for(world.ids)
    rows = {r.id: r for r in world.store.candidates(run_id=RUN)}
    assert [c["id"] for c in doc["candidates"]] and {c["id"] for c in doc["candidates"]} == set(world.ids)
    for c in doc["candidates"]:
        res = results[c["id"]]
        assert c["is"] == res.metrics["is"] and c["os"] == res.metrics["os"]  # every float exactly
        assert c["checks"] == res.checks
        assert c["settings"] == rows[c["id"]].settings.to_brain()
        assert "pnl" not in c and "dates" not in c
    assert doc["artifacts"] == {"ready_pnl": "artifacts/ready_pnl.csv", "candidates_csv": "artifacts/candidates.csv"}
    run_dir = written["json"].parent
    assert all((run_dir / p).is_file() for p in doc["artifacts"].values())
    lines = written["json"].read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith('    {"id": ') for line in lines) == len(world.ids)  # one candidate a line


def test_no_numpy_repr_in_any_file(written: dict[str, Path]) -> None:
    assert set(written) == {"markdown", "html", "json", "ready_pnl", "candidates_csv"}
    for path in written.values():
        text = path.read_text(encoding="utf-8")
        assert not NUMPY_REPR.search(re.sub(r'src="data:[^"]+"', "", text)), path.name


def test_numpy_scalars_in_report_data_are_written_plain(report_data: ReportData, tmp_path: Path) -> None:
    """Controllers may hand numpy scalars (SimResult metrics are numpy): files get plain numbers."""
    c0 = report_data.candidates[0]
    np_metrics = {k: np.float64(v) if isinstance(v, float) else v for k, v in c0.is_metrics.items()}
    odd = dataclasses.replace(
        c0,
        is_metrics={**np_metrics, "sharpe": np.float64(-28059.84), "longCount": np.int64(7)},
        os_metrics={**c0.os_metrics, "fitness": np.float32(0.5), "returns": np.float64("nan")},
        params={"window": np.int64(20), "scale": np.float64(1.5)},
        settings={**c0.settings, "decay": np.int64(3)},
    )
    data = dataclasses.replace(report_data, candidates=[odd, *report_data.candidates[1:]])
    paths = {**write_reports(tmp_path, data), **write_artifacts(tmp_path / "artifacts", data)}
    for path in paths.values():
        assert not NUMPY_REPR.search(re.sub(r'src="data:[^"]+"', "", path.read_text(encoding="utf-8"))), path.name
    doc = json.loads(paths["json"].read_text(encoding="utf-8"), parse_constant=_no_nan)
    got = next(c for c in doc["candidates"] if c["id"] == c0.id)
    assert got["is"]["sharpe"] == -28059.84 and got["is"]["longCount"] == 7
    assert got["os"]["fitness"] == 0.5 and got["os"]["returns"] is None
    assert got["lineage"]["params"] == {"window": 20, "scale": 1.5} and got["settings"]["decay"] == 3
    with paths["candidates_csv"].open(newline="", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["id"] == str(c0.id))
    assert row["is_sharpe"] == "-28059.84" and row["os_returns"] == "" and row["decay"] == "3"


def test_cached_reports_equal_a_fresh_read(growing: World) -> None:
    """The incremental cache (results decoded once per store object) gives exactly what a fresh store
    object reads, after new results arrive and statuses change."""
    before = build_report_data(growing.store, RUN)
    assert reporting._run_cache(growing.store, RUN).results  # populated
    for expr, decay, status in LATER:
        growing.add(expr, decay, status, None, "template:test")
    growing.store.set_candidate_status([growing.ids[0]], "promising", reason="test: revoked")
    cached = build_report_data(growing.store, RUN)
    with Store.open(growing.store.where) as fresh_store:
        fresh = build_report_data(fresh_store, RUN)
    assert len(cached.candidates) == len(before.candidates) + len(LATER)
    assert growing.ids[0] not in cached.ready_ids
    assert (cached.ready_ids, cached.best_ids) == (fresh.ready_ids, fresh.best_ids)
    for a, b in zip(cached.candidates, fresh.candidates, strict=True):
        assert (a.id, a.status, a.is_metrics, a.os_metrics, a.checks, a.os_start) == (
            b.id, b.status, b.is_metrics, b.os_metrics, b.checks, b.os_start)  # fmt: skip
        assert (a.pnl is None) == (b.pnl is None)
        if a.pnl is not None and b.pnl is not None:
            np.testing.assert_array_equal(a.pnl, b.pnl)
            np.testing.assert_array_equal(a.dates, b.dates)
    np.testing.assert_array_equal(cached.correlation, fresh.correlation)


def test_a_report_decodes_only_new_results(growing: World, monkeypatch: pytest.MonkeyPatch) -> None:
    build_report_data(growing.store, RUN)
    asked: list[list[int]] = []
    real = growing.store.results_for

    def spy(ids: Any, **kw: Any) -> Any:
        asked.append(list(ids))
        return real(ids, **kw)

    monkeypatch.setattr(growing.store, "results_for", spy)
    build_report_data(growing.store, RUN)
    assert all(ids == [] for ids in asked), asked  # nothing new: nothing decoded
    new = growing.add("rank(-ts_delta(open, 3))", 0, "rejected", None, "template:test")
    asked.clear()
    build_report_data(growing.store, RUN)
    assert sorted(i for ids in asked for i in ids) == [new]


def test_stage_timings_from_the_store(growing: World, tmp_path: Path) -> None:
    t = "2026-12-04T10:00:{:09.6f}+00:00"
    spans = [(0, "GENERATE", 0.0, 1.5), (0, "SIMULATE", 1.5, 4.0), (1, "GENERATE", 10.0, 10.5),
             (1, "SIMULATE", 10.5, 12.0), (1, "REPORT", 12.0, None)]  # fmt: skip
    with growing.store.transaction() as conn:
        for it, stage, a, b in spans:
            growing.store.start_stage(RUN, it, stage, conn=conn)
            if b is not None:
                growing.store.finish_stage(RUN, it, stage, {"n": 1}, conn=conn)
            key = (STAGES.c.run_id == RUN) & (STAGES.c.iteration == it) & (STAGES.c.stage == stage)
            conn.execute(update(STAGES).where(key).values(started_at=t.format(a),
                                                          finished_at=None if b is None else t.format(b)))  # fmt: skip
    times = stage_timings(growing.store, RUN)
    assert [(x.stage, x.count) for x in times] == [("GENERATE", 2), ("SIMULATE", 2)]  # REPORT still running
    assert times[0].seconds == pytest.approx(2.0) and times[1].seconds == pytest.approx(4.0)
    assert [x.share for x in times] == pytest.approx([1 / 3, 2 / 3])
    paths = write_run_reports(growing.store, RUN, tmp_path)
    doc = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert [(s["stage"], s["count"]) for s in doc["stage_times"]] == [("GENERATE", 2), ("SIMULATE", 2)]
    assert doc["stage_times"][1]["seconds"] == pytest.approx(4.0)
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "## Time per stage" in md and re.search(r"\| SIMULATE \| 4\.00 \| 2 \| 2\.0 s \| 66\.7% \|", md)
    html = paths["html"].read_text(encoding="utf-8")
    assert 'id="stage-times"' in html and '<td><b>SIMULATE</b></td><td class="n">4.00</td>' in html

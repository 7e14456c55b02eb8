"""The validation window (BRAIN's `testPeriod`): its automatic length, the spellings a run accepts, the
block the search reads (`search_metrics`), DECIDE's view of the checks (`search_checks`), and what a
started run stores (and `resume` reuses)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from tests.brain.test_server_support import DelegatingBackend

from alphamine.backends.base import Outcome, Progress
from alphamine.backends.local import LocalBackend
from alphamine.data.synthetic import synthetic
from alphamine.pipeline import decide as D
from alphamine.pipeline.config import DataSource, GateConfig, RunConfig
from alphamine.pipeline.controller import RunInterrupted, resume_run, start_run, with_validation_window
from alphamine.pipeline.validation import (
    MIN_VALIDATION_MONTHS,
    NO_VALIDATION,
    THRESHOLD_CHECKS,
    TRADING_DAYS_PER_MONTH,
    VALIDATION_FRACTION,
    WHOLE_IS_CHECKS,
    auto_validation_period,
    resolve_validation,
    search_checks,
    search_metrics,
)
from alphamine.sim import checks as C
from alphamine.sim.batch import SimSpec
from alphamine.sim.periods import os_length, split_periods
from alphamine.sim.settings import CheckProfile, make_settings, parse_period
from alphamine.store import Store
from alphamine.store.status import CandidateStatus as CS


# ---------------------------------------------------------------------------------------------- auto period
def _months(period: str) -> int:
    y, m, d = parse_period(period)
    assert d == 0, period  # whole months: the platform takes a duration
    assert 0 <= m < 12, period  # normalized: 12 months are written as a year
    return 12 * y + m


def test_auto_period_of_a_five_year_panel_is_ten_months() -> None:
    # 1259 rows: OS = 252 (20 % rounds to 252), IS = 1007, 20 % of IS = 201.4 days = 9.6 months -> 10
    assert auto_validation_period(1259) == "P0Y10M0D"
    assert resolve_validation("auto", 1259) == "P0Y10M0D"
    assert resolve_validation(" AUTO ", 1259) == "P0Y10M0D"


@pytest.mark.parametrize(
    ("n_days", "expected"),
    [
        (0, "P0Y6M0D"),  # nothing to split: the floor
        (300, "P0Y6M0D"),  # IS 240 days: 20 % is 2.3 months, raised to 6
        (900, "P0Y7M0D"),  # IS 648: 6.17 months rounded up
        (2520, "P1Y8M0D"),  # IS 2016: 19.2 months -> 20 = 1 year 8 months
        (5000, "P3Y3M0D"),  # IS 4000: 38.1 months -> 39 = 3 years 3 months
    ],
)
def test_auto_period_examples(n_days: int, expected: str) -> None:
    assert auto_validation_period(n_days) == expected


def test_auto_period_is_the_fewest_whole_months_covering_a_fifth_of_is() -> None:
    for n_days in range(0, 6000, 7):
        is_days = n_days - os_length(n_days)
        months = _months(auto_validation_period(n_days))
        assert months >= MIN_VALIDATION_MONTHS
        assert months * TRADING_DAYS_PER_MONTH >= VALIDATION_FRACTION * is_days - 1e-9
        if months > MIN_VALIDATION_MONTHS:  # minimal: one month less would not cover 20 %
            assert (months - 1) * TRADING_DAYS_PER_MONTH < VALIDATION_FRACTION * is_days


def test_auto_period_arguments() -> None:
    assert auto_validation_period(1259, fraction=0.5) == "P2Y0M0D"  # 503.5 days = 23.98 months -> 24
    assert auto_validation_period(1259, min_months=18) == "P1Y6M0D"


# ---------------------------------------------------------------------------------------------- spellings
@pytest.mark.parametrize("text", ["none", "NONE", " off ", "Off", "0", "P0Y0M0D", "P0D", "p0y"])
def test_no_validation_spellings(text: str) -> None:
    assert resolve_validation(text, 1259) == NO_VALIDATION


@pytest.mark.parametrize(
    ("text", "expected"),
    [("P1Y", "P1Y0M0D"), ("p6m", "P0Y6M0D"), (" P1Y6M ", "P1Y6M0D"), ("P2Y0M10D", "P2Y0M10D"), ("P30D", "P0Y0M30D")],
)
def test_iso_durations_are_normalized(text: str, expected: str) -> None:
    assert resolve_validation(text, 1259) == expected
    assert resolve_validation(text, 10) == expected  # an explicit duration ignores the panel length


@pytest.mark.parametrize("text", ["six months", "P", "1Y", "P1.5Y", "P-1Y", "", "automatic"])
def test_a_bad_period_is_an_error_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601 duration") as info:
        resolve_validation(text, 1259)
    assert repr(text) in str(info.value)


def test_a_bad_period_stops_the_run_before_it_exists(tmp_path: Path) -> None:
    cfg = _config(gate=GateConfig(validation_period="six months"))
    with pytest.raises(ValueError, match="six months"):
        with_validation_window(cfg, 600)
    with pytest.raises(ValueError, match="six months"):
        start_run(cfg, runtime_root=tmp_path, run_id="bad", panel=_panel(), console=Console(quiet=True), quiet=True)
    assert not (tmp_path / "runs" / "bad").exists()


# ---------------------------------------------------------------------------------------------- search block
IS_BLOCK = {"sharpe": 1.6, "fitness": 1.4, "turnover": 0.2, "returns": 0.1}
TRAIN_BLOCK = {"sharpe": 0.9, "fitness": 0.6, "turnover": 0.005, "returns": 0.05}
TEST_BLOCK = {"sharpe": 3.0, "fitness": 3.0, "turnover": 0.2, "returns": 0.3}
METRICS = {"is": IS_BLOCK, "train": TRAIN_BLOCK, "test": TEST_BLOCK, "os": {"sharpe": -5.0}}
SPLIT = (400, 500)  # test rows of IS
NO_SPLIT = (500, 500)


def test_search_metrics_reads_train_only_with_a_validation_window() -> None:
    assert search_metrics(METRICS, SPLIT) is TRAIN_BLOCK
    assert search_metrics(METRICS, [400, 401]) is TRAIN_BLOCK  # a one-day window is a window
    assert search_metrics(METRICS, NO_SPLIT) is IS_BLOCK
    assert search_metrics(METRICS, (0, 0)) is IS_BLOCK
    assert search_metrics(METRICS, (500, 400)) is IS_BLOCK  # an inverted range is empty
    # a result stored without a train block (an old row) falls back to IS
    assert search_metrics({"is": IS_BLOCK}, SPLIT) is IS_BLOCK
    assert search_metrics({"is": IS_BLOCK, "train": {}}, SPLIT) is IS_BLOCK


def _stored_checks() -> list[dict]:
    """The checks a simulation stored, judged on the whole IS block (every threshold passes)."""
    return [
        *C.threshold_checks(IS_BLOCK, CheckProfile.USER, 1),
        C.check("CONCENTRATED_WEIGHT", "PASS", 0.1, 0.05),
        C.check("LOW_SUB_UNIVERSE_SHARPE", "FAIL", 1.0, 0.3),
        C.check("SELF_CORRELATION", "PENDING", 0.7),
        C.check("LOW_2Y_SHARPE", "FAIL", 1.58, 0.2),
        C.check("IS_LADDER_SHARPE", "FAIL", 1.58, 0.1),
        C.check("UNITS", "PASS"),
        C.check("DATA_LENGTH", "PASS", 500.0, 700.0),
        C.check("STALE_DATA", "PASS", 0.2, 0.0, fields={}),
    ]


def test_search_checks_recompute_thresholds_on_the_search_block() -> None:
    stored = _stored_checks()
    assert all(c["result"] == "PASS" for c in stored if c["name"] in THRESHOLD_CHECKS)
    view = {c["name"]: c for c in search_checks(stored, METRICS, SPLIT, CheckProfile.USER, 1)}
    # the whole-IS performance checks are the gate's: DECIDE does not see them
    assert not WHOLE_IS_CHECKS & set(view)
    # CONCENTRATED_WEIGHT and STALE_DATA are measured over every IS day (validation included): left out too
    assert set(view) == {
        "LOW_SHARPE", "LOW_FITNESS", "LOW_TURNOVER", "HIGH_TURNOVER", "UNITS", "DATA_LENGTH",
    }  # fmt: skip
    # IS Sharpe 1.6 passes, the search Sharpe 0.9 does not: FAIL in the search view, with its value
    assert view["LOW_SHARPE"] == C.check("LOW_SHARPE", "FAIL", C.SHARPE_LIMITS[(CheckProfile.USER, 1)], 0.9)
    assert view["LOW_FITNESS"]["result"] == "FAIL" and view["LOW_FITNESS"]["value"] == 0.6
    assert view["LOW_TURNOVER"]["result"] == "FAIL" and view["LOW_TURNOVER"]["value"] == 0.005
    assert view["HIGH_TURNOVER"]["result"] == "PASS"
    # the others pass through as stored (copies: the stored list is not touched)
    for name in ("UNITS", "DATA_LENGTH"):
        assert view[name] == next(c for c in stored if c["name"] == name)
    assert stored == _stored_checks()
    # DECIDE on the search view: not gate_pending (the IS view would let it through)
    verdict = D.decide(search_metrics(METRICS, SPLIT), list(view.values()))
    assert verdict.status != CS.GATE_PENDING and "fails LOW_SHARPE" in verdict.reasons
    assert D.decide(METRICS["is"], [c for c in stored if c["name"] not in WHOLE_IS_CHECKS]).status == CS.GATE_PENDING


def test_search_checks_use_the_profile_and_delay_limits() -> None:
    block = {"sharpe": 1.9, "fitness": 1.2, "turnover": 0.3}
    metrics = {"is": IS_BLOCK, "train": block}
    for profile, delay in [(CheckProfile.USER, 1), (CheckProfile.USER, 0), (CheckProfile.CONSULTANT, 1),
                           (CheckProfile.CONSULTANT, 0)]:  # fmt: skip
        view = {c["name"]: c for c in search_checks(_stored_checks(), metrics, SPLIT, profile, delay)}
        limit = C.SHARPE_LIMITS[(profile, delay)]
        assert view["LOW_SHARPE"]["limit"] == limit
        assert view["LOW_SHARPE"]["result"] == ("PASS" if limit <= 1.9 else "FAIL")
        assert view["LOW_FITNESS"]["limit"] == C.FITNESS_LIMITS[(profile, delay)]
    # the profile may be given by its string value
    as_text = search_checks(_stored_checks(), metrics, SPLIT, "consultant", 0)
    assert as_text == search_checks(_stored_checks(), metrics, SPLIT, CheckProfile.CONSULTANT, 0)


def test_a_missing_search_number_fails_its_threshold() -> None:
    metrics = {"is": IS_BLOCK, "train": {"sharpe": None, "fitness": "n/a", "turnover": float("inf")}}
    view = {c["name"]: c for c in search_checks(_stored_checks(), metrics, SPLIT)}
    for name in THRESHOLD_CHECKS:
        assert view[name]["result"] == "FAIL", name
        assert math.isnan(view[name]["value"])


def test_without_validation_the_checks_are_unchanged() -> None:
    stored = _stored_checks()
    for rng in (NO_SPLIT, (0, 0)):
        view = search_checks(stored, METRICS, rng)
        assert view == stored
        assert all(a is not b for a, b in zip(view, stored, strict=True))  # copies


# ---------------------------------------------------------------------------------------------- runs
N, T = 40, 600


def _panel():
    return synthetic(N, T, seed=4)


def _config(**kw) -> RunConfig:
    base = dict(
        seed=2,
        settings=make_settings({"universe": f"TOP{N}", "decay": 2}).to_brain(),
        data=DataSource(kind="synthetic", n_instruments=N, n_days=T, seed=4),
        max_iterations=1,
        target_ready=50,
        candidates_per_iteration=6,
        max_variant_alphas=1,
        max_variants_per_alpha=2,
        max_enhance_alphas=1,
        workers=1,
        batch_size=3,
    )
    base.update(kw)
    return RunConfig(**base)


def _stored(root: Path, run_id: str) -> tuple[dict, list]:
    with Store.open(root / "alphamine.sqlite3") as store:
        run = store.get_run(run_id)
        assert run is not None
        rows = store.candidates(run_id=run_id)
        results = list(store.results_for([r.id for r in rows]).values())
    return run.config, results


def _start(root: Path, cfg: RunConfig, run_id: str, **kw) -> None:
    out = start_run(cfg, runtime_root=root, run_id=run_id, panel=_panel(), console=Console(quiet=True),
                    quiet=True, **kw)  # fmt: skip
    assert out.status == "finished"


def test_a_started_run_stores_its_resolved_test_period(tmp_path: Path) -> None:
    cfg = _config()
    assert make_settings(cfg.settings).test_period == NO_VALIDATION  # nothing resolved yet
    _start(tmp_path, cfg, "auto")
    config, results = _stored(tmp_path, "auto")
    period = auto_validation_period(T)
    assert config["settings"]["testPeriod"] == period == "P0Y6M0D"
    assert config["gate"]["validation_period"] == "auto"  # the request is kept beside its resolution
    # resuming reads the stored config: the window stays resolved, whatever "auto" would give later
    again = RunConfig.model_validate(config)
    assert make_settings(again.settings).test_period == period
    assert with_validation_window(again, 10 * T) == again  # an explicit testPeriod wins
    # every simulation ran with it
    split = split_periods(_panel().dates, 0, test_period=period)
    assert results
    for res in results:
        assert res.settings["testPeriod"] == period
        assert tuple(res.test_range) == split.test_range and res.test_range[1] > res.test_range[0]
        assert res.metrics.get("train") and res.metrics.get("test")


def test_a_classic_run_has_no_validation_window(tmp_path: Path) -> None:
    cfg = _config(gate=GateConfig(mode="classic"))
    assert with_validation_window(cfg, T) is cfg
    _start(tmp_path, cfg, "classic")
    config, results = _stored(tmp_path, "classic")
    assert make_settings(config["settings"]).test_period == NO_VALIDATION
    assert results
    for res in results:
        assert res.test_range[1] <= res.test_range[0]
    with Store.open(tmp_path / "alphamine.sqlite3") as store:
        for row in store.candidates(run_id="classic"):
            for gate in store.gate_history(row.id):
                assert not {"DEFLATED_SHARPE", "VALIDATION_SHARPE"} & {c["name"] for c in gate.checks}


@pytest.mark.parametrize(("requested", "stored"), [("none", NO_VALIDATION), ("P1Y", "P1Y0M0D")])
def test_the_requested_validation_period_is_resolved_and_stored(tmp_path: Path, requested: str, stored: str) -> None:
    cfg = _config(gate=GateConfig(validation_period=requested))
    _start(tmp_path, cfg, "req")
    config, results = _stored(tmp_path, "req")
    assert make_settings(config["settings"]).test_period == stored
    split = split_periods(_panel().dates, 0, test_period=stored)
    assert all(tuple(r.test_range) == split.test_range for r in results)


def test_an_explicit_test_period_in_the_settings_wins(tmp_path: Path) -> None:
    settings = make_settings({"universe": f"TOP{N}", "decay": 2, "testPeriod": "P0Y9M0D"}).to_brain()
    for gate in (GateConfig(), GateConfig(validation_period="P1Y"), GateConfig(validation_period="none")):
        cfg = _config(settings=settings, gate=gate)
        assert with_validation_window(cfg, T) is cfg
    _start(tmp_path, _config(settings=settings, gate=GateConfig(validation_period="P1Y")), "explicit")
    config, results = _stored(tmp_path, "explicit")
    assert config["settings"]["testPeriod"] == "P0Y9M0D"
    split = split_periods(_panel().dates, 0, test_period="P0Y9M0D")
    assert results and all(tuple(r.test_range) == split.test_range for r in results)


class _InterruptedAfterOneBatch(DelegatingBackend):
    """The local backend, interrupted (as by Ctrl-C) on its second batch."""

    def __init__(self, inner: LocalBackend) -> None:
        super().__init__(inner)
        self.batches = 0

    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        self.batches += 1
        if self.batches > 1:
            raise KeyboardInterrupt
        return self.inner.simulate_many(specs, progress)


def test_resume_simulates_with_the_stored_window(tmp_path: Path) -> None:
    panel = _panel()
    backend = _InterruptedAfterOneBatch(LocalBackend(panel, workers=1))
    with pytest.raises(RunInterrupted):
        start_run(_config(), runtime_root=tmp_path, run_id="cut", panel=panel, backend=backend,
                  console=Console(quiet=True), quiet=True)  # fmt: skip
    backend.close()
    _, before = _stored(tmp_path, "cut")
    assert before  # the first batch committed
    out = resume_run("cut", runtime_root=tmp_path, panel=panel, console=Console(quiet=True), quiet=True)
    assert out.status == "finished"
    config, after = _stored(tmp_path, "cut")
    period = config["settings"]["testPeriod"]
    assert period == auto_validation_period(T)
    assert len(after) > len(before)  # resume simulated more, with the same window
    split = split_periods(panel.dates, 0, test_period=period)
    for res in after:
        assert res.settings["testPeriod"] == period
        assert tuple(res.test_range) == split.test_range
    assert {r.id for r in before} <= {r.id for r in after}
    assert np.all([r.test_range[1] > r.test_range[0] for r in after])

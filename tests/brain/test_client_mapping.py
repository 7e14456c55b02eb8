"""mapping.py: platform JSON (shapes captured from BRAIN, brain.md §3.3, §4.1, §7) -> alphamine objects."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from alphamine.brain.mapping import (
    SimulationOutcome,
    field_info,
    flatten_errors,
    normalize_check_name,
    normalize_checks,
    outcome_from_simulation,
    pnl_series,
    result_from_alpha,
    settings_payload,
    simulation_payload,
    spread,
)
from alphamine.data.fields import FieldType, Unit
from alphamine.sim.settings import make_settings


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("LOW_SHARPE", "LOW_SHARPE"), ("lowSharpe", "LOW_SHARPE"), ("low sharpe", "LOW_SHARPE"),
        ("low-fitness", "LOW_FITNESS"), ("LowTurnover", "LOW_TURNOVER"), ("HIGH_TURNOVER", "HIGH_TURNOVER"),
        ("concentratedWeights", "CONCENTRATED_WEIGHT"), ("lowSubUniverseSharpe", "LOW_SUB_UNIVERSE_SHARPE"),
        ("LOW_SUBUNIVERSE_SHARPE", "LOW_SUB_UNIVERSE_SHARPE"), ("low2YSharpe", "LOW_2Y_SHARPE"),
        ("LOW_2Y_SHARPE", "LOW_2Y_SHARPE"), ("self_corr", "SELF_CORRELATION"), ("selfCorrelation", "SELF_CORRELATION"),
        ("PROD_CORRELATION", "PROD_CORRELATION"), ("prod corr", "PROD_CORRELATION"),
        ("isLadderSharpe", "IS_LADDER_SHARPE"), ("SOMETHING_NEW", "SOMETHING_NEW"),
    ],
)
def test_check_names_normalize(raw: str, name: str) -> None:
    assert normalize_check_name(raw) == name


def test_checks_normalize_results_and_numbers() -> None:
    raw: list[dict[str, Any]] = [
        {"name": "lowSharpe", "result": "fail", "limit": "1.58", "value": 0.91},
        {"name": "SELF_CORRELATION", "result": "PENDING", "limit": 0.7},
        {"name": "CONCENTRATED_WEIGHT", "result": "FAIL", "limit": 0.1, "value": 0.76, "date": "2019-03-01"},
        {"result": "PASS"},  # nameless: dropped
    ]
    out = normalize_checks(raw)
    assert [(c["name"], c["result"]) for c in out] == [
        ("LOW_SHARPE", "FAIL"), ("SELF_CORRELATION", "PENDING"), ("CONCENTRATED_WEIGHT", "FAIL")]
    assert out[0]["limit"] == 1.58 and out[2]["date"] == "2019-03-01"
    assert raw[0]["name"] == "lowSharpe"  # copies, not edits


def test_settings_payload_keeps_brain_keys_and_non_default_extensions() -> None:
    plain = settings_payload(make_settings({"universe": "TOP3000", "decay": 4}))
    assert plain["universe"] == "TOP3000" and plain["decay"] == 4
    assert not {"maxTradeAdvFraction", "isEnd", "checkProfile"} & set(plain)
    custom = settings_payload(make_settings({"checkProfile": "consultant"}))
    assert custom["checkProfile"] == "consultant"
    body = simulation_payload("rank(close)", make_settings({}))
    assert body["type"] == "REGULAR" and body["regular"] == "rank(close)" and body["settings"]["region"] == "USA"


JUDGE_LIKE = {  # the shape of a real GET /alphas/{id} (brain.md §3.3), trimmed
    "id": "Ab12Cd34",
    "type": "REGULAR",
    "settings": {"region": "GLB", "universe": "TOPDIV3000", "delay": 1, "startDate": "2014-01-01",
                 "endDate": "2014-01-08", "maxPosition": "OFF"},
    "regular": {"code": "rank(-returns)", "description": None, "operatorCount": 1},
    "status": "UNSUBMITTED",
    "is": {"pnl": 1200.0, "bookSize": 20000000, "longCount": 1100, "shortCount": 1090, "turnover": 0.6828,
           "returns": 0.0212, "drawdown": 0.05, "margin": 0.000062, "sharpe": 0.91, "fitness": 0.16,
           "startDate": "2014-01-02", "glbAmer": {"sharpe": 1.1},
           "checks": [{"name": "LOW_SHARPE", "result": "FAIL", "limit": 1.58, "value": 0.91}]},
    "os": None,
    "train": None,
    "test": None,
}
DAILY = {"schema": {"name": "daily-pnl", "properties": [{"name": "date"}, {"name": "pnl"}]},
         "records": [["2014-01-01", 0.0], ["2014-01-02", 100.0], ["2014-01-03", -50.0], ["2014-01-06", 25.0],
                     ["2014-01-07", 10.0], ["2014-01-08", 5.0], ["2014-01-09", 7.0]]}


def test_platform_alpha_maps_to_a_sim_result() -> None:
    settings = make_settings({"region": "GLB", "universe": "TOPDIV3000"})
    series = pnl_series(DAILY, cumulative=False)
    assert series is not None
    yearly = [{"year": 2014, "pnl": 1200.0, "sharpe": 0.91, "stage": "IS"}]
    r = result_from_alpha(JUDGE_LIKE, settings=settings, daily_pnl=series, yearly=yearly)
    assert r.expression == "rank(-returns)" and r.settings == settings and r.data_fingerprint == ""
    assert r.metrics["is"]["sharpe"] == 0.91 and "checks" not in r.metrics["is"]
    assert r.metrics["is"]["glbAmer"] == {"sharpe": 1.1}
    assert all(math.isnan(r.metrics["os"][k]) for k in ("sharpe", "fitness", "turnover"))  # unsubmitted: no OS
    assert r.checks == [{"name": "LOW_SHARPE", "result": "FAIL", "limit": 1.58, "value": 0.91}]
    assert r.dates.dtype == np.dtype("datetime64[D]") and r.dates.size == 7
    np.testing.assert_array_equal(r.daily_pnl, [0.0, 100.0, -50.0, 25.0, 10.0, 5.0, 7.0])
    assert r.periods.first == 1  # is.startDate
    assert r.periods.is_range == (1, 6) and r.periods.os_range == (6, 7)  # settings.endDate closes IS
    assert np.isnan(r.traded).all() and np.isnan(r.long_counts).all()  # not published per day
    assert r.yearly_rows == yearly and r.failed_checks() == ["LOW_SHARPE"]
    assert r.to_json()["is"]["checks"] == r.checks


def test_cumulative_pnl_and_missing_record_sets() -> None:
    cum = {"schema": {"properties": [{"name": "date"}, {"name": "pnl"}]},
           "records": [["2020-01-03", 30.0], ["2020-01-02", 10.0], ["2020-01-06", 25.0]]}
    series = pnl_series(cum, cumulative=True)
    assert series is not None
    dates, pnl = series  # sorted by date, then differenced
    assert dates.astype(str).tolist() == ["2020-01-02", "2020-01-03", "2020-01-06"]
    assert pnl.tolist() == [10.0, 20.0, -5.0]
    assert pnl_series(None, cumulative=False) is None
    r = result_from_alpha({"is": {"sharpe": 1.0}}, settings=make_settings({}), expression="x")
    assert r.dates.size == 0 and not r.has_positions and r.checks == [] and r.metrics["is"]["sharpe"] == 1.0
    assert math.isnan(r.metrics["is"]["fitness"])


def test_simulation_outcomes() -> None:
    ok = outcome_from_simulation({"id": "S1", "status": "COMPLETE", "alpha": "A1"}, "http://h/simulations/S1")
    assert ok.ok and ok.alpha_id == "A1"
    bad = outcome_from_simulation(
        {"id": "S2", "status": "ERROR", "message": "Attempted to use unknown variable \"x\"",
         "location": {"line": 1, "start": 5, "end": 6, "property": "regular"}}, "http://h/simulations/S2")
    assert not bad.ok
    assert bad.error_text() == 'ERROR: Attempted to use unknown variable "x" (at line 1, characters 5-6)'
    cancelled = outcome_from_simulation({"id": "S3", "status": "CANCELLED"}, "http://h/simulations/S3")
    assert "CANCELLED" in cancelled.error_text() and "multi-simulation" in cancelled.error_text()
    timeout = SimulationOutcome("u", "S4", "TIMEOUT")
    assert timeout.error_text() == "TIMEOUT: the platform gave no message"
    assert spread([bad], 3) == [bad, bad, bad]
    assert [o.status for o in spread([ok], 2)] == ["ERROR", "ERROR"]
    assert spread([ok, bad], 2) == [ok, bad]


def test_flatten_errors() -> None:
    assert flatten_errors({"settings": {"region": ['"XXX" is not a valid choice.']}}) == (
        'settings: region: "XXX" is not a valid choice.')
    assert flatten_errors({"detail": "Bad."}) == "Bad."
    assert flatten_errors([{}, {"regular": ["This field is required."]}]) == "regular: This field is required."


def test_field_records_become_field_infos() -> None:
    info = field_info({"id": "close", "type": "MATRIX", "dataset": {"id": "pv1", "name": "Price Volume"},
                       "category": {"id": "pv", "name": "Price Volume"}, "description": "Close price",
                       "coverage": 0.98, "dateCoverage": 1.0, "unit": "price"})
    assert info is not None
    assert (info.name, info.type, info.dataset, info.category, info.unit) == (
        "close", FieldType.MATRIX, "pv1", "pv", Unit.PRICE)
    assert info.coverage == 0.98
    assert field_info({"id": "sector", "type": "GROUP"}).type == FieldType.GROUP  # type: ignore[union-attr]
    assert field_info({"id": "TOP500", "type": "UNIVERSE"}) is None
    assert field_info({"id": "ticker", "type": "SYMBOL"}) is None
    odd = field_info({"id": "x", "type": "vector", "coverage": "n/a", "unit": {"id": "usd"}})
    assert odd is not None and odd.type == FieldType.VECTOR and odd.coverage == 1.0 and odd.unit == Unit.NONE

"""LLM budgets: prices, totals per agent, limits, the shared daily ledger and the sticky kill switch."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from alphamine.llm.budget import (
    DAILY_LEDGER_FILENAME,
    Budget,
    DailyCallLedger,
    ModelPrice,
    PriceTable,
    Usage,
    daily_ledger_path,
)

REPO = Path(__file__).resolve().parents[2]


def test_price_table_costs_and_unknown_models() -> None:
    table = PriceTable()
    assert table.cost("gpt-4o-mini", Usage(1_000_000, 0)) == pytest.approx(0.15)
    assert table.cost("GPT-4o-mini", Usage(0, 2_000_000)) == pytest.approx(1.20)
    assert table.cost("some-local-model", Usage(10, 10)) is None
    custom = table.with_prices({"my-model": ModelPrice(1.0, 2.0)})
    assert custom.cost("my-model", Usage(500_000, 250_000)) == pytest.approx(1.0)
    assert "my-model" not in table and "my-model" in custom


def test_price_table_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(
        json.dumps({"gpt-4o-mini": {"prompt": 1, "completion": 1}, "local": {"prompt": 0, "completion": 0}})
    )
    table = PriceTable.load(path)
    assert table.cost("gpt-4o-mini", Usage(1_000_000, 0)) == pytest.approx(1.0)
    assert table.cost("local", Usage(1000, 1000)) == 0.0
    assert table.cost("deepseek-chat", Usage(1_000_000, 0)) == pytest.approx(0.27)  # defaults kept
    path.write_text(json.dumps({"m": {"prompt": 1}}))
    with pytest.raises(ValueError, match=r'prices\.json: "m" needs numeric'):
        PriceTable.load(path)
    path.write_text("{nope")
    with pytest.raises(ValueError, match="not valid JSON"):
        PriceTable.load(path)


def test_totals_per_agent_and_run_with_unknown_model_cost_none() -> None:
    b = Budget()
    priced = b.record_success("ideas", Usage(1000, 500), "gpt-4o-mini")
    assert priced.cost == pytest.approx((1000 * 0.15 + 500 * 0.60) / 1e6)
    assert b.record_success("critic", Usage(200, 100), "llama3.1").cost is None
    b.record_failure("critic", "HTTP 503 after 5 attempts")
    s = b.summary()
    assert (s["calls"], s["failures"], s["tokens"], s["unpriced_calls"]) == (3, 1, 1800, 1)
    assert s["cost"] == pytest.approx(priced.cost)
    assert s["agents"]["ideas"]["cost"] == pytest.approx(priced.cost)
    assert s["agents"]["critic"] == {
        "calls": 2,
        "failures": 1,
        "prompt_tokens": 200,
        "completion_tokens": 100,
        "tokens": 300,
        "cost": None,
        "unpriced_calls": 1,
    }
    assert s["paused"] is None and b.check() is None
    assert b.totals("nobody").calls == 0 and b.totals().calls == 3
    json.dumps(s)  # plain data for reports


def test_token_budget_pauses_for_good() -> None:
    b = Budget(token_budget=1000)
    b.record_success("a", Usage(400, 100), "m")
    assert b.check() is None
    b.record_success("a", Usage(400, 200), "m")
    reason = b.check()
    assert reason is not None and "token budget reached" in reason and "1100 of 1000" in reason
    assert b.summary()["paused"] == reason and b.paused == reason


def test_max_calls_and_explicit_pause() -> None:
    b = Budget(max_calls=2)
    b.record_success("a", Usage(1, 1), "m")
    assert b.check() is None
    b.record_failure("a", ValueError("bad"))
    assert b.check() == "LLM max calls reached (2 of 2 calls)"
    other = Budget()
    other.pause("stopped by the user")
    other.pause("a later reason")
    assert other.check() == "stopped by the user"


def test_consecutive_failures_pause_and_success_resets_the_streak() -> None:
    b = Budget(max_consecutive_failures=3)
    b.record_failure("a", "HTTP 500")
    b.record_failure("a", "HTTP 500")
    b.record_success("a", Usage(), "m")
    b.record_failure("a", "HTTP 502")
    b.record_failure("b", "invalid answer", usage=Usage(10, 10), model="gpt-4o-mini")
    assert b.check() is None
    b.record_failure("a", "HTTP 401")
    reason = b.check()
    assert reason == "3 consecutive LLM failures (last: HTTP 401)"
    b.record_success("a", Usage(), "m")  # a late success does not lift the kill switch
    assert b.check() == reason and b.summary()["agents"]["b"]["tokens"] == 20


def test_daily_limit_is_shared_through_the_ledger(tmp_path: Path) -> None:
    ledger = daily_ledger_path(tmp_path)
    assert ledger == tmp_path / DAILY_LEDGER_FILENAME
    first, second = Budget(daily_limit=3, daily_ledger=ledger), Budget(daily_limit=3, daily_ledger=ledger)
    first.record_success("a", Usage(1, 1), "m")
    second.record_success("b", Usage(1, 1), "m")
    assert first.check() is None and second.check() is None
    first.record_failure("a", "HTTP 503")
    for b in (first, second):
        reason = b.check()
        assert reason is not None and "daily LLM call limit reached (3 of 3 calls today" in reason
        assert str(ledger) in reason
    doc = json.loads(ledger.read_text())
    assert sum(doc["days"][next(iter(doc["days"]))].values()) == 3
    assert Budget(daily_limit=4, daily_ledger=ledger).check() is None  # a new run with a higher limit


def test_daily_ledger_counts_other_processes(tmp_path: Path) -> None:
    ledger = daily_ledger_path(tmp_path)
    code = f"from alphamine.llm.budget import DailyCallLedger; DailyCallLedger({str(ledger)!r}).record(2)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)
    b = Budget(daily_limit=3, daily_ledger=ledger)
    assert b.check() is None
    b.record_success("a", Usage(), "m")
    assert b.check() is not None
    assert len(json.loads(ledger.read_text())["days"].popitem()[1]) == 2  # two processes' entries


def test_without_a_ledger_the_daily_limit_counts_this_process() -> None:
    b = Budget(daily_limit=1)
    b.record_success("a", Usage(), "m")
    assert b.check() == "daily LLM call limit reached (1 of 1 calls today (this process))"


def test_concurrent_records_are_all_counted(tmp_path: Path) -> None:
    b = Budget(daily_ledger=daily_ledger_path(tmp_path), daily_limit=10_000)

    def work(agent: str) -> None:
        for _ in range(25):
            b.record_success(agent, Usage(2, 1), "gpt-4o-mini")

    threads = [threading.Thread(target=work, args=(f"agent{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.summary()["calls"] == 200 and b.summary()["tokens"] == 600
    assert DailyCallLedger(daily_ledger_path(tmp_path)).total() == 200


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="token_budget"):
        Budget(token_budget=-1)
    with pytest.raises(ValueError, match="max_consecutive_failures"):
        Budget(max_consecutive_failures=0)

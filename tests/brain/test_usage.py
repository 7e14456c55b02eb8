"""The daily usage ledger (summed over real processes), the per-run SimulationBudget, and the
`alphamine usage` command."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from alphamine.brain.leases import LeaseFile
from alphamine.brain.usage import FILENAME, SharedSimulationBudget, SimulationBudget, UsageLedger, budget_path
from alphamine.cli.platform_cmd import usage
from tests.brain.test_client_support import run_python

pytestmark = pytest.mark.timeout(120)

RECORDER = """
import sys
from alphamine.brain.usage import UsageLedger
ledger = UsageLedger(sys.argv[1])
for _ in range(int(sys.argv[2])):
    ledger.record(1)
print(ledger.process)
"""


def test_record_and_total_by_local_date(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path, host="box")
    assert ledger.total() == 0 and not (tmp_path / FILENAME).exists()
    assert ledger.record(3) == 3 and ledger.record(2) == 5
    other = UsageLedger(tmp_path, host="other-box")
    assert other.record(4) == 9  # the day's total over every process
    today = dt.date.today()
    earlier = (today - dt.timedelta(days=3)).isoformat()
    assert ledger.record(7, day=earlier) == 7
    assert ledger.total() == ledger.total(today) == ledger.total(today.isoformat()) == 9
    assert ledger.by_process() == {ledger.process: 5, other.process: 4}
    assert list(ledger.days().items()) == [(earlier, 7), (today.isoformat(), 9)]
    assert ledger.total(earlier) == 7 and ledger.total("1999-01-01") == 0
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        ledger.total("yesterday")
    with pytest.raises(ValueError):
        ledger.record(-1)


def test_old_days_are_dropped(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path, keep_days=30)
    old = (dt.date.today() - dt.timedelta(days=31)).isoformat()
    ledger.record(5, day=old)  # dropped by this very write: older than 30 days
    ledger.record(1)
    assert old not in ledger.days() and ledger.total() == 1


def test_two_processes_sum_in_one_ledger(tmp_path: Path) -> None:
    children = [run_python(RECORDER, str(tmp_path), "40") for _ in range(2)]
    names = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        names.append(out.strip())
    ledger = UsageLedger(tmp_path)
    assert ledger.total() == 80  # no lost update under concurrent writes
    assert ledger.by_process() == {names[0]: 40, names[1]: 40}


def test_the_budget_never_overshoots(tmp_path: Path) -> None:
    budget = SimulationBudget(25)
    granted: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(10):
            g = budget.take(3)
            with lock:
                granted.append(g)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(granted) == 25 and budget.exhausted and budget.remaining == 0 and budget.take(1) == 0
    budget.refund(5)
    assert budget.remaining == 5 and not budget.exhausted
    unlimited = SimulationBudget(None)
    assert unlimited.take(10**6) == 10**6 and unlimited.remaining is None and not unlimited.exhausted
    with pytest.raises(ValueError):
        SimulationBudget(-1)


TAKER = """
import sys
from alphamine.brain.usage import SharedSimulationBudget
budget = SharedSimulationBudget(sys.argv[1], "run one", 50)
print(sum(budget.take(3) for _ in range(30)))
"""


def test_a_shared_budget_is_one_budget_for_every_process_of_a_run(tmp_path: Path) -> None:
    """Three worker processes of one run take from one budget of 50: exactly 50 granted in all."""
    children = [run_python(TAKER, str(tmp_path)) for _ in range(3)]
    granted = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        granted.append(int(out.strip()))
    assert sum(granted) == 50
    here = SharedSimulationBudget(tmp_path, "run one", 50)
    assert here.used == 50 and here.exhausted and here.take(1) == 0
    here.refund(4)  # a rejected POST gives back to every process
    assert SharedSimulationBudget(tmp_path, "run one", 50).remaining == 4
    other = SharedSimulationBudget(tmp_path, "run two", 50)  # another run: its own budget
    assert other.used == 0 and other.take(60) == 50


def test_a_shared_budget_counts_what_the_store_says_was_spent(tmp_path: Path) -> None:
    resumed = SharedSimulationBudget(tmp_path, "r/1", 20, spent=12)  # a resume: 12 URLs in the store
    assert resumed.used == 12 and resumed.take(100) == 8
    again = SharedSimulationBudget(tmp_path, "r/1", 20, spent=5)  # never below what was counted
    assert again.used == 20 and again.take(1) == 0
    assert budget_path(tmp_path, "r/1") != budget_path(tmp_path, "r_1")  # ids never share a file
    assert budget_path(tmp_path, "r/1").parent == tmp_path / "run_budgets"


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(usage)

    @app.command()
    def other() -> None:  # a second command keeps `usage` a named subcommand
        """unused"""

    return app


def test_the_usage_command(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(_app(), ["usage", "--runtime-root", str(tmp_path / "nowhere")])
    assert empty.exit_code == 0, empty.output
    assert "BRAIN simulations on" in empty.output and ": 0" in empty.output and "nothing" in empty.output
    assert not (tmp_path / "nowhere").exists()  # reading creates nothing
    UsageLedger(tmp_path, host="alpha").record(12)
    UsageLedger(tmp_path, host="beta").record(3, day="2026-02-03")
    leases = LeaseFile(tmp_path, capacity=10, renew=False)
    leases.acquire(4)
    shown = runner.invoke(_app(), ["usage", "--runtime-root", str(tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert ": 12" in shown.output and "alpha:" in shown.output and "4/10 slots" in shown.output
    as_json = runner.invoke(_app(), ["usage", "--runtime-root", str(tmp_path), "--date", "2026-02-03", "--json"])
    body = json.loads(as_json.output)
    assert body["date"] == "2026-02-03" and body["total"] == 3 and list(body["byProcess"].values()) == [3]
    assert [x["slots"] for x in body["leases"]] == [4]
    bad = runner.invoke(_app(), ["usage", "--runtime-root", str(tmp_path), "--date", "03/02/2026"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output
    leases.close()

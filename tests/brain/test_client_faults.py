"""Fault storms: 30 % of requests answered 429, 10 % 5xx, every session expired every 20 requests.
Every simulation must still be accounted for exactly once, with the numbers of a fault-free run."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphamine.backends import LocalBackend
from alphamine.backends.brain import BrainBackend
from alphamine.brain.leases import LeaseFile
from alphamine.brain.usage import UsageLedger
from alphamine.data.synthetic import synthetic
from alphamine.sim.batch import SimSpec
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from tests.brain.test_client_support import brain_server, fast_client, needs_server, stats, user_stats

pytestmark = [needs_server, pytest.mark.timeout(240)]

STORM = "429=0.3,500=0.1,expire=20,latency=0.002"
SETTINGS = make_settings({"universe": "TOP40"})
EXPRESSIONS = [
    "rank(-ts_delta(close, 5))", "rank(-returns)", "rank(volume)", "ts_mean(returns, 5)", "rank(open - close)",
    "-ts_rank(close, 10)", "rank(high - low)", "ts_std_dev(returns, 10)", "rank(-ts_sum(returns, 3))",
    "zscore(close)", "rank(vwap)", "ts_delta(volume, 3)",
]


def test_a_sequential_client_survives_the_storm(tmp_path: Path) -> None:
    panel = synthetic(40, 300)
    with brain_server(panel, tmp_path / "s.sqlite3", faults=STORM, seed=1) as url, fast_client(url) as client:
        outcomes = client.multi_simulate([(e, SETTINGS) for e in EXPRESSIONS[:4]])
        assert all(o.ok for o in outcomes)
        for o in outcomes:
            assert o.alpha_id and client.check(o.alpha_id)
            assert client.alpha_result(o.alpha_id, settings=SETTINGS).daily_pnl.size > 0
        single = client.simulate(EXPRESSIONS[4], SETTINGS)
        assert single.ok
        counts = stats(url)["faults"]
        assert counts.get("429", 0) > 0 and counts.get("500", 0) > 0 and counts.get("expired", 0) > 0
        assert user_stats(url)["simulations"] == 5  # an injected answer never created anything
        assert client.logins >= 2


def test_the_backend_accounts_for_every_simulation_in_a_storm(tmp_path: Path) -> None:
    panel = synthetic(40, 300)
    specs = [SimSpec(e, SETTINGS) for e in EXPRESSIONS]
    expected = LocalBackend(panel, workers=1).simulate_many(specs)
    root = tmp_path / "root"
    with brain_server(panel, tmp_path / "s.sqlite3", faults=STORM, seed=3) as url:
        client = fast_client(url)
        submitted: dict[int, str] = {}
        with BrainBackend(client, leases=LeaseFile(root, poll_interval=0.02), usage=UsageLedger(root),
                          batch_size=3, concurrency=2, on_submitted=submitted.__setitem__) as backend:
            out = backend.simulate_many(specs)
        assert sorted(submitted) == list(range(len(specs))) and len(set(submitted.values())) == 4
        for spec, got, want in zip(specs, out, expected, strict=True):
            assert isinstance(got, SimResult) and isinstance(want, SimResult), spec.expression
            got.metrics["is"].pop("alphaId")
            assert got.metrics["is"] == want.metrics["is"] and got.checks == want.checks
        assert user_stats(url)["simulations"] == len(specs)  # each exactly once on the platform
        assert UsageLedger(root).total() == len(specs)
        faults = stats(url)["faults"]
        assert faults.get("429", 0) >= 10 and faults.get("500", 0) >= 3 and faults.get("expired", 0) >= 2
        assert client.logins >= 3

"""BrainBackend: the Backend protocol over real HTTP to the local BRAIN-compatible server, with the
lease file, usage ledger and budget on a temporary runtime root."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alphamine.backends import Backend, LocalBackend
from alphamine.backends.brain import BUDGET_SPENT, BrainBackend, ChecksUnavailable
from alphamine.brain.client import BrainQuotaExceeded
from alphamine.brain.leases import LeaseFile
from alphamine.brain.retry import CircuitBreaker
from alphamine.brain.usage import SimulationBudget, UsageLedger
from alphamine.data.fields import FieldType
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.sim.batch import SimFailure, SimSpec
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from tests.brain.test_client_support import brain_server, fast_client, needs_server, user_stats

pytestmark = [needs_server, pytest.mark.timeout(180)]

BASE = make_settings({"universe": "TOP40"})


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(40, 300)


@pytest.fixture(scope="module")
def base_url(panel: Panel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with brain_server(panel, tmp_path_factory.mktemp("brain") / "server.sqlite3") as url:
        yield url


def make_backend(url: str, root: Path, **options: Any) -> BrainBackend:
    capacity = options.pop("capacity", 80)
    leases = LeaseFile(root, capacity=capacity, poll_interval=0.02)
    client = fast_client(url, **options.pop("client", {}))
    return BrainBackend(client, leases=leases, usage=UsageLedger(root), **options)


def specs_of(*items: tuple[str, dict[str, Any]]) -> list[SimSpec]:
    return [SimSpec(e, BASE.with_(**extra)) for e, extra in items]


def test_the_protocol_and_what_the_platform_offers(base_url: str, panel: Panel, tmp_path: Path) -> None:
    with make_backend(base_url, tmp_path) as backend:
        assert isinstance(backend, Backend) and backend.name == "brain" and backend.fingerprint() is None
        assert list(backend.regions()) == ["USA"]
        assert list(backend.universes()) == list(LocalBackend(panel, workers=1).universes())
        catalogue = backend.catalogue()
        expected = {n for n, i in panel.catalogue.items() if i.type != FieldType.UNIVERSE}
        assert set(catalogue) == expected
        assert catalogue["close"].type == FieldType.MATRIX and catalogue["sector"].type == FieldType.GROUP
        assert backend.universe == "TOP40"


def test_outcomes_match_the_local_backend_in_spec_order(base_url: str, panel: Panel, tmp_path: Path) -> None:
    specs = specs_of(
        ("rank(-ts_delta(close, 5))", {}),
        ("group_neutralize(rank(-returns), industry)", {"decay": 3, "neutralization": "SECTOR"}),
        ("nosuchfield + 1", {}),
        ("ts_corr(rank(open), rank(volume), 10)", {"universe": "TOP20"}),
        ("rank(close", {}),
        ("rank(volume)", {"delay": 0}),  # another delay: never in the same multi-simulation
        ("rank(-returns)", {"delay": 0, "decay": 2}),
        ("ts_mean(returns, 5)", {}),
    )
    ticks: list[tuple[int, int]] = []
    before = user_stats(base_url)["simulations"]
    with make_backend(base_url, tmp_path, batch_size=3, concurrency=2) as backend:
        remote = backend.simulate_many(specs, progress=lambda done, total, _o: ticks.append((done, total)))
    local = LocalBackend(panel, workers=1).simulate_many(specs)
    assert ticks == [(k, len(specs)) for k in range(1, len(specs) + 1)]
    for spec, r, x in zip(specs, remote, local, strict=True):
        assert type(r) is type(x), spec.expression
        if isinstance(r, SimResult) and isinstance(x, SimResult):
            alpha_id = r.metrics["is"].pop("alphaId")
            assert isinstance(alpha_id, str) and len(alpha_id) == 8
            assert r.metrics["is"] == x.metrics["is"] and r.checks == x.checks
            assert (r.expression, r.settings) == (spec.expression, spec.settings)
        else:
            assert isinstance(r, SimFailure) and r.error.startswith("ERROR: ") and r.settings == spec.settings
    assert "nosuchfield" in remote[2].error  # type: ignore[union-attr]
    assert UsageLedger(tmp_path).total() == user_stats(base_url)["simulations"] - before  # the platform's count


def test_cancelled_siblings_are_simulated_again(base_url: str, tmp_path: Path) -> None:
    specs = specs_of(("rank(open)", {}), ("undefined_thing * 2", {}), ("rank(high)", {}), ("rank(low)", {}))
    before = user_stats(base_url)["simulations"]
    with make_backend(base_url, tmp_path, batch_size=4, concurrency=1) as backend:
        out = backend.simulate_many(specs)
    assert [type(o).__name__ for o in out] == ["SimResult", "SimFailure", "SimResult", "SimResult"]
    assert user_stats(base_url)["simulations"] - before == 4 + 3  # the multi, then the 3 cancelled again
    assert UsageLedger(tmp_path).total() == 7


def test_the_budget_caps_platform_simulations(base_url: str, tmp_path: Path) -> None:
    budget = SimulationBudget(3)
    specs = specs_of(*[(f"rank(close) + {k}", {}) for k in range(5)])
    before = user_stats(base_url)["simulations"]
    with make_backend(base_url, tmp_path, budget=budget, batch_size=2, concurrency=1) as backend:
        out = backend.simulate_many(specs)
    assert [isinstance(o, SimResult) for o in out] == [True, True, True, False, False]
    assert out[4].error == BUDGET_SPENT.format(n=3)  # type: ignore[union-attr]
    assert budget.used == 3 and budget.exhausted
    assert user_stats(base_url)["simulations"] - before == 3


def test_submitted_urls_let_a_new_process_reattach(base_url: str, tmp_path: Path) -> None:
    specs = specs_of(("rank(close) * 2", {}), ("rank(open) * 2", {}), ("rank(high) * 2", {}))
    seen: dict[int, str] = {}
    with make_backend(base_url, tmp_path, batch_size=2, concurrency=2,
                      on_submitted=lambda i, url: seen.__setitem__(i, url)) as backend:
        first = backend.simulate_many(specs)
    assert sorted(seen) == [0, 1, 2] and seen[0] == seen[1] != seen[2]
    posts = user_stats(base_url)["postsByPath"]["/simulations"]
    with make_backend(base_url, tmp_path) as resumed:  # as after a crash: nothing is posted again
        again = resumed.simulate_many(specs, attached=seen)
    assert user_stats(base_url)["postsByPath"]["/simulations"] == posts
    assert [o.metrics["is"]["alphaId"] for o in again] == [o.metrics["is"]["alphaId"] for o in first]  # type: ignore[union-attr]
    assert UsageLedger(tmp_path).total() == 3  # recorded once, at the POST


def test_posts_a_killed_process_never_recorded_are_found_not_posted_again(base_url: str, tmp_path: Path) -> None:
    """A process posts, the platform accepts, the process dies before it records the URL: a new process
    told only when the POST began finds the alphas among the account's alphas and posts nothing."""
    # the last one asks for a universe this server does not offer: a synchronous 400
    specs = specs_of(("rank(close) * 3", {"decay": 4}), ("rank(open) * 3", {}), ("rank(close) * 3", {"decay": 5}),
                     ("rank(close) * 3", {"universe": "TOP3000"}))  # fmt: skip
    intents: list[tuple[list[int], float | None]] = []
    with make_backend(base_url, tmp_path, batch_size=2, concurrency=1,
                      on_posting=lambda idx, when: intents.append((list(idx), when))) as backend:
        first = backend.simulate_many(specs)
    assert isinstance(first[3], SimFailure) and "rejected by the platform" in first[3].error
    assert intents[-1] == ([3], None)  # a synchronous rejection is answered: nothing of it runs
    assert [i for idx, w in intents if w is not None for i in idx] == [0, 1, 2, 3]
    unsure = {i: when for idx, when in intents[:-1] if when is not None for i in idx if i != 3}
    first = first[:3]
    specs = specs[:3]
    posts = user_stats(base_url)["postsByPath"]["/simulations"]
    with make_backend(base_url, tmp_path, reconcile_wait=30) as resumed:
        again = resumed.simulate_many(specs, unsure=unsure)
    assert user_stats(base_url)["postsByPath"]["/simulations"] == posts
    ids = [o.metrics["is"]["alphaId"] for o in first]  # type: ignore[union-attr]
    assert len(set(ids)) == 3 and [o.metrics["is"]["alphaId"] for o in again] == ids  # type: ignore[union-attr]
    assert [o.metrics["is"]["sharpe"] for o in again] == [o.metrics["is"]["sharpe"] for o in first]  # type: ignore[union-attr]


def test_a_post_that_never_reached_the_platform_is_posted_after_the_wait(base_url: str, tmp_path: Path) -> None:
    specs = specs_of(("rank(volume) * 7", {}), ("rank(open) * 3", {}), ("rank(low) * 7", {"decay": 2}))
    with make_backend(base_url, tmp_path, concurrency=1) as backend:
        backend.simulate_many(specs[1:2])  # simulated before: found, not posted
    posts = user_stats(base_url)["postsByPath"]["/simulations"]
    t0 = time.monotonic()
    with make_backend(base_url, tmp_path, batch_size=1, concurrency=2, reconcile_wait=1.0, reconcile_poll=0.2) as b:
        out = b.simulate_many(specs, unsure={0: time.time(), 1: time.time() - 60})
    assert 1.0 <= time.monotonic() - t0 < 30
    assert all(isinstance(o, SimResult) for o in out)
    assert user_stats(base_url)["postsByPath"]["/simulations"] - posts == 2  # spec 0 after the wait, spec 2 at once


def test_batches_are_trimmed_to_the_free_lease_slots(panel: Panel, tmp_path: Path) -> None:
    specs = specs_of(*[(f"ts_mean(close, {k + 2})", {}) for k in range(6)])
    with brain_server(panel, tmp_path / "s.sqlite3", slow=0.1, max_concurrent=20) as url:
        with make_backend(url, tmp_path / "root", capacity=2, batch_size=5, concurrency=3) as backend:
            out = backend.simulate_many(specs)
            assert backend.leases.live() == []  # every lease released
        assert all(isinstance(o, SimResult) for o in out)
        assert user_stats(url)["simulations"] == 6 and user_stats(url)["maxConcurrent"] <= 2


def test_account_failures_raise_and_release_everything(panel: Panel, tmp_path: Path) -> None:
    budget = SimulationBudget(100)
    specs = specs_of(*[(f"rank(volume) + {k}", {}) for k in range(6)])
    with brain_server(panel, tmp_path / "s.sqlite3", daily_quota=4) as url:
        backend = make_backend(url, tmp_path / "root", budget=budget, batch_size=2, concurrency=1)
        with pytest.raises(BrainQuotaExceeded):
            backend.simulate_many(specs)
        assert budget.used == 4 and backend.leases.live() == []
        assert UsageLedger(tmp_path / "root").total() == 4
        backend.close()
        backend.close()  # idempotent
        with pytest.raises(RuntimeError, match="closed"):
            backend.simulate_many(specs)


def test_checks_come_from_the_platform_or_are_unavailable(base_url: str, tmp_path: Path) -> None:
    with make_backend(base_url, tmp_path) as backend:
        result = backend.simulate_many(specs_of(("rank(-returns) * 3", {})))[0]
        assert isinstance(result, SimResult)
        checks = backend.checks(result.metrics["is"]["alphaId"])
        assert checks and {c["name"] for c in checks} >= {"LOW_SHARPE", "SELF_CORRELATION"}
        with pytest.raises(ChecksUnavailable, match="NoSuchId"):
            backend.checks("NoSuchId")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    quick = CircuitBreaker(threshold=2, pause=0.01, pause_budget=0.02)
    offline = make_backend(dead, tmp_path, client={"breaker": quick})
    with offline, pytest.raises(ChecksUnavailable, match="unavailable"):
        offline.checks("Ab12Cd34")

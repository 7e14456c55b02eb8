"""BrainClient over real HTTP against the local BRAIN-compatible server: every endpoint the client
uses, the numbers it maps, and its session, quota, concurrency and outage behaviour."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphamine.brain.client import BrainAuthError, BrainClient, BrainHTTPError, BrainQuotaExceeded, BrainUnavailable
from alphamine.brain.mapping import CHECK_NAMES
from alphamine.brain.retry import CircuitBreaker
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.sim.batch import SimSpec, simulate_many
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings
from tests.brain.test_client_support import EMAIL, brain_server, fast_client, needs_server, user_stats

pytestmark = [needs_server, pytest.mark.timeout(180)]

SETTINGS = make_settings({"universe": "TOP40"})


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(40, 300)


@pytest.fixture(scope="module")
def base_url(panel: Panel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with brain_server(panel, tmp_path_factory.mktemp("brain") / "server.sqlite3") as url:
        yield url


@pytest.fixture()
def client(base_url: str, tmp_path: Path) -> Iterator[BrainClient]:
    with fast_client(base_url, cache_dir=tmp_path / "cache") as c:
        yield c


def _local(panel: Panel, expression: str) -> SimResult:
    out = simulate_many([SimSpec(expression, SETTINGS)], panel, workers=1)[0]
    assert isinstance(out, SimResult)
    return out


def test_login_gives_a_session(client: BrainClient) -> None:
    body = client.login()
    assert set(body) >= {"user", "token", "permissions"} and "MULTI_SIMULATION" in body["permissions"]
    assert client.logins == 1
    assert repr(client) == f"BrainClient({client.base_url!r}, email={EMAIL!r})"


def test_one_simulation_maps_to_the_local_numbers(client: BrainClient, panel: Panel) -> None:
    expression = "rank(-ts_delta(close, 5))"
    outcome = client.simulate(expression, SETTINGS)
    assert outcome.ok and outcome.status == "COMPLETE" and outcome.alpha_id
    assert outcome.url.startswith(client.base_url + "/simulations/")
    remote = client.alpha_result(outcome.alpha_id, settings=SETTINGS)
    local = _local(panel, expression)
    assert remote.expression == expression and remote.settings == SETTINGS
    assert remote.metrics["is"] == local.metrics["is"]  # the very floats, through JSON
    assert remote.checks == local.checks
    assert remote.yearly_rows == local.yearly_rows
    first = local.periods.first
    np.testing.assert_array_equal(remote.dates, local.dates[first:])
    np.testing.assert_array_equal(remote.daily_pnl, local.daily_pnl[first:])
    alpha = client.get_alpha(outcome.alpha_id)
    assert alpha["id"] == outcome.alpha_id and alpha["status"] == "UNSUBMITTED"


def test_multi_simulation_reports_its_url_first_and_locates_errors(client: BrainClient) -> None:
    events: list[tuple[int, str]] = []
    items = [("rank(close)", SETTINGS), ("nosuchfield + 1", SETTINGS), ("rank(volume)", SETTINGS)]
    outcomes = client.multi_simulate(items, on_submitted=lambda i, url: events.append((i, url)))
    assert [i for i, _ in events] == [0, 1, 2] and len({u for _, u in events}) == 1
    parent = events[0][1]
    assert [o.status for o in outcomes] == ["CANCELLED", "ERROR", "CANCELLED"]  # the platform's rule
    error = outcomes[1]
    assert "nosuchfield" in (error.message or "") and error.location and error.location["start"] == 0
    assert error.error_text().startswith("ERROR: ") and "(at line 1, characters 0-" in error.error_text()
    assert all(o.url.rsplit("/", 1)[0] == parent.rsplit("/", 1)[0] for o in outcomes)


def test_a_recorded_simulation_url_can_be_reattached(client: BrainClient, base_url: str) -> None:
    started = client.start_simulations([("rank(open)", SETTINGS), ("rank(high)", SETTINGS)])
    assert started.url is not None and started.accepted == (0, 1) and not started.rejected
    with fast_client(base_url) as other:  # e.g. a resumed process with a fresh session
        again = other.wait_simulation(started.url)
    first = client.wait_simulation(started.url)
    assert [o.alpha_id for o in again] == [o.alpha_id for o in first] and all(o.ok for o in first)


def test_a_synchronous_400_rejects_only_the_items_it_names(client: BrainClient, base_url: str) -> None:
    before = user_stats(base_url)["postsByPath"].get("/simulations", 0)
    bad = make_settings({"universe": "TOP3000"})  # valid for BRAIN, not offered by this server
    items = [("rank(close)", SETTINGS), ("rank(close)", bad), ("rank(low)", make_settings({"universe": "TOP20"}))]
    outcomes = client.multi_simulate(items)
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].error_text() == 'ERROR: settings: universe: "TOP3000" is not a valid choice.'
    assert user_stats(base_url)["postsByPath"]["/simulations"] - before == 2  # rejected, then the good two
    single = client.simulate("rank(close)", bad)
    assert not single.ok and "TOP3000" in single.error_text()


def test_checks_record_sets_and_correlations(client: BrainClient) -> None:
    outcome = client.simulate("rank(-returns)", SETTINGS)
    assert outcome.alpha_id
    checks = client.check(outcome.alpha_id)
    names = [c["name"] for c in checks]
    own = {"STALE_DATA"}  # alphamine's own check (sim.staleness), added to every local simulation
    assert set(names) - own <= CHECK_NAMES and "SELF_CORRELATION" in names and "LOW_SHARPE" in names
    assert {c["name"]: c["result"] for c in checks}["SELF_CORRELATION"] == "PASS"  # computed by /check
    yearly = client.yearly_stats(outcome.alpha_id)
    assert yearly and {"year", "sharpe", "stage"} <= set(yearly[0])
    series = client.daily_pnl(outcome.alpha_id)
    assert series is not None and series[0].size == series[1].size > 200
    assert client.recordset(outcome.alpha_id, "coverage-by-sector") is None  # not produced: None, not an error
    assert client.correlation(outcome.alpha_id, "self") is None  # the local server has no correlation endpoints
    with pytest.raises(ValueError, match="correlation kind"):
        client.correlation(outcome.alpha_id, "team")
    with pytest.raises(BrainHTTPError, match=r"HTTP 404: Not found\.") as e:
        client.get_alpha("NoSuchId")
    assert e.value.status == 404


def test_listings_are_paged_and_cached_per_day(panel: Panel, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "2000-01-01").mkdir(parents=True)  # an earlier day's listings: stale, dropped
    (cache / "2000-01-01" / "data-fields-0.json").write_text("[]")
    scope: dict[str, Any] = {"region": "USA", "delay": 1, "universe": "TOP40"}
    with brain_server(panel, tmp_path / "s.sqlite3") as url, fast_client(url, cache_dir=cache) as c:
        c.page_limit = 5  # 24 fields -> 5 pages
        fields = c.data_fields(**scope)
        assert len(fields) == len(panel.catalogue) and len({f["id"] for f in fields}) == len(fields)
        only_pv = c.data_fields(**scope, filters={"dataset.id": "pv1"})
        assert only_pv and all(f["dataset"]["id"] == "pv1" for f in only_pv)
        sets = c.data_sets(**scope)
        ops = c.operators()
        options = c.simulation_options()
        assert {s["id"] for s in sets} >= {"pv1"} and len(ops) > 100 and {"name", "definition"} <= set(ops[0])
        assert "actions" in options
    assert len(list(cache.glob("*/*.json"))) == 5 and not (cache / "2000-01-01").exists()
    # the server is gone: the same day's listings come from the disk cache, anything else fails fast
    quick = CircuitBreaker(threshold=2, pause=0.01, pause_budget=0.02)
    with fast_client(url, cache_dir=cache, breaker=quick) as offline:
        assert offline.data_fields(**scope) == fields and offline.operators() == ops
        assert offline.data_sets(**scope) == sets and offline.simulation_options() == options
        with pytest.raises(BrainUnavailable):
            offline.data_fields(region="USA", delay=0, universe="TOP40")


def test_a_wrong_password_is_a_final_error(base_url: str) -> None:
    before = user_stats(base_url)["postsByPath"].get("/authentication", 0)
    started = time.monotonic()
    with fast_client(base_url, password="not-the-password") as c, pytest.raises(BrainAuthError) as e:
        c.simulate("rank(close)", SETTINGS)
    assert time.monotonic() - started < 5
    assert EMAIL in str(e.value) and "refused the credentials" in str(e.value)
    assert user_stats(base_url)["postsByPath"]["/authentication"] - before == 1  # no retry loop


def test_expired_sessions_are_renewed(panel: Panel, tmp_path: Path) -> None:
    with brain_server(panel, tmp_path / "s.sqlite3", faults="expire=4") as url, fast_client(url) as c:
        outcome = c.simulate("rank(-returns)", SETTINGS)
        assert outcome.ok and outcome.alpha_id
        assert c.alpha_result(outcome.alpha_id, settings=SETTINGS).metrics["is"]["sharpe"] == pytest.approx(
            c.get_alpha(outcome.alpha_id)["is"]["sharpe"])
        assert c.check(outcome.alpha_id)
        assert c.logins >= 3


def test_sessions_are_renewed_proactively(base_url: str) -> None:
    with fast_client(base_url, reauth_interval=0.2) as c:
        c.login()
        c.get_alpha(c.simulate("rank(close)", SETTINGS).alpha_id or "")
        logins = c.logins
        time.sleep(0.25)  # a session older than reauth_interval is renewed before the next request
        c.operators()
        assert c.logins == logins + 1


def test_the_daily_quota_is_a_final_error(panel: Panel, tmp_path: Path) -> None:
    with brain_server(panel, tmp_path / "s.sqlite3", daily_quota=2) as url, fast_client(url) as c:
        assert c.multi_simulate([("rank(close)", SETTINGS), ("rank(open)", SETTINGS)])[1].ok
        with pytest.raises(BrainQuotaExceeded, match="Daily simulation limit reached"):
            c.simulate("rank(high)", SETTINGS)
        assert user_stats(url)["postsByPath"]["/simulations"] == 2


def test_the_concurrency_limit_is_waited_out_not_counted_as_failure(panel: Panel, tmp_path: Path) -> None:
    with brain_server(panel, tmp_path / "s.sqlite3", max_concurrent=1, slow=0.3) as url:
        clients = [fast_client(url) for _ in range(3)]
        results: dict[int, bool] = {}

        def work(k: int) -> None:
            results[k] = clients[k].simulate(f"rank(close) * {k + 1}", SETTINGS).ok

        threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {0: True, 1: True, 2: True}
        assert user_stats(url)["maxConcurrent"] == 1 and user_stats(url)["simulations"] == 3
        assert all(c.breaker.opened == 0 for c in clients)
        for c in clients:
            c.close()


def test_an_unreachable_platform_ends_in_brain_unavailable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    breaker = CircuitBreaker(threshold=3, pause=0.05, pause_budget=0.1)
    started = time.monotonic()
    with fast_client(f"http://127.0.0.1:{port}", breaker=breaker) as c, pytest.raises(BrainUnavailable) as e:
        c.simulate("rank(close)", SETTINGS)
    assert time.monotonic() - started < 10
    assert "ConnectError" in str(e.value) and "/authentication" in str(e.value)
    assert breaker.opened >= 1


def test_locations_stay_on_the_clients_origin(base_url: str) -> None:
    with fast_client(base_url) as c:
        port = base_url.rsplit(":", 1)[1]
        assert c._resolve("/simulations/abc") == f"{base_url}/simulations/abc"
        assert c._resolve(f"http://127.0.0.1:{port}/simulations/abc") == f"{base_url}/simulations/abc"
        # BRAIN once answered `http://host:443/...` for its https API: keep our scheme and port
        assert c._resolve("http://127.0.0.1:443/alphas/x/submit") == f"{base_url}/alphas/x/submit"

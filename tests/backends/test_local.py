"""LocalBackend: the Backend protocol over `simulate_many`, with identical numbers."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from alphamine.backends import Backend, LocalBackend
from alphamine.data.panel import Panel
from alphamine.data.synthetic import synthetic
from alphamine.sim.batch import SimFailure, SimSpec, simulate_many, worker_pids
from alphamine.sim.result import SimResult
from alphamine.sim.settings import make_settings

EXPRESSIONS: list[tuple[str, dict[str, Any]]] = [
    ("rank(-ts_delta(close, 5))", {}),
    ("group_neutralize(rank(-returns), industry)", {"decay": 3, "neutralization": "SECTOR"}),
    ("nosuchfield + 1", {}),
    ("ts_corr(rank(open), rank(volume), 10)", {"universe": "TOP20"}),
    ("rank(close", {}),
]


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic(40, 300)


def _specs() -> list[SimSpec]:
    base = make_settings({"universe": "TOP40"})
    return [SimSpec(e, base.with_(**extra)) for e, extra in EXPRESSIONS]


def _same(a: SimResult | SimFailure, b: SimResult | SimFailure) -> None:
    assert type(a) is type(b)
    if isinstance(a, SimFailure):
        assert isinstance(b, SimFailure)
        assert a.error == b.error
        return
    assert isinstance(b, SimResult)
    assert a.metrics == b.metrics
    assert a.checks == b.checks
    assert a.yearly_rows == b.yearly_rows
    np.testing.assert_array_equal(a.daily_pnl, b.daily_pnl)
    assert a.to_json() == b.to_json()


def test_protocol_and_descriptors(panel: Panel) -> None:
    backend = LocalBackend(panel, workers=1)
    assert isinstance(backend, Backend)
    assert backend.name == "local"
    assert backend.catalogue() is panel.catalogue
    assert backend.universes() == ["TOP40", "TOP20", "TOP8"]  # largest first
    assert backend.regions() == ["USA"]
    assert LocalBackend(panel, region="eur").regions() == ["EUR"]
    assert backend.fingerprint() == panel.fingerprint()
    assert backend.checks("anything") is None
    with pytest.raises(ValueError, match="workers"):
        LocalBackend(panel, workers=0)


@pytest.mark.parametrize("workers", [1, 2])
def test_identical_to_direct_simulate_many(panel: Panel, workers: int) -> None:
    specs = _specs()
    direct = simulate_many(specs, panel, workers=1)
    seen: list[tuple[int, int]] = []
    with LocalBackend(panel, workers=workers) as backend:
        got = backend.simulate_many(specs, progress=lambda done, total, _o: seen.append((done, total)))
        if workers > 1:
            assert worker_pids()  # the fork pool is kept between calls ...
    assert worker_pids() == []  # ... until close()
    assert len(got) == len(specs)
    for a, b in zip(direct, got, strict=True):
        _same(a, b)
    assert isinstance(got[2], SimFailure) and "nosuchfield" in got[2].error
    assert isinstance(got[4], SimFailure)
    assert sorted(seen)[-1] == (len(specs), len(specs))


def test_threads_are_serialized(panel: Panel) -> None:
    """Two threads driving one backend (as the server's runner does) get the numbers of a lone call."""
    backend = LocalBackend(panel, workers=1)
    specs = _specs()[:2]
    expected = simulate_many(specs, panel, workers=1)
    out: list[list[SimResult | SimFailure]] = []

    def run() -> None:
        out.append(backend.simulate_many(specs))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(out) == 2
    for got in out:
        for a, b in zip(expected, got, strict=True):
            _same(a, b)


def test_close_is_idempotent_and_final(panel: Panel) -> None:
    backend = LocalBackend(panel, workers=1)
    backend.close()
    backend.close()
    with pytest.raises(RuntimeError, match="closed"):
        backend.simulate_many(_specs()[:1])


def test_backends_own_their_workers(panel: Panel) -> None:
    """Each backend owns a fork pool (issue 12): two of them keep their workers side by side, and one
    closing leaves the other's alone."""
    specs = _specs()
    expected = simulate_many(specs, panel, workers=1)
    with LocalBackend(panel, workers=2) as a, LocalBackend(panel, workers=2) as b:
        pa = a.start_workers()
        assert a.start_workers() == pa == a.worker_pids() and len(pa) == 2  # forked once
        b.simulate_many(specs)
        pb = b.worker_pids()
        assert len(pb) == 2 and not set(pa) & set(pb)
        a.close()
        assert a.worker_pids() == [] and b.worker_pids() == pb
        for x, y in zip(expected, b.simulate_many(specs), strict=True):
            _same(x, y)
        assert b.worker_pids() == pb
        with pytest.raises(RuntimeError, match="closed"):
            a.start_workers()
    assert LocalBackend(panel, workers=1).start_workers() == []  # one worker never forks


def test_small_batches_after_start_workers_reuse_them(panel: Panel) -> None:
    """The server forks up front and then hands the backend batches of any size (one multi-simulation,
    one simulation): none of them forks again."""
    with LocalBackend(panel, workers=3) as backend:
        pids = backend.start_workers()
        for specs in (_specs()[:1], _specs()[:2], _specs()):
            got = backend.simulate_many(specs)
            for a, b in zip(simulate_many(specs, panel, workers=1), got, strict=True):
                _same(a, b)
            assert backend.worker_pids() == pids

"""simulate_many: identical numbers with 1 or N workers, failures isolated, order kept."""

from __future__ import annotations

import numpy as np

from alphamine.sim.batch import SimFailure, simulate_many
from alphamine.sim.result import SimResult
from tests.sim.conftest import small_market

EXPRS = [
    "rank(-ts_delta(close, 5))",
    "group_neutralize(rank(-ts_delta(close, 5)), industry)",
    "nosuchfield + 1",
    "ts_corr(rank(open), rank(volume), 10)",
    ("rank(-returns)", {"decay": 4, "neutralization": "SECTOR"}),
    ("rank(close)", {"delay": 7}),
    "-ts_rank(volume / adv20, 10)",
]


def _key(r: SimResult | SimFailure) -> object:
    if isinstance(r, SimFailure):
        return ("fail", r.error)
    return (r.expression, r.metrics["is"]["sharpe"], tuple(r.daily_pnl.tolist()))


def test_one_and_many_workers_agree_and_failures_are_isolated() -> None:
    panel = small_market(2)
    seen: list[int] = []
    one = simulate_many(EXPRS, panel, {"universe": "TOP24"}, workers=1, progress=lambda d, t, r: seen.append(d))
    many = simulate_many(EXPRS, panel, {"universe": "TOP24"}, workers=2)
    assert [_key(r) for r in one] == [_key(r) for r in many]
    assert len(one) == len(EXPRS)
    assert isinstance(one[2], SimFailure) and "nosuchfield" in one[2].error
    assert isinstance(one[5], SimFailure) and "delay" in one[5].error
    assert isinstance(one[4], SimResult) and one[4].settings.decay == 4
    assert sorted(seen) == list(range(2, len(EXPRS) + 1))  # two failed up front, the rest reported
    ok = [r for r in one if isinstance(r, SimResult)]
    assert all(np.isfinite(r.metrics["is"]["sharpe"]) for r in ok)


def test_batch_equals_individual_simulations() -> None:
    from alphamine.sim.simulate import simulate

    panel = small_market(3)
    batch = simulate_many(EXPRS[:2], panel, {"universe": "TOP24"}, workers=2)
    for expr, r in zip(EXPRS[:2], batch, strict=True):
        alone = simulate(expr, panel, {"universe": "TOP24"})
        assert isinstance(r, SimResult)
        np.testing.assert_array_equal(r.daily_pnl, alone.daily_pnl)
        assert r.metrics["is"] == alone.metrics["is"]

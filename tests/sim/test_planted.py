"""The simulator recovers the synthetic market's planted signals (and not noise)."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.data.synthetic import synthetic
from alphamine.sim.simulate import simulate


@pytest.fixture(scope="module")
def market():
    return synthetic(500, 1260, seed=11)


def test_planted_reversal_beats_random_alphas(market) -> None:
    settings = {"universe": "TOP500", "neutralization": "MARKET", "truncation": 0.05}
    reversal = simulate("rank(-ts_delta(close, 5))", market, settings).metrics["is"]["sharpe"]
    rng = np.random.default_rng(0)
    randoms = []
    for window in rng.choice([7, 11, 23, 37], size=3, replace=False):
        # alphas with no planted relation: ranks of slow, unrelated quantities with arbitrary signs
        randoms.append(simulate(f"rank(ts_std_dev(volume, {window}))", market, settings).metrics["is"]["sharpe"])
    assert reversal > 1.5
    assert reversal > 2 * max(abs(s) for s in randoms)
    # the sign matters: the momentum version of the same signal loses
    assert simulate("rank(ts_delta(close, 5))", market, settings).metrics["is"]["sharpe"] < -1.0

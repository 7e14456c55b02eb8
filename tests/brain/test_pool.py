"""`alphamine plan --pool brain`: the account's submitted (ACTIVE) alphas, read over real HTTP from the
local BRAIN-compatible server, become the self-correlation pool with their daily PnL."""

from __future__ import annotations

import numpy as np
import pytest

from alphamine.brain.pool import brain_pool, submitted_alphas
from tests.brain.test_client_support import fast_client, needs_server
from tests.brain.test_submit import SETTINGS, panel, server  # noqa: F401  (the submit tests' market)

pytestmark = [needs_server, pytest.mark.timeout(180)]


def test_only_submitted_alphas_join_the_pool(server: str) -> None:  # noqa: F811
    with fast_client(server) as c:
        outcomes = c.multi_simulate([("rank(-ts_sum(returns, 5))", SETTINGS), ("rank(-ts_delta(close, 3))",
                                                                                SETTINGS.with_(decay=2))])
        submitted, kept = (o.alpha_id for o in outcomes)
        assert submitted and kept
        assert brain_pool(c) == []  # nothing submitted yet
        assert c.submit(submitted, confirmed=True).submitted
        listed = [a["id"] for a in submitted_alphas(c)]
        assert listed == [submitted]
        (entry,) = brain_pool(c)
        dates, pnl = c.daily_pnl(submitted)
        assert entry.name == submitted
        np.testing.assert_array_equal(entry.dates, dates)
        np.testing.assert_array_equal(entry.pnl, pnl)
        assert entry.sharpe == pytest.approx(c.get_alpha(submitted)["is"]["sharpe"])

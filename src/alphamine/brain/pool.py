"""The account's submitted alphas as a self-correlation pool (`alphamine plan --pool brain`).

Why: whether a new alpha is accepted depends on its correlation with what the account already
submitted, not with what this store happens to hold. The platform lists an account's alphas at
`GET /users/self/alphas` (paged `{count, next, previous, results}`, brain.md §7); submitted ones have
status ACTIVE. Each one's daily PnL comes from its `daily-pnl` (or cumulative `pnl`) record set.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from alphamine.brain.alpha_list import account_alphas
from alphamine.brain.client import BrainClient
from alphamine.sim.checks import PoolEntry

SUBMITTED = "ACTIVE"


def submitted_alphas(client: BrainClient, *, limit: int = 2000) -> Iterator[dict[str, Any]]:
    """The account's submitted (ACTIVE) alphas, newest listing order, at most `limit`."""
    return account_alphas(client, f"status={SUBMITTED}", limit=limit)


def brain_pool(client: BrainClient, *, limit: int = 2000) -> list[PoolEntry]:
    """`PoolEntry`s (daily PnL, IS Sharpe) of the submitted alphas; alphas without a PnL record set are
    left out (they cannot be correlated)."""
    pool: list[PoolEntry] = []
    for alpha in submitted_alphas(client, limit=limit):
        alpha_id = str(alpha.get("id"))
        series = client.daily_pnl(alpha_id)
        if series is None:
            continue
        sharpe = (alpha.get("is") or {}).get("sharpe")
        value = float(sharpe) if isinstance(sharpe, int | float) else math.nan
        pool.append(PoolEntry(name=alpha_id, dates=series[0], pnl=series[1], sharpe=value))
    return pool

"""The account's alphas, page by page: `GET /users/self/alphas?<filters>&limit=100&offset=` (brain.md §7).

Why one helper: the submitted-alpha pool (`pool.py`) and the search for simulations a killed process
never recorded (`reconcile.py`) both walk the same paged `{count, next, previous, results}` listing.

Contract: `account_alphas(client, filters, limit)` yields alpha JSON objects in the listing's order,
at most `limit`, following pages until one comes back short or without `next`. `filters` is the
query string before the paging parameters, already encoded (`status=ACTIVE`,
`dateCreated%3E=2026-...&order=-dateCreated`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from alphamine.brain.client import BrainClient

PAGE = 100


def account_alphas(client: BrainClient, filters: str, *, limit: int = 2000) -> Iterator[dict[str, Any]]:
    """The account's alphas matching `filters` (module doc)."""
    offset = 0
    while offset < limit:
        path = f"/users/self/alphas?{filters}&limit={PAGE}&offset={offset}"
        body = client._json(client._poll(path), "GET", path) or {}
        results = body.get("results") or []
        yield from results[: limit - offset]
        offset += len(results)
        if not body.get("next") or not results:
            return

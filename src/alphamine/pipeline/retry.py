"""Which failed simulations are worth another try, and trying them again.

A failure is *retryable* when the platform or the transport failed (a timeout, a batch the platform
could not spawn, throttling, a 5xx, a network error, a simulation cancelled because a sibling failed)
and *final* when the expression itself is wrong (a located lint or evaluation error): retrying those
costs quota and changes nothing. The reason is the last entry of the candidate's status history.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from alphamine.pipeline.context import RunContext
from alphamine.store import CandidateRow
from alphamine.store.status import CandidateStatus as CS

RETRYABLE_MARKS = (
    ("TIMEOUT", re.compile(r"\btime(d)? ?out\b|\bTIMEOUT\b", re.I)),
    ("BATCH_SPAWN_FAILED", re.compile(r"BATCH_SPAWN_FAILED|requires more resources", re.I)),
    ("THROTTLED", re.compile(r"\b429\b|CONCURRENT_SIMULATION_LIMIT|rate limit", re.I)),
    ("PLATFORM_ERROR", re.compile(r"HTTP 5\d\d|\b50[0-4]\b|unavailable|gave up after|circuit", re.I)),
    ("NETWORK", re.compile(r"ConnectError|ReadError|RemoteProtocolError|TransportError|connection", re.I)),
    ("CANCELLED", re.compile(r"\bCANCELLED\b", re.I)),
)


def failure_kind(reason: str) -> str | None:
    """The retryable kind of a failure reason (module doc), or None for a final failure."""
    for kind, pattern in RETRYABLE_MARKS:
        if pattern.search(reason):
            return kind
    return None


def last_reason(row: CandidateRow) -> str:
    return str(row.reasons[-1].get("reason") or "") if row.reasons else ""


def retryable(rows: Sequence[CandidateRow]) -> list[tuple[CandidateRow, str]]:
    """(candidate, kind) for every failed candidate whose failure is retryable."""
    out = []
    for row in rows:
        if row.status == CS.FAILED and (kind := failure_kind(last_reason(row))) is not None:
            out.append((row, kind))
    return out


def retry_list(rows: Sequence[tuple[CandidateRow, str]]) -> list[dict[str, Any]]:
    """`alpha_list_retryable.json`: brain_agent-style entries (expression, settings, why)."""
    return [
        {
            "candidate_id": row.id,
            "regular": row.expression,
            "settings": row.settings.to_brain(),
            "failure": kind,
            "reason": last_reason(row),
        }
        for row, kind in rows
    ]


def retry(rc: RunContext, rows: Sequence[CandidateRow]) -> dict[str, int]:
    """Queue `rows` again, simulate them on the run's backend (stage RETRY, committed per batch like
    SIMULATE) and decide the ones that now have a result."""
    from alphamine.pipeline.simulating import simulate_rows
    from alphamine.pipeline.stages import decide_rows

    if not rows:
        return {"simulated": 0, "reused": 0, "failed": 0}
    with rc.store.transaction() as conn:
        rc.store.set_candidate_status([r.id for r in rows], CS.QUEUED, reason="retry-sim", conn=conn)
    iteration = max(r.iteration for r in rows)
    counts = simulate_rows(rc, iteration, "RETRY", rows)
    done = [r for r in rc.store.candidates(run_id=rc.run_id, status=CS.SIMULATED) if r.id in {x.id for x in rows}]
    with rc.store.transaction() as conn:
        decide_rows(rc, done, conn)
    return counts

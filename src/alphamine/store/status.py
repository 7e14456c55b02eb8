"""Candidate statuses: one `StrEnum` and the sets the pipeline, store and reports reason with.

Why one definition: the statuses were bare strings in ten files, and two of the sets disagreed (the
store counted `rejected` candidates as never simulated, the report counted them as simulated). The
enum's values are the strings stored in the `candidates.status` column, so old stores read unchanged.

Life of a candidate within a run::

    generated -> queued -> simulated -> promising -> gate_pending -> ready
              -> invalid    -> failed  -> rejected                   (ready -> promising when revoked)
              -> duplicate
"""

from __future__ import annotations

from enum import StrEnum


class CandidateStatus(StrEnum):
    GENERATED = "generated"  # proposed by a generator, not yet inspected
    QUEUED = "queued"  # lint clean and new: waiting for a simulation
    INVALID = "invalid"  # lint errors or settings the data cannot serve
    DUPLICATE = "duplicate"  # the same canonical expression and settings as an earlier candidate
    SIMULATED = "simulated"  # has a result, not yet decided
    FAILED = "failed"  # the simulation itself failed (a located error)
    PROMISING = "promising"  # worth varying / enhancing; not every check passes
    GATE_PENDING = "gate_pending"  # passes the simulation checks; waits for the submit gate
    READY = "ready"  # passes the gate (never submitted by alphamine)
    REJECTED = "rejected"  # simulated and judged not worth more work


S = CandidateStatus

SIMULATED_STATUSES: frozenset[CandidateStatus] = frozenset(
    {S.SIMULATED, S.PROMISING, S.GATE_PENDING, S.READY, S.REJECTED}
)
"""Candidates with a stored simulation result."""

UNSIMULATED_STATUSES: frozenset[CandidateStatus] = frozenset({S.GENERATED, S.QUEUED, S.INVALID, S.DUPLICATE})
"""Candidates that never reached a simulation (a `failed` one did reach it, and failed)."""

LINTED_STATUSES: frozenset[CandidateStatus] = frozenset({S.QUEUED, S.DUPLICATE, S.FAILED, *SIMULATED_STATUSES})
"""Candidates that passed lint (the funnel's 'linted')."""

PROMISING_STATUSES: frozenset[CandidateStatus] = frozenset({S.PROMISING, S.GATE_PENDING, S.READY})
"""Candidates the decision rules found worth more work (the funnel's 'promising')."""

TERMINAL_STATUSES: frozenset[CandidateStatus] = frozenset({S.INVALID, S.DUPLICATE, S.FAILED, S.REJECTED})
"""Statuses no stage of the run moves a candidate out of (`ready` can still be revoked)."""

__all__ = [
    "LINTED_STATUSES",
    "PROMISING_STATUSES",
    "SIMULATED_STATUSES",
    "TERMINAL_STATUSES",
    "UNSIMULATED_STATUSES",
    "CandidateStatus",
]

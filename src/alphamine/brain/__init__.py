"""WorldQuant BRAIN: the REST client side (client, credentials, retries, leases, usage ledger) and a
local BRAIN-compatible server (`alphamine.brain.server`, imported on its own: it needs FastAPI).

Names are imported on first use (`alphamine._lazy`), so `alphamine --help` does not import httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphamine._lazy import lazy_exports

_EXPORTS = {
    "BrainClient": "alphamine.brain.client",
    "BrainError": "alphamine.brain.retry",
    "BrainUnavailable": "alphamine.brain.retry",
    "BrainAuthError": "alphamine.brain.retry",
    "BrainQuotaExceeded": "alphamine.brain.retry",
    "BrainHTTPError": "alphamine.brain.retry",
    "SubmissionNotConfirmed": "alphamine.brain.retry",
    "Credentials": "alphamine.brain.credentials",
    "CredentialsError": "alphamine.brain.credentials",
    "load_credentials": "alphamine.brain.credentials",
    "resolve_base_url": "alphamine.brain.credentials",
    "RetryPolicy": "alphamine.brain.retry",
    "CircuitBreaker": "alphamine.brain.retry",
    "LeaseFile": "alphamine.brain.leases",
    "LeaseTimeout": "alphamine.brain.leases",
    "default_limits": "alphamine.brain.leases",
    "default_capacity": "alphamine.brain.leases",
    "UsageLedger": "alphamine.brain.usage",
    "SimulationBudget": "alphamine.brain.usage",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from alphamine.brain.client import BrainClient
    from alphamine.brain.credentials import Credentials, CredentialsError, load_credentials, resolve_base_url
    from alphamine.brain.leases import LeaseFile, LeaseTimeout, default_capacity, default_limits
    from alphamine.brain.retry import (
        BrainAuthError,
        BrainError,
        BrainHTTPError,
        BrainQuotaExceeded,
        BrainUnavailable,
        CircuitBreaker,
        RetryPolicy,
        SubmissionNotConfirmed,
    )
    from alphamine.brain.usage import SimulationBudget, UsageLedger

__all__ = [
    "BrainAuthError",
    "BrainClient",
    "BrainError",
    "BrainHTTPError",
    "BrainQuotaExceeded",
    "BrainUnavailable",
    "CircuitBreaker",
    "Credentials",
    "CredentialsError",
    "LeaseFile",
    "LeaseTimeout",
    "RetryPolicy",
    "SimulationBudget",
    "SubmissionNotConfirmed",
    "UsageLedger",
    "default_capacity",
    "default_limits",
    "load_credentials",
    "resolve_base_url",
]

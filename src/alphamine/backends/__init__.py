"""Simulation backends behind one protocol (`Backend`, `base.py`): `LocalBackend` (this machine's fork
pool, `local.py`) and `BrainBackend` (the BRAIN platform through `alphamine.brain.client`,
`brain.py`). Imported on first use (`alphamine._lazy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphamine._lazy import lazy_exports

_EXPORTS = {
    "Backend": "alphamine.backends.base",
    "Outcome": "alphamine.backends.base",
    "Progress": "alphamine.backends.base",
    "LocalBackend": "alphamine.backends.local",
    "BrainBackend": "alphamine.backends.brain",
}

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from alphamine.backends.base import Backend, Outcome, Progress
    from alphamine.backends.brain import BrainBackend
    from alphamine.backends.local import LocalBackend

__all__ = ["Backend", "BrainBackend", "LocalBackend", "Outcome", "Progress"]

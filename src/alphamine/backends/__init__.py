"""Simulation backends behind one protocol (`Backend`); see `base.py`. `LocalBackend` runs on this
machine's fork pool (`local.py`)."""

from alphamine.backends.base import Backend, Outcome, Progress
from alphamine.backends.local import LocalBackend

__all__ = ["Backend", "LocalBackend", "Outcome", "Progress"]

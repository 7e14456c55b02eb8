"""The `Backend` seam: where simulations run (local fork pool, the BRAIN platform, a Dask cluster).

Why a protocol: the pipeline and every command that simulates must not care which engine produced a
result. Each backend takes `SimSpec`s (expression + settings, BRAIN's settings model) and returns, in
the same order, a `SimResult` (BRAIN's metric names) or a located `SimFailure` (one readable line; a
failure never stops a batch). The CLI is the only place that builds a backend (one composition root).

`name` is recorded in the store's `backend` column; results from different backends (or different
data fingerprints) never satisfy each other's cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from alphamine.data.fields import FieldInfo
from alphamine.sim.batch import SimFailure, SimSpec
from alphamine.sim.result import SimResult

Outcome = SimResult | SimFailure
"""One entry of a batch's answer."""

Progress = Callable[[int, int, Outcome], None]
"""`progress(done, total, outcome)`, called as outcomes arrive."""


@runtime_checkable
class Backend(Protocol):
    """A simulation engine (module doc)."""

    name: str
    """'local', 'brain', 'dask': stored with every result it produces."""

    def catalogue(self) -> Mapping[str, FieldInfo]:
        """The fields this backend can simulate on (name -> type, unit, coverage, description)."""
        ...

    def universes(self) -> Sequence[str]:
        """Universe names offered (e.g. TOP500)."""
        ...

    def regions(self) -> Sequence[str]:
        """Region codes offered (e.g. USA)."""
        ...

    def fingerprint(self) -> str | None:
        """What keys stored results besides (expression, settings): the data's content hash for local
        data, None where the backend cannot name its data (then `name` alone keys the cache)."""
        ...

    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        """Simulate every spec; outcomes in the order of `specs`."""
        ...

    def checks(self, alpha_id: str) -> list[dict[str, Any]] | None:
        """The platform's submission checks of a simulated alpha, or None where the backend has none
        beyond those already in `SimResult.checks`."""
        ...

    def close(self) -> None:
        """Release workers, connections and leases. Idempotent."""
        ...

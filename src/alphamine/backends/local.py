"""`LocalBackend`: the `Backend` protocol over this machine's fork pool (`alphamine.sim.batch`).

Why a class around `simulate_many`: the pipeline, the CLI and the local BRAIN-compatible server
(`alphamine.brain.server`) must see every engine through one seam (`backends.base.Backend`). This
backend owns one panel and answers the protocol's questions from it: the catalogue and universes
are the panel's, the fingerprint is the panel's content hash, the region is "USA" unless the panel
names one (a `region` attribute or the `region=` argument).

Contract: `simulate_many(specs)` returns exactly what `alphamine.sim.batch.simulate_many(specs, panel,
workers=, cache_bytes=)` returns (same order, `SimResult` or `SimFailure` per spec, a failure never
stops the batch). The backend owns its `ForkPool` (its kept workers, their panel, cache budget and
epoch), so two backends never disturb each other's workers; batches from several threads (a server's
runner threads) share this backend's workers, each getting exactly its own outcomes. `start_workers()`
forks the workers now, from the calling thread (a server calls it before its threads exist);
otherwise the first batch forks them. `checks()` is None: a local result already carries every check
it has. `close()` stops the workers (after running batches end); it is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alphamine.backends.base import Outcome, Progress
from alphamine.data.fields import FieldInfo
from alphamine.data.panel import Panel
from alphamine.sim.batch import DEFAULT_CACHE_BYTES, ForkPool, SimSpec

DEFAULT_REGION = "USA"
"""The bundled sample is S&P 500 data; synthetic markets imitate it."""


class PanelOffer:
    """What a backend over one panel offers (`LocalBackend`, `DaskBackend`): the panel's catalogue, its
    universes largest first (TOP40, TOP20, TOP8; computed once) and its one region."""

    panel: Panel
    region: str
    _universes: list[str] | None = None

    def catalogue(self) -> Mapping[str, FieldInfo]:
        return self.panel.catalogue

    def universes(self) -> Sequence[str]:
        if self._universes is None:
            self._universes = largest_first(self.panel.universes)
        return list(self._universes)

    def regions(self) -> Sequence[str]:
        return [self.region]


class LocalBackend(PanelOffer):
    """Simulations on this machine over one `Panel` (module doc).

    `workers`: processes for a batch (None = all cores, 1 = in this process). `cache_bytes`: each
    worker's sub-expression cache budget. `region`: the region code offered (default: the panel's
    `region` attribute if it has one, else USA).
    """

    name = "local"

    def __init__(
        self,
        panel: Panel,
        workers: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        *,
        region: str | None = None,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1 (got {workers})")
        self.panel = panel
        self.workers = workers
        self.cache_bytes = cache_bytes
        self.region = (region or getattr(panel, "region", None) or DEFAULT_REGION).upper()
        self._closed = False
        self._pool = ForkPool()

    # ------------------------------------------------------------------ what this backend offers
    def fingerprint(self) -> str | None:
        return self.panel.fingerprint()

    # ------------------------------------------------------------------ simulation
    def simulate_many(self, specs: Sequence[SimSpec], progress: Progress | None = None) -> list[Outcome]:
        """Every spec simulated on the panel, outcomes in the order of `specs` (module doc)."""
        if self._closed:
            raise RuntimeError("LocalBackend is closed")
        return self._pool.simulate_many(
            list(specs), self.panel, workers=self.workers, cache_bytes=self.cache_bytes, progress=progress
        )

    def start_workers(self) -> list[int]:
        """Fork the worker processes now, from the calling thread, unless they are running: a server
        calls it before its own threads start, and its first batch pays no fork. Their pids ([] with
        one worker, which never forks)."""
        if self._closed:
            raise RuntimeError("LocalBackend is closed")
        return self._pool.start(self.panel, self.workers, self.cache_bytes)

    def worker_pids(self) -> list[int]:
        """Process ids of this backend's kept workers (empty when none are)."""
        return self._pool.worker_pids()

    def checks(self, alpha_id: str) -> list[dict[str, Any]] | None:
        return None

    def close(self) -> None:
        """Stop the worker processes kept between batches. Idempotent; the backend refuses work after."""
        if not self._closed:
            self._closed = True
            self._pool.close()

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalBackend({self.panel.name or 'panel'!r}, workers={self.workers}, region={self.region!r})"


def largest_first(universes: Mapping[str, Any]) -> list[str]:
    """Universe names by their largest daily membership, descending (ties by name): what a backend
    over one panel offers, in the order `alphamine settings` lists them."""
    size = {name: int(mask.sum(axis=1).max()) if mask.size else 0 for name, mask in universes.items()}
    return sorted(universes, key=lambda u: (-size[u], u))

"""What every stage needs: the store, the panel, the run's settings and folders, and output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from rich.console import Console

from alphamine.backends.base import Backend
from alphamine.data.fields import FieldInfo, FieldType
from alphamine.data.panel import Panel
from alphamine.pipeline.config import RunConfig
from alphamine.pipeline.quota import REPORT_NAME, QuotaLedger
from alphamine.sim.settings import Settings
from alphamine.store import Store


class ResearchAgents(Protocol):
    """The seam of the LLM agents (built above this layer, by the CLI): see `llm.run_agents`."""

    share: float
    use_decide: bool
    generator: Any

    def bind(self, store: Any, run_id: str, backend: str | None) -> None: ...

    def enhance(self, parent: Any, res: Any, evidence: Any, failed: Sequence[str], lineage: Sequence[Any],
                ctx: Any, max_n: int) -> list[Any]: ...

    def hold(self, row: Any, res: Any, checks: Sequence[Mapping[str, Any]], verdict: Any) -> str | None: ...

    def note(self, row: Any) -> str | None: ...

    def flush(self, run_dir: Any) -> None: ...


@dataclass
class RunContext:
    store: Store
    panel: Panel
    config: RunConfig
    run_id: str
    run_dir: Path
    settings: Settings
    console: Console = field(default_factory=Console)
    quiet: bool = False
    backend: Backend | None = None
    """Where SIMULATE runs (the CLI builds it); None: a `LocalBackend` over `panel` on first use."""
    agents: ResearchAgents | None = None
    """The LLM agents (`alphamine.llm.run_agents.LLMAgents`) when the run uses an LLM; the CLI builds them."""
    _catalogue: dict[str, FieldInfo] | None = field(default=None, repr=False)
    _staleness: dict[str, dict[str, float]] | None = field(default=None, repr=False)

    def quota_ledger(self) -> QuotaLedger | None:
        """The run's budget bookkeeping when it has one (`--max-sim-alphas`; on the platform also the
        platform budget), else None."""
        total = self.config.max_sim_alphas or (self.config.platform.max_sim_alphas if self.config.platform else None)
        if not total:
            return None
        return QuotaLedger(total, self.config.quota, self.config.max_iterations, self.artifacts_dir / REPORT_NAME)

    def field_staleness(self) -> dict[str, dict[str, float]]:
        """Per field, its stale share in validation and OS (`validation.field_staleness`), computed once."""
        if self._staleness is None:
            from alphamine.pipeline.validation import field_staleness

            self._staleness = field_staleness(self.panel, self.settings)
        return self._staleness

    def stale_fields(self) -> frozenset[str]:
        """Fields stale in the validation window or OS (`validation.stale_fields`)."""
        from alphamine.pipeline.validation import stale_fields

        return stale_fields(self.field_staleness(), self.config.gate.stale_max_share)

    def simulator(self) -> Backend:
        """The run's simulation backend (see `backend`)."""
        if self.backend is None:
            from alphamine.backends.local import LocalBackend

            self.backend = LocalBackend(self.panel, workers=self.config.workers)
        return self.backend

    @property
    def backend_name(self) -> str:
        """The store's `backend` column for this run's results ('local' when none was given)."""
        return self.backend.name if self.backend is not None else "local"

    @property
    def catalogue(self) -> Mapping[str, FieldInfo]:
        """The fields candidates may use. A platform run with a dataset mines the platform's own
        data-fields listing of that dataset (plus every GROUP field, for neutralization); otherwise
        the local panel's catalogue."""
        platform = self.config.platform
        if self.backend is None or self.backend.name != "brain" or platform is None or not platform.dataset:
            return self.panel.catalogue
        if self._catalogue is None:
            listing = self.backend.catalogue()
            self._catalogue = {
                name: info
                for name, info in listing.items()
                if info.dataset == platform.dataset or info.type == FieldType.GROUP
            }
            if not any(i.dataset == platform.dataset for i in self._catalogue.values()):
                raise ValueError(f"the platform lists no field of dataset {platform.dataset!r} for these settings")
        return self._catalogue

    @property
    def history_days(self) -> int | None:
        """Days of history for lint's lookback check: the panel's, or None on the platform's data."""
        return None if self.catalogue is not self.panel.catalogue else self.panel.n_days

    def offers_universe(self, universe: str) -> bool:
        if self.backend is not None and self.backend.name == "brain":
            return universe in self.backend.universes()
        return universe in self.panel.universes

    @property
    def fingerprint(self) -> str:
        return self.panel.fingerprint()

    @property
    def universe_size(self) -> float:
        mask = self.panel.universe(self.settings.universe)
        per_day = np.asarray(mask).sum(axis=1)
        live = per_day[per_day > 0]
        return float(live.mean()) if live.size else 0.0

    @property
    def logs_dir(self) -> Path:
        return self.run_dir / "logs"

    @property
    def artifacts_dir(self) -> Path:
        return self.run_dir / "artifacts"

    def log(self, iteration: int, stage: str, line: str) -> Path:
        """Append one line to the stage's task log (the run folder keeps what happened, in order)."""
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        path = self.logs_dir / f"iter{iteration:02d}_{stage.lower()}.log"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line.rstrip("\n") + "\n")
        return path

    def say(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message)

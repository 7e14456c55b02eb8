"""The options of one mining run, stored with the run so `resume` continues with exactly the same."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alphamine.data.sources import DataSource
from alphamine.pipeline.quota import QuotaConfig

__all__ = [
    "STAGES", "DaskConfig", "DataSource", "GateConfig", "LLMRunConfig", "PlatformConfig", "QuotaConfig", "RunConfig",
]

STAGES: tuple[str, ...] = (
    "GENERATE",
    "INSPECT",
    "SIMULATE",
    "VARIANT_SEARCH",
    "DECIDE",
    "ENHANCE",
    "SUBMIT_GATE",
    "REPORT",
)


class PlatformConfig(BaseModel):
    """Where and how a `--backend brain` run simulates (no secrets: credentials are read at run time
    from the environment or the secret file, never stored)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    brain_url: str | None = None  # None: BRAIN_API_URL or the platform's
    dataset: str | None = None
    concurrency: int = Field(8, ge=1, le=64)
    batch_size: int = Field(10, ge=1, le=10)  # alphas per multi-simulation
    max_sim_alphas: int | None = Field(None, ge=1)
    reconcile_wait: float = Field(600.0, ge=0.0)  # resume: seconds to look for a killed process's unrecorded POSTs


class GateConfig(BaseModel):
    """How SUBMIT_GATE decides (docs/research.md). `mode="classic"`: the platform's checks only (and no
    validation window); `"trial-aware"` (default) adds the rules that account for how much was tried."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["trial-aware", "classic"] = "trial-aware"
    validation_period: str = "auto"  # "auto" (last 20 % of IS, >= 6 months), "none", or an ISO duration
    min_dsr: float = Field(default=0.95, ge=0.0, le=1.0)  # deflated Sharpe ratio of the search-period Sharpe
    min_validation_ratio: float = Field(default=0.5, ge=0.0)  # validation Sharpe >= this x search Sharpe (and > 0)
    min_positive_years: float = Field(default=0.6, ge=0.0, le=1.0)  # share of IS years with positive PnL
    stale_max_share: float = Field(default=0.2, ge=0.0, le=1.0)  # DATA_FRESHNESS: stale share allowed per period
    max_family_share: float = Field(default=1 / 3, gt=0.0, le=1.0)  # of the ready set held by one lineage family

    @property
    def trial_aware(self) -> bool:
        return self.mode == "trial-aware"


class DaskConfig(BaseModel):
    """Where a `--backend dask` run simulates: an existing scheduler, or a LocalCluster of N processes
    started by alphamine (both None: a LocalCluster of all cores); specs per Dask task (None: automatic)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scheduler: str | None = None
    local_workers: int | None = Field(default=None, ge=1)
    batch_size: int | None = Field(default=None, ge=1)


class LLMRunConfig(BaseModel):
    """The run's LLM agents (docs/llm.md): whether they run, their share of GENERATE, whether they may
    hold candidates back at DECIDE, and the kill switches. No secrets (the key is read at run time)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    share: float = Field(default=0.5, ge=0.0, le=1.0)  # of each iteration's new candidates
    use_decide: bool = False
    token_budget: int | None = Field(default=None, ge=1)
    max_calls: int | None = Field(default=None, ge=1)
    daily_limit: int | None = Field(default=None, ge=1)  # calls per day, shared by processes (runtime root)
    max_consecutive_failures: int = Field(default=3, ge=1)


class RunConfig(BaseModel):
    """Run options. Budgets bound the work of every iteration so a run has a predictable cost."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 0
    preset: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)  # resolved BRAIN-JSON settings (preset + flags)
    data: DataSource = Field(default_factory=DataSource)
    max_iterations: int = Field(3, ge=1, le=1000)
    target_ready: int = Field(5, ge=1)
    candidates_per_iteration: int = Field(40, ge=1, le=100_000)
    max_variant_alphas: int = Field(6, ge=0)
    max_variants_per_alpha: int = Field(6, ge=0)
    max_enhance_alphas: int = Field(6, ge=0)
    workers: int | None = Field(None, ge=1)
    batch_size: int = Field(32, ge=1)
    backend: str = "local"  # local | brain
    platform: PlatformConfig | None = None
    dask: DaskConfig | None = None
    gate: GateConfig = Field(default_factory=GateConfig)
    max_sim_alphas: int | None = Field(default=None, ge=1)  # the run's simulation budget (any backend)
    generators: str = "templates,factory"  # GENERATE's mix (`pipeline.proposing.parse_generators`)
    llm: LLMRunConfig = Field(default_factory=LLMRunConfig)

    @field_validator("generators")
    @classmethod
    def _generators(cls, v: str) -> str:
        from alphamine.pipeline.proposing import parse_generators

        parse_generators(v)  # ValueError names the bad item
        return v
    quota: QuotaConfig = Field(default_factory=QuotaConfig)

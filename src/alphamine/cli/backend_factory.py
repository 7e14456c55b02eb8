"""The CLI builds simulation backends (the one composition root): local by default, or the BRAIN
platform (`--backend brain`) with the runtime root's shared lease file and daily usage ledger.
`backend_options` turns `run`'s backend options into the run config's fields (`dask_options.py` does
the same for `--backend dask`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alphamine.cli.data_cmd import fail

BRAIN_CACHE_DIR = "brain_cache"
"""Per-day cache of the platform's listings (data fields, operators, options) inside the runtime root."""


def build_backend(
    config: Any, runtime_root: Path, *, already_simulated: int = 0, run_id: str | None = None
) -> Any:
    """The backend a run's config names: None for `local` (the pipeline uses a `LocalBackend` over the
    run's panel with `config.workers`), a `BrainBackend` for `brain`. One red line on bad credentials
    or options; the password is read at run time and never stored. `already_simulated`: platform
    simulations the run spent before (a resume), charged to `--max-sim-alphas` first. With `run_id`
    the budget is the run's shared one (`brain.usage.SharedSimulationBudget`: the controller and every
    worker of the run draw from it)."""
    if config.backend == "local":
        return None
    if config.backend == "dask":
        from alphamine.cli.dask_options import build_dask_backend

        return build_dask_backend(config, runtime_root)
    if config.backend != "brain":
        raise fail(f"unknown backend {config.backend!r}: choose local, brain or dask")
    from alphamine.backends.brain import BrainBackend
    from alphamine.brain.client import BrainClient
    from alphamine.brain.credentials import CredentialsError, load_credentials, resolve_base_url
    from alphamine.brain.leases import LeaseFile
    from alphamine.brain.usage import SharedSimulationBudget, SimulationBudget, UsageLedger
    from alphamine.pipeline.config import PlatformConfig
    from alphamine.sim.settings import make_settings

    platform = config.platform or PlatformConfig.model_validate({})
    settings = make_settings(config.settings)
    try:
        credentials = load_credentials()
        url = resolve_base_url(platform.brain_url)
    except CredentialsError as e:
        raise fail(str(e)) from None
    runtime_root.mkdir(parents=True, exist_ok=True)
    client = BrainClient(credentials, base_url=url, cache_dir=runtime_root / BRAIN_CACHE_DIR)
    budget: SimulationBudget | None = None
    if platform.max_sim_alphas and run_id is not None:  # one budget for the run's every process
        budget = SharedSimulationBudget(runtime_root, run_id, platform.max_sim_alphas, spent=already_simulated)
    elif platform.max_sim_alphas:
        budget = SimulationBudget(platform.max_sim_alphas)
        budget.take(already_simulated)
    return BrainBackend(
        client,
        leases=LeaseFile(runtime_root, capacity=platform.concurrency * platform.batch_size),
        usage=UsageLedger(runtime_root),
        budget=budget,
        batch_size=platform.batch_size,
        concurrency=platform.concurrency,
        region=settings.region,
        delay=settings.delay,
        universe=settings.universe,
        reconcile_wait=platform.reconcile_wait,
        reconcile_poll=min(5.0, max(0.2, platform.reconcile_wait / 20)),
    )


def platform_simulations_of(store: Any, run_id: str) -> int:
    """Platform simulations a run has started: the URLs its SIMULATE tasks committed."""
    return sum(len(t.payload.get("submitted") or {}) for t in store.tasks(run_id) if t.kind == "simulate_batch")


def backend_options(
    backend: str,
    batch_size: int | None,
    brain_url: str | None,
    dataset: str | None,
    concurrency: int | None,
    max_sim_alphas: int | None,
    region: str,
    reconcile_wait: float = 600.0,
) -> dict[str, Any]:
    """RunConfig fields of the backend options. On the platform a committed SIMULATE batch is one full
    lease (concurrency x alphas per multi-simulation); locally `--batch-size` is the committed batch."""
    backend = backend.strip().lower()
    if backend == "local":
        if any(v is not None for v in (brain_url, dataset, concurrency)):
            raise fail("--brain-url, --dataset and --concurrency need --backend brain")
        return {"backend": "local", "batch_size": batch_size or 32, "max_sim_alphas": max_sim_alphas}
    if backend != "brain":
        raise fail(f"--backend must be local or brain, got {backend!r}")
    from alphamine.brain.leases import default_limits
    from alphamine.pipeline.config import PlatformConfig

    default_concurrency, default_batch = default_limits(region)
    platform = PlatformConfig(
        brain_url=brain_url,
        dataset=dataset,
        concurrency=concurrency or default_concurrency,
        batch_size=batch_size or default_batch,
        max_sim_alphas=max_sim_alphas,
        reconcile_wait=reconcile_wait,
    )
    return {"backend": "brain", "platform": platform, "batch_size": platform.concurrency * platform.batch_size,
            "max_sim_alphas": max_sim_alphas}

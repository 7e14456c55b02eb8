"""`--backend dask` for `alphamine run`, `resume` and `worker`: the options (`--scheduler URL`,
`--dask-local N`), their place in the run's stored config, and the `DaskBackend` that config names.

Why a module of its own: the options are validated once here, into the plain fields of the run's
`RunConfig` (`backend="dask"`, `dask={scheduler, local_workers, batch_size}`), so that `resume` and
any `alphamine worker` rebuild the same kind of cluster from the stored run; and the one place that
imports the optional extra (`alphamine.backends.dask`, lazily) turns its absence, an unreachable
scheduler or unreadable data into one red line (exit 2) instead of a traceback.

Two batch sizes, on purpose: `RunConfig.batch_size` is the *committed* batch (simulations whose results
commit together; a crash loses at most one), `dask.batch_size` the specs per Dask task (None: the
backend's automatic size). A cluster idles at the tail of each committed batch, so a dask run commits
larger batches by default: 16 per local worker (at least 32), 256 on a scheduler of unknown size.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphamine.cli.data_cmd import fail as _fail_markup

if TYPE_CHECKING:
    from alphamine.backends.dask import DaskBackend
    from alphamine.data.panel import Panel

SchedulerOpt = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask: the scheduler's address, e.g. tcp://HOST:8786 (--backend dask)."),
]
DaskLocalOpt = Annotated[
    int | None, typer.Option("--dask-local", min=1, help="Dask: start a LocalCluster of N worker processes.")
]

def fail(message: str) -> typer.Exit:
    """`cli.data_cmd.fail` for plain text (the messages hold brackets: `alphamine[dask]`, addresses)."""
    from rich.markup import escape

    return _fail_markup(escape(message))


PANEL_CACHE_DIR = "panel_cache"
"""Panel caches the Dask workers open, inside the runtime root (one folder per data fingerprint)."""
SCHEDULER_BATCH = 256
PER_LOCAL_WORKER = 16
SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
DEFAULT_PORT = 8786


def normalize_scheduler(address: str) -> str:
    """'HOST', 'HOST:PORT' or 'SCHEME://HOST[:PORT]' -> 'SCHEME://HOST:PORT' (tcp and port 8786 by default);
    one red line for anything else."""
    a = address.strip()
    scheme, _, rest = a.rpartition("://") if "://" in a else ("tcp", "", a)
    if scheme not in SCHEMES or not rest or "/" in rest:
        raise fail(f"--scheduler expects an address like tcp://HOST:8786, got {address!r}")
    host, colon, port = rest.rpartition(":")
    if scheme in ("tcp", "tls") and not colon:
        return f"{scheme}://{rest}:{DEFAULT_PORT}"
    if colon and (not host or not port.isdigit()):
        raise fail(f"--scheduler: bad port in {address!r}")
    return f"{scheme}://{rest}"


def wants_dask(backend: str | None, scheduler: str | None, dask_local: int | None) -> bool:
    """The options ask for the Dask backend (`--backend dask`, or a Dask-only option)."""
    return (backend or "").strip().lower() == "dask" or scheduler is not None or dask_local is not None


def dask_backend_options(
    backend: str,
    scheduler: str | None,
    dask_local: int | None,
    batch_size: int | None,
    max_sim_alphas: int | None,
    *,
    platform_options: tuple[Any, ...] = (),
) -> dict[str, Any]:
    """RunConfig fields of `--backend dask` (module doc): `backend`, `dask` (a dict pydantic validates into
    the config's `DaskConfig`), the committed `batch_size` and `max_sim_alphas`. No address and no
    `--dask-local`: a LocalCluster of all cores. One red line for Dask options without `--backend dask`,
    both `--scheduler` and `--dask-local`, or platform options (`platform_options`: --brain-url,
    --dataset, --concurrency as given; any not None is refused)."""
    if backend.strip().lower() != "dask":
        raise fail("--scheduler and --dask-local need --backend dask")
    if scheduler is not None and dask_local is not None:
        raise fail("choose --scheduler (an existing cluster) or --dask-local N (one started here), not both")
    if any(v is not None for v in platform_options):
        raise fail("--brain-url, --dataset and --concurrency need --backend brain")
    if dask_local is not None and dask_local < 1:
        raise fail(f"--dask-local must be >= 1, got {dask_local}")
    address = normalize_scheduler(scheduler) if scheduler is not None else None
    if batch_size is None:
        batch_size = SCHEDULER_BATCH if address else max(32, PER_LOCAL_WORKER * (dask_local or _cores()))
    return {
        "backend": "dask",
        "dask": {"scheduler": address, "local_workers": dask_local, "batch_size": None},
        "batch_size": batch_size,
        "max_sim_alphas": max_sim_alphas,
    }


def _cores() -> int:
    import os

    return os.cpu_count() or 1


def build_dask_backend(
    config: Any,
    runtime_root: Path,
    *,
    scheduler: str | None = None,
    local_workers: int | None = None,
    panel: Panel | None = None,
    announce: bool = True,
) -> DaskBackend:
    """The `DaskBackend` of a run's config (`config.dask`: scheduler, local_workers, batch_size; None: a
    LocalCluster of all cores), or of `scheduler` / `local_workers` when given (a worker's options).

    The panel the workers open: a `--data` panel-cache directory as it is (put it on a shared
    filesystem for a real cluster), else `panel` or the run's data loaded here, saved once under
    `<runtime root>/panel_cache/<fingerprint>`. `announce`: print where the cluster is and the Dask
    dashboard's link on stderr (stdout may be a worker's JSON). One red line (exit 2) when the extra is
    missing, the scheduler unreachable or the data unreadable."""
    from alphamine.data.cache import MANIFEST
    from alphamine.data.errors import DataError

    try:
        from alphamine.backends.dask import DaskBackend, DaskUnavailable, require_distributed

        require_distributed()
    except DaskUnavailable as e:
        raise fail(str(e)) from None
    cfg = getattr(config, "dask", None)
    if scheduler is None and local_workers is None:
        scheduler = getattr(cfg, "scheduler", None)
        local_workers = getattr(cfg, "local_workers", None)
    source = config.data
    try:
        target: Any = panel
        if target is None and source.kind == "file" and source.path and (Path(source.path) / MANIFEST).exists():
            target = Path(source.path)
        elif target is None:
            from alphamine.pipeline.controller import load_panel

            target = load_panel(source)
        backend = DaskBackend(
            target,
            scheduler=normalize_scheduler(scheduler) if scheduler else None,
            local_workers=local_workers,
            batch_size=getattr(cfg, "batch_size", None),
            cache_dir=runtime_root / PANEL_CACHE_DIR,
        )
    except DataError as e:
        raise fail(str(e)) from None
    except (OSError, TimeoutError) as e:  # distributed's connect failures are OSErrors
        where = scheduler or "the local cluster"
        raise fail(
            f"cannot use the Dask cluster at {where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None
    except RuntimeError as e:  # workers without alphamine, or blind to a panel cache they must see
        raise fail(str(e)) from None
    if announce:
        typer.echo(backend.describe(), err=True)
    return backend


def worker_dask_backend(
    config: Any,
    runtime_root: Path,
    backend: str | None,
    scheduler: str | None,
    dask_local: int | None,
    *,
    panel: Panel | None = None,
) -> DaskBackend | None:
    """`alphamine worker`'s Dask backend: from its own options when they ask for Dask (`--backend dask`,
    `--scheduler`, `--dask-local`), else from the run's config when the run is a Dask run, else None
    (the worker's usual local or platform backend). Results are the local engine's either way
    (`DaskBackend.name` is "local"), so a local run may be drained on a cluster and back."""
    if wants_dask(backend, scheduler, dask_local):
        opts = dask_backend_options(backend or "dask", scheduler, dask_local, None, None)["dask"]
        if opts["scheduler"] is None and opts["local_workers"] is None:  # `--backend dask` alone
            cfg = getattr(config, "dask", None) if getattr(config, "backend", "") == "dask" else None
            opts = {"scheduler": getattr(cfg, "scheduler", None), "local_workers": getattr(cfg, "local_workers", None)}
        return build_dask_backend(
            config, runtime_root, scheduler=opts["scheduler"], local_workers=opts["local_workers"], panel=panel
        )
    if getattr(config, "backend", "local") == "dask":
        return build_dask_backend(config, runtime_root, panel=panel)
    return None

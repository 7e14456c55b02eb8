"""`alphamine brain serve`: the local BRAIN-compatible server over local data.

Why a command: users point their own BRAIN scripts (or `alphamine` with the BRAIN backend) at
`http://127.0.0.1:8642` and simulate on their data with the platform's protocol, without spending
the platform's quota; see docs/brain.md "The local BRAIN-compatible server".

Contract: the panel comes from the shared data options (`resolve_panel`: --data/--meta, --sample,
--synthetic; the bundled sample by default); simulations run on a `LocalBackend`; the server's
records go to `--db` (default `<runtime-root>/brain_server.sqlite3`). Users: every `--user
EMAIL:PASSWORD`, else `BRAIN_EMAIL` / `BRAIN_PASSWORD` from the environment, else one local user
with a freshly generated password printed once on the terminal. Secrets are never written to disk
or logs. Bad options are one red line and exit code 2. Heavy imports happen only when it runs.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from alphamine.cli.data_cmd import (
    DataOpt,
    MetaOpt,
    SampleOpt,
    SeedOpt,
    SyntheticOpt,
    fail,
    resolve_panel,
    source_errors,
)
from alphamine.runtime import DEFAULT_RUNTIME_ROOT

SERVER_DB_FILENAME = "brain_server.sqlite3"
LOCAL_EMAIL = "local@alphamine.local"
DAILY_QUOTA = 10_000  # = alphamine.brain.server.DEFAULT_DAILY_QUOTA (not imported: keeps --help light)
MAX_CONCURRENT = 8  # = alphamine.brain.server.DEFAULT_MAX_CONCURRENT
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def resolve_users(specs: list[str] | None, env: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """(email -> password, the generated password or None): --user specs, else the environment's
    BRAIN_EMAIL/BRAIN_PASSWORD, else one local user with a fresh password. ValueError for a bad spec."""
    users: dict[str, str] = {}
    for spec in specs or []:
        email, sep, password = spec.partition(":")
        if not sep or not email.strip() or not password:
            raise ValueError(f"--user {email.strip() or spec.split(':')[0]!r}: expected EMAIL:PASSWORD")
        users[email.strip()] = password
    if users:
        return users, None
    email, password = env.get("BRAIN_EMAIL", "").strip(), env.get("BRAIN_PASSWORD", "")
    if email and password:
        return {email: password}, None
    generated = secrets.token_urlsafe(12)
    return {LOCAL_EMAIL: generated}, generated


def brain_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (plain http: keep it on loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8642,
    data: DataOpt = None,
    meta: MetaOpt = None,
    sample: SampleOpt = False,
    synthetic: SyntheticOpt = None,
    seed: SeedOpt = 0,
    user: Annotated[
        list[str] | None,
        typer.Option("--user", help="EMAIL:PASSWORD of a user (repeatable). Default: BRAIN_EMAIL/BRAIN_PASSWORD "
                     "from the environment, else a local user with a generated password, printed once."),
    ] = None,
    faults: Annotated[
        str | None,
        typer.Option(help="Inject faults, e.g. '429=0.3,500=0.1,latency=0.2,expire=20' (rates, seconds, every n)."),
    ] = None,
    fault_seed: Annotated[int, typer.Option("--fault-seed", help="Seed of the fault injection RNG.")] = 0,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="The server's SQLite file (default <runtime-root>/brain_server.sqlite3)."),
    ] = None,
    runtime_root: Annotated[
        Path, typer.Option("--runtime-root", help="Folder for the store, runs and presets.")
    ] = DEFAULT_RUNTIME_ROOT,
    workers: Annotated[int | None, typer.Option(help="Simulation worker processes (default: all cores).")] = None,
    daily_quota: Annotated[int, typer.Option("--daily-quota", help="Simulations per user per day.")] = DAILY_QUOTA,
    max_concurrent: Annotated[
        int, typer.Option("--max-concurrent", help="Top-level simulations in flight per user.")
    ] = MAX_CONCURRENT,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Serve a local WorldQuant BRAIN-compatible REST API over local data (never contacts BRAIN)."""
    from alphamine.brain.server.faults import parse_faults

    try:
        parse_faults(faults)
        users, generated = resolve_users(user, os.environ)
    except ValueError as e:
        raise fail(str(e)) from None
    if workers is not None and workers < 1:
        raise fail(f"--workers must be >= 1 (got {workers})")
    if daily_quota < 1 or max_concurrent < 1:
        raise fail("--daily-quota and --max-concurrent must be >= 1")
    with source_errors():
        panel = resolve_panel(data, meta, sample, synthetic, seed)

    from alphamine.backends.local import LocalBackend
    from alphamine.brain.server.serving import serve

    db_path = db if db is not None else runtime_root / SERVER_DB_FILENAME
    console = Console(highlight=False)
    shown_host = f"[{host}]" if ":" in host else host
    console.print(f"[bold]local BRAIN server[/bold] http://{shown_host}:{port}  (data {panel.name or 'panel'}, "
                  f"fingerprint {panel.fingerprint()})")
    console.print(f"records  {db_path}")
    console.print(f"users    {', '.join(sorted(users))}")
    if generated is not None:
        console.print(f"password {generated}  (generated for this run; set BRAIN_EMAIL/BRAIN_PASSWORD or --user)")
    if faults:
        console.print(f"faults   {faults} (seed {fault_seed})")
    if host not in LOOPBACK:
        console.print("[yellow]warning:[/yellow] plain http on a non-loopback interface exposes passwords")
    backend = LocalBackend(panel, workers=workers)
    try:
        serve(
            host, port, backend, db_path=db_path, users=users, faults=faults, seed=fault_seed,
            daily_quota=daily_quota, max_concurrent=max_concurrent, log_level=log_level,
        )
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it handled after a clean shutdown
        console.print("stopped")
    finally:
        backend.close()

"""`alphamine serve`: the read-only web dashboard over the store (`alphamine.dashboard`).

Why a command of its own: `status` and the run reports are snapshots; a person following a run, or
comparing candidates across runs, wants pages that read the store afresh: runs and their progress,
the candidates table, a candidate's PnL, checks and lineage, the ready set's correlation, the memory.

Contract: listens on 127.0.0.1:8650 by default. A host that is not the loopback is refused with one
red line (exit 2) unless `--allow-remote`; then every request needs a token: `--token` (or
ALPHAMINE_DASHBOARD_TOKEN), else one generated and printed once with the URL to open. The store must
exist (`--db`, or `<runtime-root>/alphamine.sqlite3`): the dashboard never creates one. Heavy imports
(FastAPI, uvicorn, the store) happen only when it runs, so `alphamine --help` stays fast.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from alphamine.cli.data_cmd import fail
from alphamine.cli.run_cmd import DEFAULT_ROOT, DbOpt, RootOpt

DEFAULT_PORT = 8650
TOKEN_ENV = "ALPHAMINE_DASHBOARD_TOKEN"


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; anything but the loopback needs --allow-remote.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = DEFAULT_PORT,
    runtime_root: RootOpt = DEFAULT_ROOT,
    db: DbOpt = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a non-loopback --host; every request then needs the token.")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar=TOKEN_ENV,
            show_envvar=True,
            help="Token required on every request (?token=, Bearer header or cookie). Default with "
            "--allow-remote: a generated one, printed once.",
        ),
    ] = None,
    refresh: Annotated[
        int, typer.Option("--refresh", min=0, help="Seconds between reloads of a page about a running run (0: never).")
    ] = 5,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "warning",
) -> None:
    """Serve a read-only web dashboard of runs, candidates, ready sets and the alpha memory."""
    from alphamine.dashboard.security import BindRefused, bind_token

    try:
        required = bind_token(host, allow_remote, token)
    except BindRefused as e:
        raise fail(escape(str(e))) from None
    if not db:
        from alphamine.runtime import DB_FILENAME

        if not (runtime_root / DB_FILENAME).is_file():
            raise fail(escape(f"no store at {runtime_root / DB_FILENAME}: run `alphamine run` first, "
                              "or point --runtime-root / --db at one"))  # fmt: skip

    from alphamine.cli.errors import store_errors
    from alphamine.dashboard.app import create_app
    from alphamine.dashboard.serving import serve as run_server
    from alphamine.dashboard.serving import url_of

    with store_errors():
        app = create_app(runtime_root, db, required, refresh_s=refresh)
    console = Console(highlight=False, soft_wrap=True)
    url = url_of(host, port)
    console.print(f"[bold]alphamine dashboard[/bold] {escape(url)}/  (read-only, store {escape(app.state.store.url)})")
    if required is not None:
        shown = required if token is None else "<your token>"
        console.print(f"open     {escape(url)}/?token={escape(shown)}")
        if token is None:
            console.print(f"token    generated for this session; set {TOKEN_ENV} or --token to choose one")
    console.print("stop     Ctrl-C")
    with suppress(KeyboardInterrupt):  # uvicorn may re-raise the Ctrl-C it handled after a clean shutdown
        run_server(app, host, port, log_level=log_level)
    console.print("stopped")

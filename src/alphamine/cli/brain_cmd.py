"""`alphamine brain ...`: the BRAIN platform side: a local BRAIN-compatible server and calibration of
the local simulator against a BRAIN endpoint."""

from __future__ import annotations

import typer

from alphamine.cli.brain_serve_cmd import brain_serve

brain_app = typer.Typer(
    help="The BRAIN platform: a local BRAIN-compatible server, calibration against a BRAIN endpoint.",
    no_args_is_help=True,
)
brain_app.command("serve")(brain_serve)

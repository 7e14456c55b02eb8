"""`alphamine ops ...` commands."""

import typer

ops_app = typer.Typer(help="Browse the FASTEXPR operator library.", no_args_is_help=True)

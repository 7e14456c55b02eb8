"""`alphamine data ...` commands."""

import typer

data_app = typer.Typer(help="Inspect market data: the bundled sample, your files, synthetic markets.",
                       no_args_is_help=True)

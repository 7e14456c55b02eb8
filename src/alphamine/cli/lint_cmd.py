"""`alphamine lint EXPR`."""

import typer


def register_lint(app: typer.Typer) -> None:
    """Attach the lint command to the root app."""

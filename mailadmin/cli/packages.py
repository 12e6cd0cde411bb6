"""`mailadmin packages`."""

from __future__ import annotations

import typer

app = typer.Typer(help="packages", no_args_is_help=True)

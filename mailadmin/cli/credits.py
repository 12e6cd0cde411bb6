"""`mailadmin credits`."""

from __future__ import annotations

import typer

app = typer.Typer(help="credits", no_args_is_help=True)

"""Options spelled and explained once, as Annotated aliases shared by every command."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import complete_roles
from mailadmin.render.output import Format

Output = Annotated[
    Optional[Format],
    typer.Option("--output", "-o", help="table, json, csv or ids (one identifier a line). Default: config `output`, else table.", show_default=False),
]
ShowOutput = Annotated[
    Optional[Format],
    typer.Option("--output", "-o", help="table, json or csv. Default: config `output`, else table.", show_default=False),
]
RoleName = Annotated[str, typer.Argument(help="Role name (a lower-case slug).", autocompletion=complete_roles, show_default=False)]
PermissionKeys = Annotated[list[str], typer.Argument(help="Catalog keys, e.g. contacts.import (see `mailadmin roles permissions`).", show_default=False)]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (needed when no terminal is attached).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]

"""Options spelled and explained once, as Annotated aliases shared by every command."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import complete_roles
from mailadmin.render.output import Format

Output = Annotated[
    Optional[Format],
    typer.Option("--output", "-o", metavar="FORMAT", help="table, json, csv or ids (one identifier a line). Default: config `output`, else table.", show_default=False),
]
ShowOutput = Annotated[
    Optional[Format],
    typer.Option("--output", "-o", metavar="FORMAT", help="table, json or csv. Default: config `output`, else table.", show_default=False),
]
RoleName = Annotated[str, typer.Argument(metavar="ROLE", help="Role name (a lower-case slug).", autocompletion=complete_roles, show_default=False)]
PermissionKeys = Annotated[list[str], typer.Argument(metavar="KEY", help="Catalog keys, e.g. contacts.import (see `mailadmin roles permissions`).", show_default=False)]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (needed when no terminal is attached).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]


# -- appended by the credits issue (#4) --
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success (cron); errors still print one line.")]
Force = Annotated[bool, typer.Option("--force", help="Override a state check (package without credits, closed account); audited.")]

# -- packages and users (issue #3) -------------------------------------------------------------
from mailadmin.cli.complete import complete_packages, complete_users  # noqa: E402

PackageName = Annotated[str, typer.Argument(metavar="PACKAGE", help="Package name (a lower-case slug).", autocompletion=complete_packages, show_default=False)]
UserRef = Annotated[str, typer.Argument(metavar="USER", help="A user: its email or #ID.", autocompletion=complete_users, show_default=False)]
UserRefs = Annotated[
    Optional[list[str]],
    typer.Argument(metavar="USER", help="Users (email or #ID); `-` reads them from stdin, one a line.", autocompletion=complete_users, show_default=False),
]
Stdin = Annotated[bool, typer.Option("--stdin", help="Read users from stdin, one a line (blank lines and # comments ignored).")]
SkipMissing = Annotated[bool, typer.Option("--skip-missing", help="Go on when some users do not exist (they are reported as failed; exit 1).")]
BulkOutput = Annotated[
    Optional[Format],
    typer.Option("--output", "-o", metavar="FORMAT", help="json: the report {changed, unchanged, failed} on stdout. Default: a one-line summary on stderr.", show_default=False),
]

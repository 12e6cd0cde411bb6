"""Options spelled and explained once, as Annotated aliases shared by every command (hf's
`_cli_utils.py`). `-o` is built from the formats a command declares (render/output.py), so a
format the command does not offer is refused while the command line is parsed."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import PERMISSION_KEYS, choice, complete_packages, complete_roles, complete_users
from mailadmin.render.output import BULK, LIST, REPORT, SHOW, Format, Formats


def _output(formats: Formats, help_text: str):
    def parse(value: str | Format) -> Format:
        if isinstance(value, Format):
            return value
        try:
            return formats.parse(value)
        except Exception as exc:  # noqa: BLE001 - InvalidInput, as Click's own parse error
            raise typer.BadParameter(str(exc)) from None

    return Annotated[
        Optional[Format],
        typer.Option("--output", "-o", metavar="FORMAT", parser=parse, help=help_text, show_default=False,
                     autocompletion=choice(*formats.names)),
    ]


Output = _output(LIST, "table, wide (more columns), json, csv or ids (one identifier a line). Default: config `output`, else table.")
ShowOutput = _output(SHOW, "table, json or csv. Default: config `output`, else table.")
ReportOutput = _output(REPORT, "table or json.")
BulkOutput = _output(BULK, "json: the report {changed, unchanged, failed} on stdout. Default: a one-line summary on stderr.")

# Every list: which fields, headers, order, and which page. Integers are bounded here, so a
# 30-digit --limit is a usage error, not a driver overflow.
MAX_ROWS = 2**53


def bounded(value: int | None) -> int | None:
    """A count of rows: 0 or more, and one the store can hold."""
    if value is not None and not 0 <= value <= MAX_ROWS:
        raise typer.BadParameter(f"{value} is not a count of rows (0 to {MAX_ROWS})")
    return value


Fields = Annotated[Optional[str], typer.Option("--fields", metavar="A,B", show_default=False,
                                               help="Only these fields, in this order (json, csv, table); an unknown one lists the valid ones.")]
NoHeaders = Annotated[bool, typer.Option("--no-headers", help="Leave out the header row of table and csv output.")]
Sort = Annotated[Optional[str], typer.Option("--sort", metavar="FIELD", show_default=False, help="Order by FIELD (-FIELD: descending).")]
Limit = Annotated[Optional[int], typer.Option("--limit", "-n", callback=bounded, metavar="N", show_default=False,
                                              help="At most N rows (0: all).")]
Offset = Annotated[int, typer.Option("--offset", callback=bounded, metavar="N", help="Skip the first N rows.")]

RoleName = Annotated[str, typer.Argument(metavar="ROLE", help="Role name (a lower-case slug).", autocompletion=complete_roles, show_default=False)]
PermissionKeys = Annotated[list[str], typer.Argument(metavar="KEY", help="Catalog keys, e.g. contacts.import (see `mailadmin roles permissions`).",
                                                    autocompletion=PERMISSION_KEYS, show_default=False)]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (needed when no terminal is attached).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")]
ImpactDryRun = Annotated[bool, typer.Option("--dry-run", help="List every member and account whose effective permissions "
                                                              "would change, key by key; change nothing.")]
ImpactOutput = _output(SHOW, "With --dry-run: table, json or csv of who would gain or lose what.")
def _quiet(value: bool) -> bool:
    """-q silences this invocation's messages (Output.message); data and errors still print."""
    if value:
        from mailadmin.cli.context import current

        current().out.quiet = True
    return value


Quiet = Annotated[bool, typer.Option("--quiet", "-q", callback=_quiet, help="Print nothing on success (cron); errors still print one line.")]
Force = Annotated[bool, typer.Option("--force", help="Override a state check (package without credits, closed account); audited.")]

PackageName = Annotated[str, typer.Argument(metavar="PACKAGE", help="Package name (a lower-case slug).", autocompletion=complete_packages, show_default=False)]
UserRef = Annotated[str, typer.Argument(metavar="USER", help="A user: its email or #ID.", autocompletion=complete_users, show_default=False)]
UserRefs = Annotated[
    Optional[list[str]],
    typer.Argument(metavar="USER", help="Users (email or #ID); `-` reads them from stdin, one a line.", autocompletion=complete_users, show_default=False),
]
Stdin = Annotated[bool, typer.Option("--stdin", help="Read users from stdin, one a line (blank lines and # comments ignored).")]
SkipMissing = Annotated[bool, typer.Option("--skip-missing", help="Go on when some users do not exist (they are reported as failed; exit 1).")]

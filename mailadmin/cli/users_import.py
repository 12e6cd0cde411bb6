"""`mailadmin users import`: account owners in bulk from a CSV file or stdin, all or nothing.

Kept beside cli/users.py (which registers it); the work is services/imports.py."""

from __future__ import annotations

from typing import Annotated

import typer

from mailadmin.cli.context import current
from mailadmin.cli.options import DryRun, Quiet, _output
from mailadmin.render.output import BULK

ImportOutput = _output(BULK, "json: the report {dry_run, counts, created, updated, unchanged, skipped} on stdout. "
                             "Default: a one-line summary on stderr.")


def users_import(
    file: Annotated[str, typer.Argument(metavar="FILE.csv|-", show_default=False,
                                        help="CSV with a header: email,name,package and optionally status, expires, ip_allow "
                                             "and limit columns (daily, monthly, ...); `-` reads stdin.")],
    skip_existing: Annotated[bool, typer.Option("--skip-existing", help="Leave users that already exist as they are (reported).")] = False,
    update: Annotated[bool, typer.Option("--update", help="Set existing owners to the file's values (audited; needs clients.edit).")] = False,
    dry_run: DryRun = False,
    output: ImportOutput = None,
    quiet: Quiet = False,
) -> None:
    """Create account owners in bulk: every row is checked first, then all are written in one transaction.

    A bad row is named by its line and nothing is imported (exit 2); users that already exist are a
    conflict (exit 5) unless --skip-existing or --update. An empty cell keeps the default (or, with
    --update, the current value); `inherit`, `none` and `never` clear a limit override, the IP
    allow-list and the plan expiry.

    Example: mailadmin users import clients.csv --skip-existing --dry-run
    """
    from mailadmin.errors import InvalidInput
    from mailadmin.render import imports as render
    from mailadmin.services import csvrows, imports

    inv = current()
    fmt = inv.format(output, BULK)
    if skip_existing and update:
        raise InvalidInput("--skip-existing and --update exclude each other", hint="see `mailadmin users import --help`")
    with inv.read() as op:  # who may import is settled before the file is read
        imports.check_access(op, update=update)
    # the whole file is read and checked before the write transaction: a slow pipe holds no lock
    with csvrows.open_source(file, inv.stdin) as (stream, source):
        rows, failures, _columns = imports.read_rows(stream, source, now=inv.clock())
    with inv.out.progress(not inv.out.quiet) as progress, (inv.read() if dry_run else inv.write()) as op:
        report = imports.run(op, rows, source=source, failures=failures, skip_existing=skip_existing, update=update, dry_run=dry_run,
                             progress=progress)
    render.imported(inv.out, report, fmt)


def register(app: typer.Typer) -> None:
    app.command("import")(users_import)

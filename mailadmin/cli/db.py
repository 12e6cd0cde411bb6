"""`mailadmin db`: schema migrations, status and online backup."""

from __future__ import annotations

from typing import Annotated

import typer

from mailadmin.cli.context import current
from mailadmin.cli.options import Quiet, ShowOutput
from mailadmin.render.output import SHOW

app = typer.Typer(help="The store: schema migrations, status, backup.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(quiet: Quiet = False) -> None:
    """Apply pending schema migrations (Alembic), in one transaction.

    Example: mailadmin db upgrade
    """
    from mailadmin.render.setup import upgraded
    from mailadmin.store.schema import upgrade

    inv = current()
    store = inv.store(check_schema=False)
    inv.admit()
    before, after = upgrade(store)
    inv.out.message(upgraded(before, after))


@app.command("status")
def db_status(output: ShowOutput = None) -> None:
    """Show which store is in use and whether its schema is current (exit 78 when behind).

    Example: mailadmin db status -o json
    """
    from mailadmin.errors import ConfigError
    from mailadmin.render.setup import store_status
    from mailadmin.services.setup import status

    inv = current()
    store = inv.store(check_schema=False)
    inv.admit()
    info = status(store)
    store_status(inv.out, info, inv.format(output, SHOW))
    if not info.up_to_date:
        raise ConfigError(
            "the store is not initialised" if info.revision is None else "the store's schema is behind",
            hint="run `mailadmin init`" if info.revision is None else "run `mailadmin db upgrade`",
        )


@app.command("backup")
def db_backup(file: Annotated[str, typer.Argument(metavar="FILE", help="New file to write the copy to.", show_default=False)], quiet: Quiet = False) -> None:
    """Copy a SQLite store while others use it (SQLite's online backup); PostgreSQL: use pg_dump.

    Example: mailadmin db backup /var/backups/mailadmin-$(date +%F).db
    """
    from mailadmin.services.setup import backup

    inv = current()
    store = inv.store()
    inv.admit()
    size = backup(store, file)
    inv.out.message(f"backed up to {file} ({size} bytes)")

"""`mailadmin db`: schema migrations, status and online backup."""

from __future__ import annotations

from typing import Annotated

import typer

from mailadmin.cli.options import ShowOutput

app = typer.Typer(help="The store: schema migrations, status, backup.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (Alembic), in one transaction.

    Example: mailadmin db upgrade
    """
    from mailadmin.cli.context import store
    from mailadmin.render.output import message
    from mailadmin.store.schema import upgrade

    before, after = upgrade(store(check_schema=False))
    message(f"schema {after} (was {before or 'empty'})" if before != after else f"schema {after}: already up to date")


@app.command("status")
def db_status(output: ShowOutput = None) -> None:
    """Show which store is in use and whether its schema is current (exit 78 when behind).

    Example: mailadmin db status -o json
    """
    from mailadmin.cli.context import output_format, store
    from mailadmin.errors import ConfigError
    from mailadmin.render.output import emit_record
    from mailadmin.services.setup import status

    info = status(store(check_schema=False))
    emit_record(info, output_format(output, allow_ids=False))
    if not info["up_to_date"]:
        raise ConfigError(
            "the store is not initialised" if info["revision"] is None else "the store's schema is behind",
            hint="run `mailadmin init`" if info["revision"] is None else "run `mailadmin db upgrade`",
        )


@app.command("backup")
def db_backup(file: Annotated[str, typer.Argument(metavar="FILE", help="New file to write the copy to.", show_default=False)]) -> None:
    """Copy a SQLite store while others use it (SQLite's online backup); PostgreSQL: use pg_dump.

    Example: mailadmin db backup /var/backups/mailadmin-$(date +%F).db
    """
    from mailadmin.cli.context import store
    from mailadmin.render.output import message
    from mailadmin.services.setup import backup

    size = backup(store(), file)
    message(f"backed up to {file} ({size} bytes)")

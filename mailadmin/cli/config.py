"""`mailadmin config`: the TOML config file (no store needed)."""

from __future__ import annotations

from typing import Annotated

import typer

from mailadmin.cli.complete import CONFIG_KEYS
from mailadmin.cli.context import current
from mailadmin.cli.options import Quiet, ShowOutput
from mailadmin.render.output import SHOW

app = typer.Typer(help="The config file: database, default output, platform host names.", no_args_is_help=True)


@app.command("path")
def config_path() -> None:
    """Print the config file's path (MAILADMIN_CONFIG overrides it).

    Example: mailadmin config path
    """
    from mailadmin import config

    inv = current()
    inv.out.lines([config.config_path(inv.env)])


@app.command("show")
def config_show(output: ShowOutput = None) -> None:
    """Show every setting with its value and whether it comes from the file or the default.

    Example: mailadmin config show -o json
    """
    from mailadmin import config
    from mailadmin.render.config import settings

    inv = current()
    fmt = inv.format(output, SHOW)
    settings(inv.out, inv.config, {k: s.description for k, s in config.SETTINGS.items()}, fmt)


@app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(metavar="KEY", help="Setting name, e.g. platform.spf_include.", autocompletion=CONFIG_KEYS,
                                       show_default=False)],
    value: Annotated[str, typer.Argument(metavar="VALUE", help="New value.", show_default=False)],
    quiet: Quiet = False,
) -> None:
    """Set one setting in the config file (validated; the rest of the file is kept).

    Example: mailadmin config set platform.spf_include spf.example.net
    """
    from mailadmin import config

    inv = current()
    stored = config.set_value(inv.config, key, value)
    inv.out.message(f"{key} = {stored!r} in {inv.config.path}")

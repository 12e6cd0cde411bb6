"""`mailadmin config`: the TOML config file (no store needed)."""

from __future__ import annotations

from typing import Annotated

import typer

from mailadmin.cli.options import ShowOutput

app = typer.Typer(help="The config file: database, default output, platform host names.", no_args_is_help=True)


@app.command("path")
def config_path() -> None:
    """Print the config file's path (MAILADMIN_CONFIG overrides it).

    Example: mailadmin config path
    """
    from mailadmin import config

    typer.echo(str(config.config_path()))


@app.command("show")
def config_show(output: ShowOutput = None) -> None:
    """Show every setting with its value and whether it comes from the file or the default.

    Example: mailadmin config show -o json
    """
    from mailadmin import config
    from mailadmin.cli.context import output_format
    from mailadmin.render.output import Column, Format, emit_json, emit_list

    fmt = output_format(output, allow_ids=False)
    stored = config.load()
    values = config.effective()
    if fmt is Format.json:
        emit_json(values)
        return
    rows = [
        {"key": k, "value": v, "source": "file" if k in stored else "default", "description": s.description}
        for (k, v), s in zip(values.items(), config.SETTINGS.values())
    ]
    emit_list(rows, [Column("key"), Column("value"), Column("source"), Column("description")], fmt)


@app.command("set")
def config_set(
    key: Annotated[str, typer.Argument(metavar="KEY", help="Setting name, e.g. platform.spf_include.", show_default=False)],
    value: Annotated[str, typer.Argument(metavar="VALUE", help="New value.", show_default=False)],
) -> None:
    """Set one setting in the config file (validated; the rest of the file is kept).

    Example: mailadmin config set platform.spf_include spf.example.net
    """
    from mailadmin import config
    from mailadmin.render.output import message

    stored = config.set_value(key, value)
    message(f"{key} = {stored!r} in {config.config_path()}")

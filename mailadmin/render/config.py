"""The config file as an operator reads it: every setting, its value and where it comes from."""

from __future__ import annotations

from mailadmin.render.output import Column, Format, Output, view

SETTING = view("setting", "key", "value", "source", "description")
COLUMNS = [Column("key"), Column("value"), Column("source"), Column("description", wrap=True)]


def settings(out: Output, config, descriptions: dict[str, str], fmt: Format) -> None:
    values = config.effective()
    if fmt is Format.json:
        out.json(values)  # {key: value}: what a script reads back
        return
    rows = [SETTING(key=k, value=v, source="file" if k in config.stored else "default", description=descriptions[k])
            for k, v in values.items()]
    out.rows(rows, COLUMNS, fmt)

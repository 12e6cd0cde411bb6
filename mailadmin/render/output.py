"""The one output contract: data on stdout as table, json, csv or ids; messages on stderr.

JSON is an API: snake_case keys, decimals as strings with their exact digits, times as ISO 8601
UTC with a Z, a list command prints an array. Rich is imported only when a table is drawn.
Consoles are built lazily, so NO_COLOR, FORCE_COLOR and COLUMNS are read when output happens.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

if TYPE_CHECKING:
    from rich.console import Console


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    ids = "ids"


@dataclass(frozen=True)
class Column:
    key: str
    header: str | None = None
    justify: str = "left"
    style: str | None = None

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ").title()


_consoles: dict[bool, "Console"] = {}


def console(stderr: bool = False) -> "Console":
    if stderr not in _consoles:
        from rich.console import Console

        probe = Console(stderr=stderr)
        # Into a pipe or a file, draw at full width (COLUMNS if set) rather than truncating to 80.
        width = None if probe.is_terminal else int(os.environ.get("COLUMNS") or 0) or 240
        _consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=False, width=width)
    return _consoles[stderr]


def reset_consoles() -> None:
    """Forget the consoles (tests swap sys.stdout between invocations)."""
    _consoles.clear()


def plain() -> bool:
    """ASCII drawing when colour is off or stdout is not a terminal (pipes, files, cron mail)."""
    return bool(os.environ.get("NO_COLOR")) or not console().is_terminal


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        from mailadmin.timeutil import iso

        return iso(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items) if isinstance(value, (set, frozenset)) else items
    return value


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(data), indent=2, ensure_ascii=False) + "\n")


def _cell(value: Any) -> str:
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def emit_list(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    fmt: Format,
    *,
    id_key: str | None = None,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """A list: json is the full records; csv and table show `columns`; ids prints `id_key`."""
    if fmt is Format.json:
        emit_json(list(rows))
    elif fmt is Format.ids:
        if id_key is None:
            raise ValueError("this list has no ids format")
        sys.stdout.writelines(f"{row[id_key]}\n" for row in rows)
    elif fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        writer.writerows([_cell(row.get(c.key)) for c in columns] for row in rows)
    else:
        if not rows:
            message(empty)
            return
        table = new_table(title)
        for col in columns:
            table.add_column(col.title, justify=col.justify, style=col.style)
        for row in rows:
            table.add_row(*(_escape(_cell(row.get(c.key))) for c in columns))
        console().print(table)


def emit_record(record: dict[str, Any], fmt: Format, *, fields: Sequence[Column] | None = None, title: str | None = None) -> None:
    """One object: json as is; csv as a header and one row; table as a two-column grid."""
    fields = fields or [Column(k) for k in record]
    if fmt is Format.json:
        emit_json(record)
    elif fmt is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([f.key for f in fields])
        writer.writerow([_cell(record.get(f.key)) for f in fields])
    else:
        table = new_table(title, show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for f in fields:
            table.add_row(f.title, _escape(_cell(record.get(f.key))))
        console().print(table)


def new_table(title: str | None = None, **kw: Any):
    from rich import box
    from rich.table import Table

    return Table(title=title, box=box.ASCII if plain() else box.SIMPLE_HEAVY, title_justify="left", **kw)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@contextmanager
def progress(enabled: bool = True) -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar on stderr, drawn only when stderr is a terminal (never into a pipe, a log
    or cron mail); otherwise a no-op. Yields the services' Progress callback."""
    if not (enabled and sys.stderr.isatty()):
        yield lambda _phase, _done, _total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def update(phase: str, done: int, total: int | None) -> None:
            bar.update(task, description=phase, completed=done, total=total or None)

        yield update


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 entry`, `2 entries`: counts in messages read like sentences."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def message(text: str) -> None:
    """A human message on stderr (never stdout, which carries data only)."""
    sys.stderr.write(text + "\n")

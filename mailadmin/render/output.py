"""The one output contract: data on stdout as table, json, csv or ids; messages on stderr.

JSON is an API: every shape is a `View` that declares its fields once (a test per view holds the
commands to it), snake_case keys, decimals as strings with their exact digits, times as ISO 8601
UTC with a Z, a list command prints an array. Which formats a command offers is declared once too
(`Formats`); the `-o` option is built from that declaration, so anything else is refused while
the command line is parsed. One `Output` per invocation owns the streams and builds its Rich
consoles lazily (hf's `Output`, httpie's lazily built consoles); Rich is imported only to draw.
"""

from __future__ import annotations

import csv
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence, TextIO

if TYPE_CHECKING:
    from rich.console import Console


class Format(str, Enum):
    table = "table"
    wide = "wide"  # a table with its optional columns too (kubectl's convention)
    json = "json"
    csv = "csv"
    ids = "ids"


@dataclass(frozen=True)
class Formats:
    """The formats a kind of command offers, and what to say when asked for another."""

    names: tuple[str, ...]
    refusal: str

    def parse(self, value: str) -> Format:
        if value not in self.names:
            from mailadmin.errors import InvalidInput

            raise InvalidInput(f"{value!r} is not one of {', '.join(self.names)}: {self.refusal}")
        return Format(value)

    @property
    def help(self) -> str:
        return ", ".join(self.names)


LIST = Formats(("table", "wide", "json", "csv", "ids"), "the formats of list commands")
SHOW = Formats(("table", "json", "csv"), "ids is offered by list commands only")
REPORT = Formats(("table", "json"), "a report prints as table or json")
BULK = Formats(("table", "json"), "bulk commands print -o json (the report) or a one-line summary")


@dataclass(frozen=True)
class View:
    """A JSON shape: its name and its fields, declared once. Build one with `VIEW(key=value, ...)`;
    a missing or extra key is a bug caught on the spot."""

    name: str
    fields: tuple[str, ...]

    def __call__(self, **values: Any) -> dict[str, Any]:
        if values.keys() != set(self.fields):
            missing, extra = set(self.fields) - values.keys(), values.keys() - set(self.fields)
            raise AssertionError(f"view {self.name}: missing {sorted(missing)}, undeclared {sorted(extra)}")
        return {name: values[name] for name in self.fields}


def view(name: str, *fields: str) -> View:
    return View(name, fields)


# The one bulk-report shape of every bulk command; its items are the command's own.
BULK_REPORT = view("bulk_report", "changed", "unchanged", "failed")


@dataclass(frozen=True)
class Column:
    key: str
    header: str | None = None
    justify: str = "left"
    style: str | None = None
    wide: bool = False  # optional: shown by -o wide (and csv), left out of a plain table
    wrap: bool = False  # free text (a description, a reason) may wrap; every other column is shown whole

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ").title()


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


def cell(value: Any) -> str:
    """How one value reads in a table or csv cell."""
    value = jsonable(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab or CR) is prefixed
    with a quote, as OWASP advises against CSV injection; plain numbers (-5.0000) stay numbers."""
    text = cell(value)
    if text and text[0] in "=+-@\t\r" and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


@dataclass(frozen=True)
class Listing:
    """How a script asked for a list: which declared fields, headers, order, and (when sorted
    here rather than by the store) which page of the sorted rows."""

    fields: tuple[str, ...] = ()
    no_headers: bool = False
    sort: str | None = None
    offset: int = 0
    limit: int | None = None


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 entry`, `2 entries`: counts in messages read like sentences."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


class Output:
    """Where one invocation's output goes: data to `stdout`, messages and progress to `stderr`."""

    def __init__(self, stdout: TextIO, stderr: TextIO, env: Mapping[str, str]) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.env = env
        self.listing = Listing()
        self.quiet = False  # -q: no messages on success (cron); data and errors still print
        self._consoles: dict[bool, "Console"] = {}

    # -- Rich, when a table is drawn -----------------------------------------------------------
    def console(self, stderr: bool = False) -> "Console":
        if stderr not in self._consoles:
            from rich.console import Console

            stream = self.stderr if stderr else self.stdout
            environ = dict(self.env)
            probe = Console(file=stream, _environ=environ)
            # Into a pipe or a file, draw at full width (COLUMNS if set) rather than truncating to 80.
            width = None if probe.is_terminal else int(self.env.get("COLUMNS") or 0) or 240
            self._consoles[stderr] = Console(file=stream, highlight=False, soft_wrap=False, width=width, _environ=environ)
        return self._consoles[stderr]

    def plain(self) -> bool:
        """ASCII drawing when colour is off or stdout is not a terminal (pipes, files, cron mail)."""
        return bool(self.env.get("NO_COLOR")) or not self.console().is_terminal

    def table(self, title: str | None = None, **kw: Any):
        from rich import box
        from rich.table import Table

        return Table(title=title, box=box.ASCII if self.plain() else box.SIMPLE_HEAVY, title_justify="left", **kw)

    def print(self, renderable: Any, *, stderr: bool = False, **kw: Any) -> None:
        self.console(stderr).print(renderable, **kw)

    def print_whole(self, table: Any) -> None:
        """A table no narrower than what it must show whole: on a terminal too narrow for it the
        lines run past the edge (the terminal wraps them) rather than cut an email or an amount."""
        from rich.console import Console

        console = self.console()
        # each column's minimum, its padding, and one border between columns and at each side
        needed = sum((c.min_width or 0) + 2 for c in table.columns) + len(table.columns) + 1
        if needed > console.width:
            console = Console(file=self.stdout, highlight=False, soft_wrap=False, width=needed, _environ=dict(self.env),
                              force_terminal=console.is_terminal, color_system=console.color_system)
        console.print(table, crop=False)  # whatever Rich adds to the minimum is never cut either

    # -- data ----------------------------------------------------------------------------------
    def json(self, data: Any) -> None:
        self.stdout.write(json.dumps(jsonable(data), indent=2, ensure_ascii=False) + "\n")

    def lines(self, values: Sequence[Any]) -> None:
        """One value a line: the `ids` format, made for pipelines."""
        self.stdout.writelines(f"{v}\n" for v in values)

    def rows(
        self,
        rows: Sequence[dict[str, Any]],
        columns: Sequence[Column],
        fmt: Format,
        *,
        id_key: str | None = None,
        title: str | None = None,
        empty: str = "nothing to show",
        shape: "View | None" = None,
    ) -> None:
        """A list: json is the full records; csv and table show `columns` (a plain table leaves out
        the `wide` ones); ids prints `id_key`. `self.listing` (--fields, --no-headers, --sort)
        applies to every format; --fields chooses among `shape`'s declared fields."""
        listing = self.listing
        if listing.sort:
            rows = sort_rows(rows, listing.sort, shape or _shape_of(rows, columns))
        if listing.offset or listing.limit is not None:
            end = None if listing.limit is None else listing.offset + listing.limit
            rows = rows[listing.offset:end]
        if listing.fields:
            check_fields(listing.fields, shape or _shape_of(rows, columns))
        if fmt is Format.json:
            self.json([{f: r.get(f) for f in listing.fields} for r in rows] if listing.fields else list(rows))
        elif fmt is Format.ids:
            if id_key is None:
                raise AssertionError("this list declares no ids format")
            self.lines([row[id_key] for row in rows])
        elif fmt is Format.csv:
            keys = list(listing.fields) or [c.key for c in columns]
            writer = csv.writer(self.stdout, lineterminator="\n")
            if not listing.no_headers:
                writer.writerow(keys)
            writer.writerows([csv_cell(row.get(k)) for k in keys] for row in rows)
        else:
            if not rows:
                self.message(empty)
                return
            shown = [c for c in columns if fmt is Format.wide or not c.wide]
            if listing.fields:
                by_key = {c.key: c for c in columns}
                shown = [by_key.get(f) or Column(f) for f in listing.fields]
            table = self.table(title, show_header=not listing.no_headers)
            cells = [[cell(row.get(c.key)) for c in shown] for row in rows]
            for i, col in enumerate(shown):
                if col.wrap:  # free text takes what is left, wrapping between words, never inside one
                    longest = max([_longest_word(col.title), *(_longest_word(r[i]) for r in cells)])
                    table.add_column(col.title, justify=col.justify, style=col.style, overflow="fold", min_width=min(longest, 30))
                else:  # identifiers, amounts and limits are shown whole
                    table.add_column(col.title, justify=col.justify, style=col.style, no_wrap=True,
                                     min_width=max([len(col.title), *(len(r[i]) for r in cells)]))
            for row in cells:
                table.add_row(*(escape(value) for value in row))
            self.print_whole(table)

    def record(self, record: dict[str, Any], fmt: Format, *, fields: Sequence[Column] | None = None,
               title: str | None = None) -> None:
        """One object: json as is; csv as a header and one row; table as a two-column grid."""
        fields = fields or [Column(k) for k in record]
        if fmt is Format.json:
            self.json(record)
        elif fmt is Format.csv:
            writer = csv.writer(self.stdout, lineterminator="\n")
            if not self.listing.no_headers:
                writer.writerow([f.key for f in fields])
            writer.writerow([csv_cell(record.get(f.key)) for f in fields])
        else:
            table = self.table(title, show_header=False)
            table.add_column("field", style="bold", no_wrap=True)
            table.add_column("value", overflow="fold")
            for f in fields:
                table.add_row(f.title, escape(cell(record.get(f.key))))
            self.print(table)

    # -- people --------------------------------------------------------------------------------
    def message(self, text: str) -> None:
        """A human message on stderr (never stdout, which carries data only); none with -q."""
        if not self.quiet:
            self.stderr.write(text + "\n")

    @contextmanager
    def progress(self, enabled: bool = True) -> Iterator[Callable[[str, int, int | None], None]]:
        """A progress bar on stderr, drawn only when stderr is a terminal (never into a pipe, a log
        or cron mail); otherwise a no-op. Yields the services' Progress callback."""
        if not (enabled and isatty(self.stderr)):
            yield lambda _phase, _done, _total: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=self.console(stderr=True), transient=True) as bar:
            task = bar.add_task("starting", total=None)

            def update(phase: str, done: int, total: int | None) -> None:
                bar.update(task, description=phase, completed=done, total=total or None)

            yield update


def _shape_of(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> View:
    """The fields a list offers when it declares no view: its rows' keys, else its columns."""
    return View("list", tuple(rows[0]) if rows else tuple(c.key for c in columns))


def check_fields(fields: Sequence[str], shape: View) -> None:
    unknown = [f for f in fields if f not in shape.fields]
    if unknown:
        from mailadmin.errors import InvalidInput

        raise InvalidInput(f"unknown field {', '.join(map(repr, unknown))}; fields: {', '.join(shape.fields)}")


def sort_rows(rows: Sequence[dict[str, Any]], key: str, shape: View) -> list[dict[str, Any]]:
    """Rows ordered by one declared field (`-field` descending); missing values last."""
    descending = key.startswith("-")
    name = key.lstrip("-")
    check_fields([name], shape)
    present = [r for r in rows if r.get(name) is not None]
    missing = [r for r in rows if r.get(name) is None]
    return sorted(present, key=lambda r: _sort_key(r[name]), reverse=descending) + missing


def _sort_key(value: Any) -> Any:
    if isinstance(value, str) and _NUMBER.fullmatch(value):  # amounts are strings with exact digits
        return (0, Decimal(value), "")
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (0, Decimal(value), "")
    return (1, 0, str(jsonable(value)))


def _longest_word(text: str) -> int:
    return max((len(word) for word in text.split()), default=0)


def escape(text: str) -> str:
    """User text in Rich markup: `[...]` must print as it is, never be read as a style."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

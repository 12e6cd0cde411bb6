"""Bulk input from CSV: a required header, UTF-8 with or without BOM, CRLF, line-numbered failures.

Generic on purpose: the caller names its columns and turns each record into its own typed row
(`credits add --from-file` today, `users import` next). Every bad record is reported with the
line it starts on, so the caller can refuse a whole file and name each bad line at once.
"""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence, TextIO, TypeVar

from mailadmin.errors import InvalidInput, MailadminError

T = TypeVar("T")


@dataclass(frozen=True)
class RowFailure:
    """One refused row of bulk input: where (`line`, None for rows not read from a file), who
    (`id`: the user as written), why, and the exit code it alone would have had."""

    line: int | None
    id: str
    error: str
    exit_code: int

    @classmethod
    def of(cls, line: int | None, id: str, exc: MailadminError) -> "RowFailure":
        return cls(line, id, exc.message, int(exc.exit_code))


@contextmanager
def open_source(path: str, stdin: TextIO) -> Iterator[tuple[TextIO, str]]:
    """`path` (`-`: stdin) as text for `read`, with the name messages use for it. utf-8-sig
    drops a BOM; newline="" leaves CRLF and quoted newlines to the csv module."""
    if path == "-":
        binary = getattr(stdin, "buffer", None)
        if binary is None:  # already text (an embedding caller's StringIO): `read` drops a BOM itself
            yield stdin, "stdin"
            return
        stream = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        try:
            yield stream, "stdin"
        finally:
            stream.detach()  # the invocation still owns stdin
        return
    try:
        stream = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    with stream:
        yield stream, path


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, record): a quoted field may span several lines."""
    start = reader.line_num + 1
    for record in reader:
        yield start, record
        start = reader.line_num + 1



def read_header(reader, source: str, wanted: str) -> list[str]:
    """The column names of a CSV file's first line, lower-cased (padding only is stripped: a column
    is named whole; a BOM is dropped). An empty file, a broken first line or text that is not
    UTF-8 is InvalidInput; `wanted` says what the first line must be."""
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput(f"{source} is empty: the first line must be {wanted}") from None
    except csv.Error as exc:
        raise InvalidInput(f"{source} line 1: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{source} is not UTF-8 text; save it as UTF-8 (a BOM is fine)") from None
    if header:
        header[0] = header[0].lstrip("\ufeff")
    return [h.strip(" \t").lower() for h in header]

def read(
    lines: Iterable[str],
    source: str,
    columns: Sequence[str],
    make_row: Callable[..., T],
    *,
    optional: Sequence[str] = (),
    id_column: str | None = None,
) -> tuple[list[T], list[RowFailure]]:
    """Rows of a CSV file whose first line is a header naming `columns` (any order, any case;
    the `optional` ones may be left out). `make_row(line, *cells)` gets the raw cells in
    `columns` order ("" for a column left out) and returns the typed row, or raises a
    MailadminError: that record becomes a RowFailure named by its `id_column` cell. Blank lines
    are skipped. A bad header, an empty file or text that is not UTF-8 raise InvalidInput."""
    reader = csv.reader(lines)
    expected = ",".join(columns)
    names = read_header(reader, source, f"the header {expected}")
    unknown = [n for n in names if n not in columns]
    missing = [n for n in columns if n not in optional and n not in names]
    if unknown or missing or len(set(names)) != len(names):
        optional_note = f" ({', '.join(optional)} optional)" if optional else ""
        raise InvalidInput(f"{source} line 1 must be the header {expected}{optional_note}, not {','.join(names)!r}")
    positions = [names.index(c) if c in names else None for c in columns]
    id_at = columns.index(id_column) if id_column is not None else None
    width = len(names)
    rows: list[T] = []
    failures: list[RowFailure] = []
    try:
        for line, record in _records(reader):
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            if len(record) != width:
                failures.append(RowFailure(line, record[0], f"expected {width} fields ({','.join(names)}), got {len(record)}",
                                           int(InvalidInput.exit_code)))
                continue
            cells = [record[i] if i is not None else "" for i in positions]
            try:
                rows.append(make_row(line, *cells))
            except MailadminError as exc:
                failures.append(RowFailure.of(line, cells[id_at].strip() if id_at is not None else "", exc))
    except csv.Error as exc:
        failures.append(RowFailure(reader.line_num, "", f"not valid CSV: {exc}", int(InvalidInput.exit_code)))
    except UnicodeDecodeError:
        # decoding runs ahead of the parser in blocks, so the line is only roughly known
        raise InvalidInput(f"{source} is not UTF-8 text (after line {reader.line_num}); save it as UTF-8 (a BOM is fine)") from None
    return rows, failures

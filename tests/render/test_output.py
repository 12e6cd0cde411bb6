"""The output contract: JSON types, CSV headers, ids, data on stdout only, declared views."""

from __future__ import annotations

import io
import re
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from mailadmin.errors import InvalidInput
from mailadmin.render.output import BULK, LIST, SHOW, Column, Format, Output, jsonable, view


def _out(env=None):
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(stdout, stderr, env or {"NO_COLOR": "1"}), stdout, stderr


def test_jsonable_spells_times_and_decimals_exactly():
    moment = datetime(2026, 11, 22, 19, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert jsonable({"at": moment, "amount": Decimal("12.5000"), "tags": {"b", "a"}}) == {
        "at": "2026-11-22T18:00:00Z", "amount": "12.5000", "tags": ["a", "b"]}


def test_list_formats():
    rows = [{"name": "a", "n": 1, "flag": True}, {"name": "b,c", "n": 2, "flag": False}]
    cols = [Column("name"), Column("n"), Column("flag")]
    out, stdout, _ = _out()
    out.rows(rows, cols, Format.json)
    assert json.loads(stdout.getvalue()) == rows
    out, stdout, _ = _out()
    out.rows(rows, cols, Format.csv)
    assert stdout.getvalue() == 'name,n,flag\na,1,yes\n"b,c",2,no\n'
    out, stdout, _ = _out()
    out.rows(rows, cols, Format.ids, id_key="name")
    assert stdout.getvalue() == "a\nb,c\n"


def test_empty_table_says_so_on_stderr():
    out, stdout, stderr = _out()
    out.rows([], [Column("name")], Format.table, empty="no roles")
    assert stdout.getvalue() == "" and stderr.getvalue() == "no roles\n"


def test_record_csv_is_a_header_and_a_row():
    out, stdout, _ = _out()
    out.record({"a": 1, "b": None}, Format.csv)
    assert stdout.getvalue() == "a,b\n1,\n"


def test_markup_in_data_is_printed_literally():
    out, stdout, _ = _out({"NO_COLOR": "1"})
    out.rows([{"name": "[bold]x[/bold]"}], [Column("name")], Format.table)
    assert "[bold]x[/bold]" in stdout.getvalue()


def test_a_view_builds_exactly_its_declared_fields_in_order():
    shape = view("pair", "b", "a")
    assert list(shape(a=1, b=2)) == ["b", "a"]
    with pytest.raises(AssertionError, match="missing"):
        shape(a=1)
    with pytest.raises(AssertionError, match="undeclared"):
        shape(a=1, b=2, c=3)


@pytest.mark.parametrize(("formats", "value", "offered"), [
    (LIST, "ids", True), (SHOW, "ids", False), (SHOW, "csv", True), (BULK, "csv", False), (BULK, "json", True),
])
def test_formats_are_refused_from_their_declaration(formats, value, offered):
    if offered:
        assert formats.parse(value) is Format(value)
    else:
        with pytest.raises(InvalidInput, match=re.escape(formats.refusal)):
            formats.parse(value)

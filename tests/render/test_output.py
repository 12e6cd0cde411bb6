"""The output contract: JSON types, CSV headers, ids, and data on stdout only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from mailadmin.render.output import Column, Format, emit_list, emit_record, jsonable


def test_jsonable_spells_times_and_decimals_exactly():
    moment = datetime(2026, 11, 22, 19, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert jsonable({"at": moment, "amount": Decimal("12.5000"), "tags": {"b", "a"}}) == {
        "at": "2026-11-22T18:00:00Z", "amount": "12.5000", "tags": ["a", "b"]}


def test_list_formats(capsys):
    rows = [{"name": "a", "n": 1, "flag": True}, {"name": "b,c", "n": 2, "flag": False}]
    cols = [Column("name"), Column("n"), Column("flag")]
    emit_list(rows, cols, Format.json)
    assert json.loads(capsys.readouterr().out) == rows
    emit_list(rows, cols, Format.csv)
    assert capsys.readouterr().out == 'name,n,flag\na,1,yes\n"b,c",2,no\n'
    emit_list(rows, cols, Format.ids, id_key="name")
    assert capsys.readouterr().out == "a\nb,c\n"


def test_empty_table_says_so_on_stderr(capsys):
    emit_list([], [Column("name")], Format.table, empty="no roles")
    out = capsys.readouterr()
    assert out.out == "" and out.err == "no roles\n"


def test_record_csv_is_a_header_and_a_row(capsys):
    emit_record({"a": 1, "b": None}, Format.csv)
    assert capsys.readouterr().out == "a,b\n1,\n"


def test_markup_in_data_is_printed_literally(capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    from mailadmin.render import output

    output.reset_consoles()
    emit_list([{"name": "[bold]x[/bold]"}], [Column("name")], Format.table)
    assert "[bold]x[/bold]" in capsys.readouterr().out

"""Hostile input for `mailadmin batch`: a file that cannot be read and a line that is not a
mailadmin command are exit 2 with one `error:` line naming the file or the line; nothing on
stdout; nothing run, so nothing changed (the valid line before the bad one did not run either)."""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

GOOD = "packages create gold --role admin\n"  # a write: had it run, the audit log would grow

BAD_LINES = [  # (the file after GOOD, options of batch, what the error line says)
    ("frobnicate now\n", [], "line 2 is not a mailadmin command: 'frobnicate'"),
    ("users frobnicate x\n", [], "'frobnicate' is not a command of `mailadmin users`"),
    ("batch other.txt\n", [], "line 2 runs batch inside a batch"),
    ('users show "alice@example.com\n', [], "line 2 is not a mailadmin command: no closing quotation"),
    ("users show alice\\", [], "line 2 is not a mailadmin command: no escaped character"),
    ("--db /tmp/elsewhere.db users list\n", [], "line 2 gives --db"),
    ("--db=/tmp/elsewhere.db users list\n", [], "line 2 gives --db"),
    ("--as someone@example.com users list\n", ["--as", "owner@example.com"], "line 2 gives --as"),
    ("--as someone@example.com\n", [], "line 2 names no command"),
    ("db upgrade\n", ["--atomic"], "line 2: `mailadmin db upgrade` cannot run inside an --atomic batch"),
    ("init\n", ["--atomic"], "cannot run inside an --atomic batch"),
]


@pytest.mark.parametrize(("text", "options", "needle"), BAD_LINES, ids=[t[0][:30] for t in BAD_LINES])
def test_a_line_that_is_not_a_command_runs_nothing(cli, db_url, tmp_path, text, options, needle):
    before = audit_count(db_url)
    script = tmp_path / "batch.txt"
    script.write_text(GOOD + text, encoding="utf-8")
    global_options = options[:2] if options[:1] == ["--as"] else []
    batch_options = options[2:] if global_options else options
    refused(cli(*global_options, "batch", *batch_options, str(script)), 2, needle)
    assert audit_count(db_url) == before


def test_files_that_cannot_be_read(cli, db_url, tmp_path):
    before = audit_count(db_url)
    refused(cli("batch", str(tmp_path / "missing.txt")), 2, "cannot read")
    refused(cli("batch", str(tmp_path)), 2, "is a directory")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(GOOD.encode() + "users show andré@example.com\n".encode("latin-1"))
    refused(cli("batch", str(latin1)), 2, "line 2 is not UTF-8 text")
    refused(cli("batch", input=(GOOD + "users show \xe9\n").encode("latin-1")), 2, "stdin line 2 is not UTF-8")
    assert audit_count(db_url) == before


def test_an_empty_file_runs_nothing_and_succeeds(cli, db_url, tmp_path):
    result = cli("batch", input="# nothing to do\n\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")

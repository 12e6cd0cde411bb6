"""Hostile input for `users import`: each bad file gets exit 2 (5 for existing accounts), one
`error:` line naming the line (and the column or the other line where it matters), nothing on
stdout, and nothing written: no user, no audit entry. Every row runs on both stores, from a file
and (where the bytes can be piped) from stdin."""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

H = "email,name,package\n"
OK = "ok@example.com,Ok,starter\n"  # a good row before the bad one: it must not be imported either

# (id, file bytes, exit code, what the one error line says)
BAD_FILES = [
    ("bad email", H + OK + "not-an-email,X,starter\n", 2, "line 3: 'not-an-email' is not a valid email address"),
    ("bad email dots", H + OK + "a..b@example.com,X,starter\n", 2, "line 3: 'a..b@example.com' is not a valid email"),
    ("unknown package", H + OK + "x@example.com,X,gold\n", 2, "line 3: no package named 'gold'"),
    ("package not a slug", H + OK + "x@example.com,X,Gold Plan!\n", 2, "line 3: package 'Gold Plan!' is not a package name"),
    ("empty package", H + OK + "x@example.com,X,\n", 2, "line 3: package is empty"),
    ("bad status", "email,name,package,status\nok@example.com,Ok,starter,\nx@example.com,X,starter,frozen\n", 2,
     "line 3: status must be one of active, suspended, closed, not 'frozen'"),
    ("bad date", "email,name,package,expires\nok@example.com,Ok,starter,\nx@example.com,X,starter,2026-13-45\n", 2,
     "line 3: '2026-13-45' is not a time"),
    ("date beyond years", "email,name,package,expires\nx@example.com,X,starter,99999999d\n", 2,
     "line 2: '99999999d' reaches beyond the years a date can hold"),
    ("bad limit value", "email,name,package,daily\nok@example.com,Ok,starter,5\nx@example.com,X,starter,-5\n", 2,
     "line 3: daily must be an integer >= 0, 'unlimited' or 'inherit', not '-5'"),
    ("huge limit", "email,name,package,monthly\nx@example.com,X,starter," + "9" * 30 + "\n", 2, "line 2: monthly 999"),
    ("non-ASCII digits", "email,name,package,daily\nx@example.com,X,starter,٣\n", 2, "line 2: daily must be an integer"),
    ("bad CIDR", "email,name,package,ip_allow\nok@example.com,Ok,starter,\nx@example.com,X,starter,10.0.0.0/33\n", 2,
     "line 3: ip_allow '10.0.0.0/33' is not an IP address or CIDR"),
    ("zone index", "email,name,package,ip_allow\nx@example.com,X,starter,fe80::1%eth0\n", 2, "line 2: ip_allow 'fe80::1%eth0' has a zone index"),
    ("unknown column", "email,name,package,colour\n" + "x@example.com,X,starter,red\n", 2, "line 1: unknown column 'colour'"),
    ("unknown limit column", "email,name,package,dayly\n" + "x@example.com,X,starter,5\n", 2, "unknown column 'dayly'"),
    ("missing required column", "email,package\nx@example.com,starter\n", 2, "line 1: missing column name"),
    ("column twice", "email,name,package,email\nx@example.com,X,starter,y@example.com\n", 2, "line 1: column email given twice"),
    ("duplicate email", H + "dup@example.com,A,starter\n" + OK + "DUP@Example.com,B,starter\n", 2,
     "line 4: dup@example.com is also on line 2"),
    ("wrong field count", H + OK + "x@example.com,X\n", 2, "line 3: expected 3 fields"),
    ("name with a line break", H + OK + 'x@example.com,"two\nlines",starter\n', 2, "line 3: name must not contain control characters"),
    ("name too long", H + OK + "x@example.com," + "n" * 300 + ",starter\n", 2, "line 3: name is longer than 200 characters"),
    ("empty file", "", 2, "is empty: the first line must be a header"),
    ("header only blank", "\n", 2, "missing column email, name, package"),
    ("many bad rows", H + "".join(f"bad{i},X,starter\n" for i in range(30)), 2,
     "line 2: 'bad0' is not a valid email address"),
]


@pytest.fixture
def world(cli, cli_env):
    assert cli("packages", "create", "starter", "--role", "regular").exit_code == 0
    return cli, cli_env["MAILADMIN_DB"]


def _unchanged(cli, db, before: int) -> None:
    assert cli("users", "list", "-o", "ids").stdout == ""
    assert audit_count(db) == before


@pytest.mark.parametrize("name,content,code,needle", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_file_is_refused_whole(world, tmp_path, name, content, code, needle):
    cli, db = world
    before = audit_count(db)
    path = tmp_path / "bad.csv"
    path.write_bytes(content.encode("utf-8"))
    line = refused(cli("users", "import", str(path)), code, needle)
    assert line.endswith("nothing was imported") or "line 1" in line or "empty" in line
    _unchanged(cli, db, before)
    refused(cli("users", "import", "-", input=content), code, needle)
    _unchanged(cli, db, before)


def test_many_bad_rows_are_counted_in_the_one_line(world, tmp_path):
    cli, db = world
    content = H + "".join(f"bad{i},X,starter\n" for i in range(30))
    line = refused(cli("users", "import", "-", input=content), 2, "29 more bad rows (line 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, ...)")
    assert line.endswith("; nothing was imported")


def test_syntax_and_store_errors_are_reported_together(world):
    cli, _db = world
    content = H + "x@example.com,X,gold\nbad,X,starter\n"
    refused(cli("users", "import", "-", input=content), 2, "line 2: no package named 'gold'; 1 more bad row (line 3)")


@pytest.mark.parametrize("raw,needle", [
    (b"email,name,package\nx@example.com,Jos\xe9,starter\n", "is not UTF-8 text"),
    (b"\xff\xfeemail,name,package\n", "is not UTF-8 text"),
])
def test_bytes_that_are_not_utf8(world, tmp_path, raw, needle):
    cli, db = world
    before = audit_count(db)
    path = tmp_path / "latin1.csv"
    path.write_bytes(raw)
    refused(cli("users", "import", str(path)), 2, needle)
    _unchanged(cli, db, before)


@pytest.mark.parametrize("target,needle", [
    ("dir", "Is a directory"),
    ("missing.csv", "No such file or directory"),
])
def test_a_file_that_cannot_be_read(world, tmp_path, target, needle):
    cli, db = world
    before = audit_count(db)
    (tmp_path / "dir").mkdir()
    refused(cli("users", "import", str(tmp_path / target)), 2, needle)
    _unchanged(cli, db, before)


def test_an_existing_account_is_a_conflict_naming_it(world):
    cli, db = world
    assert cli("users", "create", "old@example.com", "--package", "starter").exit_code == 0
    before = audit_count(db)
    refused(cli("users", "import", "-", input=H + OK + "Old@Example.com,O,starter\n"), 5, "old@example.com (line 3)")
    assert cli("users", "list", "-o", "ids").stdout == "old@example.com\n" and audit_count(db) == before

"""Hostile input for `mailadmin credits`: each class of bad input on every option of every credits
command (add single / --package / --from-file, deduct, adjust, balance, history, list, verify) gets
its documented exit code and one `error:` stderr line, and changes nothing: the audit log and the
ledger are as they were (issue 8). Runs on SQLite and PostgreSQL.

Classes: user refs, amounts, keys, reasons, kinds, times, integers, formats, fields and sorts,
package names, files, and CSV rows (each class again, inside a file).
"""

from __future__ import annotations

import pytest

from tests.cli.test_credits import seed
from tests.helpers import audit_count, refused

HUGE = "9" * 30
LONG = "x" * 5000
BEYOND_64 = str(2**64)

ADD = ["credits", "add", "alice@example.com"]
DEDUCT = ["credits", "deduct", "alice@example.com"]
ADJUST = ["credits", "adjust", "alice@example.com"]
PKG = ["credits", "add", "--package", "gold"]
HISTORY = ["credits", "history", "alice@example.com"]
LIST = ["credits", "list"]

CASES = [
    # -- user refs: beyond the store's integers is "no such user"; non-ASCII digits are no id ----
    (["credits", "add", "#9223372036854775808", "5", "--reason", "r"], 3, "no user '#9223372036854775808'"),
    (["credits", "add", "#2147483648", "5", "--reason", "r"], 3, "no user '#2147483648'"),
    (["credits", "add", f"#{HUGE}", "5", "--reason", "r"], 3, "no user"),
    (["credits", "add", "#0", "5", "--reason", "r"], 3, "no user '#0'"),
    (["credits", "add", "#²", "5", "--reason", "r"], 2, "is not a user id"),
    (["credits", "add", "#١", "5", "--reason", "r"], 2, "is not a user id"),
    (["credits", "add", "#-1", "5", "--reason", "r"], 2, "is not a user id"),
    (["credits", "add", "", "5", "--reason", "r"], 2, "neither an email nor #ID"),
    (["credits", "add", "a@b@c", "5", "--reason", "r"], 2, "not a valid email address"),
    (["credits", "deduct", "#9223372036854775808", "1", "--reason", "r"], 3, "no user"),
    (["credits", "deduct", "#²", "1", "--reason", "r"], 2, "is not a user id"),
    (["credits", "adjust", "#2147483648", "-1", "--reason", "r"], 3, "no user"),
    (["credits", "adjust", "#²", "-1", "--reason", "r"], 2, "is not a user id"),
    (["credits", "balance", "#9223372036854775808"], 3, "no user"),
    (["credits", "balance", "#2147483648"], 3, "no user"),
    (["credits", "balance", "#²"], 2, "is not a user id"),
    (["credits", "history", "#9223372036854775808"], 3, "no user"),
    (["credits", "history", "#²"], 2, "is not a user id"),
    (["credits", "add", "rex@example.com", "5", "--reason", "r"], 5, "belongs to no account"),
    # -- amounts: ASCII digits, at most 4 decimals, no exponent, bounded --------------------------
    ([*ADD, "1e3", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADD, "١٢", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADD, "²", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADD, "５", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADD, HUGE, "--reason", "r"], 2, "too large"),
    ([*ADD, "10000000000000", "--reason", "r"], 2, "too large"),
    ([*ADD, "1.00001", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADD, "NaN", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADD, "inf", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADD, "0x10", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADD, "-5", "--reason", "r"], 2, "positive amount"),
    ([*ADD, "0", "--reason", "r"], 2, "greater than zero"),
    ([*DEDUCT, "1e3", "--reason", "r"], 2, "at most 4 decimals"),
    ([*DEDUCT, HUGE, "--reason", "r"], 2, "too large"),
    ([*DEDUCT, "٣", "--reason", "r"], 2, "at most 4 decimals"),
    ([*DEDUCT, "20", "--reason", "r"], 6, "short by 10.0000"),
    ([*ADJUST, "-1e3", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADJUST, f"-{HUGE}", "--reason", "r"], 2, "too large"),
    ([*ADJUST, "--amount", "١", "--reason", "r"], 2, "at most 4 decimals"),
    ([*ADJUST, "--amount", HUGE, "--reason", "r"], 2, "too large"),
    ([*ADJUST, "-0", "--reason", "r"], 2, "-0 is not an amount"),
    ([*PKG, "1e3", "--reason", "r", "--key", "k"], 2, "at most 4 decimals"),
    ([*PKG, HUGE, "--reason", "r", "--key", "k"], 2, "too large"),
    ([*PKG, "٥", "--reason", "r", "--key", "k"], 2, "at most 4 decimals"),
    ([*LIST, "--below", "1e3"], 2, "at most 4 decimals"),
    ([*LIST, "--below", "١"], 2, "at most 4 decimals"),
    ([*LIST, "--below", HUGE], 2, "too large"),
    ([*LIST, "--below", "5.00001"], 2, "at most 4 decimals"),
    ([*LIST, "--below", "-0"], 2, "-0 is not an amount"),
    ([*LIST, "--below", ""], 2, "at most 4 decimals"),
    # -- keys: printable ASCII, matched whole ------------------------------------------------------
    ([*ADD, "5", "--reason", "r", "--key", "k\n"], 2, "printable ASCII"),
    ([*ADD, "5", "--reason", "r", "--key", "k\u2028"], 2, "printable ASCII"),
    ([*ADD, "5", "--reason", "r", "--key", "has space"], 2, "printable ASCII"),
    ([*ADD, "5", "--reason", "r", "--key", ""], 2, "printable ASCII"),
    ([*ADD, "5", "--reason", "r", "--key", "é"], 2, "printable ASCII"),
    ([*ADD, "5", "--reason", "r", "--key", "x" * 201], 2, "printable ASCII"),
    ([*DEDUCT, "1", "--reason", "r", "--key", "k\r"], 2, "printable ASCII"),
    ([*ADJUST, "-1", "--reason", "r", "--key", "k\n"], 2, "printable ASCII"),
    ([*PKG, "5", "--reason", "r", "--key", "k\n"], 2, "printable ASCII"),
    ([*PKG, "5", "--reason", "r", "--key", "x" * 201], 2, "printable ASCII"),
    ([*ADD, "10", "--reason", "other", "--key", "k0"], 5, "already used"),
    # -- reasons: one line, no control characters, not empty, bounded ------------------------------
    ([*ADD, "5", "--reason", "r\n"], 2, "control characters"),
    ([*ADD, "5", "--reason", "two\nlines"], 2, "control characters"),
    ([*ADD, "5", "--reason", "line\u2028separator"], 2, "must be one line"),
    ([*ADD, "5", "--reason", "para\u2029graph"], 2, "must be one line"),
    ([*ADD, "5", "--reason", "next\u0085line"], 2, "must be one line"),
    ([*ADD, "5", "--reason", "bell\x07"], 2, "control characters"),
    ([*ADD, "5", "--reason", "  "], 2, "must not be empty"),
    ([*ADD, "5", "--reason", LONG], 2, "longer than"),
    ([*ADD, "5"], 2, "reason is required"),
    ([*DEDUCT, "1", "--reason", "r\u2028"], 2, "must be one line"),
    ([*DEDUCT, "1", "--reason", "\x1b[31m"], 2, "control characters"),
    ([*ADJUST, "-1", "--reason", "r\n"], 2, "control characters"),
    ([*ADJUST, "-1", "--reason", LONG], 2, "longer than"),
    ([*PKG, "5", "--reason", "r\u2028", "--key", "k"], 2, "must be one line"),
    ([*PKG, "5", "--reason", "", "--key", "k"], 2, "must not be empty"),
    # -- kinds -----------------------------------------------------------------------------------
    ([*ADD, "5", "--reason", "r", "--kind", "spend"], 2, "is not one of 'topup', 'refund'"),
    ([*ADD, "5", "--reason", "r", "--kind", "TOPUP"], 2, "is not one of"),
    ([*ADD, "5", "--reason", "r", "--kind", "topup\n"], 2, "is not one of"),
    ([*DEDUCT, "1", "--reason", "r", "--kind", "topup"], 2, "is not one of 'spend', 'overuse'"),
    ([*PKG, "5", "--reason", "r", "--key", "k", "--kind", "adjust"], 2, "is not one of"),
    ([*HISTORY, "--kind", "gift"], 2, "is not one of"),
    ([*HISTORY, "--kind", ""], 2, "is not one of"),
    # -- times -----------------------------------------------------------------------------------
    ([*HISTORY, "--since", "99999999999w"], 2, "beyond the years"),
    ([*HISTORY, "--since", "0001-01-01T00:00:00+01:00"], 2, "beyond the years"),
    ([*HISTORY, "--until", "9999-12-31T23:59:59-01:00"], 2, "beyond the years"),
    ([*HISTORY, "--until", f"{HUGE}d"], 2, "beyond the years"),
    ([*HISTORY, "--since", "٣d"], 2, "is not a time"),
    ([*HISTORY, "--since", "yesterday"], 2, "is not a time"),
    ([*HISTORY, "--since", "2026-13-01"], 2, "is not a time"),
    # -- integers: bounded, so a huge one is a usage error and never reaches the driver ----------------
    ([*HISTORY, "--before", HUGE], 2, "--before"),
    ([*HISTORY, "--before", BEYOND_64], 2, "--before"),
    ([*HISTORY, "--before", str(2**63)], 2, "--before"),
    ([*HISTORY, "--before", "0"], 2, "--before"),
    ([*HISTORY, "--before", "-1"], 2, "--before"),
    ([*HISTORY, "--before", "1e3"], 2, "--before"),
    ([*HISTORY, "--before", "٣"], 2, "--before"),
    ([*HISTORY, "--limit", HUGE], 2, "is not a count of rows"),
    ([*HISTORY, "-n", BEYOND_64], 2, "is not a count of rows"),
    ([*HISTORY, "--limit", "-1"], 2, "is not a count of rows"),
    ([*HISTORY, "--limit", "1e3"], 2, "--limit"),
    ([*HISTORY, "--offset", HUGE], 2, "is not a count of rows"),
    ([*HISTORY, "--offset", "-1"], 2, "is not a count of rows"),
    ([*LIST, "--limit", HUGE], 2, "is not a count of rows"),
    ([*LIST, "-n", "-1"], 2, "is not a count of rows"),
    ([*LIST, "--offset", BEYOND_64], 2, "is not a count of rows"),
    ([*LIST, "--offset", "x"], 2, "--offset"),
    # -- formats ---------------------------------------------------------------------------------
    (["credits", "balance", "alice@example.com", "-o", "ids"], 2, "list commands only"),
    (["credits", "balance", "alice@example.com", "-o", "wide"], 2, "list commands only"),
    ([*ADD, "5", "--reason", "r", "-o", "ids"], 2, "list commands only"),
    ([*DEDUCT, "1", "--reason", "r", "-o", "yaml"], 2, "is not one of"),
    ([*ADJUST, "-1", "--reason", "r", "-o", "json\n"], 2, "is not one of"),
    ([*PKG, "5", "--reason", "r", "--key", "k", "-o", "ids"], 2, "list commands only"),
    ([*HISTORY, "-o", "yaml"], 2, "is not one of"),
    ([*LIST, "-o", "JSON"], 2, "is not one of"),
    (["credits", "verify", "-o", "csv"], 2, "table or json"),
    (["credits", "verify", "-o", "ids"], 2, "table or json"),
    # -- fields and sorts ---------------------------------------------------------------------------
    ([*HISTORY, "--fields", "id,nope"], 2, "unknown field 'nope'; fields: id, account_id, kind"),
    ([*HISTORY, "--fields", ","], 2, "at least one field"),
    ([*HISTORY, "--sort", "nope"], 2, "unknown field 'nope'"),
    ([*LIST, "--fields", "user,password"], 2, "unknown field 'password'; fields: account_id, user"),
    ([*LIST, "--fields", ""], 2, "at least one field"),
    ([*LIST, "--sort", "-nope"], 2, "unknown field 'nope'"),
    (["credits", "balance", "alice@example.com", "--fields", "balance"], 2, "No such option: --fields"),
    # -- package names: matched whole -------------------------------------------------------------
    (["credits", "add", "--package", "nosuch", "5", "--reason", "r", "--key", "k"], 3, "no package named 'nosuch'"),
    (["credits", "add", "--package", "gold\n", "5", "--reason", "r", "--key", "k"], 3, "no package named"),
    (["credits", "add", "--package", "free", "5", "--reason", "r", "--key", "k"], 5, "does not have credits enabled"),
    (["credits", "add", "--package", "gold", "5", "--reason", "r"], 2, "needs --key"),
    ([*LIST, "--package", "gold\n"], 3, "no package named"),
    ([*LIST, "--package", "gld"], 3, "did you mean gold"),
    # -- option combinations ----------------------------------------------------------------------
    ([*ADD, "5", "--reason", "r", "--dry-run"], 2, "--dry-run works with --package and --from-file only"),
    ([*ADD, "5", "--reason", "r", "--from-file", "x.csv"], 2, "--from-file takes"),
    ([*ADD, "5", "--reason", "r", "--bogus"], 2, "no such option: --bogus"),
    ([*ADJUST, "-1", "--amount", "-1", "--reason", "r"], 2, "once"),
    # -- files --------------------------------------------------------------------------------------
    (["credits", "add", "--from-file", "/nonexistent/topups.csv"], 2, "cannot read /nonexistent/topups.csv"),
    (["credits", "add", "--from-file", "/"], 2, "cannot read /"),
    (["credits", "add", "--from-file", "/nonexistent/topups.csv", "--dry-run"], 2, "cannot read"),
]


@pytest.fixture
def clients(db_url, cli):
    ids = seed(db_url)
    assert cli("credits", "add", "alice@example.com", "10", "--reason", "start", "--key", "k0").exit_code == 0
    return ids


def ledger_state(db_url: str) -> tuple:
    """What a refused command must leave alone: the entries, the balances and the audit log."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            entries = conn.execute(text("SELECT id, account_id, amount, balance_after FROM credit_entry ORDER BY id")).all()
            balances = conn.execute(text("SELECT id, credit_balance FROM account ORDER BY id")).all()
    finally:
        engine.dispose()
    return [tuple(e) for e in entries], [tuple(b) for b in balances], audit_count(db_url)


@pytest.mark.parametrize(("args", "code", "needle"), CASES, ids=[repr(" ".join(a[1:]))[:70] for a, _c, _n in CASES])
def test_bad_input_is_refused_whole(cli, db_url, clients, args, code, needle):
    before = ledger_state(db_url)
    r = cli(*args)
    refused(r, code, needle)
    assert r.stdout == ""
    assert ledger_state(db_url) == before


# -- the same classes inside a CSV file: the row fails naming its line, nothing is applied ------------
HEADER = "user,amount,reason,key\n"
GOOD = "bob@example.com,1,fine,\n"

ROWS = [
    ("#9223372036854775808,1,r,", 3, "no user '#9223372036854775808'"),
    ("#2147483648,1,r,", 3, "no user '#2147483648'"),
    (f"#{HUGE},1,r,", 3, "no user"),
    ("#²,1,r,", 2, "is not a user id"),
    ("#١٢,1,r,", 2, "is not a user id"),
    ("not-an-email,1,r,", 2, "not a valid email address"),
    (",1,r,", 2, "user is empty"),
    ("nobody@example.com,1,r,", 3, "no user 'nobody@example.com'"),
    ("rex@example.com,1,r,", 5, "belongs to no account"),
    ("carol@example.com,1,r,", 5, "does not have credits enabled"),
    ("bob@example.com,١,r,", 2, "at most 4 decimals"),
    ("bob@example.com,1e3,r,", 2, "at most 4 decimals"),
    (f"bob@example.com,{HUGE},r,", 2, "too large"),
    ("bob@example.com,-1,r,", 2, "must be positive"),
    ("bob@example.com,0,r,", 2, "greater than zero"),
    ('bob@example.com,1,r,"k\n"', 2, "printable ASCII"),
    ('bob@example.com,1,r,"k\r"', 2, "printable ASCII"),
    ("bob@example.com,1,r,k\u2028", 2, "printable ASCII"),
    ("bob@example.com,1,r,has space", 2, "printable ASCII"),
    ('bob@example.com,1,"r\n",', 2, "control characters"),
    ("bob@example.com,1,r\u2028x,", 2, "must be one line"),
    ("bob@example.com,1,r\x07,", 2, "control characters"),
    (f"bob@example.com,1,{LONG},", 2, "longer than"),
    ("bob@example.com,1,,", 2, "must not be empty"),
    ("bob@example.com,1,r", 2, "expected 4 fields"),
    ("alice@example.com,10,other,k0", 5, "already used"),
]


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "topups.csv"
    path.write_bytes(text.encode("utf-8"))
    return str(path)


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize(("row", "code", "needle"), ROWS, ids=[repr(r)[:50] for r, _c, _n in ROWS])
def test_a_bad_csv_row_names_its_line_and_nothing_is_applied(cli, db_url, clients, tmp_path, row, code, needle, dry_run):
    path = _write(tmp_path, HEADER + GOOD + row + "\n" + GOOD)
    before = ledger_state(db_url)
    r = cli("credits", "add", "--from-file", path, *(["--dry-run"] if dry_run else []))
    line = refused(r, code, needle)
    assert f"{path} line 3: " in line and "nothing was applied" in line
    assert ledger_state(db_url) == before


@pytest.mark.parametrize(("text", "needle"), [
    ("", "is empty"),
    ("\ufeff", "is empty"),
    ("user,amount\nbob@example.com,1\n", "must be the header"),
    ("user,amount,reason,key\u2028\n", "must be the header"),
    ("bob@example.com,1,r,\n", "must be the header"),
])
def test_a_bad_csv_header_is_refused(cli, db_url, clients, tmp_path, text, needle):
    before = ledger_state(db_url)
    refused(cli("credits", "add", "--from-file", _write(tmp_path, text)), 2, needle)
    assert ledger_state(db_url) == before


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("bom", ["", "\ufeff"], ids=["plain", "bom"])
def test_bom_and_any_line_end_read_as_they_are(cli, db_url, clients, tmp_path, newline, bom):
    """A BOM is skipped and CR-only line ends are lines: a bad row is still named by its line."""
    rows = ["user,amount,reason,key", "bob@example.com,1,r,b1", "#2147483648,1,r,", "bob@example.com,2,r,b2"]
    path = _write(tmp_path, bom + newline.join(rows) + newline)
    before = ledger_state(db_url)
    refused(cli("credits", "add", "--from-file", path), 3, f"{path} line 3: no user '#2147483648'")
    assert ledger_state(db_url) == before
    fixed = _write(tmp_path, bom + newline.join(rows[:2] + rows[3:]) + newline)
    r = cli("credits", "add", "--from-file", fixed, "-o", "json")
    assert r.exit_code == 0, r
    assert [(c["line"], c["key"]) for c in r.json()["changed"]] == [(2, "b1"), (3, "b2")]


def test_the_same_bad_rows_on_stdin(cli, db_url, clients):
    before = ledger_state(db_url)
    r = cli("credits", "add", "--from-file", "-", input="\ufeff" + HEADER + GOOD + "#²,1,r,\r\n")
    refused(r, 2, "stdin line 3: '#²' is not a user id")
    assert ledger_state(db_url) == before

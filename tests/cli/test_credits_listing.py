"""How scripts and people read the credits lists (issue 8, points 4, 10 and 11): --fields,
--no-headers, --sort, --limit/--offset on `credits history` (paged by the store, --before still
works) and `credits list` (paged in Output); -q through the shared option; tables that never cut
an identifier or an amount; csv cells a spreadsheet will not run; and --dry-run on the bulk
top-ups, which plans everything and writes nothing."""

from __future__ import annotations

import re

import pytest

from tests.cli.test_credits import balance, entries, seed
from tests.cli.test_hostile_credits import ledger_state
from tests.helpers import audit_count, refused

HEADER = "user,amount,reason,key\n"


@pytest.fixture
def clients(db_url, cli):
    """alice: 5 entries (1, 2, 3, 4 and a spend of 1.5); bob: 7; dave (suspended): 0."""
    ids = seed(db_url)
    for n in range(1, 5):
        assert cli("credits", "add", "alice@example.com", str(n), "--reason", f"top-up {n}", "--key", f"t{n}").exit_code == 0
    assert cli("credits", "deduct", "alice@example.com", "1.5", "--reason", "spend").exit_code == 0
    assert cli("credits", "add", "bob@example.com", "7", "--reason", "bob").exit_code == 0
    return ids


# -- credits history --------------------------------------------------------------------------
def test_history_fields_choose_and_order_the_json_and_csv_columns(cli, clients):
    data = cli("credits", "history", "alice@example.com", "--fields", "amount,id", "-o", "json").json()
    assert [list(e) for e in data] == [["amount", "id"]] * 5
    assert data[0]["amount"] == "-1.5000"
    csv_lines = cli("credits", "history", "alice@example.com", "--fields", "kind,amount", "-o", "csv").stdout.splitlines()
    assert csv_lines[:2] == ["kind,amount", "spend,-1.5000"]
    bare = cli("credits", "history", "alice@example.com", "--fields", "kind", "--no-headers", "-o", "csv").stdout.splitlines()
    assert bare == ["spend", "topup", "topup", "topup", "topup"]
    table = cli("credits", "history", "alice@example.com", "--fields", "reason,key", "--no-headers").stdout
    assert "top-up 4" in table and "t4" in table and "Reason" not in table


def test_history_sorts_over_every_entry_then_pages(cli, clients):
    by_amount = cli("credits", "history", "alice@example.com", "--sort", "-amount", "--limit", "2", "-o", "json").json()
    assert [e["amount"] for e in by_amount] == ["4.0000", "3.0000"]
    ascending = cli("credits", "history", "alice@example.com", "--sort", "amount", "-o", "json").json()
    assert [e["amount"] for e in ascending] == ["-1.5000", "1.0000", "2.0000", "3.0000", "4.0000"]
    skipped = cli("credits", "history", "alice@example.com", "--sort", "amount", "--offset", "3", "-o", "json").json()
    assert [e["amount"] for e in skipped] == ["3.0000", "4.0000"]


def test_history_pages_in_the_store_with_limit_offset_and_before(cli, clients):
    ids = [e["id"] for e in entries(cli, "alice@example.com")]  # newest first
    page = cli("credits", "history", "alice@example.com", "-n", "2", "--offset", "1", "-o", "json")
    assert [e["id"] for e in page.json()] == ids[1:3]
    assert f"older entries exist: add --before {ids[2]}" in page.stderr
    older = cli("credits", "history", "alice@example.com", "--before", str(ids[2]), "-o", "json").json()
    assert [e["id"] for e in older] == ids[3:]
    both = cli("credits", "history", "alice@example.com", "--before", str(ids[0]), "--offset", "1", "-n", "1", "-o", "ids")
    assert both.stdout.split() == [str(ids[2])]
    last = cli("credits", "history", "alice@example.com", "--offset", "4", "-o", "json")
    assert [e["id"] for e in last.json()] == ids[4:] and "older entries" not in last.stderr
    assert cli("credits", "history", "alice@example.com", "--offset", "99", "-o", "json").json() == []


@pytest.mark.parametrize("before", [str(2**31 - 1), str(2**31), str(2**63 - 1)])
def test_history_before_any_id_the_store_could_hold_is_every_entry(cli, clients, before):
    r = cli("credits", "history", "alice@example.com", "--before", before, "-o", "json")
    assert r.exit_code == 0, r
    assert len(r.json()) == 5


def test_history_quiet_drops_the_messages_not_the_data(cli, clients):
    r = cli("credits", "history", "alice@example.com", "-n", "1", "-q", "-o", "csv")
    assert r.exit_code == 0 and r.stderr == "" and len(r.stdout.splitlines()) == 2
    none = cli("credits", "history", "dave@example.com", "-q")
    assert (none.exit_code, none.stdout, none.stderr) == (0, "", "")
    assert "no ledger entries match" in cli("credits", "history", "dave@example.com").stderr


# -- credits list -----------------------------------------------------------------------------
def test_list_fields_sort_limit_offset_and_headers(cli, clients):
    everyone = cli("credits", "list", "-o", "json").json()  # lowest first: dave 0, bob 7, alice 8.5
    assert [r["user"] for r in everyone] == ["dave@example.com", "bob@example.com", "alice@example.com"]
    top = cli("credits", "list", "--sort", "-balance", "-n", "1", "--fields", "user,balance", "-o", "json").json()
    assert top == [{"user": "alice@example.com", "balance": "8.5000"}]
    page = cli("credits", "list", "--offset", "1", "--limit", "1", "-o", "ids").stdout.split()
    assert page == ["bob@example.com"]
    csv_lines = cli("credits", "list", "--fields", "balance,user", "--no-headers", "-o", "csv", "--sort", "user").stdout.splitlines()
    assert csv_lines == ["8.5000,alice@example.com", "7.0000,bob@example.com", "0.0000,dave@example.com"]
    enabled = cli("credits", "list", "--all", "--fields", "user,credits_enabled", "--sort", "user", "-o", "csv").stdout.splitlines()
    assert enabled[0] == "user,credits_enabled" and "carol@example.com,no" in enabled


def test_list_quiet_is_silent_when_nothing_matches_and_prints_the_csv_when_something_does(cli, clients):
    for fmt in ("csv", "json", "table", "ids"):
        r = cli("credits", "list", "--below", "0", "-q", "-o", fmt)
        assert (r.exit_code, r.stdout, r.stderr) == (0, "", ""), fmt
    low = cli("credits", "list", "--below", "7.5", "-q", "-o", "csv")
    assert (low.exit_code, low.stderr) == (0, "")
    assert [line.split(",")[1] for line in low.stdout.splitlines()] == ["user", "dave@example.com", "bob@example.com"]


# -- tables never cut data ---------------------------------------------------------------------
@pytest.mark.parametrize("width", ["60", "80", "120"])
def test_tables_show_identifiers_and_amounts_whole_at_any_width(cli, clients, width):
    cli("credits", "adjust", "alice@example.com", "-123456789.1234", "--reason",
        "a long reason that may wrap between its words when the terminal is narrow", "--key", "correction:2026-12:ticket-4411")
    env = {"COLUMNS": width}
    history = cli("credits", "history", "alice@example.com", env=env).stdout
    for whole in ("-123456789.1234", "-123456780.6234", "adjust"):
        assert whole in history, (width, whole, history)
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", history)
    assert "correction:2026-12:ticket-4411" not in history  # key and actor are optional columns
    wide = cli("credits", "history", "alice@example.com", "-o", "wide", env=env).stdout
    assert "correction:2026-12:ticket-4411" in wide and "Actor" in wide
    listed = cli("credits", "list", "--all", env=env).stdout
    for whole in ("alice@example.com", "carol@example.com", "-123456780.6234", "suspended"):
        assert whole in listed, (width, whole, listed)
    assert "gold" not in listed and "gold" in cli("credits", "list", "--all", "-o", "wide", env=env).stdout


# -- csv cells a spreadsheet will not run -------------------------------------------------------
@pytest.mark.parametrize("reason", ["=HYPERLINK(\"http://x.example\",\"x\")", "@SUM(A1:A2)", "+1+1", "-1+1"])
def test_history_csv_quotes_a_formula_and_keeps_negative_amounts_numbers(cli, clients, reason):
    assert cli("credits", "adjust", "bob@example.com", "-12.5", "--reason", reason).exit_code == 0
    import csv
    import io

    [header, newest, *_rest] = list(csv.reader(io.StringIO(cli("credits", "history", "bob@example.com", "-o", "csv").stdout)))
    row = dict(zip(header, newest))
    assert row["reason"] == "'" + reason
    assert row["amount"] == "-12.5000" and row["balance_after"] == "-5.5000"
    assert cli("credits", "history", "bob@example.com", "-o", "json").json()[0]["reason"] == reason  # json is data, as is


def test_list_csv_quotes_a_formula_in_an_owner_address(cli, clients, db_url):
    from tests.cli.test_credits import store_session
    from tests.factories import make_owner, make_package

    with store_session(db_url) as s:
        make_owner(s, "=cmd@example.com", make_package(s, "metered", credits_enabled=True))
    cli("credits", "adjust", "=cmd@example.com", "-5", "--reason", "r")
    lines = cli("credits", "list", "--package", "metered", "-o", "csv").stdout.splitlines()
    assert lines[1].endswith(",'=cmd@example.com,metered,active,-5.0000")
    assert cli("credits", "list", "--package", "metered", "-o", "ids").stdout == "=cmd@example.com\n"


# -- --dry-run ------------------------------------------------------------------------------------
def test_package_dry_run_reports_what_would_be_applied_and_changes_nothing(cli, db_url, clients):
    args = ("credits", "add", "--package", "gold", "25", "--reason", "monthly", "--key", "m:2026-12")
    before = ledger_state(db_url)
    dry = cli(*args, "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry
    assert dry.stderr == "dry run: would apply 2 top-ups (50.0000 credits); nothing changed\n"
    assert ledger_state(db_url) == before
    plain = cli(*args, "--dry-run")
    assert (plain.exit_code, plain.stdout) == (0, "") and "nothing changed" in plain.stderr
    real = cli(*args, "-o", "json")
    assert real.exit_code == 0 and real.json() == dry.json()  # the same report shape, the same rows
    assert real.stderr == ""
    assert balance(cli, "alice@example.com") == "33.5000"
    again = cli(*args, "--dry-run")
    assert again.stderr == "dry run: would apply 0 top-ups (0.0000 credits); 2 already applied; nothing changed\n"
    assert cli(*args, "--dry-run", "-q").stderr == ""


def test_file_dry_run_reports_what_would_be_applied_and_changes_nothing(cli, db_url, clients, tmp_path):
    path = tmp_path / "topups.csv"
    path.write_text(HEADER + "alice@example.com,1,plan,t1\nbob@example.com,2.5,plan,b1\nbob@example.com,1,plan,\n")
    before = ledger_state(db_url)
    dry = cli("credits", "add", "--from-file", str(path), "--dry-run", "-o", "json")
    assert dry.exit_code == 5, dry  # alice's key t1 was used for another request: a real run would be refused too
    assert [f["line"] for f in dry.json()["failed"]] == [2] and dry.json()["changed"] == []
    refused(cli("credits", "add", "--from-file", str(path), "--dry-run"), 5, "line 2: key 't1' was already used")
    assert ledger_state(db_url) == before
    path.write_text(HEADER + "alice@example.com,1,top-up 1,t1\nbob@example.com,2.5,plan,b1\nbob@example.com,1,plan,\n")
    ok = cli("credits", "add", "--from-file", str(path), "--dry-run", "-o", "json")
    assert ok.exit_code == 0, ok
    assert [(c["user"], c["balance"], c["line"]) for c in ok.json()["changed"]] == [
        ("bob@example.com", "9.5000", 3), ("bob@example.com", "10.5000", 4)]
    assert [u["line"] for u in ok.json()["unchanged"]] == [2]
    assert "dry run: would apply 2 top-ups (3.5000 credits); 1 already applied; nothing changed" in ok.stderr
    assert ledger_state(db_url) == before
    stdin = cli("credits", "add", "--from-file", "-", "--dry-run", input=path.read_text())
    assert stdin.exit_code == 0 and "would apply 2 top-ups" in stdin.stderr
    assert ledger_state(db_url) == before and audit_count(db_url) == before[2]


@pytest.mark.parametrize("command", [["history", "alice@example.com"], ["list"]])
def test_the_largest_page_numbers_reach_the_store_without_overflow(cli, clients, command):
    edge = str(2**53)
    far = cli("credits", *command, "--offset", edge, "--limit", edge, "-o", "json")
    assert (far.exit_code, far.json()) == (0, [])
    everything = cli("credits", *command, "--limit", edge, "-o", "json")
    assert everything.exit_code == 0 and len(everything.json()) in (5, 3)

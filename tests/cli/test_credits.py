"""`mailadmin credits` through the CLI: balance, add, deduct, adjust, history, list, verify, cron.

Accounts are built with tests/factories.py (the users commands are not the subject here).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from contextlib import contextmanager
from decimal import Decimal

import pytest

from tests.conftest import REPO
from tests.helpers import one_line_error

ENTRY_KEYS = {"id", "account_id", "kind", "amount", "balance_after", "reason", "actor", "created_at", "key"}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@contextmanager
def store_session(db_url):
    """Write to the store directly (set-up and tampering), outside any command."""
    from mailadmin.store import open_store

    store = open_store(db_url)
    try:
        with store.write() as session:
            yield session
    finally:
        store.dispose()


def seed(db_url) -> dict[str, int]:
    """gold (credits on): alice (with team member mia), bob, dave (suspended), erin (closed);
    free (credits off): carol; a removed member rex. Returns account ids by owner name."""
    from sqlalchemy import select

    from mailadmin.store.models import Role, Suspension, User
    from tests.factories import make_owner, make_package

    with store_session(db_url) as s:
        gold = make_package(s, "gold", credits_enabled=True)
        free = make_package(s, "free", credits_enabled=False)
        ids = {}
        for name in ("alice", "bob", "dave", "erin"):
            ids[name] = make_owner(s, f"{name}@example.com", gold).account_id
        ids["carol"] = make_owner(s, "carol@example.com", free).account_id
        regular = s.execute(select(Role.id).where(Role.name == "regular")).scalar_one()
        s.add(User(email="mia@example.com", account_id=ids["alice"], is_owner=False, role_id=regular))
        s.add(User(email="rex@example.com", account_id=None, is_owner=False))
        dave = s.execute(select(User).where(User.email == "dave@example.com")).scalar_one()
        s.add(Suspension(user_id=dave.id, code="billing", reason="unpaid invoice", actor="test"))
        erin = s.execute(select(User).where(User.email == "erin@example.com")).scalar_one()
        erin.status, erin.closed_reason, erin.closed_by = "closed", "left", "test"
    return ids


@pytest.fixture
def clients(db_url):
    return seed(db_url)


def many_gold_clients(db_url, n: int) -> list[str]:
    """`n` more active owners on package gold (client00000@example.com...), inserted set-based."""
    from sqlalchemy import insert, select

    from mailadmin.store.models import Account, Package, User
    from mailadmin.timeutil import utcnow

    with store_session(db_url) as s:
        gold = s.execute(select(Package.id).where(Package.name == "gold")).scalar_one()
        first = s.execute(select(Account.id).order_by(Account.id.desc())).scalars().first() + 1
        now = utcnow()
        s.execute(insert(Account), [{"id": first + i, "package_id": gold, "credit_balance": 0, "created_at": now} for i in range(n)])
        s.execute(insert(User), [{"email": f"client{i:05d}@example.com", "name": "", "account_id": first + i, "is_owner": True,
                                  "status": "active", "created_at": now} for i in range(n)])
    return [f"client{i:05d}@example.com" for i in range(n)]


def balance(cli, user: str) -> str:
    r = cli("credits", "balance", user, "-o", "json")
    assert r.exit_code == 0, r
    return r.json()["balance"]


def entries(cli, user: str) -> list[dict]:
    r = cli("credits", "history", user, "--limit", "0", "-o", "json")
    assert r.exit_code == 0, r
    return r.json()


def audit_count(cli) -> int:
    return len(cli("audit", "list", "--limit", "0", "-o", "json").json())


# -- add, balance, history shapes -------------------------------------------------------------
def test_add_then_balance_and_history_json_shapes(cli, clients):
    r = cli("credits", "add", "alice@example.com", "12.5", "--reason", "welcome bonus", "--key", "welcome")
    assert r.exit_code == 0, r
    assert r.stdout == ""
    assert "balance 12.5000" in r.stderr
    shown = cli("credits", "balance", "alice@example.com", "-o", "json").json()
    assert shown == {"user": "alice@example.com", "account_id": clients["alice"], "balance": "12.5000",
                     "credits_enabled": True, "package": "gold", "status": "active"}
    [entry] = entries(cli, "alice@example.com")
    assert set(entry) == ENTRY_KEYS
    assert entry["kind"] == "topup" and entry["amount"] == "12.5000" and entry["balance_after"] == "12.5000"
    assert entry["reason"] == "welcome bonus" and entry["key"] == "welcome" and entry["account_id"] == clients["alice"]
    assert ISO_Z.match(entry["created_at"])
    assert entry["actor"]


def test_add_json_reports_the_entry(cli, clients):
    r = cli("credits", "add", "#1", "1.0001", "--reason", "by id", "-o", "json")
    assert r.exit_code == 0, r
    data = r.json()
    assert ENTRY_KEYS <= set(data)
    assert data["amount"] == "1.0001" and data["balance"] == "1.0001" and data["already_applied"] is False


def test_a_team_members_credits_are_its_accounts(cli, clients):
    assert cli("credits", "add", "mia@example.com", "3", "--reason", "via member").exit_code == 0
    assert balance(cli, "alice@example.com") == "3.0000"
    shown = cli("credits", "balance", "MIA@example.com", "-o", "json").json()
    assert shown["user"] == "mia@example.com" and shown["account_id"] == clients["alice"]


def test_every_change_is_audited_in_the_same_transaction(cli, clients):
    cli("credits", "add", "alice@example.com", "5", "--reason", "r1", "--key", "k1")
    cli("credits", "deduct", "alice@example.com", "2", "--reason", "r2")
    rows = cli("audit", "list", "--target", "user:alice@example.com", "-o", "json").json()
    assert [r["action"] for r in rows] == ["credits.spend", "credits.topup"]
    assert rows[1]["before"] == {"balance": "0.0000"}
    assert rows[1]["after"]["balance"] == "5.0000" and rows[1]["after"]["key"] == "k1"
    assert rows[0]["after"]["amount"] == "-2.0000" and rows[0]["after"]["balance"] == "3.0000"


# -- idempotency --------------------------------------------------------------------------
def test_same_key_same_request_is_already_applied(cli, clients):
    args = ("credits", "add", "alice@example.com", "10", "--reason", "December", "--key", "topup:2026-12")
    assert cli(*args).exit_code == 0
    audits = audit_count(cli)
    again = cli(*args)
    assert again.exit_code == 0, again
    assert "already applied" in again.stderr and again.stdout == ""
    assert len(entries(cli, "alice@example.com")) == 1
    assert balance(cli, "alice@example.com") == "10.0000"
    assert audit_count(cli) == audits
    as_json = cli(*args, "-o", "json")
    assert as_json.json()["already_applied"] is True and as_json.json()["balance"] == "10.0000"
    assert "already applied" in as_json.stderr


@pytest.mark.parametrize(
    "changed",
    [
        ("credits", "add", "alice@example.com", "11", "--reason", "December", "--key", "topup:2026-12"),
        ("credits", "add", "alice@example.com", "10", "--reason", "January", "--key", "topup:2026-12"),
        ("credits", "add", "alice@example.com", "10", "--reason", "December", "--key", "topup:2026-12", "--kind", "refund"),
        ("credits", "deduct", "alice@example.com", "10", "--reason", "December", "--key", "topup:2026-12"),
    ],
    ids=["amount", "reason", "kind", "deduct"],
)
def test_same_key_different_request_is_a_conflict(cli, clients, changed):
    assert cli("credits", "add", "alice@example.com", "10", "--reason", "December", "--key", "topup:2026-12").exit_code == 0
    r = cli(*changed)
    assert r.exit_code == 5, r
    assert "topup:2026-12" in one_line_error(r)
    assert len(entries(cli, "alice@example.com")) == 1


def test_keys_are_per_account(cli, clients):
    for user in ("alice@example.com", "bob@example.com"):
        assert cli("credits", "add", user, "1", "--reason", "r", "--key", "same").exit_code == 0
    assert balance(cli, "alice@example.com") == balance(cli, "bob@example.com") == "1.0000"


def test_a_replayed_deduct_is_already_applied_even_when_the_balance_no_longer_allows_it(cli, clients):
    cli("credits", "add", "alice@example.com", "5", "--reason", "r")
    args = ("credits", "deduct", "alice@example.com", "4", "--reason", "send 1", "--key", "send:1")
    assert cli(*args).exit_code == 0
    again = cli(*args)
    assert again.exit_code == 0 and "already applied" in again.stderr
    assert balance(cli, "alice@example.com") == "1.0000"


# -- amounts and bad input ----------------------------------------------------------------
@pytest.mark.parametrize("amount", ["1.00001", "1e3", "NaN", "-0", "", "1,000", "1 000", "+5", ".5", "5.", "0x10", "١٢", "inf"])
def test_bad_amounts_are_exit_2_with_the_rule(cli, clients, amount):
    audits = audit_count(cli)
    r = cli("credits", "add", "alice@example.com", amount, "--reason", "r")
    assert r.exit_code == 2, r
    line = one_line_error(r)
    assert "at most 4 decimals" in line or "-0 is not an amount" in line
    assert entries(cli, "alice@example.com") == [] and audit_count(cli) == audits


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["add", "alice@example.com", "0", "--reason", "r"], 2, "greater than zero"),
        (["add", "alice@example.com", "-5", "--reason", "r"], 2, "positive amount"),
        (["deduct", "alice@example.com", "0", "--reason", "r"], 2, "greater than zero"),
        (["deduct", "alice@example.com", "-5", "--reason", "r"], 2, "positive amount"),
        (["adjust", "alice@example.com", "0", "--reason", "r"], 2, "greater than zero"),
        (["adjust", "alice@example.com", "-5"], 2, "reason is required"),
        (["add", "alice@example.com", "5"], 2, "reason is required"),
        (["deduct", "alice@example.com", "5"], 2, "Missing option '--reason'"),
        (["add", "alice@example.com", "5", "--reason", "  "], 2, "reason must not be empty"),
        (["add", "alice@example.com", "5", "--reason", "r", "--key", "has space"], 2, "printable ASCII"),
        (["add", "alice@example.com", "5", "--reason", "r", "--key", "x" * 201], 2, "printable ASCII"),
        (["add", "alice@example.com"], 2, "missing AMOUNT"),
        (["add", "alice@example.com", "5", "--reasn", "r"], 2, "no such option: --reasn"),
        (["adjust", "alice@example.com", "-5", "--amount", "-5", "--reason", "r"], 2, "once"),
        (["add", "nobody@example.com", "5", "--reason", "r"], 3, "no user 'nobody@example.com'"),
        (["add", "#999", "5", "--reason", "r"], 3, "no user '#999'"),
        (["add", "not-an-email", "5", "--reason", "r"], 2, "neither an email nor #ID"),
        (["add", "rex@example.com", "5", "--reason", "r"], 5, "belongs to no account"),
        (["add", "carol@example.com", "5", "--reason", "r"], 5, "does not have credits enabled"),
        (["deduct", "carol@example.com", "5", "--reason", "r"], 5, "does not have credits enabled"),
        (["add", "erin@example.com", "5", "--reason", "r"], 5, "closed"),
        (["balance", "nobody@example.com"], 3, "no user"),
        (["history", "alice@example.com", "--kind", "gift"], 2, "gift"),
        (["history", "alice@example.com", "--since", "yesterday"], 2, "not a time"),
        (["list", "--below", "1e3"], 2, "at most 4 decimals"),
        (["list", "--package", "gld"], 3, "did you mean gold"),
        (["verify", "-o", "csv"], 2, "table or json"),
        (["add", "alice@example.com", "5", "--reason", "r", "--from-file", "x.csv"], 2, "--from-file takes"),
    ],
)
def test_bad_input_gets_its_exit_code_one_line_and_changes_nothing(cli, clients, args, code, needle):
    audits = audit_count(cli)
    r = cli("credits", *args)
    assert r.exit_code == code, r
    assert needle in one_line_error(r)
    assert r.stdout == ""
    assert audit_count(cli) == audits
    assert cli("credits", "verify", "-o", "json").json()["entries"] == 0


def test_deduct_never_goes_below_zero(cli, clients):
    cli("credits", "add", "alice@example.com", "10", "--reason", "r")
    r = cli("credits", "deduct", "alice@example.com", "12.5", "--reason", "campaign 7")
    assert r.exit_code == 6, r
    line = one_line_error(r)
    assert "has 10.0000 credits" in line and "short by 2.5000" in line
    assert balance(cli, "alice@example.com") == "10.0000"
    assert cli("credits", "deduct", "alice@example.com", "10", "--reason", "all of it").exit_code == 0
    assert balance(cli, "alice@example.com") == "0.0000"


def test_deduct_kind_overuse(cli, clients):
    cli("credits", "add", "alice@example.com", "10", "--reason", "r")
    assert cli("credits", "deduct", "alice@example.com", "1", "--reason", "over the hourly cap", "--kind", "overuse").exit_code == 0
    assert entries(cli, "alice@example.com")[0]["kind"] == "overuse"


@pytest.mark.parametrize(
    "spelling",
    [["-5"], ["--amount", "-5"], ["--amount=-5"], ["-a", "-5"], ["--", "-5"], ["-5.25"]],
    ids=["bare", "option", "option=", "short", "double-dash", "decimal"],
)
def test_adjust_takes_negative_amounts_easily_and_may_go_below_zero(cli, clients, spelling):
    r = cli("credits", "adjust", "alice@example.com", "--reason", "double charge", *spelling)
    assert r.exit_code == 0, r
    [entry] = entries(cli, "alice@example.com")
    assert entry["kind"] == "adjust" and entry["amount"].startswith("-5.")
    assert balance(cli, "alice@example.com") == entry["balance_after"]
    assert Decimal(entry["balance_after"]) < 0
    assert cli("credits", "verify").exit_code == 0


def test_adding_to_a_negative_balance_is_allowed(cli, clients):
    cli("credits", "adjust", "alice@example.com", "-8", "--reason", "correction")
    assert cli("credits", "add", "alice@example.com", "1", "--reason", "partial payment").exit_code == 0
    assert balance(cli, "alice@example.com") == "-7.0000"
    r = cli("credits", "deduct", "alice@example.com", "1", "--reason", "send")
    assert r.exit_code == 6, r


def test_force_overrides_credits_disabled_and_is_audited(cli, clients):
    r = cli("credits", "add", "carol@example.com", "2", "--reason", "goodwill", "--force")
    assert r.exit_code == 0, r
    assert "forced" in r.stderr
    assert balance(cli, "carol@example.com") == "2.0000"
    [row] = cli("audit", "list", "--target", "user:carol@example.com", "-o", "json").json()
    assert row["after"]["forced"] == ["credits_disabled"]


def test_force_overrides_a_closed_account(cli, clients):
    assert cli("credits", "add", "erin@example.com", "2", "--reason", "refund after closing", "--force", "--kind", "refund").exit_code == 0
    [row] = cli("audit", "list", "--target", "user:erin@example.com", "-o", "json").json()
    assert row["action"] == "credits.refund" and row["after"]["forced"] == ["account_closed"]


def test_a_suspended_account_can_still_be_topped_up(cli, clients):
    assert cli("credits", "add", "dave@example.com", "5", "--reason", "paid the invoice").exit_code == 0
    assert cli("credits", "balance", "dave@example.com", "-o", "json").json()["status"] == "suspended"


# -- history ------------------------------------------------------------------------------
def test_history_pages_newest_first_and_filters_by_kind(cli, clients):
    for n in range(1, 6):
        cli("credits", "add", "alice@example.com", str(n), "--reason", f"top-up {n}")
    cli("credits", "deduct", "alice@example.com", "1", "--reason", "spend")
    page = cli("credits", "history", "alice@example.com", "--limit", "2", "-o", "json")
    assert [e["reason"] for e in page.json()] == ["spend", "top-up 5"]
    assert "--before" in page.stderr
    older = page.json()[-1]["id"]
    rest = cli("credits", "history", "alice@example.com", "--before", str(older), "-o", "json").json()
    assert [e["reason"] for e in rest] == ["top-up 4", "top-up 3", "top-up 2", "top-up 1"]
    spends = cli("credits", "history", "alice@example.com", "--kind", "spend", "-o", "json").json()
    assert [e["kind"] for e in spends] == ["spend"]
    both = cli("credits", "history", "alice@example.com", "--kind", "spend", "--kind", "topup", "-o", "json").json()
    assert len(both) == 6


def test_history_filters_by_time(cli, clients, db_url):
    from datetime import datetime, timezone

    from sqlalchemy import update

    from mailadmin.store.models import CreditEntry

    cli("credits", "add", "alice@example.com", "1", "--reason", "old")
    cli("credits", "add", "alice@example.com", "2", "--reason", "new")
    with store_session(db_url) as s:  # back-date the first entry (only the time; the chain is intact)
        s.execute(update(CreditEntry).where(CreditEntry.reason == "old").values(created_at=datetime(2025, 1, 15, tzinfo=timezone.utc)))
    since = cli("credits", "history", "alice@example.com", "--since", "2026-01-01", "-o", "json").json()
    assert [e["reason"] for e in since] == ["new"]
    until = cli("credits", "history", "alice@example.com", "--until", "2025-02-01", "-o", "json").json()
    assert [e["reason"] for e in until] == ["old"] and until[0]["created_at"] == "2025-01-15T00:00:00Z"
    recent = cli("credits", "history", "alice@example.com", "--since", "7d", "-o", "json").json()
    assert [e["reason"] for e in recent] == ["new"]


def test_history_csv_and_table(cli, clients):
    cli("credits", "add", "alice@example.com", "1.5", "--reason", "csv, with a comma")
    lines = cli("credits", "history", "alice@example.com", "-o", "csv").stdout.splitlines()
    assert lines[0] == "id,created_at,kind,amount,balance_after,reason,actor,key"
    assert '"csv, with a comma"' in lines[1] and ",1.5000,1.5000," in lines[1]
    table = cli("credits", "history", "alice@example.com").stdout
    assert "1.5000" in table and "topup" in table


# -- list ---------------------------------------------------------------------------------
def test_list_below_is_the_low_balance_report(cli, clients):
    cli("credits", "add", "alice@example.com", "100", "--reason", "r")
    cli("credits", "add", "bob@example.com", "5", "--reason", "r")
    rows = cli("credits", "list", "--below", "10", "-o", "json").json()
    # dave (suspended, 0) and bob (5) are low; erin is closed and carol has no credits: not listed
    assert [(r["user"], r["balance"], r["status"]) for r in rows] == [
        ("dave@example.com", "0.0000", "suspended"), ("bob@example.com", "5.0000", "active")]
    assert set(rows[0]) == {"account_id", "user", "package", "credits_enabled", "status", "balance"}
    assert cli("credits", "list", "--below", "10", "-o", "ids").stdout.split() == ["dave@example.com", "bob@example.com"]
    csv_lines = cli("credits", "list", "--below", "5.0001", "-o", "csv").stdout.splitlines()
    assert csv_lines[0] == "account_id,user,package,status,balance" and len(csv_lines) == 3
    everyone = {r["user"] for r in cli("credits", "list", "--all", "-o", "json").json()}
    assert everyone == {"alice@example.com", "bob@example.com", "dave@example.com", "erin@example.com", "carol@example.com"}
    assert [r["user"] for r in cli("credits", "list", "--package", "gold", "--below", "50", "-o", "json").json()] == [
        "dave@example.com", "bob@example.com"]


def test_list_quiet_prints_nothing_when_nobody_is_low(cli, clients):
    for user in ("alice@example.com", "bob@example.com", "dave@example.com"):
        cli("credits", "add", user, "100", "--reason", "r")
    r = cli("credits", "list", "--below", "50", "-q", "-o", "csv")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    low = cli("credits", "list", "--below", "500", "-q", "-o", "csv")
    assert low.stdout.count("\n") == 4


# -- verify -------------------------------------------------------------------------------
def _ledger(cli):
    cli("credits", "add", "alice@example.com", "10", "--reason", "a")
    cli("credits", "deduct", "alice@example.com", "3", "--reason", "b")
    cli("credits", "add", "alice@example.com", "1", "--reason", "c")
    cli("credits", "add", "bob@example.com", "4", "--reason", "d")


def test_verify_is_clean_on_an_honest_ledger(cli, clients):
    _ledger(cli)
    r = cli("credits", "verify")
    assert r.exit_code == 0, r
    assert "4 entries" in r.stderr
    data = cli("credits", "verify", "-o", "json").json()
    assert data == {"accounts": 5, "entries": 4, "ok": True, "problems": []}
    assert cli("credits", "verify", "-q").stderr == ""


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("UPDATE account SET credit_balance = credit_balance + 50000 WHERE id = {alice}",
         [("{alice}", None, "sum of its ledger", "8.0000", "13.0000")]),
        ("UPDATE credit_entry SET amount = -20000 WHERE reason = 'b'",
         [("{alice}", "b", "does not follow", "8.0000", "7.0000"), ("{alice}", None, "sum of its ledger", "9.0000", "8.0000")]),
        ("UPDATE credit_entry SET balance_after = 99990000 WHERE reason = 'b'",
         [("{alice}", "b", "does not follow", "7.0000", "9999.0000"), ("{alice}", "c", "does not follow", "10000.0000", "8.0000")]),
        ("DELETE FROM credit_entry WHERE reason = 'c'",
         [("{alice}", None, "sum of its ledger", "7.0000", "8.0000")]),
        ("DELETE FROM credit_entry WHERE reason = 'a'",
         [("{alice}", "b", "does not follow", "-3.0000", "7.0000"), ("{alice}", None, "sum of its ledger", "-2.0000", "8.0000")]),
        ("UPDATE credit_entry SET kind = 'topup' WHERE reason = 'b'",
         [("{alice}", "b", "cannot have the amount", None, None)]),
    ],
    ids=["balance", "amount", "balance_after", "last-entry-deleted", "first-entry-deleted", "kind"],
)
def test_verify_finds_tampering_with_account_and_both_figures(cli, clients, db_url, tamper, expected):
    from sqlalchemy import text

    _ledger(cli)
    ids = {e["reason"]: e["id"] for e in entries(cli, "alice@example.com")}
    with store_session(db_url) as s:
        if "SET kind" in tamper:  # someone with the database in hand can get past the CHECK constraints
            s.execute(text("PRAGMA ignore_check_constraints = ON" if s.get_bind().dialect.name == "sqlite"
                           else "ALTER TABLE credit_entry DROP CONSTRAINT ck_credit_entry_amount_sign"))
        s.execute(text(tamper.format(**clients)))
    r = cli("credits", "verify", "-o", "json")
    assert r.exit_code == 1, r
    assert "does not match" in one_line_error(r)
    problems = [(str(p["account_id"]), p["entry_id"], p["problem"], p["expected"], p["found"]) for p in r.json()["problems"]]
    want = [(a.format(**clients), ids.get(e) if e else None, text_, exp, found) for a, e, text_, exp, found in expected]
    assert len(problems) == len(want)
    for got, w in zip(problems, want):
        assert got[:2] == w[:2] and w[2] in got[2] and got[3:] == w[3:], (got, w)
    table = cli("credits", "verify")
    assert table.exit_code == 1
    assert f"account {clients['alice']}" in table.stderr and "error: " in table.stderr.splitlines()[-1]


# -- cron -----------------------------------------------------------------------------------
# The README's crontab lines, verbatim (cron turns \% into %).
CRON_TOPUP = ('0 3 1 * * mailadmin credits add --package gold 100 --reason "monthly top-up $(date -u +\\%Y-\\%m)" '
              '--key "topup:gold:$(date -u +\\%Y-\\%m)" -q')
CRON_ALERT = "0 8 * * * mailadmin credits list --below 20 -q -o csv"


def _cron(line: str, cli_env) -> subprocess.CompletedProcess:
    """Run a crontab line's command the way cron does: five time fields off, \\% -> %, sh -c."""
    command = line.split(None, 5)[5].replace("\\%", "%")
    bindir = os.path.dirname(sys.executable)
    env = {**os.environ, **cli_env, "PYTHONPATH": str(REPO), "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env, timeout=120)


def test_the_crontab_topup_run_twice_in_a_month_changes_nothing_the_second_time(cli, cli_env, clients):
    assert shlex.split(CRON_TOPUP.split(None, 5)[5])[:3] == ["mailadmin", "credits", "add"]
    first = _cron(CRON_TOPUP, cli_env)
    assert (first.returncode, first.stdout, first.stderr) == (0, "", "")
    paid = {u: balance(cli, f"{u}@example.com") for u in ("alice", "bob", "dave", "erin")}
    # active accounts only: dave is suspended, erin closed
    assert paid == {"alice": "100.0000", "bob": "100.0000", "dave": "0.0000", "erin": "0.0000"}
    audits = audit_count(cli)
    second = _cron(CRON_TOPUP, cli_env)
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    assert {u: balance(cli, f"{u}@example.com") for u in paid} == paid
    assert audit_count(cli) == audits
    assert len(entries(cli, "alice@example.com")) == 1
    assert cli("credits", "verify").exit_code == 0


def test_the_crontab_alert_is_silent_until_an_account_runs_low(cli, cli_env, clients):
    for user in ("alice", "bob", "dave"):
        cli("credits", "add", f"{user}@example.com", "50", "--reason", "r")
    quiet = _cron(CRON_ALERT, cli_env)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    cli("credits", "deduct", "bob@example.com", "45", "--reason", "big campaign")
    alert = _cron(CRON_ALERT, cli_env)
    assert alert.returncode == 0 and alert.stderr == ""
    assert alert.stdout.splitlines() == ["account_id,user,package,status,balance",
                                         f"{clients['bob']},bob@example.com,gold,active,5.0000"]


@pytest.mark.parametrize(
    "args",
    [
        ["add", "alice@example.com", "5", "--reason", "r", "--key", "q1", "-q"],
        ["add", "alice@example.com", "5", "--reason", "r", "--key", "q1", "-q"],  # the replay, too
        ["deduct", "alice@example.com", "1", "--reason", "r", "-q"],
        ["adjust", "alice@example.com", "-1", "--reason", "r", "-q"],
        ["verify", "-q"],
    ],
)
def test_quiet_prints_nothing_on_success(cli, clients, args):
    cli("credits", "add", "alice@example.com", "5", "--reason", "r", "--key", "q1")
    r = cli("credits", *args)
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")


def test_quiet_still_prints_the_one_error_line(cli, clients):
    r = cli("credits", "deduct", "alice@example.com", "1", "--reason", "r", "-q")
    assert r.exit_code == 6 and one_line_error(r)

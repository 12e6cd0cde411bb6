"""`users import FILE.csv|-`: account owners in bulk, validated first, one transaction, set-based
(issue 12, point 3). Through the CLI on both stores: what is created, how existing accounts are
handled (conflict, --skip-existing, --update), --dry-run, the JSON report, the admin key --update
needs, and that the number of statements does not grow with the rows."""

from __future__ import annotations

import io
import random

import pytest

from tests.cli.test_access_queries import counted_statements
from tests.conftest import BASE_ENV
from tests.helpers import audit_count, refused

HEADER = "email,name,package\n"


@pytest.fixture
def world(cli):
    assert cli("packages", "create", "starter", "--role", "regular", "--limit", "daily=100").exit_code == 0
    assert cli("packages", "create", "trial", "--role", "regular", "--expires-after", "30").exit_code == 0
    return cli


def write(tmp_path, text: str, name: str = "clients.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def show(cli, email: str) -> dict:
    r = cli("users", "show", email, "-o", "json")
    assert r.exit_code == 0, r
    return r.json()


def emails(cli) -> list[str]:
    return cli("users", "list", "-o", "ids").stdout.split()


# -- creating --------------------------------------------------------------------------------
def test_a_file_with_bom_crlf_quotes_and_every_column_creates_the_accounts(world, tmp_path):
    text = ("\ufeffPackage,Email,name,status,expires,daily,monthly,ip_allow\r\n"
            'starter,Alice@Example.COM,"Martin, Alice",active,2027-01-01,5000,unlimited,203.0.113.7; 2001:db8::/32 10.1.2.3/8\r\n'
            "trial,bob@example.com,Bob,suspended,,,,\r\n"
            "starter,carol@example.com,,closed,never,inherit,,none\r\n")
    r = world("users", "import", write(tmp_path, text), "-o", "json")
    assert r.exit_code == 0, r
    report = r.json()
    assert report["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "skipped": 0}
    assert [(c["line"], c["email"]) for c in report["created"]] == [
        (2, "alice@example.com"), (3, "bob@example.com"), (4, "carol@example.com")]
    assert all(isinstance(c["id"], int) for c in report["created"]) and report["dry_run"] is False
    assert r.stderr == "created 3 accounts\n"

    alice = show(world, "alice@example.com")
    assert (alice["name"], alice["package"], alice["status"], alice["plan_expires_at"]) == (
        "Martin, Alice", "starter", "active", "2027-01-01T00:00:00Z")
    assert alice["limits"]["daily"] == {"value": 5000, "source": "override", "package_value": 100}
    assert alice["limits"]["monthly"]["value"] == "unlimited" and alice["limits"]["monthly"]["source"] == "override"
    assert alice["ip_allow"] == ["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32"]
    bob = show(world, "bob@example.com")
    assert bob["status"] == "suspended" and bob["suspensions"][0]["reason"] == "imported"
    assert bob["plan_expires_at"] is not None  # the trial package's 30 days
    carol = show(world, "carol@example.com")
    assert (carol["status"], carol["closed_reason"], carol["plan_expires_at"]) == ("closed", "imported", None)
    assert carol["limits"]["daily"]["source"] == "package" and carol["ip_allow"] == []
    assert world("audit", "verify").exit_code == 0


def test_from_stdin_with_blank_lines_and_quiet(world):
    r = world("users", "import", "-", "-q", input=HEADER + "\na@example.com,A,starter\n\nb@example.com,B,starter\n")
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "")
    assert emails(world) == ["a@example.com", "b@example.com"]


def test_every_account_gets_one_audit_entry(world, tmp_path, cli_env):
    before = audit_count(cli_env["MAILADMIN_DB"])
    rows = "".join(f"u{i}@example.com,U{i},starter\n" for i in range(7))
    assert world("users", "import", write(tmp_path, HEADER + rows)).exit_code == 0
    assert audit_count(cli_env["MAILADMIN_DB"]) == before + 7
    entry = world("audit", "list", "-n", "1", "-o", "json").json()[0]
    assert entry["action"] == "user.create" and entry["after"]["source"] == "import"


# -- existing accounts -----------------------------------------------------------------------
@pytest.fixture
def existing(world):
    assert world("users", "create", "old@example.com", "--package", "starter", "--name", "Old").exit_code == 0
    return world


def test_existing_accounts_are_a_conflict_and_nothing_is_imported(existing, tmp_path, cli_env):
    before = audit_count(cli_env["MAILADMIN_DB"])
    path = write(tmp_path, HEADER + "new@example.com,N,starter\nOLD@example.com,Old,starter\n")
    refused(existing("users", "import", path), 5, "1 user already exists: old@example.com (line 3); nothing was imported")
    assert emails(existing) == ["old@example.com"] and audit_count(cli_env["MAILADMIN_DB"]) == before


def test_skip_existing_leaves_them_and_reports_them(existing, tmp_path):
    path = write(tmp_path, HEADER + "new@example.com,N,starter\nold@example.com,Renamed,trial\n")
    r = existing("users", "import", path, "--skip-existing", "-o", "json")
    assert r.exit_code == 0, r
    assert [s["email"] for s in r.json()["skipped"]] == ["old@example.com"]
    assert r.stderr == "created 1 account; 1 skipped (already exist)\n"
    old = show(existing, "old@example.com")
    assert (old["name"], old["package"]) == ("Old", "starter")


def test_update_sets_the_rows_values_audited_and_a_second_run_changes_nothing(existing, tmp_path, cli_env):
    path = write(tmp_path, "email,name,package,status,daily,ip_allow\n"
                           "old@example.com,Renamed,trial,suspended,7,192.0.2.0/24\nnew@example.com,N,starter,,,\n")
    r = existing("users", "import", path, "--update", "-o", "json")
    assert r.exit_code == 0, r
    report = r.json()
    assert report["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "skipped": 0}
    assert report["updated"][0]["changed"] == ["name", "package", "plan_expires_at", "limits", "ip_allow", "status"]
    old = show(existing, "old@example.com")
    assert (old["name"], old["package"], old["status"], old["ip_allow"]) == ("Renamed", "trial", "suspended", ["192.0.2.0/24"])
    assert old["limits"]["daily"]["value"] == 7 and old["plan_expires_at"] is not None
    entry = existing("audit", "list", "--action", "user.import", "-o", "json").json()[0]
    assert entry["target"] == "user:old@example.com"
    assert entry["before"]["name"] == "Old" and entry["after"]["limits"] == {"daily": 7}

    count = audit_count(cli_env["MAILADMIN_DB"])
    again = existing("users", "import", path, "--update", "-o", "json")
    assert again.exit_code == 0, again
    assert again.json()["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "skipped": 0}
    assert audit_count(cli_env["MAILADMIN_DB"]) == count

    back = write(tmp_path, "email,name,package,status,daily,ip_allow,expires\nold@example.com,Renamed,trial,active,inherit,none,never\n",
                 "back.csv")
    assert existing("users", "import", back, "--update").exit_code == 0
    old = show(existing, "old@example.com")
    assert (old["status"], old["ip_allow"], old["limits"]["daily"]["source"], old["plan_expires_at"]) == (
        "active", [], "package", None)
    assert existing("audit", "verify").exit_code == 0


def test_update_can_close_and_reopen(existing, tmp_path):
    close = write(tmp_path, "email,name,package,status\nold@example.com,Old,starter,closed\n")
    assert existing("users", "import", close, "--update").exit_code == 0
    assert show(existing, "old@example.com")["status"] == "closed"
    reopen = write(tmp_path, "email,name,package,status\nold@example.com,Old,starter,active\n", "reopen.csv")
    assert existing("users", "import", reopen, "--update").exit_code == 0
    assert show(existing, "old@example.com")["status"] == "active"


def test_update_refuses_a_team_member(existing, tmp_path):
    assert existing("users", "invite", "old@example.com", "mia@example.com", "--role", "viewer").exit_code == 0
    path = write(tmp_path, HEADER + "mia@example.com,Mia,starter\n")
    refused(existing("users", "import", path, "--update"), 5, "mia@example.com (line 2) is not an account owner")


def test_skip_existing_and_update_exclude_each_other(existing, tmp_path):
    refused(existing("users", "import", write(tmp_path, HEADER), "--update", "--skip-existing"), 2, "exclude each other")


def test_update_needs_clients_edit_once_operators_are_registered(existing, tmp_path, monkeypatch):
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setenv("USER", "alice")
    assert existing("operators", "add", "alice", "--role", "superadmin").exit_code == 0
    assert existing("operators", "roles", "create", "onboarding", "--grant", "clients.add").exit_code == 0
    assert existing("operators", "add", "bob", "--role", "onboarding").exit_code == 0
    bob = {"LOGNAME": "bob", "USER": "bob"}
    path = write(tmp_path, HEADER + "old@example.com,Changed,starter\n")
    refused(existing("users", "import", path, "--update", env=bob), 4, "clients.edit needed by `users import --update`")
    assert show(existing, "old@example.com")["name"] == "Old"
    fresh = write(tmp_path, HEADER + "fresh@example.com,F,starter\n", "fresh.csv")
    assert existing("users", "import", fresh, env=bob).exit_code == 0


# -- dry run ---------------------------------------------------------------------------------
def test_dry_run_reports_and_writes_nothing(existing, tmp_path, cli_env):
    before = audit_count(cli_env["MAILADMIN_DB"])
    path = write(tmp_path, HEADER + "new@example.com,N,starter\nold@example.com,Renamed,starter\n")
    r = existing("users", "import", path, "--update", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r
    report = r.json()
    assert report["dry_run"] is True
    assert report["created"] == [{"line": 2, "email": "new@example.com", "id": None}]
    assert report["updated"][0]["changed"] == ["name"]
    assert "dry run: would create 1 account; would update 1 account; nothing changed" in r.stderr
    assert emails(existing) == ["old@example.com"] and show(existing, "old@example.com")["name"] == "Old"
    assert audit_count(cli_env["MAILADMIN_DB"]) == before


# -- set-based -------------------------------------------------------------------------------
def _count(db_url, tmp_path, text: str, *args: str) -> int:
    from mailadmin.cli.app import invoke

    env = {**BASE_ENV, "MAILADMIN_DB": db_url, "MAILADMIN_CONFIG": str(tmp_path / "config.toml")}
    err = io.StringIO()
    with counted_statements() as seen:
        code = invoke(["users", "import", "-", *args], stdin=io.StringIO(text), stdout=io.StringIO(), stderr=err, env=env)
    assert code == 0, err.getvalue()
    return len(seen)


def test_statements_do_not_grow_with_rows(world, db_url, tmp_path):
    header = "email,name,package,status,daily,ip_allow\n"

    def rows(prefix: str, n: int) -> str:
        statuses = ("", "suspended", "closed")
        return header + "".join(f"{prefix}{i}@example.com,N{i},starter,{statuses[i % 3]},{i},192.0.2.{i % 250}\n" for i in range(n))

    small, large = _count(db_url, tmp_path, rows("s", 10)), _count(db_url, tmp_path, rows("l", 1000))
    assert large == small, (small, large)
    # updating them all costs the same few statements too
    upd_small = _count(db_url, tmp_path, rows("s", 10).replace(",N", ",M"), "--update")
    upd_large = _count(db_url, tmp_path, rows("l", 1000).replace(",N", ",M"), "--update")
    assert upd_large == upd_small, (upd_small, upd_large)


# -- the email fast path ---------------------------------------------------------------------
def test_the_remembered_domains_normalise_exactly_as_email_validator():
    from mailadmin.errors import InvalidInput
    from mailadmin.refs import normalise_email
    from mailadmin.services.imports import EmailNormaliser

    rnd = random.Random(12)
    locals_ = ["a", "Bob", "x.y", "a..b", ".a", "a.", "o'neil", "a+tag", "#!$%&*/=?^_`{|}~-", "x" * 64, "x" * 65, "ü", "a b", ""]
    domains = ["example.com", "EXAMPLE.com", "bücher.example", "xn--bcher-kva.example", "sub.example.co.uk", "localhost",
               "a.b", "example", "-bad.com", "x" * 63 + ".com", ("y" * 63 + ".") * 3 + "com", "1.2.3.4", "[192.0.2.1]"]
    fast = EmailNormaliser()
    for _ in range(2000):
        raw = f"{rnd.choice(locals_)}@{rnd.choice(domains)}"
        try:
            want = normalise_email(raw)
        except InvalidInput:
            want = None
        try:
            got = fast(raw)
        except InvalidInput:
            got = None
        assert got == want, raw


def test_a_client_user_is_refused_before_the_file_is_read(existing):
    # stdin is never read: the refusal is the permission check's, not the empty input's
    refused(existing("--as", "old@example.com", "users", "import", "-", input=""), 4, "operator action")
    refused(existing("--as", "old@example.com", "users", "import", "/nonexistent.csv"), 4, "operator action")

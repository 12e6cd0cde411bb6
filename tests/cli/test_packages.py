"""`mailadmin packages` through the CLI: limits, role cap, credit settings, assets, the live link
to accounts (edit, --dry-run), deleting with --reassign, and bad input."""

from __future__ import annotations

import pytest

from tests.helpers import one_line_error

LIMITS = ("hourly", "daily", "monthly", "contacts", "segments", "domains", "triggers", "evergreen_campaigns", "threads",
          "automation_actions", "automation_monthly", "suppressed_domains", "team_members")


def audit_count(cli) -> int:
    return len(cli("audit", "list", "--limit", "0", "-o", "json").json())


def test_create_with_every_setting_and_show_json(cli):
    r = cli("packages", "create", "business", "--role", "admin", "--limit", "daily=5000", "--limit", "hourly=unlimited",
            "--limit", "team_members=0", "--credits", "--credit-cost", "0.0015", "--allow-overuse", "--bounce-limit", "2.5",
            "--expires-after", "30", "--description", "Commercial tier", "--asset", "node=MTA1", "--asset", "bounce=Bounce@Example.NET",
            "--asset", "domain=Mail.Example.com")
    assert r.exit_code == 0, r
    assert "created package business" in r.stderr and r.stdout == ""
    data = cli("packages", "show", "business", "-o", "json").json()
    assert data["role"] == "admin" and data["description"] == "Commercial tier"
    assert set(data["limits"]) == set(LIMITS)
    assert data["limits"]["daily"] == 5000 and data["limits"]["hourly"] == "unlimited" and data["limits"]["team_members"] == 0
    assert data["limits"]["contacts"] == "unlimited"  # not given: unlimited
    assert data["credits_enabled"] is True and data["allow_overuse"] is True
    assert data["credit_cost"] == "0.0015" and data["bounce_limit"] == "2.50" and data["expires_after"] == 30
    assert data["assets"] == {"node": ["mta1"], "bounce": ["bounce@example.net"], "domain": ["mail.example.com"]}
    assert data["accounts"] == 0 and data["created_at"].endswith("Z")


def test_defaults_are_no_credits_no_bounce_limit_no_expiry(cli):
    assert cli("packages", "create", "free", "--role", "regular").exit_code == 0
    data = cli("packages", "show", "free", "-o", "json").json()
    assert data["credits_enabled"] is False and data["credit_cost"] == "0.0000" and data["allow_overuse"] is False
    assert data["bounce_limit"] is None and data["expires_after"] is None
    assert all(v == "unlimited" for v in data["limits"].values())


def test_list_json_ids_and_table(cli):
    cli("packages", "create", "free", "--role", "regular", "--limit", "daily=100")
    cli("packages", "create", "pro", "--role", "admin", "--credits", "--credit-cost", "0.001")
    assert cli("packages", "list", "-o", "ids").stdout.split() == ["free", "pro"]
    rows = cli("packages", "list", "-o", "json").json()
    assert [r["name"] for r in rows] == ["free", "pro"] and rows[1]["credit_cost"] == "0.0010"
    table = cli("packages", "list").stdout
    assert "0.0010/email" in table and "100" in table


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["packages", "create", "x"], 2, "needs --role"),
        (["packages", "create", "x", "--role", "nosuch"], 3, "no role named 'nosuch'"),
        (["packages", "create", "Bad Name", "--role", "regular"], 2, "not a slug"),
        (["packages", "create", "x", "--role", "regular", "--limit", "daily=-1"], 2, "integer >= 0 or 'unlimited'"),
        (["packages", "create", "x", "--role", "regular", "--limit", "daily=lots"], 2, "integer >= 0 or 'unlimited'"),
        (["packages", "create", "x", "--role", "regular", "--limit", "dayly=5"], 2, "did you mean daily"),
        (["packages", "create", "x", "--role", "regular", "--limit", "daily"], 2, "NAME=VALUE"),
        (["packages", "create", "x", "--role", "regular", "--credit-cost", "0.00001"], 2, "at most 4 decimals"),
        (["packages", "create", "x", "--role", "regular", "--credit-cost", "-1"], 2, "must be positive"),
        (["packages", "create", "x", "--role", "regular", "--bounce-limit", "101"], 2, "over 100"),
        (["packages", "create", "x", "--role", "regular", "--bounce-limit", "2.555"], 2, "not a percentage"),
        (["packages", "create", "x", "--role", "regular", "--expires-after", "0"], 2, "days > 0"),
        (["packages", "create", "x", "--role", "regular", "--asset", "printer=x"], 2, "unknown asset kind"),
        (["packages", "create", "x", "--role", "regular", "--asset", "bounce=not-an-email"], 2, "not a valid email"),
        (["packages", "create", "x", "--role", "regular", "--asset", "domain=-bad-.com"], 2, "not a domain"),
        (["packages", "show", "nosuch"], 3, "no package named 'nosuch'"),
        (["packages", "edit", "nosuch", "--limit", "daily=1"], 3, "no package named"),
        (["packages", "show", "free", "-o", "ids"], 2, "list commands only"),
    ],
)
def test_bad_input_exit_code_one_line_nothing_written(cli, args, code, needle):
    cli("packages", "create", "free", "--role", "regular")
    before = audit_count(cli)
    r = cli(*args)
    assert r.exit_code == code, r
    assert needle in one_line_error(r)
    assert r.stdout == ""
    assert audit_count(cli) == before
    assert cli("packages", "list", "-o", "ids").stdout.split() == ["free"]


def test_duplicate_name_is_a_conflict(cli):
    cli("packages", "create", "free", "--role", "regular")
    r = cli("packages", "create", "free", "--role", "admin")
    assert r.exit_code == 5 and "already exists" in one_line_error(r)


def test_create_writes_an_audit_entry(cli):
    cli("packages", "create", "free", "--role", "regular", "--limit", "daily=10")
    entry = cli("audit", "list", "--target", "package:free", "-o", "json").json()[0]
    assert entry["action"] == "package.create" and entry["after"]["limits"]["daily"] == 10


def test_edit_changes_settings_and_is_audited(cli):
    cli("packages", "create", "pro", "--role", "regular", "--credits", "--allow-overuse", "--bounce-limit", "5", "--expires-after", "30")
    r = cli("packages", "edit", "pro", "--role", "admin", "--no-credits", "--no-allow-overuse", "--credit-cost", "0.5",
            "--bounce-limit", "none", "--expires-after", "never", "--description", "now bigger")
    assert r.exit_code == 0, r
    data = cli("packages", "show", "pro", "-o", "json").json()
    assert (data["role"], data["credits_enabled"], data["allow_overuse"], data["credit_cost"]) == ("admin", False, False, "0.5000")
    assert data["bounce_limit"] is None and data["expires_after"] is None and data["description"] == "now bigger"
    entry = cli("audit", "list", "--target", "package:pro", "-o", "json").json()[0]
    assert entry["action"] == "package.edit"
    assert entry["before"]["role"] == "regular" and entry["after"]["role"] == "admin"


def test_edit_with_nothing_different_says_so(cli):
    cli("packages", "create", "pro", "--role", "regular", "--limit", "daily=5")
    before = audit_count(cli)
    r = cli("packages", "edit", "pro", "--limit", "daily=5")
    assert r.exit_code == 0 and "unchanged" in r.stderr
    assert audit_count(cli) == before


def make_accounts(cli):
    cli("packages", "create", "starter", "--role", "regular", "--limit", "daily=100", "--limit", "hourly=10")
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        assert cli("users", "create", email, "--package", "starter").exit_code == 0
    assert cli("users", "limits", "b@example.com", "--set", "daily=999").exit_code == 0


def test_edit_reaches_every_inheriting_account_and_overrides_survive(cli):
    make_accounts(cli)
    assert cli("packages", "edit", "starter", "--limit", "daily=200").exit_code == 0
    limits = {e: cli("users", "limits", e, "-o", "json").json()["limits"]["daily"] for e in ("a@example.com", "b@example.com")}
    assert limits["a@example.com"] == {"value": 200, "source": "package", "package_value": 200}
    assert limits["b@example.com"] == {"value": 999, "source": "override", "package_value": 200}


def test_edit_dry_run_lists_accounts_and_overrides_and_changes_nothing(cli):
    make_accounts(cli)
    before = audit_count(cli)
    r = cli("packages", "edit", "starter", "--limit", "daily=200", "--dry-run", "-o", "json")
    assert r.exit_code == 0, r
    report = r.json()
    assert report["dry_run"] is True
    assert report["changes"] == {"limits.daily": {"before": 100, "after": 200}}
    by_owner = {a["owner"]: a for a in report["accounts"]}
    assert set(by_owner) == {"a@example.com", "b@example.com", "c@example.com"}
    assert by_owner["a@example.com"]["affected"] is True and by_owner["a@example.com"]["inherits"] == ["daily"]
    assert by_owner["b@example.com"]["affected"] is False and by_owner["b@example.com"]["keeps_override"] == ["daily"]
    assert (report["affected"], report["keeping_override"]) == (2, 1)
    assert cli("packages", "show", "starter", "-o", "json").json()["limits"]["daily"] == 100
    assert audit_count(cli) == before
    table = cli("packages", "edit", "starter", "--limit", "daily=200", "--dry-run")
    assert "b@example.com" in table.stdout and "dry run" in table.stderr and "1 keep an override" in table.stderr


def test_role_change_reaches_every_account_even_with_overrides(cli):
    make_accounts(cli)
    report = cli("packages", "edit", "starter", "--role", "viewer", "--dry-run", "-o", "json").json()
    assert report["affected"] == 3 and all(a["affected"] for a in report["accounts"])


def test_delete_unused_needs_yes_then_deletes(cli):
    cli("packages", "create", "temp", "--role", "regular", "--asset", "node=mta1", "--limit", "daily=5")
    r = cli("packages", "delete", "temp")
    assert r.exit_code == 2 and "--yes" in one_line_error(r)
    assert cli("packages", "delete", "temp", "--yes").exit_code == 0
    assert cli("packages", "show", "temp").exit_code == 3
    assert cli("audit", "list", "--target", "package:temp", "-o", "json").json()[0]["action"] == "package.delete"


def test_package_in_use_cannot_be_deleted_without_reassign(cli):
    make_accounts(cli)
    r = cli("packages", "delete", "starter", "--yes")
    assert r.exit_code == 5 and "used by 3 account(s)" in one_line_error(r) and "--reassign" in r.stderr
    assert cli("packages", "show", "starter").exit_code == 0


def test_delete_with_reassign_moves_accounts_and_keeps_overrides(cli):
    make_accounts(cli)
    cli("packages", "create", "pro", "--role", "admin", "--limit", "daily=5000")
    r = cli("packages", "delete", "starter", "--reassign", "pro", "--yes")
    assert r.exit_code == 0, r
    assert "moved 3 account(s) to pro" in r.stderr
    assert cli("packages", "show", "starter").exit_code == 3
    assert cli("users", "show", "a@example.com", "-o", "json").json()["package"] == "pro"
    assert cli("users", "limits", "a@example.com", "-o", "json").json()["limits"]["daily"]["value"] == 5000
    assert cli("users", "limits", "b@example.com", "-o", "json").json()["limits"]["daily"]["value"] == 999
    assert cli("packages", "show", "pro", "-o", "json").json()["accounts"] == 3


@pytest.mark.parametrize(("reassign", "code"), [("starter", 2), ("nosuch", 3)])
def test_bad_reassign_deletes_nothing(cli, reassign, code):
    make_accounts(cli)
    r = cli("packages", "delete", "starter", "--reassign", reassign, "--yes")
    assert r.exit_code == code
    one_line_error(r)
    assert cli("packages", "show", "starter", "-o", "json").json()["accounts"] == 3


def test_assets_add_remove_and_list(cli):
    cli("packages", "create", "pro", "--role", "regular", "--asset", "node=mta1")
    r = cli("packages", "assets", "pro", "--add", "node=mta2", "--add", "bounce=b@bounce.example", "--remove", "node=mta1", "-o", "json")
    assert r.exit_code == 0, r
    assert sorted((a["kind"], a["value"]) for a in r.json()) == [("bounce", "b@bounce.example"), ("node", "mta2")]
    again = cli("packages", "assets", "pro", "--add", "node=mta2", "--remove", "domain=x.example")
    assert "node=mta2 was already assigned" in again.stderr and "domain=x.example was not assigned" in again.stderr
    assert "mta2" in cli("packages", "assets", "pro").stdout
    assert cli("audit", "list", "--target", "package:pro", "--action", "package.assets", "-o", "json").json()


def test_assets_bad_input_changes_nothing(cli):
    cli("packages", "create", "pro", "--role", "regular", "--asset", "node=mta1")
    r = cli("packages", "assets", "pro", "--add", "node=mta2", "--add", "bounce=nope")
    assert r.exit_code == 2
    one_line_error(r)
    assert cli("packages", "show", "pro", "-o", "json").json()["assets"]["node"] == ["mta1"]

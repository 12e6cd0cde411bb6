"""`mailadmin users limits`: effective value and source of every limit, overrides and inheritance,
and the live link to the package."""

from __future__ import annotations

import pytest

from tests.helpers import one_line_error

NAMES = ["hourly", "daily", "monthly", "contacts", "segments", "domains", "triggers", "evergreen_campaigns", "threads",
         "automation_actions", "automation_monthly", "suppressed_domains", "team_members"]


@pytest.fixture
def alice(cli):
    assert cli("packages", "create", "starter", "--role", "regular", "--limit", "daily=100", "--limit", "hourly=10").exit_code == 0
    assert cli("packages", "create", "pro", "--role", "regular", "--limit", "daily=5000").exit_code == 0
    assert cli("users", "create", "alice@example.com", "--package", "starter").exit_code == 0


def limits(cli, user="alice@example.com"):
    r = cli("users", "limits", user, "-o", "json")
    assert r.exit_code == 0, r
    return r.json()


def test_every_limit_is_shown_with_its_source(cli, alice):
    data = limits(cli)
    assert data["user"] == "alice@example.com" and data["package"] == "starter"
    assert list(data["limits"]) == NAMES
    assert data["limits"]["daily"] == {"value": 100, "source": "package", "package_value": 100}
    assert data["limits"]["contacts"] == {"value": "unlimited", "source": "package", "package_value": "unlimited"}
    table = cli("users", "limits", "alice@example.com")
    assert all(name in table.stdout for name in NAMES)
    assert table.stdout.count("package") >= len(NAMES)
    csv_lines = cli("users", "limits", "alice@example.com", "-o", "csv").stdout.splitlines()
    assert csv_lines[0] == "limit,value,source,package_value" and "daily,100,package,100" in csv_lines


def test_set_overrides_and_inherit_goes_back(cli, alice):
    r = cli("users", "limits", "alice@example.com", "--set", "daily=20000", "--set", "contacts=unlimited", "--set", "hourly=0", "-o", "json")
    assert r.exit_code == 0, r
    assert r.stderr == ""
    data = r.json()["limits"]
    assert data["daily"] == {"value": 20000, "source": "override", "package_value": 100}
    assert data["contacts"] == {"value": "unlimited", "source": "override", "package_value": "unlimited"}
    assert data["hourly"]["value"] == 0
    assert "override (package: 100)" in cli("users", "limits", "alice@example.com").stdout
    r = cli("users", "limits", "alice@example.com", "--inherit", "daily", "--inherit", "monthly")
    assert r.exit_code == 0
    assert "monthly already inherits" in r.stderr
    assert r.stderr.splitlines() == [
        "monthly already inherits from the package",
        "alice@example.com on package starter: `--set NAME=VALUE` overrides, `--inherit NAME` goes back to the package",
    ]
    assert limits(cli)["limits"]["daily"] == {"value": 100, "source": "package", "package_value": 100}
    entries = cli("audit", "list", "--target", "user:alice@example.com", "--action", "account.limits", "-o", "json").json()
    assert entries[0]["before"] == {"daily": 20000} and entries[0]["after"] == {"daily": "inherit"}


def test_package_edit_reaches_inheriting_accounts_overrides_survive(cli, alice):
    cli("users", "create", "bob@example.com", "--package", "starter")
    r = cli("users", "limits", "bob@example.com", "--set", "daily=7")
    assert r.exit_code == 0, r
    assert r.stderr == "bob@example.com on package starter: `--set NAME=VALUE` overrides, `--inherit NAME` goes back to the package\n"
    cli("packages", "edit", "starter", "--limit", "daily=300", "--limit", "contacts=50")
    assert limits(cli)["limits"]["daily"]["value"] == 300
    assert limits(cli)["limits"]["contacts"]["value"] == 50
    bob = limits(cli, "bob@example.com")["limits"]
    assert bob["daily"] == {"value": 7, "source": "override", "package_value": 300}
    assert bob["contacts"]["value"] == 50


def test_overrides_survive_a_package_change(cli, alice):
    cli("users", "limits", "alice@example.com", "--set", "hourly=3")
    cli("users", "edit", "alice@example.com", "--package", "pro")
    data = limits(cli)["limits"]
    assert data["hourly"] == {"value": 3, "source": "override", "package_value": "unlimited"}
    assert data["daily"] == {"value": 5000, "source": "package", "package_value": 5000}


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--set", "dayly=5"], 2, "did you mean daily"),
        (["--set", "daily=-5"], 2, "integer >= 0"),
        (["--set", "daily=1.5"], 2, "integer >= 0"),
        (["--set", "daily"], 2, "NAME=VALUE"),
        (["--set", "daily=5", "--inherit", "daily"], 2, "both set and inherited"),
        (["--set", "daily=5", "--set", "daily=6"], 2, "given twice"),
        (["--inherit", "everything"], 2, "unknown limit"),
        (["--set", "hourly=1", "--set", "daily=x"], 2, "integer >= 0"),
    ],
)
def test_bad_limits_change_nothing(cli, alice, args, code, needle):
    before = limits(cli)
    r = cli("users", "limits", "alice@example.com", *args)
    assert r.exit_code == code, r
    assert needle in one_line_error(r)
    assert limits(cli) == before


def test_unknown_user_is_exit_3(cli, alice):
    r = cli("users", "limits", "nobody@example.com", "--set", "daily=1")
    assert r.exit_code == 3
    assert "no user 'nobody@example.com'" in one_line_error(r)

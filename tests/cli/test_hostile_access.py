"""Hostile input to `users can`, `users access`, `--as` and the impact dry runs: each gets its
documented exit code and one stderr line, and changes nothing."""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

OWNER = "owner@hostile.example"


@pytest.fixture
def store_with_owner(cli, db_url):
    assert cli("packages", "create", "pro", "--role", "admin").exit_code == 0
    assert cli("users", "create", OWNER, "--package", "pro").exit_code == 0
    return db_url


CASES = [
    (["users", "can", OWNER, "campaign.edit"], 2, "did you mean campaigns.edit"),
    (["users", "can", OWNER, "campaigns.edit\n"], 2, "unknown permission key"),
    (["users", "can", OWNER, ""], 2, "unknown permission key"),
    (["users", "can", OWNER], 2, "give a KEY, or --list"),
    (["users", "can", OWNER, "campaigns.edit", "--list"], 2, "give a KEY, or --list"),
    (["users", "can", "nobody@hostile.example", "campaigns.edit"], 3, "no user 'nobody@hostile.example'"),
    (["users", "can", "#99999999999", "campaigns.edit"], 3, "no user"),
    (["users", "can", "not an email", "campaigns.edit"], 2, "neither an email nor #ID"),
    (["users", "can", OWNER, "campaigns.edit", "--domain", "nowhere.example"], 3, "no domain 'nowhere.example'"),
    (["users", "can", OWNER, "campaigns.edit", "--domain", "bad..name"], 2, ""),
    (["users", "can", OWNER, "campaigns.edit", "-o", "ids"], 2, "ids"),
    (["users", "can", OWNER, "campaigns.edit", "--domain", ""], 2, "must not be empty"),
    (["users", "can", OWNER, "--list", "--domain", "nowhere.example"], 3, "no domain 'nowhere.example'"),
    (["users", "access", "nobody@hostile.example"], 3, "no user"),
    (["users", "access", OWNER, "--domain", "nowhere.example"], 3, "no domain 'nowhere.example'"),
    (["users", "access", OWNER, "--domain", "192.0.2.1"], 2, "IP address"),
    (["roles", "grant", "viewer", "campaigns.edit", "--dry-run", "-o", "ids"], 2, "ids"),
    (["users", "access", OWNER, "-o", "wide"], 2, "wide"),
    (["--as", "nobody@hostile.example", "users", "list"], 3, "no user 'nobody@hostile.example'"),
    (["--as", "#0", "users", "list"], 3, "no user"),
    (["--as", "", "users", "list"], None, None),  # an empty --as is no --as
    (["--as", OWNER, "credits", "add", OWNER, "5", "--reason", "r"], 4, "operator action"),
    (["--as", OWNER, "roles", "grant", "viewer", "campaigns.edit"], 4, "operator action"),
    (["--as", OWNER, "packages", "edit", "pro", "--limit", "daily=1"], 4, "operator action"),
    (["--as", OWNER, "users", "suspend", OWNER, "--reason", "r", "--yes"], 4, "operator action"),
    (["roles", "revoke", "viewer", "campaign.view", "--dry-run"], 2, "did you mean campaigns.view"),
    (["roles", "grant", "nosuch", "campaigns.view", "--dry-run"], 3, "no role"),
    (["roles", "grant", "owner", "campaigns.view", "--dry-run"], 5, "owner role cannot be altered"),
    (["packages", "edit", "pro", "--role", "nosuch", "--dry-run"], 3, "no role"),
]


@pytest.mark.parametrize(("args", "code", "needle"), CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_hostile_access_input(cli, store_with_owner, args, code, needle):
    before = audit_count(store_with_owner)
    result = cli(*args)
    if code is None:
        assert result.exit_code == 0, result
    else:
        refused(result, code, needle)
    assert audit_count(store_with_owner) == before

"""`mailadmin roles` through the CLI: the done-means of the foundation issue and bad input."""

from __future__ import annotations

import pytest

from tests.helpers import one_line_error


def test_create_from_viewer_with_grant_lists_import_and_view(cli):
    r = cli("roles", "create", "support", "--from", "viewer", "--grant", "contacts.import")
    assert r.exit_code == 0, r
    shown = cli("roles", "show", "support", "-o", "json")
    assert shown.exit_code == 0, shown
    perms = shown.json()["permissions"]
    assert "contacts.import" in perms and "contacts.view" in perms
    assert "contacts.edit" not in perms
    assert shown.json()["builtin"] is False


def test_owner_cannot_be_altered(cli):
    r = cli("roles", "grant", "owner", "billing.manage")
    assert r.exit_code == 5
    assert "owner role cannot be altered" in one_line_error(r)


def test_unknown_key_suggests_closest(cli):
    cli("roles", "create", "support", "--from", "viewer")
    r = cli("roles", "grant", "support", "contacts.imprt")
    assert r.exit_code == 2
    assert "did you mean contacts.import" in one_line_error(r)


def test_granting_a_node_grants_its_subtree_and_is_stored_compressed(cli):
    cli("roles", "create", "camp")
    assert cli("roles", "grant", "camp", "campaigns").exit_code == 0
    data = cli("roles", "show", "camp", "-o", "json").json()
    assert data["grants"] == ["campaigns"]
    assert data["permissions"] == ["campaigns.view", "campaigns.edit", "campaigns.send"]


def test_revoking_a_leaf_of_a_granted_node_keeps_its_siblings(cli):
    cli("roles", "create", "camp", "--grant", "campaigns")
    assert cli("roles", "revoke", "camp", "campaigns.send").exit_code == 0
    data = cli("roles", "show", "camp", "-o", "json").json()
    assert data["grants"] == ["campaigns.view", "campaigns.edit"]


def test_edit_implies_view(cli):
    cli("roles", "create", "editor", "--grant", "templates.edit")
    data = cli("roles", "show", "editor", "-o", "json").json()
    assert data["implied"] == ["templates.view"]
    assert "templates.view" in data["permissions"]


def test_senders_manage_is_inert_without_an_edit_level(cli):
    r = cli("roles", "create", "senders", "--grant", "senders.manage")
    assert r.exit_code == 0
    assert "takes effect only with one of campaigns.edit" in r.stderr
    data = cli("roles", "show", "senders", "-o", "json").json()
    assert "senders.manage" not in data["permissions"]
    assert data["inert"] == {"senders.manage": ["campaigns.edit", "sms.edit", "templates.edit"]}
    cli("roles", "grant", "senders", "sms.edit")
    assert "senders.manage" in cli("roles", "show", "senders", "-o", "json").json()["permissions"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["roles", "create", "Bad Name"], 2, "not a slug"),
        (["roles", "create", "admin"], 5, "already exists"),
        (["roles", "create", "x", "--from", "nosuch"], 3, "no role named 'nosuch'"),
        (["roles", "show", "viewr"], 3, "did you mean viewer"),
        (["roles", "delete", "admin", "--yes"], 5, "built-in"),
        (["roles", "rename", "viewer", "watcher"], 5, "built-in"),
        (["roles", "delete", "nosuch", "--yes"], 3, "no role named"),
        (["roles", "grant", "viewer"], 2, "Missing argument"),
        (["roles", "show", "viewer", "-o", "ids"], 2, "list commands only"),
        (["roles", "show", "viewer", "-o", "yaml"], 2, "yaml"),
        (["roles", "frobnicate"], 2, "No such command"),
    ],
)
def test_bad_input_gets_its_exit_code_and_one_line(cli, args, code, needle):
    r = cli(*args)
    assert r.exit_code == code, r
    assert needle in one_line_error(r)
    assert r.stdout == ""


def test_failed_create_writes_nothing(cli):
    before = cli("audit", "list", "-o", "json").json()
    r = cli("roles", "create", "half", "--grant", "contacts.view", "--grant", "nope.nope")
    assert r.exit_code == 2
    assert cli("roles", "show", "half").exit_code == 3
    assert cli("audit", "list", "-o", "json").json() == before


def test_delete_needs_yes_without_a_terminal(cli):
    cli("roles", "create", "temp")
    r = cli("roles", "delete", "temp")
    assert r.exit_code == 2
    assert "--yes" in one_line_error(r)
    assert cli("roles", "delete", "temp", "--yes").exit_code == 0
    assert cli("roles", "show", "temp").exit_code == 3


def test_rename_keeps_grants_and_records_audit(cli):
    cli("roles", "create", "old", "--grant", "chat")
    assert cli("roles", "rename", "old", "new").exit_code == 0
    assert cli("roles", "show", "new", "-o", "json").json()["grants"] == ["chat"]
    entries = cli("audit", "list", "--target", "role:old", "-o", "json").json()
    assert entries[0]["action"] == "role.rename" and entries[0]["after"] == {"name": "new"}


def test_list_json_and_ids(cli):
    names = cli("roles", "list", "-o", "ids").stdout.split()
    assert {"owner", "admin", "viewer", "regular", "billing-admin", "billing-viewer"} <= set(names)
    rows = cli("roles", "list", "-o", "json").json()
    owner = next(r for r in rows if r["name"] == "owner")
    assert owner["builtin"] is True and owner["grants"][0] == "campaigns"


@pytest.mark.parametrize(
    ("role", "has", "lacks"),
    [
        ("owner", ["account.delete", "account.transfer", "domains.credentials"], []),
        ("admin", ["account.rename", "billing.manage", "team.manage"], ["account.delete", "account.transfer"]),
        ("viewer", ["campaigns.view", "smtp.dashboard", "smtp.activity", "smtp.pricing.view", "domains.view"],
         ["campaigns.edit", "smtp.pricing.request", "billing.manage", "workflows.reports"]),
        ("regular", ["campaigns.send", "senders.manage", "billing.view", "team.view", "smtp.pricing.view"],
         ["domains.view", "smtp.pricing.request", "billing.manage", "team.manage", "account.rename"]),
        ("billing-admin", ["billing.view", "billing.manage"], ["campaigns.view"]),
        ("billing-viewer", ["billing.view"], ["billing.manage"]),
    ],
)
def test_builtin_roles(cli, role, has, lacks):
    perms = set(cli("roles", "show", role, "-o", "json").json()["permissions"])
    assert set(has) <= perms
    assert not set(lacks) & perms


def test_matrix_json_csv_and_ascii_table(cli):
    rows = {r["role"]: r["areas"] for r in cli("roles", "matrix", "-o", "json").json()}
    assert rows["owner"]["account"] == "full"
    assert rows["admin"]["account"] == "partial"
    assert rows["viewer"]["campaigns"] == "partial"
    assert rows["billing-viewer"]["campaigns"] == "none"
    csv_lines = cli("roles", "matrix", "-o", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("role,campaigns,sms,contacts")
    table = cli("roles", "matrix").stdout
    assert "partial" in table and "✔" not in table  # ASCII when not a terminal


def test_show_table_is_a_tree_with_marks(cli):
    out = cli("roles", "show", "viewer").stdout
    assert "[x] campaigns.view" in out
    assert "[ ] campaigns.edit" in out


def test_permissions_search(cli):
    data = cli("roles", "permissions", "--search", "import", "-o", "json").json()
    keys = [d["key"] for d in data]
    assert "contacts.import" in keys and "contacts" in keys and "billing" not in keys
    r = cli("roles", "permissions", "--search", "zzzz")
    assert r.exit_code == 3


def test_a_role_in_use_by_a_package_cannot_be_deleted(cli):
    cli("roles", "create", "tier", "--grant", "campaigns")
    assert cli("packages", "create", "gold", "--role", "tier").exit_code == 0
    r = cli("roles", "delete", "tier", "--yes")
    assert r.exit_code == 5
    assert "role of package(s) gold" in one_line_error(r)
    assert cli("roles", "show", "tier", "-o", "json").json()["packages"] == ["gold"]

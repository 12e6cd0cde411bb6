"""`mailadmin operators` through the CLI (seed 002's administrator permissions): each command and
its JSON, the first operator and the last manager, the central gate once an operator exists
(the OS user comes from LOGNAME/USER), and a hostile table of bad input."""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

ME = "alice"  # the OS user running the commands, unless a call names another
BOB = {"LOGNAME": "bob", "USER": "bob"}
HUGE = "9" * 30
LONG = "x" * 5000


@pytest.fixture(autouse=True)
def _runner(monkeypatch):
    monkeypatch.setenv("LOGNAME", ME)
    monkeypatch.setenv("USER", ME)


@pytest.fixture
def registered(cli):
    """alice (superadmin) and bob (support): the store has left single-operator mode."""
    assert cli("operators", "add", ME, "--role", "superadmin").exit_code == 0
    assert cli("operators", "add", "bob", "--role", "support").exit_code == 0
    return cli


# -- add -------------------------------------------------------------------------------------
def test_adding_myself_first_prints_the_operator_and_says_what_changes(cli):
    r = cli("operators", "add", ME, "--role", "superadmin", "-o", "json")
    assert r.exit_code == 0, r
    data = r.json()
    assert list(data) == ["name", "role", "permissions", "created_at"]
    assert (data["name"], data["role"]) == (ME, "superadmin")
    assert "operators.manage" in data["permissions"] and data["created_at"].endswith("Z")
    assert r.stderr.splitlines() == ["added operator alice (role superadmin)",
                                     "from now on only registered operators may run mailadmin on this store"]
    second = cli("operators", "add", "bob", "--role", "support")
    assert second.exit_code == 0, second
    assert second.stderr == "added operator bob (role support)\n"


def test_the_first_operator_must_manage_operators(cli, db_url):
    before = audit_count(db_url)
    refused(cli("operators", "add", ME, "--role", "support"), 5,
            "the first operator must be able to manage operators, or nobody could")
    assert audit_count(db_url) == before
    assert cli("operators", "list", "-o", "json").json() == []


def test_registering_someone_else_first_is_refused_unless_forced(cli):
    refused(cli("operators", "add", "bob", "--role", "superadmin"), 5,
            "registering bob as the first operator would lock you (alice) out")
    assert cli("operators", "list", "-o", "ids").stdout == ""
    r = cli("operators", "add", "bob", "--role", "superadmin", "--force")
    assert r.exit_code == 0, r
    assert "warning: you (alice) are not a registered operator: you are locked out" in r.stderr
    # the gate now holds: alice is locked out, bob is in
    refused(cli("operators", "list"), 4, "the OS user 'alice' is not a registered operator of this store")
    assert cli("operators", "list", "-o", "ids", env=BOB).stdout == "bob\n"
    entry = cli("audit", "list", "--target", "operator:bob", "-o", "json", env=BOB).json()[0]
    assert (entry["actor"], entry["after"]) == (ME, {"role": "superadmin", "first": True, "forced_by": ME})


def test_changes_name_the_operator_who_made_them(registered):
    entries = registered("audit", "list", "--target", "operator:", "-o", "json").json()
    assert [(e["action"], e["target"], e["actor"]) for e in entries] == [
        ("operator.add", "operator:bob", ME), ("operator.add", "operator:alice", ME)]
    assert entries[1]["after"] == {"role": "superadmin", "first": True}


# -- remove ----------------------------------------------------------------------------------
def test_remove_needs_yes_without_a_terminal(registered):
    refused(registered("operators", "remove", "bob"), 2, "add --yes")
    r = registered("operators", "remove", "bob", "--yes")
    assert r.exit_code == 0, r
    assert r.stderr == "removed operator bob\n"
    assert registered("operators", "list", "-o", "ids").stdout == "alice\n"
    entry = registered("audit", "list", "--target", "operator:bob", "-n", "1", "-o", "json").json()[0]
    assert (entry["action"], entry["before"], entry["after"]) == ("operator.remove", {"role": "support"}, None)


def test_the_last_manager_stays_while_others_remain(registered, db_url):
    before = audit_count(db_url)
    refused(registered("operators", "remove", ME, "--yes"), 5,
            "alice is the last operator able to manage operators, and 1 other operator(s) remain")
    refused(registered("operators", "remove", ME), 5, "last operator able to manage")  # before asking
    assert audit_count(db_url) == before


def test_removing_the_very_last_operator_returns_to_single_operator_mode(cli):
    cli("operators", "add", ME, "--role", "superadmin")
    r = cli("operators", "remove", ME, "--yes")
    assert r.exit_code == 0, r
    assert "the store is back in single-operator mode" in r.stderr
    assert cli("packages", "list", env=BOB).exit_code == 0  # anyone runs mailadmin again


def test_removing_myself_while_another_manager_remains_says_i_am_out(cli):
    cli("operators", "add", ME, "--role", "superadmin")
    cli("operators", "add", "carol", "--role", "superadmin")
    r = cli("operators", "remove", ME, "--yes")
    assert r.exit_code == 0, r
    assert "you can no longer run mailadmin on this store" in r.stderr
    refused(cli("operators", "list"), 4, "the OS user 'alice' is not a registered operator")


# -- list and show ---------------------------------------------------------------------------
def test_list_in_every_format(registered):
    rows = registered("operators", "list", "-o", "json").json()
    assert [(r["name"], r["role"], r["permissions"]) for r in rows][1] == ("bob", "support", ["clients.view_all", "users.login_as"])
    assert registered("operators", "list", "-o", "ids").stdout == "alice\nbob\n"
    csv = registered("operators", "list", "-o", "csv", "--fields", "name,role").stdout
    assert csv == "name,role\nalice,superadmin\nbob,support\n"
    assert registered("operators", "list", "--sort", "-name", "-o", "ids").stdout == "bob\nalice\n"
    table = registered("operators", "list").stdout
    assert "superadmin" in table and "users.login_as" not in table  # permissions are -o wide's
    assert "users.login_as" in registered("operators", "list", "-o", "wide").stdout


def test_an_empty_list_says_what_it_means(cli):
    r = cli("operators", "list")
    assert r.exit_code == 0 and r.stdout == ""
    assert "single-operator mode" in r.stderr


def test_show(registered):
    data = registered("operators", "show", "bob", "-o", "json").json()
    assert data == {"name": "bob", "role": "support", "permissions": ["clients.view_all", "users.login_as"],
                    "created_at": data["created_at"]}
    table = registered("operators", "show", "bob").stdout
    assert "support" in table and "clients.view_all, users.login_as" in table
    assert registered("operators", "show", "bob", "-o", "csv").stdout.splitlines()[0] == "name,role,permissions,created_at"


# -- operator roles --------------------------------------------------------------------------
def test_built_in_roles(cli):
    rows = cli("operators", "roles", "list", "-o", "json").json()
    assert [(r["name"], r["builtin"], r["permission_count"]) for r in rows] == [("superadmin", True, 13), ("support", True, 2)]
    support = cli("operators", "roles", "show", "support", "-o", "json").json()
    assert support["permissions"] == ["clients.view_all", "users.login_as"] and support["operators"] == []
    tree = cli("operators", "roles", "show", "support").stdout
    assert "[x] clients.view_all" in tree and "[ ] clients.add" in tree
    assert cli("operators", "roles", "show", "support", "-o", "csv").stdout.splitlines()[:2] == ["key,state", "clients.add,missing"]


def test_create_show_and_delete_a_role(registered, db_url):
    r = registered("operators", "roles", "create", "billing", "--grant", "credits", "-g", "clients.view_all",
                   "--description", "Tops up credits", "-o", "json")
    assert r.exit_code == 0, r
    data = r.json()
    assert (data["grants"], data["permissions"]) == (["clients.view_all", "credits"], ["clients.view_all", "credits.add"])
    assert "created operator role billing with 2 admin permissions" in r.stderr
    registered("operators", "add", "dave", "--role", "billing")
    refused(registered("operators", "roles", "delete", "billing", "--yes"), 5, "operator role billing is held by 1 operator(s)")
    registered("operators", "remove", "dave", "--yes")
    before = audit_count(db_url)
    refused(registered("operators", "roles", "delete", "billing"), 2, "add --yes")
    assert registered("operators", "roles", "delete", "billing", "--yes").exit_code == 0
    assert audit_count(db_url) == before + 1
    refused(registered("operators", "roles", "show", "billing"), 3, "no operator role named 'billing'")
    entry = registered("audit", "list", "--target", "operator_role:billing", "-n", "1", "-o", "json").json()[0]
    assert entry["action"] == "operator_role.delete"


def test_permissions_is_the_admin_catalog(cli):
    data = cli("operators", "roles", "permissions", "-o", "json").json()
    assert [d["key"] for d in data if d["leaf"]] == [
        "clients.add", "clients.view_all", "clients.edit", "clients.delete", "packages.create", "packages.edit",
        "packages.delete", "roles.create", "roles.edit", "roles.delete", "credits.add", "users.login_as", "operators.manage"]
    found = cli("operators", "roles", "permissions", "--search", "login", "-o", "json").json()
    assert [d["key"] for d in found] == ["users", "users.login_as"]
    assert "clients.view_all" in cli("operators", "roles", "permissions").stdout


# -- the central gate ------------------------------------------------------------------------
# (command, as whom, exit code, what the one error line says or None when allowed): seed 002's
# administrator permissions, enforced once an operator is registered
GATE = [
    (["operators", "list", "-o", "ids"], {"LOGNAME": "mallory", "USER": "mallory"}, 4,
     "the OS user 'mallory' is not a registered operator of this store"),
    (["packages", "list"], {"LOGNAME": "mallory", "USER": "mallory"}, 4, "not a registered operator"),
    (["packages", "create", "gold", "--role", "regular"], BOB, 4,
     "operator bob (role support) lacks the admin permission packages.create needed by `packages create`"),
    (["roles", "create", "x"], BOB, 4, "lacks the admin permission roles.create needed by `roles create`"),
    (["operators", "add", "mallory", "--role", "support"], BOB, 4,
     "lacks the admin permission operators.manage needed by `operators add`"),
    (["operators", "roles", "create", "x", "--grant", "clients"], BOB, 4,
     "lacks the admin permission operators.manage needed by `operators roles create`"),
    (["operators", "remove", ME, "--yes"], BOB, 4, "lacks the admin permission operators.manage"),
    (["operators", "list", "-o", "ids"], BOB, 0, None),  # any registered operator
    (["users", "list", "-o", "ids"], BOB, 0, None),  # clients.view_all
    (["packages", "create", "gold", "--role", "regular"], {}, 0, None),  # alice, superadmin
]


@pytest.mark.parametrize(("args", "env", "code", "needle"), GATE, ids=[" ".join(g[0][:3]) + f" as {g[1].get('USER', ME)}" for g in GATE])
def test_the_gate_once_an_operator_is_registered(registered, db_url, args, env, code, needle):
    before = audit_count(db_url)
    r = registered(*args, env=env)
    if needle is None:
        assert r.exit_code == code, r
        return
    refused(r, code, needle)
    assert audit_count(db_url) == before


def test_an_operator_cannot_manage_operators_as_a_client_user(registered, db_url):
    from mailadmin.operation import Actor
    from mailadmin.services import users
    from mailadmin.store import open_store
    from mailadmin.timeutil import utcnow
    from tests.factories import make_package

    store = open_store(db_url)
    with store.write() as session:
        from mailadmin.operation import Operation

        make_package(session, "tier")
        users.create(Operation(session, Actor.operator(ME), utcnow()), "owner@example.com", "tier")
    store.dispose()
    refused(registered("--as", "owner@example.com", "operators", "list"), 4, "is an operator action")


# -- hostile input ---------------------------------------------------------------------------
HOSTILE = [
    # names
    (["operators", "add", "bob smith", "--role", "superadmin"], 2, "must not contain whitespace"),
    (["operators", "add", "bob\n", "--role", "superadmin"], 2, "must not contain control characters"),
    (["operators", "add", "b\x00b", "--role", "superadmin"], 2, "must not contain control characters"),
    (["operators", "add", "b\u200bob", "--role", "superadmin"], 2, "must not contain control characters"),
    (["operators", "add", "b\u2028b", "--role", "superadmin"], 2, "must not contain whitespace"),
    (["operators", "add", "bob:0", "--role", "superadmin"], 2, "must not contain ':'"),
    (["operators", "add", "", "--role", "superadmin"], 2, "must not be empty"),
    (["operators", "add", LONG, "--role", "superadmin"], 2, "longer than 200 characters"),
    (["operators", "add", ME], 2, "Missing option '--role'"),
    (["operators", "add", "--role", "superadmin"], 2, "Missing argument 'NAME'"),
    (["operators", "show", "b\x00b"], 3, "no operator named"),
    (["operators", "show", LONG], 3, "no operator named"),
    (["operators", "show", "nobody"], 3, "no operator named 'nobody'"),
    (["operators", "remove", "nobody", "--yes"], 3, "no operator named 'nobody'"),
    (["operators", "remove", "nobody"], 3, "no operator named 'nobody'"),  # refused before asking
    # roles
    (["operators", "add", ME, "--role", "supreadmin"], 3, "did you mean superadmin?"),
    (["operators", "add", ME, "--role", "admin"], 3, "no operator role named 'admin'"),
    (["operators", "add", ME, "--role", "superadmin\n"], 3, "no operator role named"),
    (["operators", "add", ME, "--role", LONG], 3, "no operator role named"),
    (["operators", "roles", "show", "suport"], 3, "did you mean support?"),
    (["operators", "roles", "show", "x\x00"], 3, "no operator role named"),
    (["operators", "roles", "delete", "superadmin", "--yes"], 5, "superadmin is a built-in operator role and cannot be deleted"),
    (["operators", "roles", "delete", "support"], 5, "built-in"),  # refused before asking
    (["operators", "roles", "delete", "nosuch", "--yes"], 3, "no operator role named 'nosuch'"),
    (["operators", "roles", "create", "Help Desk", "--grant", "clients"], 2, "is not a slug"),
    (["operators", "roles", "create", "helpdesk\n", "--grant", "clients"], 2, "is not a slug"),
    (["operators", "roles", "create", "support", "--grant", "clients"], 5, "operator role 'support' already exists"),
    (["operators", "roles", "create", "helpdesk"], 2, "needs at least one admin permission"),
    (["operators", "roles", "create", "helpdesk", "--grant", "clients.veiw_all"], 2, "did you mean clients.view_all?"),
    (["operators", "roles", "create", "helpdesk", "--grant", "campaigns.view"], 2, "unknown admin permission 'campaigns.view'"),
    (["operators", "roles", "create", "helpdesk", "--grant", "clients\n"], 2, "unknown admin permission"),
    (["operators", "roles", "create", "helpdesk", "--grant", "clients", "--description", "two\nlines"], 2,
     "description must not contain control characters"),
    (["operators", "roles", "create", "helpdesk", "--grant", "clients", "--description", LONG], 2, "description is longer than"),
    # formats, fields, counts, search
    (["operators", "list", "-o", "yaml"], 2, "is not one of"),
    (["operators", "show", ME, "-o", "ids"], 2, "list commands only"),
    (["operators", "add", "x", "--role", "superadmin", "-o", "wide"], 2, "is not one of"),
    (["operators", "roles", "show", "support", "-o", "ids"], 2, "list commands only"),
    (["operators", "roles", "list", "-o", "yaml"], 2, "is not one of"),
    (["operators", "list", "--fields", "name,nope"], 2, "unknown field 'nope'; fields: name, role, permissions, created_at"),
    (["operators", "list", "--sort", "nope", "-o", "ids"], 2, "unknown field 'nope'"),
    (["operators", "roles", "list", "--fields", "nope", "-o", "json"], 2, "unknown field 'nope'"),
    (["operators", "list", "--limit", HUGE], 2, "is not a count of rows"),
    (["operators", "roles", "list", "--offset", "-1"], 2, "is not a count of rows"),
    (["operators", "roles", "permissions", "--search", "nothing-like-it"], 3, "no admin permission matches"),
    (["operators", "roles", "permissions", "--search", LONG], 2, "--search is longer than 200 characters"),
    (["operators", "roles", "permissions", "--search", "two\nlines"], 2, "--search must not contain control characters"),
    (["operators", "frobnicate"], 2, "No such command"),
    (["operators", "roles", "frobnicate"], 2, "No such command"),
]


@pytest.mark.parametrize(("args", "code", "needle"), HOSTILE, ids=[repr(h[0][1:])[:60] for h in HOSTILE])
def test_hostile_input_gets_its_exit_code_and_one_line(cli, db_url, args, code, needle):
    if args[1] in ("show", "remove") or args[:3] == ["operators", "roles", "delete"]:
        cli("operators", "add", ME, "--role", "superadmin")
    before = audit_count(db_url)
    r = cli(*args)
    refused(r, code, needle)
    assert r.stdout == ""
    assert audit_count(db_url) == before

"""What each command needs (mailadmin/needs.py), enforced: every command is declared; operators
with and without each admin permission (seed 002); client users refused operator actions."""

from __future__ import annotations

import pytest

from mailadmin.cli.reference import commands
from mailadmin.needs import NEEDS, OPERATORS
from tests.helpers import audit_count, refused

OWNER = "owner@needs.example"


def test_every_command_declares_what_it_needs():
    paths = {path.removeprefix("mailadmin ") for path, _usage, _help in commands()}
    assert paths - set(NEEDS) == set(), "commands without a declared need"
    assert set(NEEDS) - paths == set(), "needs declared for commands that do not exist"


def as_os_user(login: str) -> dict[str, str]:
    return {"LOGNAME": login, "USER": login}


@pytest.fixture
def operated(cli, db_url):
    """Three operators: boss (superadmin), helpdesk (support), biller (credits.add, clients.view_all)."""
    boss = as_os_user("boss")
    for args in (["packages", "create", "pro", "--role", "admin", "--credits"], ["users", "create", OWNER, "--package", "pro"],
                 ["operators", "add", "boss", "--role", "superadmin"],
                 ["operators", "roles", "create", "billing-desk", "--grant", "credits.add", "--grant", "clients.view_all"],
                 ["operators", "add", "helpdesk", "--role", "support"], ["operators", "add", "biller", "--role", "billing-desk"]):
        result = cli(*args, env=boss)
        assert result.exit_code == 0, (args, result)
    return db_url


# (OS user, command, exit code, what the one stderr line says). Seed 002, "administrator
# permissions": add, view, edit, delete clients; create, edit, delete packages and roles; add
# credits; log in as a user. Every row is one of those permissions held or not.
OPERATOR_TABLE = [
    ("boss", ["packages", "create", "gold", "--role", "admin"], 0, None),
    ("helpdesk", ["packages", "create", "gold", "--role", "admin"], 4, "lacks the admin permission packages.create"),
    ("helpdesk", ["users", "list", "-o", "ids"], 0, None),
    ("helpdesk", ["--as", OWNER, "users", "list", "-o", "ids"], 0, None),
    ("helpdesk", ["credits", "add", OWNER, "5", "--reason", "r"], 4, "credits.add"),
    ("helpdesk", ["users", "suspend", OWNER, "--reason", "r", "--yes"], 4, "clients.edit"),
    ("helpdesk", ["users", "close", OWNER, "--reason", "r", "--yes"], 4, "clients.delete"),
    ("helpdesk", ["roles", "create", "x"], 4, "roles.create"),
    ("helpdesk", ["operators", "add", "eve", "--role", "superadmin"], 4, "operators.manage"),
    ("helpdesk", ["db", "upgrade"], 4, "operators.manage"),
    ("helpdesk", ["roles", "list"], 0, None),
    ("biller", ["credits", "add", OWNER, "5", "--reason", "r"], 0, None),
    ("biller", ["credits", "balance", OWNER], 0, None),
    ("biller", ["--as", OWNER, "users", "list"], 4, "users.login_as"),
    ("biller", ["users", "create", "new@needs.example", "--package", "pro"], 4, "clients.add"),
    ("biller", ["packages", "delete", "pro", "--yes"], 4, "packages.delete"),
    ("stranger", ["users", "list"], 4, "'stranger' is not a registered operator"),
    ("stranger", ["roles", "list"], 4, "not a registered operator"),
]


@pytest.mark.parametrize(("login", "args", "code", "needle"), OPERATOR_TABLE,
                         ids=[f"{t[0]}-{' '.join(t[1])[:40]}" for t in OPERATOR_TABLE])
def test_operator_roles_limit_every_command(cli, operated, login, args, code, needle):
    before = audit_count(operated)
    result = cli(*args, env=as_os_user(login))
    if code == 0:
        assert result.exit_code == 0, result
    else:
        refused(result, code, needle)
        assert audit_count(operated) == before


def test_every_operator_action_is_refused_to_a_client_user(cli, db_url, tmp_path):
    """The invocation refuses an operator action before the command runs, whatever its arguments
    name: each declared OPERATORS command, run as a client user, is exit 4."""
    assert cli("packages", "create", "pro", "--role", "admin").exit_code == 0
    assert cli("users", "create", OWNER, "--package", "pro").exit_code == 0
    minimal = {  # arguments that parse, so the refusal is the permission check's
        "roles create": ["r"], "roles grant": ["viewer", "campaigns.edit"], "roles revoke": ["viewer", "campaigns.view"],
        "roles rename": ["support", "x"], "roles delete": ["support", "--yes"],
        "packages list": [], "packages show": ["pro"], "packages create": ["p", "--role", "admin"],
        "packages edit": ["pro", "--limit", "daily=1"], "packages assets": ["pro"], "packages delete": ["pro", "--yes"],
        "users create": ["x@needs.example", "--package", "pro"], "users suspend": [OWNER, "--reason", "r", "--yes"],
        "users unsuspend": [OWNER, "--yes"], "users allow-ip": [OWNER, "192.0.2.1"], "users deny-ip": [OWNER, "192.0.2.1"],
        "credits list": [], "credits verify": [], "credits add": [OWNER, "1", "--reason", "r"],
        "credits deduct": [OWNER, "1", "--reason", "r"], "credits adjust": [OWNER, "1", "--reason", "r"],
        "audit list": [], "audit head": [], "audit verify": [],
        "operators add": ["x", "--role", "support"], "operators remove": ["x", "--yes"], "operators list": [],
        "operators show": ["x"], "operators roles list": [], "operators roles show": ["support"],
        "operators roles create": ["r", "--grant", "credits.add"],
        "operators roles delete": ["r", "--yes"], "db backup": ["/nonexistent/backup.db"], "db status": [],
        "db upgrade": [], "init": [], "domains export-dkim": [str(tmp_path / "export")],
        "users record": [OWNER, "--sent", "1"],
        "export": [], "apply": [str(tmp_path / "state.toml")], "users import": ["-"],
    }
    refused_to_clients = sorted(c for c, need in NEEDS.items() if need.client == OPERATORS)
    assert set(refused_to_clients) == set(minimal), "a new operator action needs a row here"
    before = audit_count(db_url)
    for command in refused_to_clients:
        result = cli("--as", OWNER, *command.split(), *minimal[command])
        refused(result, 4, "operator action")
    assert audit_count(db_url) == before
    assert not (tmp_path / "export").exists()  # no key left the store

"""`mailadmin users create|show|list|edit` through the CLI, the create wizard, and bad input."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers import one_line_error


@pytest.fixture
def pkgs(cli):
    assert cli("packages", "create", "free", "--role", "regular", "--expires-after", "30", "--limit", "daily=100").exit_code == 0
    assert cli("packages", "create", "pro", "--role", "admin", "--limit", "daily=5000").exit_code == 0


def audit_count(cli) -> int:
    return len(cli("audit", "list", "--limit", "0", "-o", "json").json())


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_create_normalises_email_makes_an_owner_account_and_audits(cli, pkgs):
    r = cli("users", "create", "  Alice@Example.COM ", "--package", "pro", "--name", "Alice Martin")
    assert r.exit_code == 0, r
    assert "created alice@example.com on package pro" in r.stderr
    data = cli("users", "show", "alice@example.com", "-o", "json").json()
    assert data["email"] == "alice@example.com" and data["name"] == "Alice Martin"
    assert data["is_owner"] is True and isinstance(data["account_id"], int)
    assert data["status"] == "active" and data["package"] == "pro" and data["plan_expires_at"] is None
    assert data["suspensions"] == [] and data["ip_allow"] == [] and data["closed_reason"] is None
    assert data["credit_balance"] == "0.0000"
    assert data["limits"]["daily"] == {"value": 5000, "source": "package", "package_value": 5000}
    entry = cli("audit", "list", "--target", "user:alice@example.com", "-o", "json").json()[0]
    assert entry["action"] == "user.create" and entry["after"]["package"] == "pro"


def test_show_by_id_and_idna_domain(cli, pkgs):
    cli("users", "create", "x@bücher.example", "--package", "pro")
    data = cli("users", "show", "x@xn--bcher-kva.example", "-o", "json").json()
    assert cli("users", "show", f"#{data['id']}", "-o", "json").json()["email"] == "x@xn--bcher-kva.example"
    assert cli("users", "show", "X@BÜCHER.example", "-o", "json").json()["id"] == data["id"]


def test_package_with_expires_after_sets_plan_expiry(cli, pkgs):
    cli("users", "create", "t@example.com", "--package", "free")
    expires = parse(cli("users", "show", "t@example.com", "-o", "json").json()["plan_expires_at"])
    expected = datetime.now(timezone.utc) + timedelta(days=30)
    assert abs((expires - expected).total_seconds()) < 120


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["users", "create", "alice@example.com"], 2, "missing option --package"),
        (["users", "create", "--package", "pro"], 2, "missing argument EMAIL"),
        (["users", "create", "not-an-email", "--package", "pro"], 2, "not a valid email"),
        (["users", "create", "a@example.com", "--package", "nosuch"], 3, "no package named 'nosuch'"),
        (["users", "create", "a@example.com", "--package", "fre"], 3, "did you mean free"),
        (["users", "create", "a@example.com", "--package", "pro", "--name", "bad\x01name"], 2, "control characters"),
        (["users", "show", "nobody@example.com"], 3, "no user 'nobody@example.com'"),
        (["users", "show", "#999999"], 3, "no user"),
        (["users", "show", "nobody"], 2, "neither an email nor #ID"),
        (["users", "show", "#12x"], 2, "not a user id"),
        (["users", "show", "bad..dots@example.com"], 2, "not a valid email"),
        (["users", "list", "--status", "frozen"], 2, "status must be one of"),
        (["users", "list", "--package", "nosuch"], 3, "no package named"),
        (["users", "list", "--since", "yesterday"], 2, "not a time"),
        (["users", "edit", "nobody@example.com", "--name", "x"], 3, "no user"),
    ],
)
def test_bad_input_exit_code_and_one_line(cli, pkgs, args, code, needle):
    before = audit_count(cli)
    r = cli(*args)
    assert r.exit_code == code, r
    assert needle in one_line_error(r)
    assert r.stdout == ""
    assert audit_count(cli) == before


def test_duplicate_email_is_a_conflict_whatever_the_case(cli, pkgs):
    cli("users", "create", "a@example.com", "--package", "pro")
    r = cli("users", "create", "A@EXAMPLE.com", "--package", "free")
    assert r.exit_code == 5 and "already exists" in one_line_error(r)


def test_wizard_asks_details_then_package_from_a_table(cli, pkgs, monkeypatch):
    from mailadmin.cli import context

    monkeypatch.setattr(context.Invocation, "can_prompt", lambda self: True)
    r = cli("users", "create", input="not-an-email\nWiz@Example.com\nWizard Person\nnope\n2\n")
    assert r.exit_code == 0, r
    assert "step 1 of 2" in r.stderr and "step 2 of 2" in r.stderr
    assert "not a valid email" in r.stderr and "no package 'nope'" in r.stderr
    data = cli("users", "show", "wiz@example.com", "-o", "json").json()
    assert data["name"] == "Wizard Person" and data["package"] == "pro"  # free=1, pro=2 (by name)


def test_wizard_only_asks_what_is_missing(cli, pkgs, monkeypatch):
    from mailadmin.cli import context

    monkeypatch.setattr(context.Invocation, "can_prompt", lambda self: True)
    r = cli("users", "create", "w@example.com", "--name", "W", input="free\n")
    assert r.exit_code == 0, r
    assert "step 2 of 2" in r.stderr
    assert cli("users", "show", "w@example.com", "-o", "json").json()["package"] == "free"


@pytest.fixture
def people(cli, pkgs):
    for email, pkg, name in [("ann@shop.example", "free", "Ann Lee"), ("bob@example.com", "pro", "Bob Stone"),
                             ("cy@example.com", "pro", "Cy Twombly"), ("dee@example.org", "free", "Dee Dee")]:
        assert cli("users", "create", email, "--package", pkg, "--name", name).exit_code == 0
    assert cli("users", "suspend", "bob@example.com", "--reason", "unpaid", "--code", "billing", "--yes").exit_code == 0
    assert cli("users", "close", "dee@example.org", "--reason", "left", "--yes").exit_code == 0


LIST_CASES = [  # (filters, emails in id order); one store for the whole table keeps the file fast
        ([], ["ann@shop.example", "bob@example.com", "cy@example.com", "dee@example.org"]),
        (["--status", "active"], ["ann@shop.example", "cy@example.com"]),
        (["--status", "suspended"], ["bob@example.com"]),
        (["--status", "closed"], ["dee@example.org"]),
        (["--package", "free"], ["ann@shop.example", "dee@example.org"]),
        (["--package", "pro", "--status", "active"], ["cy@example.com"]),
        (["--search", "EXAMPLE.COM"], ["bob@example.com", "cy@example.com"]),
        (["--search", "stone"], ["bob@example.com"]),
        (["--search", "%"], []),
        (["--since", "1h"], ["ann@shop.example", "bob@example.com", "cy@example.com", "dee@example.org"]),
        (["--since", "2999-01-01"], []),
        (["--limit", "2"], ["ann@shop.example", "bob@example.com"]),
        (["--limit", "2", "--offset", "2"], ["cy@example.com", "dee@example.org"]),
        (["--offset", "3"], ["dee@example.org"]),
]


def test_list_filters_and_paging_ids(cli, people):
    for filters, expected in LIST_CASES:
        r = cli("users", "list", *filters, "-o", "ids")
        assert r.exit_code == 0, (filters, r)
        assert r.stdout.splitlines() == expected, filters


def test_list_json_shape_and_csv(cli, people):
    rows = cli("users", "list", "-o", "json").json()
    bob = next(r for r in rows if r["email"] == "bob@example.com")
    assert set(bob) == {"id", "email", "name", "status", "package", "account_id", "is_owner", "created_at", "role"}
    assert bob["status"] == "suspended" and bob["package"] == "pro" and bob["is_owner"] is True
    lines = cli("users", "list", "-o", "csv").stdout.splitlines()
    assert lines[0] == "id,email,name,status,package,is_owner,created_at,role" and len(lines) == 5


def test_table_is_paged_by_default_and_says_so(cli, pkgs, op):
    from mailadmin.services import users
    from mailadmin.store.models import Package
    from sqlalchemy import select

    with op.write() as o:
        pid = o.session.execute(select(Package.id).where(Package.name == "free")).scalar_one()
        users.insert_owners(o, [{"email": f"u{i:04d}@example.com", "package_id": pid} for i in range(520)])
    table = cli("users", "list")
    assert "showing the first 500" in table.stderr
    assert "u0499@example.com" in table.stdout and "u0500@example.com" not in table.stdout
    assert len(cli("users", "list", "-o", "ids").stdout.splitlines()) == 520  # scripts get everything


def test_edit_name_email_and_package(cli, people):
    r = cli("users", "edit", "ann@shop.example", "--name", "Ann Smith", "--email", "Ann.Smith@Shop.example", "--package", "pro")
    assert r.exit_code == 0, r
    assert "updated ann.smith@shop.example" in r.stderr
    data = cli("users", "show", "ann.smith@shop.example", "-o", "json").json()
    assert (data["name"], data["package"], data["plan_expires_at"]) == ("Ann Smith", "pro", None)
    assert cli("users", "show", "ann@shop.example").exit_code == 3
    entry = cli("audit", "list", "--target", "user:ann@shop.example", "-o", "json").json()[0]
    assert entry["action"] == "user.edit" and entry["after"]["email"] == "ann.smith@shop.example"


def test_edit_package_keeps_overrides_and_restarts_expiry(cli, people):
    cli("users", "limits", "cy@example.com", "--set", "hourly=7")
    assert cli("users", "edit", "cy@example.com", "--package", "free").exit_code == 0
    data = cli("users", "show", "cy@example.com", "-o", "json").json()
    assert data["package"] == "free" and data["plan_expires_at"] is not None
    assert data["limits"]["hourly"]["source"] == "override" and data["limits"]["hourly"]["value"] == 7
    assert data["limits"]["daily"] == {"value": 100, "source": "package", "package_value": 100}


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--email", "bob@example.com"], 5, "already exists"),
        (["--email", "broken"], 2, "not a valid email"),
        (["--package", "nosuch"], 3, "no package named"),
        ([], 2, "nothing to change"),
    ],
)
def test_edit_bad_input_changes_nothing(cli, people, args, code, needle):
    before = cli("users", "show", "cy@example.com", "-o", "json").json()
    r = cli("users", "edit", "cy@example.com", "--name", "Changed", *args) if args else cli("users", "edit", "cy@example.com")
    assert r.exit_code == code, r
    assert needle in one_line_error(r)
    assert cli("users", "show", "cy@example.com", "-o", "json").json() == before


def test_edit_without_differences_is_a_no_op(cli, people):
    before = audit_count(cli)
    r = cli("users", "edit", "cy@example.com", "--name", "Cy Twombly")
    assert r.exit_code == 0 and "unchanged" in r.stderr
    assert audit_count(cli) == before


def test_show_table_names_every_limit_source(cli, people):
    cli("users", "limits", "cy@example.com", "--set", "daily=1")
    out = cli("users", "show", "cy@example.com").stdout
    assert "override (package: 5000)" in out and "package" in out and "hourly" in out


@pytest.mark.parametrize("args", [["users", "--help"], ["users", "suspend", "--help"], ["users", "create", "--help"],
                                  ["packages", "--help"], ["packages", "edit", "--help"]])
def test_help_of_these_groups_stays_light(args):
    from tests.cli.test_startup import HEAVY, imported_modules

    code, modules = imported_modules(args)
    assert code == 0
    assert not modules & set(HEAVY), f"{args} imported {modules & set(HEAVY)}"


def test_every_command_has_an_example():
    import typer

    from mailadmin.cli.packages import app as packages_app
    from mailadmin.cli.users import app as users_app

    for group in (users_app, packages_app):
        for info in typer.main.get_group(group).commands.values():
            assert "Example: mailadmin " in (info.help or ""), info.name


# -- issue 8: scripts choose fields; tables never cut an email; -q; the wizard checks first --------
def test_list_fields_sort_headers_and_paging(cli, people):
    r = cli("users", "list", "-o", "json", "--fields", "email,account_id", "--sort", "-email")
    assert r.exit_code == 0, r
    assert [row["email"] for row in r.json()] == ["dee@example.org", "cy@example.com", "bob@example.com", "ann@shop.example"]
    assert all(set(row) == {"email", "account_id"} and isinstance(row["account_id"], int) for row in r.json())
    r = cli("users", "list", "-o", "csv", "--fields", "email,status", "--no-headers", "--sort", "status", "-n", "2")
    assert r.stdout.splitlines() == ["ann@shop.example,active", "cy@example.com,active"]
    r = cli("users", "list", "-o", "ids", "--sort", "name", "--offset", "1", "--limit", "2")
    assert r.stdout.splitlines() == ["bob@example.com", "cy@example.com"]  # Ann Lee, [Bob Stone, Cy Twombly], Dee Dee
    r = cli("users", "list", "--no-headers", "--fields", "email", "--status", "suspended")
    assert "bob@example.com" in r.stdout and "Email" not in r.stdout
    r = cli("users", "list", "--fields", "email,created_at", "-o", "table")
    assert "Created" in r.stdout and "Status" not in r.stdout


def test_plain_table_leaves_optional_columns_to_wide(cli, people):
    plain = cli("users", "list").stdout
    wide = cli("users", "list", "-o", "wide").stdout
    assert "Created" not in plain and "Owner" not in plain
    assert "Created" in wide and "Owner" in wide
    assert cli("users", "list", "-o", "csv").stdout.splitlines()[0] == "id,email,name,status,package,is_owner,created_at,role"


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_table_at_any_width_shows_every_email_whole(cli, pkgs, width):
    long = "someone.with.a.rather.long.address@subdomain.example.org"
    assert cli("users", "create", long, "--package", "free", "--name", "Someone With A Rather Long Name Indeed").exit_code == 0
    assert cli("users", "create", "b@example.com", "--package", "pro", "--name", "B").exit_code == 0
    for fmt in ("table", "wide"):
        out = cli("users", "list", "-o", fmt, env={"COLUMNS": str(width)}).stdout
        assert long in out and "b@example.com" in out and "free" in out, out
    assert long in cli("users", "show", long, env={"COLUMNS": str(width)}).stdout


def test_sorted_table_is_paged_too_and_says_so(cli, pkgs, op):
    from sqlalchemy import select

    from mailadmin.services import users
    from mailadmin.store.models import Package

    with op.write() as o:
        pid = o.session.execute(select(Package.id).where(Package.name == "free")).scalar_one()
        users.insert_owners(o, [{"email": f"u{i:04d}@example.com", "package_id": pid} for i in range(505)])
    r = cli("users", "list", "--sort", "-email", "-o", "wide")
    assert "showing the first 500" in r.stderr
    assert "u0504@example.com" in r.stdout and "u0004@example.com" not in r.stdout
    assert len(cli("users", "list", "--sort", "-email", "-o", "json").json()) == 505
    r = cli("users", "list", "--limit", "0")
    assert "showing the first" not in r.stderr and "u0504@example.com" in r.stdout
    r = cli("users", "list", "-q")
    assert r.stderr == "" and "u0499@example.com" in r.stdout


def test_quiet_silences_every_change_but_keeps_data_and_errors(cli, pkgs):
    quiet_runs = [
        ("users", "create", "q@example.com", "--package", "free", "-q"),
        ("users", "edit", "q@example.com", "--name", "Q", "--quiet"),
        ("users", "limits", "q@example.com", "--set", "daily=5", "-q"),
        ("users", "limits", "q@example.com", "--inherit", "hourly", "-q"),
        ("users", "allow-ip", "q@example.com", "192.0.2.1", "-q"),
        ("users", "deny-ip", "q@example.com", "192.0.2.1", "198.51.100.1", "-q"),
        ("users", "list", "--status", "closed", "-q"),
    ]
    for args in quiet_runs:
        r = cli(*args)
        assert r.exit_code == 0 and r.stderr == "", (args, r)
    r = cli("users", "edit", "q@example.com", "--name", "R", "-q", "-o", "json")
    assert r.stderr == "" and r.json()["name"] == "R"
    r = cli("users", "create", "q@example.com", "--package", "free", "-q")
    assert r.exit_code == 5 and "already exists" in one_line_error(r)


@pytest.fixture
def terminal(monkeypatch):
    from mailadmin.cli import context

    monkeypatch.setattr(context.Invocation, "can_prompt", lambda self: True)


def test_wizard_refuses_a_taken_email_before_asking_anything(cli, pkgs, terminal):
    cli("users", "create", "taken@example.com", "--package", "free")
    r = cli("users", "create", "Taken@Example.com", input="")
    assert r.exit_code == 5 and "user taken@example.com already exists" in one_line_error(r)
    assert "step" not in r.stderr  # nothing was asked
    r = cli("users", "create", "new@example.com", "--name", "bad\nname", input="")
    assert r.exit_code == 2 and "control characters" in one_line_error(r)
    r = cli("users", "create", "--package", "nosuch", input="")
    assert r.exit_code == 3 and "no package named 'nosuch'" in one_line_error(r)


def test_wizard_asks_again_for_a_taken_email_and_a_bad_name_before_the_package(cli, pkgs, terminal):
    cli("users", "create", "taken@example.com", "--package", "free")
    r = cli("users", "create", "-q", input="taken@example.com\nfresh@example.com\nbad\u2028name\nFresh\n1\n")
    assert r.exit_code == 0, r
    assert "user taken@example.com already exists" in r.stderr and "must be one line" in r.stderr
    assert r.stderr.index("already exists") < r.stderr.index("step 2 of 2")  # checked before the package is asked
    data = cli("users", "show", "fresh@example.com", "-o", "json").json()
    assert (data["name"], data["package"]) == ("Fresh", "free")


def test_wizard_with_no_packages_says_so_before_asking(cli, terminal):
    r = cli("users", "create", input="")
    assert r.exit_code == 3 and "there are no packages yet" in one_line_error(r)

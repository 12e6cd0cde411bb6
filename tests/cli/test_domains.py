"""`mailadmin domains add|list|show|remove|grant|revoke` through the CLI: names in any spelling,
the package's `domains` limit, the grant rules as one table (seed 001, SPEC rules 2, 3 and 5),
and what a client user acting through --as sees and may do (rules 4 and 6)."""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

OWNER, OWNER2 = "owner@a.example", "owner@b.example"
ADMIN, REGULAR, VIEWER = "adm@a.example", "reg@a.example", "view@a.example"
MANAGER = "mgr@a.example"  # custom role: domains.view and domains.manage, nothing else of domains
D_ADMIN, D_VIEWER, D_CONTENT = "dadm@a.example", "dview@a.example", "dviewc@a.example"
REMOVED, OTHER = "gone@a.example", "member@b.example"
D1, D2, B = "d1.example", "d2.example", "b.example"
INITIAL = {  # the grants on D1 the team starts with
    D_ADMIN: ("admin", False),
    D_VIEWER: ("viewer", False),
    D_CONTENT: ("viewer", True),
}


def build_team(o) -> None:
    """Account A (package `pro`, role admin) with an owner, members of every kind and two domains;
    account B with an owner, a member and a domain. Members are written to the store directly:
    only their account and role matter here."""
    from mailadmin.refs import parse_ref
    from mailadmin.services import domains, roles, users
    from mailadmin.store.models import User
    from tests.factories import make_package

    make_package(o.session, "pro", role="admin")
    roles.create(o, "domain-manager", grant=["domains.view", "domains.manage"], description="manages domains")
    users.create(o, OWNER, "pro")
    users.create(o, OWNER2, "pro")
    accounts = {email: o.session.execute(select_account(email)).scalar_one() for email in (OWNER, OWNER2)}
    role_ids = {r: roles.get(o.session, r).id for r in ("admin", "regular", "viewer", "domain-manager")}
    for email, account, role in [
        (ADMIN, OWNER, "admin"), (REGULAR, OWNER, "regular"), (VIEWER, OWNER, "viewer"), (MANAGER, OWNER, "domain-manager"),
        (D_ADMIN, OWNER, "regular"), (D_VIEWER, OWNER, "regular"), (D_CONTENT, OWNER, "regular"),
        (OTHER, OWNER2, "regular"),
    ]:
        o.session.add(User(email=email, account_id=accounts[account], role_id=role_ids[role], created_at=o.now))
    o.session.add(User(email=REMOVED, created_at=o.now))  # removed from A's team: no account, no role
    o.session.flush()
    for name in (D1, D2):
        domains.add(o, name, parse_ref(OWNER))
    domains.add(o, B, parse_ref(OWNER2))
    for email, (role, content) in INITIAL.items():
        domains.grant(o, D1, parse_ref(email), role, email_content=content)


def select_account(email: str):
    from sqlalchemy import select

    from mailadmin.store.models import User

    return select(User.account_id).where(User.email == email)


def grants_on(db_url: str, domain: str) -> dict[str, tuple[str, bool]]:
    """The grants the store holds on one domain, read directly."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                'SELECT u.email, g.role, g.email_content FROM domain_grant g JOIN "user" u ON u.id = g.user_id '
                "JOIN domain d ON d.id = g.domain_id WHERE d.name = :name"), {"name": domain}).all()
    finally:
        engine.dispose()
    return {email: (role, bool(content)) for email, role, content in rows}


def domain_names(db_url: str) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT name FROM domain ORDER BY name")).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def team(op):
    with op.write() as o:
        build_team(o)


# -- add, show, list, remove ---------------------------------------------------------------------
def test_add_stores_the_a_label_shows_the_unicode_form_and_audits(cli, db_url, team):
    r = cli("domains", "add", "Bücher.Example.", "--user", OWNER, "-o", "json")
    assert r.exit_code == 0, r
    data = r.json()
    assert (data["name"], data["unicode"], data["owner"]) == ("xn--bcher-kva.example", "bücher.example", OWNER)
    assert data["grants"] == [] and data["monthly_cap"] == "unlimited"
    assert data["open_tracking"] is data["click_tracking"] is data["unsubscribe_footer"] is True
    # every spelling finds it
    for spelling in ("xn--bcher-kva.example", "BÜCHER.example", "bücher.example."):
        assert cli("domains", "show", spelling, "-o", "json").json()["id"] == data["id"]
    entry = cli("audit", "list", "--target", "domain:xn--bcher-kva.example", "-o", "json").json()[0]
    assert entry["action"] == "domain.add" and entry["after"]["account"] == OWNER
    table = cli("domains", "add", "mail.a.example", "--user", ADMIN)  # a member: its account
    assert table.exit_code == 0 and table.stdout == "" and f"to {OWNER}'s account" in table.stderr


def test_show_lists_settings_and_grants(cli, team):
    data = cli("domains", "show", D1, "-o", "json").json()
    assert [(g["member"], g["role"], g["email_content"]) for g in data["grants"]] == [
        (D_ADMIN, "admin", False), (D_VIEWER, "viewer", False), (D_CONTENT, "viewer", True)]
    from mailadmin.render.domains import DOMAIN, DOMAIN_GRANT

    assert list(data) == list(DOMAIN.fields) and list(data["grants"][0]) == list(DOMAIN_GRANT.fields)
    table = cli("domains", "show", D1)
    assert table.exit_code == 0 and "Account owner" in table.stdout and D_CONTENT in table.stdout
    csv = cli("domains", "show", D1, "-o", "csv").stdout.splitlines()
    assert csv[0].startswith("id,name,unicode,owner") and "dviewc@a.example: viewer +email content" in csv[1]


def test_list_counts_members_with_a_grant_filters_and_pages(cli, team):
    rows = cli("domains", "list", "-o", "json").json()
    assert [(r["name"], r["owner"], r["members"]) for r in rows] == [(B, OWNER2, 0), (D1, OWNER, 3), (D2, OWNER, 0)]
    assert cli("domains", "list", "--user", REGULAR, "-o", "ids").stdout.split() == [D1, D2]
    assert cli("domains", "list", "--search", "D1", "-o", "ids").stdout.split() == [D1]
    assert cli("domains", "list", "--limit", "1", "--offset", "1", "-o", "ids").stdout.split() == [D1]
    assert cli("domains", "list", "--sort", "-members", "--fields", "name,members", "-o", "csv").stdout.splitlines() == [
        "name,members", f"{D1},3", f"{B},0", f"{D2},0"]
    assert cli("domains", "list", "--user", REMOVED, "-o", "ids").stdout == ""
    cli("domains", "add", "bücher.example", "--user", OWNER)
    assert cli("domains", "list", "--search", "BÜCHER", "-o", "ids").stdout.split() == ["xn--bcher-kva.example"]
    wide = cli("domains", "list", "-o", "wide").stdout
    assert "bücher.example" in wide and "Unicode" in wide
    assert "Unicode" not in cli("domains", "list").stdout


def test_remove_asks_then_deletes_the_domain_and_its_grants(cli, db_url, team):
    before = audit_count(db_url)
    refused(cli("domains", "remove", D1), 2, "add --yes")
    assert D1 in domain_names(db_url) and audit_count(db_url) == before
    r = cli("domains", "remove", D1, "--yes")
    assert r.exit_code == 0, r
    assert f"removed domain d1.example from {OWNER}'s account, with 1 DKIM key and 3 member grants" in r.stderr
    assert D1 not in domain_names(db_url) and grants_on(db_url, D1) == {}
    entry = cli("audit", "list", "--target", f"domain:{D1}", "-n", "1", "-o", "json").json()[0]
    assert entry["action"] == "domain.remove" and len(entry["before"]["grants"]) == 3 and entry["after"] is None
    refused(cli("domains", "remove", D1, "--yes"), 3, "no domain 'd1.example'")


# -- the package's domains limit -----------------------------------------------------------------
def test_the_domains_limit_is_exit_6_and_changes_nothing(cli, db_url):
    assert cli("packages", "create", "solo", "--role", "admin", "--limit", "domains=1").exit_code == 0
    assert cli("users", "create", "s@example.com", "--package", "solo").exit_code == 0
    assert cli("domains", "add", "one.example", "--user", "s@example.com").exit_code == 0
    before = audit_count(db_url)
    line = refused(cli("domains", "add", "two.example", "--user", "s@example.com"), 6, "limit domains reached")
    assert "has 1 of 1 domains" in line and "from package solo" in line and "--set domains=N" in line
    assert domain_names(db_url) == ["one.example"] and audit_count(db_url) == before
    # an override is named as the source; unlimited has no cap
    cli("users", "limits", "s@example.com", "--set", "domains=2")
    assert cli("domains", "add", "two.example", "--user", "s@example.com").exit_code == 0
    line = refused(cli("domains", "add", "three.example", "--user", "s@example.com"), 6, "has 2 of 2 domains")
    assert "an override on the account; package: 1" in line
    cli("users", "limits", "s@example.com", "--set", "domains=unlimited")
    assert cli("domains", "add", "three.example", "--user", "s@example.com").exit_code == 0
    # back to the package's 1: the three domains stay, a fourth is refused
    cli("users", "limits", "s@example.com", "--inherit", "domains")
    refused(cli("domains", "add", "four.example", "--user", "s@example.com"), 6, "has 3 of 1 domains")


# -- grants: one table ---------------------------------------------------------------------------
OP = None  # the operator running the command, with no --as
# (acting as, command, member, options, exit code, what the error says, the change to D1's grants)
GRANT_RULES = [
    # operators: every rule of the store, none of the actor's
    (OP, "grant", REGULAR, ["--role", "admin"], 0, "", {REGULAR: ("admin", False)}),
    (OP, "grant", REGULAR, ["--role", "viewer", "--email-content"], 0, "", {REGULAR: ("viewer", True)}),
    (OP, "grant", D_VIEWER, ["--role", "viewer"], 0, "", {}),  # identical: unchanged, not audited
    (OP, "grant", D_VIEWER, ["--role", "admin"], 0, "", {D_VIEWER: ("admin", False)}),  # replaces
    (OP, "grant", D_CONTENT, ["--role", "viewer"], 0, "", {D_CONTENT: ("viewer", False)}),  # content taken away
    (OP, "grant", OWNER, ["--role", "viewer"], 5, "the owner already holds everything on every domain", {}),
    (OP, "grant", OTHER, ["--role", "viewer"], 5, "is not a member of the account that owns d1.example", {}),
    (OP, "grant", REMOVED, ["--role", "viewer"], 5, "was removed from its team", {}),
    (OP, "grant", REGULAR, ["--role", "owner"], 2, "a domain role is admin or viewer, not 'owner'", {}),
    (OP, "revoke", D_VIEWER, [], 0, "", {D_VIEWER: None}),
    (OP, "revoke", REGULAR, [], 5, "reg@a.example holds no grant on d1.example", {}),
    (OP, "revoke", OWNER, [], 5, "the owner already holds everything", {}),
    # seed 001: the owner and admins manage every domain's members
    (OWNER, "grant", REGULAR, ["--role", "admin", "--email-content"], 0, "", {REGULAR: ("admin", True)}),
    (OWNER, "grant", OTHER, ["--role", "viewer"], 3, "no user 'member@b.example'", {}),  # another account: not found
    (ADMIN, "grant", REGULAR, ["--role", "viewer"], 0, "", {REGULAR: ("viewer", False)}),
    (ADMIN, "revoke", D_ADMIN, [], 0, "", {D_ADMIN: None}),
    # rule 5: a domain admin adds and removes its domain's members, and may make them admins
    (D_ADMIN, "grant", REGULAR, ["--role", "admin"], 0, "", {REGULAR: ("admin", False)}),
    (D_ADMIN, "grant", REGULAR, ["--role", "viewer", "--email-content"], 0, "", {REGULAR: ("viewer", True)}),
    (D_ADMIN, "revoke", D_VIEWER, [], 0, "", {D_VIEWER: None}),
    # rule 2: nobody changes their own permissions
    (D_ADMIN, "grant", D_ADMIN, ["--role", "admin", "--email-content"], 4, "nobody changes their own permissions", {}),
    (D_ADMIN, "revoke", D_ADMIN, [], 4, "nobody changes their own permissions", {}),
    (ADMIN, "grant", ADMIN, ["--role", "admin"], 4, "nobody changes their own permissions", {}),
    # rule 3: nobody grants more than they hold (a role with domains.manage and nothing more)
    (MANAGER, "grant", REGULAR, ["--role", "viewer"], 0, "", {REGULAR: ("viewer", False)}),
    (MANAGER, "grant", REGULAR, ["--role", "viewer", "--email-content"], 4, "domains.email_content", {}),
    (MANAGER, "grant", REGULAR, ["--role", "admin"], 4, "nobody grants more than they hold", {}),
    # domains.manage on that domain is needed: viewers (with email content or not), other roles
    (D_CONTENT, "grant", REGULAR, ["--role", "viewer"], 4, "lacks domains.manage on d1.example", {}),
    (D_VIEWER, "revoke", D_CONTENT, [], 4, "lacks domains.manage on d1.example", {}),
    (VIEWER, "grant", REGULAR, ["--role", "viewer"], 4, "lacks domains.manage on d1.example", {}),
    (REGULAR, "grant", D_VIEWER, ["--role", "admin"], 4, "lacks domains.manage on d1.example", {}),
]


def _rule_id(row) -> str:
    actor, command, member, options, code, _needle, _change = row
    return f"{(actor or 'operator').split('@')[0]} {command} {member.split('@')[0]} {' '.join(options)} -> {code}".strip()


@pytest.mark.parametrize("row", GRANT_RULES, ids=[_rule_id(r) for r in GRANT_RULES])
def test_grant_and_revoke_rules(cli, db_url, team, row):
    actor, command, member, options, code, needle, change = row
    before = audit_count(db_url)
    as_ = ["--as", actor] if actor else []
    r = cli(*as_, "domains", command, D1, member, *options)
    expected = {**INITIAL, **change}
    if code:
        refused(r, code, needle)
        assert audit_count(db_url) == before, "a refused change was audited"
    else:
        assert r.exit_code == 0, r
        assert audit_count(db_url) == before + (1 if change else 0)
    assert grants_on(db_url, D1) == {k: v for k, v in expected.items() if v is not None}


def test_grant_json_reports_what_happened(cli, team):
    from mailadmin.render.domains import GRANT_CHANGE

    first = cli("domains", "grant", D1, REGULAR, "--role", "viewer", "-o", "json").json()
    assert list(first) == list(GRANT_CHANGE.fields)
    assert first == {"domain": D1, "member": REGULAR, "role": "viewer", "email_content": False, "result": "granted"}
    again = cli("domains", "grant", D1, REGULAR, "--role", "viewer", "-o", "json")
    assert again.json()["result"] == "unchanged" and "already is viewer of d1.example" in again.stderr
    more = cli("domains", "grant", D1, REGULAR, "--role", "viewer", "--email-content", "-o", "json")
    assert more.json()["result"] == "updated" and "(was viewer)" in more.stderr
    gone = cli("domains", "revoke", D1, REGULAR)
    assert gone.exit_code == 0 and "they stay on the team" in gone.stderr
    entries = cli("audit", "list", "--target", f"domain:{D1}", "-n", "3", "-o", "json").json()
    assert [e["action"] for e in entries] == ["domain.revoke", "domain.grant", "domain.grant"]
    assert entries[1]["before"] == {"member": REGULAR, "role": "viewer", "email_content": False}


# -- acting through --as: visibility (rules 4 and 6) ------------------------------------------------
LISTS = [  # (acting as, the domains `domains list` shows)
    (OWNER, [D1, D2]),
    (ADMIN, [D1, D2]),
    (VIEWER, [D1, D2]),  # the viewer role holds domains.view
    (D_VIEWER, [D1]),  # a grant on D1 only
    (D_ADMIN, [D1]),
    (REGULAR, []),  # seed 000: the regular user does not see the Domains area
    (OWNER2, [B]),
]


@pytest.mark.parametrize(("actor", "expected"), LISTS, ids=[a.split("@")[0] for a, _ in LISTS])
def test_a_client_lists_only_the_domains_it_may_view(cli, team, actor, expected):
    r = cli("--as", actor, "domains", "list", "-o", "ids")
    assert r.exit_code == 0, r
    assert r.stdout.split() == expected


AS_CLIENT = [  # (acting as, command, exit code, what the error says)
    (OWNER, ["show", B], 3, "no domain 'b.example'"),  # another account's domain never shows it exists
    (OWNER, ["remove", B, "--yes"], 3, "no domain 'b.example'"),
    (OWNER, ["add", "x.example", "--user", OWNER2], 3, "no user 'owner@b.example'"),
    (OWNER, ["add", B, "--user", OWNER], 5, "already belongs to another account"),  # names no one
    (REGULAR, ["show", D1], 4, "lacks domains.view on d1.example"),
    (D_VIEWER, ["show", D2], 4, "lacks domains.view on d2.example"),
    (D_VIEWER, ["remove", D1, "--yes"], 4, "lacks domains.manage on d1.example"),
    (REGULAR, ["add", "x.example", "--user", REGULAR], 4, "lacks domains.manage"),
    (REGULAR, ["add", "x.example", "--user", OWNER], 3, "no user 'owner@a.example'"),  # rule 4: sees only itself
    (VIEWER, ["add", "x.example", "--user", VIEWER], 4, "lacks domains.manage"),
]


@pytest.mark.parametrize(("actor", "args", "code", "needle"), AS_CLIENT, ids=[f"{a.split('@')[0]} {c[0]} -> {n}" for a, c, n, _ in AS_CLIENT])
def test_a_client_is_refused_what_it_may_not_do(cli, db_url, team, actor, args, code, needle):
    before = audit_count(db_url)
    refused(cli("--as", actor, "domains", *args), code, needle)
    assert audit_count(db_url) == before


def test_a_client_may_do_what_it_holds_and_is_audited_as_itself(cli, db_url, team):
    assert cli("--as", D_VIEWER, "domains", "show", D1, "-o", "json").json()["name"] == D1
    assert cli("--as", ADMIN, "domains", "add", "new.example", "--user", ADMIN).exit_code == 0
    # a member names itself for its account: without team.manage it sees no one else (rule 4)
    assert cli("--as", MANAGER, "domains", "add", "mgr.example", "--user", MANAGER).exit_code == 0
    r = cli("--as", D_ADMIN, "domains", "remove", D1, "--yes")  # seed 001: a domain admin may delete its domain
    assert r.exit_code == 0, r
    assert domain_names(db_url) == [B, D2, "mgr.example", "new.example"]
    entry = cli("audit", "list", "--target", f"domain:{D1}", "-n", "1", "-o", "json").json()[0]
    assert entry["action"] == "domain.remove" and entry["as_user"] == D_ADMIN


# -- completion ----------------------------------------------------------------------------------
def test_domain_names_complete_from_the_store(db_url, team):
    from mailadmin.cli.completion import candidates, values_of, SPEC
    import json

    env = {"MAILADMIN_DB": db_url, "MAILADMIN_CONFIG": "/nonexistent/config.toml"}
    assert values_of("domains", (), "D", env) == [D1, D2]
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    assert [v for v, _ in candidates(spec, ["domains", "show"], "b", env)] == [B]
    assert [v for v, _ in candidates(spec, ["domains", "grant", D1, REGULAR, "--role"], "", env)] == ["admin", "viewer"]


# -- show and list: DKIM keys, verification, SMTP login (issue 10) --------------------------------
def put_checks(db_url: str, domain: str, checks: dict[str, tuple[str, str | None]], at: str = "2026-11-26T10:00:00") -> None:
    """DNS check results as `domains verify` leaves them, written directly: record -> (state, cause)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.begin() as conn:
            domain_id = conn.execute(text("SELECT id FROM domain WHERE name = :n"), {"n": domain}).scalar_one()
            conn.execute(text("DELETE FROM dns_check WHERE domain_id = :d"), {"d": domain_id})
            for record, (state, cause) in checks.items():
                conn.execute(text(
                    "INSERT INTO dns_check (domain_id, record, name, type, state, expected, found, cause, checked_at) "
                    "VALUES (:d, :r, :name, 'TXT', :s, 'v=x', NULL, :c, :at)"),
                    {"d": domain_id, "r": record, "name": f"{record}.{domain}", "s": state, "c": cause, "at": at})
    finally:
        engine.dispose()


def selector_of(cli, domain: str) -> str:
    return cli("domains", "show", domain, "-o", "json").json()["dkim_keys"][0]["selector"]


def test_show_adds_dkim_keys_verification_and_the_smtp_login(cli, db_url, team):
    from mailadmin.render.domains import DOMAIN_CHECK, DOMAIN_CREDENTIALS, DOMAIN_KEY, DOMAIN_VERIFICATION

    data = cli("domains", "show", D1, "-o", "json").json()
    (key,) = data["dkim_keys"]
    assert list(key) == list(DOMAIN_KEY.fields)
    assert (key["algorithm"], key["bits"], key["state"], key["dns_state"]) == ("rsa", 2048, "active", "pending")
    assert data["verification"] == {"state": "pending", "checked_at": None, "records": []}
    assert data["credentials"] is None
    selector = key["selector"]
    put_checks(db_url, D1, {"spf": ("verified", None), f"dkim:{selector}": ("failed", "wrong value"),
                            "dmarc": ("pending", None)})
    assert cli("domains", "credentials", D1, "--reset", "--grace", "1h").exit_code == 0
    data = cli("domains", "show", D1, "-o", "json").json()
    assert list(data["verification"]) == list(DOMAIN_VERIFICATION.fields)
    assert data["verification"]["state"] == "failed" and data["verification"]["checked_at"] == "2026-11-26T10:00:00Z"
    records = data["verification"]["records"]
    assert list(records[0]) == list(DOMAIN_CHECK.fields)
    assert [(r["record"], r["state"], r["cause"]) for r in records] == [
        (f"dkim:{selector}", "failed", "wrong value"), ("dmarc", "pending", None), ("spf", "verified", None)]
    assert data["dkim_keys"][0]["dns_state"] == "failed"
    assert list(data["credentials"]) == list(DOMAIN_CREDENTIALS.fields)
    assert data["credentials"]["username"] == f"smtp@{D1}" and data["credentials"]["previous_live"] is False
    table = cli("domains", "show", D1).stdout
    assert "DKIM keys" in table and "wrong value" in table and f"smtp@{D1}, last reset" in table
    csv = cli("domains", "show", D1, "-o", "csv").stdout.splitlines()
    assert "verification" in csv[0].split(",") and f"smtp@{D1}" in csv[1]


# (the records' states, the domain's overall state): every record it must publish verified, any
# failed, else pending ("every": each of its records; a retired selector's old check does not count)
STATES = {
    "never-checked": ({}, "pending"),
    "some-verified": ({"spf": "verified", "dmarc": "verified"}, "pending"),
    "every-verified": ("every", "verified"),
    "one-pending": ({"spf": "verified", "dmarc": "pending"}, "pending"),
    "one-failed": ({"spf": "verified", "dmarc": "failed", "tracking": "pending"}, "failed"),
}


@pytest.mark.parametrize(("records", "overall"), STATES.values(), ids=STATES.keys())
def test_list_and_show_agree_on_the_overall_verification(cli, db_url, team, records, overall):
    from mailadmin.services.dnsrecords import record_ids

    if records == "every":
        selectors = [k["selector"] for k in cli("domains", "show", D2, "-o", "json").json()["dkim_keys"]]
        records = {r: "verified" for r in record_ids(selectors)} | {"dkim:retired": "verified"}
    put_checks(db_url, D2, {r: (s, None) for r, s in records.items()})
    put_checks(db_url, B, {"spf": ("failed", "no such name")})
    rows = {r["name"]: r for r in cli("domains", "list", "-o", "json").json()}
    assert (rows[D2]["verification"], rows[B]["verification"], rows[D1]["verification"]) == (overall, "failed", "pending")
    assert rows[D2]["checked_at"] == ("2026-11-26T10:00:00Z" if records else None)
    assert cli("domains", "show", D2, "-o", "json").json()["verification"]["state"] == overall
    assert "| DNS " in cli("domains", "list").stdout and "Monthly cap" in cli("domains", "list", "-o", "wide").stdout


def test_remove_takes_keys_checks_and_credentials_and_keeps_the_audit(cli, db_url, team):
    from sqlalchemy import create_engine, text

    put_checks(db_url, D1, {"spf": ("verified", None)})
    assert cli("domains", "credentials", D1, "--reset").exit_code == 0
    assert cli("domains", "set", D1, "--monthly-cap", "5").exit_code == 0
    entries = len(cli("audit", "list", "--target", f"domain:{D1}", "-o", "json").json())
    r = cli("domains", "remove", D1, "--yes")
    assert r.exit_code == 0, r
    assert f"1 DKIM key, 1 DNS check result, its SMTP login smtp@{D1} and 3 member grants" in r.stderr
    assert "its audit entries stay" in r.stderr
    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            left = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("dkim_key", "dns_check", "smtp_credential", "domain_grant")}
    finally:
        engine.dispose()
    assert left == {"dkim_key": 2, "dns_check": 0, "smtp_credential": 0, "domain_grant": 0}  # D2's and B's keys stay
    kept = cli("audit", "list", "--target", f"domain:{D1}", "-o", "json").json()
    assert len(kept) == entries + 1 and kept[0]["action"] == "domain.remove"
    assert kept[0]["before"]["smtp_username"] == f"smtp@{D1}" and kept[0]["before"]["dns_checks"] == 1
    assert [k["state"] for k in kept[0]["before"]["dkim"]] == ["active"]
    verified = cli("audit", "verify")
    assert verified.exit_code == 0, verified


def test_the_removal_question_says_what_goes(cli, team):
    from mailadmin.render.domains import removal_question
    from mailadmin.services.domains import Verification

    class Detail:
        name, owner, grants, dkim_keys, credentials = D1, OWNER, [1, 2], [1], None
        verification = Verification("pending", None, [])

    assert removal_question(Detail) == (f"remove domain {D1} of {OWNER}'s account? Its 1 DKIM key and 2 member grants "
                                        "go with it (the audit log keeps its history)")


# -- issue 10 point 8: settings and credentials through --as, one table ----------------------------
MAY, NO = 0, 4
# (acting as, what it may do with D1: set, credentials --reset, credentials, --check, show's login detail)
DOMAIN_ACCESS = [
    (OWNER, MAY, MAY, MAY, MAY, True),
    (ADMIN, MAY, MAY, MAY, MAY, True),
    (D_ADMIN, MAY, MAY, MAY, MAY, True),
    (MANAGER, MAY, NO, NO, NO, False),  # domains.manage by a custom role; credentials never (rule 6)
    (VIEWER, NO, NO, NO, NO, False),  # sees settings and records, no secret
    (D_VIEWER, NO, NO, NO, NO, False),
    (D_CONTENT, NO, NO, NO, NO, False),
    (REGULAR, NO, NO, NO, NO, None),  # does not see the Domains area at all
    (OWNER2, 3, 3, 3, 3, None),  # another account's domain: not found
]


@pytest.mark.parametrize("row", DOMAIN_ACCESS, ids=[r[0].split("@")[0] for r in DOMAIN_ACCESS])
def test_who_may_set_and_reach_the_credentials(cli, db_url, team, row):
    actor, set_, reset_, read_, check_, sees_login = row
    password = cli("domains", "credentials", D1, "--reset", "-o", "json").json()["password"]
    as_ = ("--as", actor)
    expected = {
        "set": (set_, ["set", D1, "--no-click-tracking"]),
        "reset": (reset_, ["credentials", D1, "--reset", "-o", "json"]),
        "read": (read_, ["credentials", D1, "-o", "json"]),
        "check": (check_, ["credentials", D1, "--check"]),
    }
    for what, (code, args) in expected.items():
        before = audit_count(db_url)
        r = cli(*as_, "domains", *args, input=password + "\n")
        if code:
            refused(r, code, "no domain 'd1.example'" if code == 3 else "lacks domains.")
            assert audit_count(db_url) == before, what
        else:
            assert r.exit_code == 0, (what, r)
            assert audit_count(db_url) == before + (1 if what in ("set", "reset") else 0), what
            if what == "reset":  # the password changed: the next check uses the new one
                password = r.json()["password"]
    shown = cli(*as_, "domains", "show", D1, "-o", "json")
    if sees_login is None:
        assert shown.exit_code in (3, 4) and shown.stdout == ""
    else:
        data = shown.json()
        assert data["dkim_keys"] and "verification" in data and data["open_tracking"] is True
        assert (data["credentials"] is not None) == sees_login
        if not sees_login:
            assert "hidden (needs domains.credentials" in cli(*as_, "domains", "show", D1).stdout
    refused(cli(*as_, "domains", "credentials", "--export-passwd"), 4, "operator action")

"""SPEC section 1's effective-permission rules, as tables: each row one person, one question, the
answer a user would see (`users can -o json`: allowed, decided_by), and the seed the rule comes from.

The world is built once per backend (it is only read), the same on SQLite and PostgreSQL:
- account A (owner a@, package `full` whose role is `owner`): members with the built-in roles, with
  custom roles, and with domain grants on a.example;
- account B (owner b@, package `basic` whose role is `regular`);
- account S (owner suspended), C (owner closed), E (plan expired);
- gone@, a person removed from A's team.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import BASE_ENV, REQUIRE_PG, _pg_create, _pg_drop, _pg_reason, _pg_url, RUN_ID

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
A = "a@a.example"


def _member(session, owner, email, role=None, *, grants=()):
    from sqlalchemy import select

    from mailadmin.store.models import DomainGrant, Role, User

    role_id = session.execute(select(Role.id).where(Role.name == role)).scalar_one() if role else None
    user = User(email=email, account_id=owner.account_id, role_id=role_id, created_at=NOW)
    session.add(user)
    session.flush()
    for domain, grant_role, content in grants:
        session.add(DomainGrant(domain_id=domain.id, user_id=user.id, role=grant_role, email_content=content, created_at=NOW))
    session.flush()
    return user


def build_world(store) -> None:
    """Through the services where they exist (accounts, roles, packages, lifecycle); members,
    domains and grants as rows, so the table tests the engine and not the team commands."""
    from sqlalchemy import select, update

    from mailadmin.operation import Actor, Operation
    from mailadmin.refs import parse_ref
    from mailadmin.services import lifecycle, packages, roles, users
    from mailadmin.services.packages import Settings
    from mailadmin.store.models import Account, Domain, User

    with store.write() as session:
        op = Operation(session, Actor.operator("world"), NOW - timedelta(days=30))
        roles.create(op, "support", copy_from="viewer", grant=["contacts.import"])
        roles.create(op, "smtp-activity", grant=["smtp.activity", "smtp.pricing.view"])
        roles.create(op, "sender", grant=["senders.manage", "contacts.view"])
        roles.create(op, "keyholder", grant=["domains.credentials", "domains.view"])
        packages.create(op, "full", Settings(role="owner"))
        packages.create(op, "basic", Settings(role="regular"))
        for email, package in ((A, "full"), ("b@b.example", "basic"), ("s@s.example", "full"), ("c@c.example", "full"),
                               ("e@e.example", "full")):
            users.create(op, email, package)
        owner = {u.email: u for u in session.execute(select(User)).scalars()}
        a_dom = Domain(name="a.example", account_id=owner[A].account_id, created_at=NOW)
        a2_dom = Domain(name="a2.example", account_id=owner[A].account_id, created_at=NOW)
        b_dom = Domain(name="b.example", account_id=owner["b@b.example"].account_id, created_at=NOW)
        session.add_all([a_dom, a2_dom, b_dom])
        session.flush()
        a = owner[A]
        for email, role in (("admin@a.example", "admin"), ("viewer@a.example", "viewer"), ("regular@a.example", "regular"),
                            ("billing@a.example", "billing-admin"), ("support@a.example", "support"),
                            ("smtp@a.example", "smtp-activity"), ("sender@a.example", "sender"),
                            ("keys@a.example", "keyholder")):
            _member(session, a, email, role)
        _member(session, a, "dadmin@a.example", "billing-viewer", grants=[(a_dom, "admin", False)])
        _member(session, a, "dviewer@a.example", "billing-viewer", grants=[(a_dom, "viewer", False)])
        _member(session, a, "dcontent@a.example", "billing-viewer", grants=[(a_dom, "viewer", True)])
        _member(session, owner["s@s.example"], "admin@s.example", "admin")
        _member(session, owner["c@c.example"], "admin@c.example", "admin")
        _member(session, owner["e@e.example"], "admin@e.example", "admin")
        gone = _member(session, a, "gone@a.example", "admin")
        gone.account_id, gone.role_id = None, None
        session.execute(update(Account).where(Account.id == owner["e@e.example"].account_id)
                        .values(plan_expires_at=NOW - timedelta(days=1)))
        req = lifecycle.make_request("suspend", now=op.now, reason="unpaid invoice", code="billing")
        lifecycle.run(op, req, [parse_ref("s@s.example")], single=True)
        req = lifecycle.make_request("close", now=op.now, reason="left")
        lifecycle.run(op, req, [parse_ref("c@c.example")], single=True)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """(db url, env) of the world on one backend; read-only for every test that uses it."""
    from mailadmin.store import open_store

    if request.param == "postgresql":
        if reason := _pg_reason():
            if REQUIRE_PG:
                pytest.fail(f"CI requires PostgreSQL: {reason}")
            pytest.skip(reason)
        name = f"ma_{RUN_ID}_rules_{id(request)}"
        _pg_create(name)
        request.addfinalizer(lambda: _pg_drop(name))
        url = _pg_url(name)
    else:
        url = str(tmp_path_factory.mktemp("rules") / "world.db")
    from tests.conftest import _initialise

    _initialise(url)
    store = open_store(url)
    build_world(store)
    store.dispose()
    env = {**BASE_ENV, "MAILADMIN_DB": url, "MAILADMIN_TEST_NOW": NOW.isoformat(),
           "MAILADMIN_CONFIG": str(tmp_path_factory.mktemp("cfg") / "config.toml")}
    return url, env


def ask(env, *args: str, as_user: str | None = None):
    """Run one command in-process (the same entry point as the console script)."""
    import io

    from mailadmin.cli.app import invoke

    out, err = io.StringIO(), io.StringIO()
    argv = (["--as", as_user] if as_user else []) + list(args)
    code = invoke(argv, stdin=io.StringIO(""), stdout=out, stderr=err, env=env)
    return code, out.getvalue(), err.getvalue()


# (user, key, domain, allowed, decided_by, seed: why)
DECISIONS = [
    # owner, admin, viewer (seed 001)
    (A, "account.transfer", None, True, "owner", "001: the Account Owner can transfer ownership"),
    (A, "domains.credentials", "a.example", True, "owner", "000/001: owners see SMTP credentials"),
    ("admin@a.example", "team.manage", None, True, "member_role", "001: Account Admin adds/edits team members"),
    ("admin@a.example", "account.delete", None, False, "member_role", "001: Admin cannot delete the account"),
    ("admin@a.example", "account.transfer", None, False, "member_role", "001: Admin cannot transfer ownership"),
    ("admin@a.example", "domains.email_content", "a.example", True, "member_role", "001: admins see email bodies by default"),
    ("admin@a.example", "domains.credentials", "a2.example", True, "member_role", "000: admins reach the Domains tab"),
    ("viewer@a.example", "campaigns.view", None, True, "member_role", "001: Account Viewer sees every entity"),
    ("viewer@a.example", "campaigns.edit", None, False, "member_role", "001: Account Viewer changes nothing"),
    ("viewer@a.example", "domains.email_content", "a.example", False, "member_role", "001: viewers do not see email bodies"),
    # regular and custom permission users (seed 000, 003)
    ("regular@a.example", "domains.view", None, False, "member_role", "000: Regular user: Domains tab hidden"),
    ("regular@a.example", "smtp.activity", None, True, "member_role", "000: Regular user sees Activity"),
    ("regular@a.example", "smtp.pricing.view", None, True, "member_role", "000: Regular user can view plans"),
    ("regular@a.example", "smtp.pricing.request", None, False, "member_role", "000: ...but cannot request a change"),
    ("regular@a.example", "senders.manage", None, True, "member_role", "003: senders with an edit level"),
    ("smtp@a.example", "smtp.activity", None, True, "member_role", "000: custom user with Access SMTP activities"),
    ("smtp@a.example", "domains.view", None, False, "member_role", "000: custom user: Domains tab hidden"),
    ("support@a.example", "contacts.import", None, True, "member_role", "003: per-feature level on a copied role"),
    ("support@a.example", "contacts.view", None, True, "member_role", "003: import implies view"),
    ("support@a.example", "contacts.edit", None, False, "member_role", "003: a level not granted stays denied"),
    ("sender@a.example", "senders.manage", None, False, "requires_edit_level", "003: senders need an edit level"),
    ("keys@a.example", "domains.credentials", "a.example", False, "restricted_key",
     "000: credentials only reach owner, admin and the domain's admins"),
    ("billing@a.example", "billing.manage", None, True, "member_role", "001: Billing Admin manages billing"),
    ("billing@a.example", "campaigns.view", None, False, "member_role", "001: Billing Admin sees only billing"),
    # domain admins and viewers, email content per domain (seed 001)
    ("dadmin@a.example", "domains.manage", "a.example", True, "domain_grant", "001: Domain Admin manages its domain"),
    ("dadmin@a.example", "domains.credentials", "a.example", True, "domain_grant", "001: Domain Admin resets credentials"),
    ("dadmin@a.example", "domains.email_content", "a.example", True, "domain_grant", "001: Domain Admin sees email bodies"),
    ("dadmin@a.example", "domains.manage", "a2.example", False, "member_role", "001: only on its own domain"),
    ("dadmin@a.example", "domains.view", "b.example", False, "other_account", "004: resources of another account"),
    ("dadmin@a.example", "domains.view", None, True, "domain_grant", "000: the Domains area shows for a grant holder"),
    ("dviewer@a.example", "domains.view", "a.example", True, "domain_grant", "001: Domain Viewer sees settings"),
    ("dviewer@a.example", "domains.manage", "a.example", False, "member_role", "001: Domain Viewer changes nothing"),
    ("dviewer@a.example", "domains.email_content", "a.example", False, "member_role",
     "001: no email bodies without View Email Content"),
    ("dviewer@a.example", "domains.credentials", "a.example", False, "member_role", "000: viewers never get credentials"),
    ("dcontent@a.example", "domains.email_content", "a.example", True, "domain_grant",
     "001: View Email Content granted for one domain"),
    ("dcontent@a.example", "domains.email_content", "a2.example", False, "member_role", "001: ...and limited for another"),
    # the package role caps every account on it (seed 002, 003)
    ("b@b.example", "billing.manage", None, False, "package_role", "002: roles linked to packages cap accounts"),
    ("b@b.example", "campaigns.send", None, True, "owner", "002: what the package role holds, the owner has"),
    # suspended, closed, expired, removed (seed 000, 001, 002)
    ("s@s.example", "campaigns.view", None, False, "status", "002: a suspended account answers with its reason"),
    ("admin@s.example", "campaigns.view", None, False, "status", "002: an owner's suspension shuts out the team"),
    ("admin@c.example", "campaigns.view", None, False, "status", "002: a closed account shuts out the team"),
    ("admin@e.example", "campaigns.edit", None, False, "plan_expired", "000: read-only when the plan has expired"),
    ("admin@e.example", "campaigns.view", None, True, "member_role", "000: ...the section stays visible"),
    ("e@e.example", "account.rename", None, False, "plan_expired", "000: the owner too is read-only"),
    ("gone@a.example", "campaigns.view", None, False, "removed", "001: removed users stay in the system, with no access"),
]


@pytest.mark.parametrize(("user", "key", "domain", "allowed", "decided_by", "seed"), DECISIONS,
                         ids=[f"{r[0].split('@')[0]}-{r[1]}-{r[2] or 'account'}" for r in DECISIONS])
def test_effective_permissions(world, user, key, domain, allowed, decided_by, seed):
    _url, env = world
    args = ["users", "can", user, key, "-o", "json"] + (["--domain", domain] if domain else [])
    code, out, err = ask(env, *args)
    answer = json.loads(out)
    assert (code, answer["allowed"], answer["decided_by"]) == (0 if allowed else 1, allowed, decided_by), (seed, answer, err)
    assert answer["reason"] and (allowed or answer["fix"] or decided_by == "other_account"), answer


def test_a_denial_names_the_smallest_change(world):
    _url, env = world
    code, out, _ = ask(env, "users", "can", "support@a.example", "contacts.edit", "--explain", "-o", "json")
    answer = json.loads(out)
    assert code == 1
    assert answer["fix"] == "grant contacts.edit to role support: `mailadmin roles grant support contacts.edit`"
    assert [(s["check"], s["passed"]) for s in answer["steps"]] == [
        ("status", True), ("package role", True), ("member role", False), ("answer", False)]
    code, out, _ = ask(env, "users", "can", "b@b.example", "billing.manage", "-o", "json")
    assert "move the account to a package whose role holds billing.manage" in json.loads(out)["fix"]


# Rule 4 (seed 001): who sees whom, through `users list --as` (sorted emails)
VISIBILITY = [
    (A, "every member", None),
    ("admin@a.example", "every member", None),
    ("dadmin@a.example", "itself and the members with access to its domains",
     ["dadmin@a.example", "dcontent@a.example", "dviewer@a.example"]),
    ("viewer@a.example", "itself", ["viewer@a.example"]),
    ("regular@a.example", "itself", ["regular@a.example"]),
]
EVERYONE_IN_A = sorted([A, "admin@a.example", "viewer@a.example", "regular@a.example", "billing@a.example",
                        "support@a.example", "smtp@a.example", "sender@a.example", "keys@a.example", "dadmin@a.example",
                        "dviewer@a.example", "dcontent@a.example"])


@pytest.mark.parametrize(("actor", "sees", "expected"), VISIBILITY, ids=[v[0].split("@")[0] for v in VISIBILITY])
def test_visibility(world, actor, sees, expected):
    _url, env = world
    code, out, err = ask(env, "users", "list", "-o", "ids", as_user=actor)
    assert code == 0, err
    assert sorted(out.split()) == (expected or EVERYONE_IN_A), sees


def test_an_invisible_user_reads_as_not_found(world):
    _url, env = world
    code, _out, err = ask(env, "users", "can", "admin@a.example", "campaigns.view", as_user="regular@a.example")
    assert code == 3 and "no user 'admin@a.example'" in err
    code, _out, err = ask(env, "users", "show", "b@b.example", as_user=A)
    assert code == 3 and "no user" in err


@pytest.mark.parametrize(("actor", "code", "needle"), [
    ("s@s.example", 4, "suspended: billing, unpaid invoice"),
    ("admin@c.example", 4, "the account owner c@c.example is closed"),
    ("gone@a.example", 4, "removed from its account"),
])
def test_who_cannot_act_is_told_why(world, actor, code, needle):
    _url, env = world
    got, _out, err = ask(env, "users", "list", as_user=actor)
    assert (got, err.count("\n")) == (code, 1) and needle in err, err


# Impact before a change (issue 9, deliverable 6): who gains or loses what, and nothing changes
def test_a_role_change_previewed_lists_who_gains_and_loses_what(world):
    url, env = world
    from tests.helpers import audit_count

    before = audit_count(url)
    code, out, err = ask(env, "roles", "grant", "sender", "campaigns.edit", "--dry-run", "-o", "json")
    assert code == 0, err
    people = json.loads(out)["people"]
    # rule 7: senders.manage takes effect once an edit level stands beside it
    assert people == [{"user": "sender@a.example", "account": A, "member_role": "sender", "package": "full",
                       "gains": ["campaigns.view", "campaigns.edit", "senders.manage"], "loses": []}]
    code, out, _ = ask(env, "roles", "revoke", "support", "contacts.import", "--dry-run", "-o", "json")
    assert [(p["user"], p["loses"]) for p in json.loads(out)["people"]] == [("support@a.example", ["contacts.import"])]
    code, out, _ = ask(env, "packages", "edit", "basic", "--role", "viewer", "--dry-run", "-o", "json")
    (owner_b,) = json.loads(out)["permissions"]
    assert owner_b["user"] == "b@b.example" and "campaigns.send" in owner_b["loses"]
    assert owner_b["gains"] == ["domains.view"]  # the viewer role sees domains; regular does not
    code, out, _ = ask(env, "users", "can", "sender@a.example", "senders.manage", "-o", "json")
    assert json.loads(out)["allowed"] is False  # the previews changed nothing
    assert audit_count(url) == before

"""Team members through the CLI (issue 9, deliverables 1 and 8): invite, remove, transfer and
`edit --role` as one table of who may do what (an operator, the owner, an admin, a custom role
holding team.manage, members without it, someone of another account), each row checked by its
exit code, its one stderr line and the team in the store afterwards; then what `show` and `list`
say about teams, plan expiry, visibility under --as, and the lifecycle run as a client user.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.helpers import audit_count, one_line_error, refused

O = "owner@example.com"  # owns the `biz` account (package role owner: all of it; team_members 8)
ADM, ADM2 = "adm@example.com", "adm2@example.com"  # admin members
VIEW, REG = "view@example.com", "reg@example.com"  # viewer and regular members
TM, TM2 = "tm@example.com", "tm2@example.com"  # custom role `tm`: team.manage and campaigns.view only
GONE = "gone@example.com"  # a member removed from O's team
OTHER, OM = "other@example.com", "om@example.com"  # another account's owner and its viewer member
TINY, T1 = "tiny@example.com", "t1@example.com"  # an account on package `tiny` (team_members 1), full
NEW = "new@example.com"
PEOPLE = [O, ADM, ADM2, VIEW, REG, TM, TM2, GONE, OTHER, OM, TINY, T1]


def build_team(op) -> None:
    """The team every test here starts from, made through the services (fast), as an operator."""
    from mailadmin.refs import parse_ref
    from mailadmin.services import packages, roles, team, users
    from mailadmin.services.packages import Settings

    with op.write() as o:
        packages.create(o, "biz", Settings(role="owner", limits={"team_members": 8}))
        packages.create(o, "tiny", Settings(role="regular", limits={"team_members": 1}))
        roles.create(o, "tm", grant=["team.manage", "campaigns.view"])
        users.create(o, O, "biz")
        users.create(o, OTHER, "biz")
        users.create(o, TINY, "tiny")
        for email, role in ((ADM, "admin"), (ADM2, "admin"), (VIEW, "viewer"), (REG, "regular"), (TM, "tm"), (TM2, "tm"),
                            (GONE, "viewer")):
            team.invite(o, parse_ref(O), email, role)
        team.invite(o, parse_ref(OTHER), OM, "viewer")
        team.invite(o, parse_ref(TINY), T1, "viewer")
        team.remove(o, parse_ref(GONE))


@pytest.fixture
def teams(op):
    build_team(op)


def snapshot(op) -> dict[str, tuple[str | None, str | None]]:
    """Everyone's place: (the owner of their account, their role), "owner" for owners."""
    from sqlalchemy.orm import aliased

    from mailadmin.store.models import Role, User

    owner = aliased(User)
    with op.read() as o:
        rows = o.session.execute(
            select(User.email, owner.email, User.is_owner, Role.name)
            .outerjoin(owner, (owner.account_id == User.account_id) & owner.is_owner)
            .outerjoin(Role, Role.id == User.role_id)
        ).all()
    return {email: (owner_email, "owner" if is_owner else role) for email, owner_email, is_owner, role in rows}


# -- the team rules, one table ---------------------------------------------------------------------
# (acting as: None = the operator; command after `users`; exit code; what the one stderr line
# says, for a refusal; who is where afterwards: {email: (owner, role)} over the starting team)
O_TEAM = {ADM: "admin", ADM2: "admin", VIEW: "viewer", REG: "regular", TM: "tm", TM2: "tm"}


def IN_O(role: str) -> tuple[str, str]:  # noqa: N802 - reads as the table's vocabulary
    return (O, role)


def moved_to(new_owner: str) -> dict[str, tuple[str, str]]:
    """O's team after a transfer to `new_owner`: everyone's owner changes, O is an admin member."""
    return {**{m: (new_owner, r) for m, r in O_TEAM.items()}, O: (new_owner, "admin"), new_owner: (new_owner, "owner")}


RULES = [
    # invite (seed 001: owner and admins add members; rule 3: nobody invites with more than they hold)
    ("operator invites", None, ["invite", O, NEW, "--role", "viewer"], 0, None, {NEW: IN_O("viewer")}),
    ("owner invites an admin", O, ["invite", O, NEW, "--role", "admin"], 0, None, {NEW: IN_O("admin")}),
    ("admin invites an admin", ADM, ["invite", O, NEW, "--role", "admin"], 0, None, {NEW: IN_O("admin")}),
    ("team.manage invites its own role", TM, ["invite", O, NEW, "--role", "tm"], 0, None, {NEW: IN_O("tm")}),
    ("rule 3: no invite above oneself", TM, ["invite", O, NEW, "--role", "admin"], 4, "cannot give role admin", {}),
    ("viewer lacks team.manage", VIEW, ["invite", O, NEW, "--role", "viewer"], 4, "lacks team.manage", {}),
    ("regular lacks team.manage", REG, ["invite", O, NEW, "--role", "viewer"], 4, "lacks team.manage", {}),
    ("another account is unseen", OTHER, ["invite", O, NEW, "--role", "viewer"], 3, f"no user '{O}'", {}),
    ("owner role is never given", None, ["invite", O, NEW, "--role", "owner"], 5, "one owner per account", {}),
    ("team_members limit (seed 001)", None, ["invite", TINY, NEW, "--role", "viewer"], 6,
     "has 1 team members and its team_members limit is 1 (from package tiny)", {}),
    ("a removed person joins again", None, ["invite", O, GONE, "--role", "regular"], 0, None, {GONE: IN_O("regular")}),
    ("a member of another account", None, ["invite", O, OM, "--role", "viewer"], 5, "member of another account", {}),
    ("an owner of another account", None, ["invite", O, OTHER, "--role", "viewer"], 5, "owns an account", {}),
    ("already a member", ADM, ["invite", O, VIEW, "--role", "viewer"], 5, "already a member", {}),
    # remove (seed 001: the person stays in the system; rule 2: not oneself)
    ("operator removes", None, ["remove", VIEW, "--yes"], 0, None, {VIEW: (None, None)}),
    ("admin removes a viewer", ADM, ["remove", VIEW, "--yes"], 0, None, {VIEW: (None, None)}),
    ("admin removes an admin", ADM, ["remove", ADM2, "--yes"], 0, None, {ADM2: (None, None)}),
    ("owner removes an admin", O, ["remove", ADM, "--yes"], 0, None, {ADM: (None, None)}),
    ("team.manage removes its equal", TM, ["remove", TM2, "--yes"], 0, None, {TM2: (None, None)}),
    ("nobody removes who holds more", TM, ["remove", VIEW, "--yes"], 4, "cannot give or take away role viewer", {}),
    ("rule 2: not oneself", ADM, ["remove", ADM, "--yes"], 4, "nobody changes their own permissions", {}),
    ("the owner is not removed", None, ["remove", O, "--yes"], 5, "owns the account", {}),
    ("the owner is not removed by an admin", ADM, ["remove", O, "--yes"], 5, "owns the account", {}),
    ("viewer lacks team.manage", VIEW, ["remove", REG, "--yes"], 4, "lacks team.manage", {}),
    ("removed already", None, ["remove", GONE, "--yes"], 5, "removed from its account already", {}),
    ("another account's member is unseen", ADM, ["remove", OM, "--yes"], 3, f"no user '{OM}'", {}),
    # transfer (rule 1: only the owner or an operator; one owner; the old owner becomes an admin)
    ("operator transfers", None, ["transfer", O, VIEW, "--yes"], 0, None, moved_to(VIEW)),
    ("the owner transfers", O, ["transfer", O, ADM, "--yes"], 0, None, moved_to(ADM)),
    ("an admin lacks account.transfer", ADM, ["transfer", O, ADM2, "--yes"], 4, "lacks account.transfer", {}),
    ("to a non-member", None, ["transfer", O, OM, "--yes"], 5, "transferring to a non-member", {}),
    ("to a removed person", None, ["transfer", O, GONE, "--yes"], 5, "transferring to a non-member", {}),
    ("to the owner itself", None, ["transfer", O, O, "--yes"], 5, "already owns the account", {}),
    # edit --role (rules 1-3; seed 001: only the owner and admins alter admins)
    ("operator changes a role", None, ["edit", VIEW, "--role", "regular"], 0, None, {VIEW: IN_O("regular")}),
    ("admin promotes to admin", ADM, ["edit", VIEW, "--role", "admin"], 0, None, {VIEW: IN_O("admin")}),
    ("admin demotes an admin", ADM, ["edit", ADM2, "--role", "viewer"], 0, None, {ADM2: IN_O("viewer")}),
    ("rule 2: not one's own role", ADM, ["edit", ADM, "--role", "viewer"], 4, "nobody changes their own permissions", {}),
    ("rule 1: not the owner's (admin)", ADM, ["edit", O, "--role", "viewer"], 5, "nobody alters the owner's permissions", {}),
    ("rule 1: not the owner's (operator)", None, ["edit", O, "--role", "viewer"], 5, "nobody alters the owner's", {}),
    ("nobody demotes who holds more", TM, ["edit", ADM, "--role", "tm"], 4, "cannot give or take away role admin", {}),
    ("rule 3: no role above oneself", TM, ["edit", TM2, "--role", "viewer"], 4, "cannot give role viewer", {}),
    ("owner role is never given", None, ["edit", VIEW, "--role", "owner"], 5, "one owner per account", {}),
    ("a removed person holds no role", None, ["edit", GONE, "--role", "viewer"], 5, "holds no role", {}),
    ("viewer lacks team.manage", VIEW, ["edit", REG, "--role", "viewer"], 4, "lacks team.manage", {}),
]


@pytest.mark.parametrize(("as_user", "args", "code", "needle", "after"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_team_rules(cli, db_url, op, teams, as_user, args, code, needle, after):
    before, entries = snapshot(op), audit_count(db_url)
    result = cli(*(["--as", as_user] if as_user else []), "users", *args)
    if code:
        refused(result, code, needle)
        assert result.stdout == ""
        assert audit_count(db_url) == entries
    else:
        assert result.exit_code == 0, result
        assert audit_count(db_url) == entries + 1
    assert snapshot(op) == {**before, **after}


def test_the_rules_table_covers_every_team_command():
    assert {r[2][0] for r in RULES} == {"invite", "remove", "transfer", "edit"}


# -- invite, remove, transfer: what they say and record ------------------------------------------
def show(cli, user, *prefix):
    r = cli(*prefix, "users", "show", user, "-o", "json")
    assert r.exit_code == 0, r
    return r.json()


def last_entry(cli, action):
    return cli("audit", "list", "--action", action, "-n", "1", "-o", "json").json()[0]


def test_invite_prints_the_member_and_audits_who_and_as_whom(cli, teams):
    r = cli("--as", ADM, "users", "invite", O, " New@Example.COM ", "--role", "viewer", "--name", "Nia New", "-o", "json")
    assert r.exit_code == 0, r
    data = r.json()
    assert (data["email"], data["name"], data["role"], data["owner"], data["is_owner"]) == (NEW, "Nia New", "viewer", O, False)
    assert data["package"] == "biz" and data["members"] == [] and data["domain_grants"] == []
    assert r.stderr.strip() == f"invited {NEW} to the account of {O} as viewer"
    entry = last_entry(cli, "team.invite")
    assert entry["target"] == f"user:{NEW}" and entry["as_user"] == ADM and entry["actor"] != ADM
    assert entry["after"]["role"] == "viewer" and entry["after"]["owner"] == O and entry["after"]["rejoined"] is False


def test_a_removed_person_rejoins_with_its_id_and_history(cli, teams):
    gone = show(cli, GONE)
    assert (gone["account_id"], gone["role"], gone["owner"]) == (None, None, None)
    r = cli("users", "invite", O, GONE, "--role", "regular")
    assert r.exit_code == 0 and "joined again" in r.stderr
    again = show(cli, GONE)
    assert again["id"] == gone["id"] and again["role"] == "regular" and again["owner"] == O
    actions = [e["action"] for e in cli("audit", "list", "--target", f"user:{GONE}", "-o", "json").json()]
    assert sorted(actions) == ["team.invite", "team.invite", "team.remove"]


def test_the_limit_names_its_count_and_an_override_as_its_source(cli, teams):
    assert cli("users", "limits", O, "--set", "team_members=6").exit_code == 0
    refused(cli("users", "invite", O, NEW, "--role", "viewer"), 6,
            "has 6 team members and its team_members limit is 6 (an override on the account (package biz: 8))")
    # a member with no access left still counts until removed (seed 001)
    assert cli("users", "close", TM2, "--reason", "left", "--yes").exit_code == 0
    refused(cli("users", "invite", O, NEW, "--role", "viewer"), 6, "has 6 team members")
    assert cli("users", "remove", TM2, "--yes").exit_code == 0
    assert cli("users", "invite", O, NEW, "--role", "viewer").exit_code == 0


def test_remove_keeps_the_person_and_drops_its_domain_grants(cli, op, teams):
    grant_domain(op, O, "mail.example.com", VIEW, "viewer", email_content=True)
    data = show(cli, VIEW)
    assert data["domain_grants"] == [{"domain": "mail.example.com", "role": "viewer", "email_content": True}]
    r = cli("users", "remove", VIEW, "--yes", "-o", "json")
    assert r.exit_code == 0, r
    after = r.json()
    assert (after["account_id"], after["role"], after["domain_grants"], after["status"]) == (None, None, [], "active")
    assert r.stderr.strip() == f"removed {VIEW} from the account of {O}; the person stays in the system with its history"
    entry = last_entry(cli, "team.remove")
    assert entry["before"]["role"] == "viewer" and entry["before"]["domain_grants"][0]["domain"] == "mail.example.com"
    assert VIEW not in [m["email"] for m in show(cli, O)["members"]]


def test_remove_and_transfer_are_refused_before_the_question_and_ask_without_yes(cli, db_url, teams):
    refused(cli("users", "remove", O), 5, "owns the account")  # refused for what it is, not "needs confirmation"
    refused(cli("users", "transfer", O, OM), 5, "transferring to a non-member")
    entries = audit_count(db_url)
    refused(cli("users", "remove", VIEW), 2, "add --yes")
    refused(cli("users", "transfer", O, VIEW), 2, "add --yes")
    assert audit_count(db_url) == entries


def test_transfer_makes_one_owner_and_the_old_one_an_admin(cli, op, teams):
    grant_domain(op, O, "mail.example.com", ADM, "admin")
    r = cli("users", "transfer", REG, ADM, "--yes", "-o", "json")  # the account named by any member
    assert r.exit_code == 0, r
    new = r.json()
    assert (new["email"], new["is_owner"], new["role"], new["owner"], new["domain_grants"]) == (ADM, True, "owner", ADM, [])
    assert {"email": O, "role": "admin", "status": "active"} in new["members"]
    assert r.stderr.strip() == f"transferred the account of {O} to {ADM}; {O} is now an admin member"
    old = show(cli, O)
    assert (old["is_owner"], old["role"], old["owner"], old["account_id"]) == (False, "admin", ADM, new["account_id"])
    entry = last_entry(cli, "team.transfer")
    assert entry["before"]["owner"] == O and entry["after"]["owner"] == ADM
    assert entry["before"]["new_owner_domain_grants"][0]["role"] == "admin"
    owners = [u for u in cli("users", "list", "--account", ADM, "-o", "json").json() if u["is_owner"]]
    assert [u["email"] for u in owners] == [ADM]


def test_transfer_refuses_an_account_that_is_not_active(cli, teams):
    assert cli("users", "suspend", O, "--reason", "unpaid", "--code", "billing", "--yes").exit_code == 0
    refused(cli("users", "transfer", O, ADM, "--yes"), 5, "the account is suspended")
    assert cli("users", "unsuspend", O, "--yes").exit_code == 0
    assert cli("users", "close", ADM, "--reason", "left", "--yes").exit_code == 0
    refused(cli("users", "transfer", O, ADM, "--yes"), 5, f"{ADM} is closed")


# -- show and list ----------------------------------------------------------------------------------
def grant_domain(op, owner: str, domain: str, member: str, role: str, *, email_content: bool = False) -> None:
    """A domain of the owner's account and a member's grant on it, straight into the store (the
    domains commands are not what these tests are about)."""
    from mailadmin.store.models import Domain, DomainGrant, User

    with op.write() as o:
        account_id = o.session.execute(select(User.account_id).where(User.email == owner)).scalar_one()
        user_id = o.session.execute(select(User.id).where(User.email == member)).scalar_one()
        domain_id = o.session.execute(select(Domain.id).where(Domain.name == domain)).scalar_one_or_none()
        if domain_id is None:
            row = Domain(name=domain, account_id=account_id, created_at=o.now)
            o.session.add(row)
            o.session.flush()
            domain_id = row.id
        o.session.add(DomainGrant(domain_id=domain_id, user_id=user_id, role=role, email_content=email_content, created_at=o.now))


def test_show_an_owner_lists_its_members_with_role_and_status(cli, teams):
    assert cli("users", "suspend", VIEW, "--reason", "x", "--yes").exit_code == 0
    data = show(cli, O)
    assert (data["role"], data["owner"], data["domain_grants"], data["plan_expired"]) == ("owner", O, [], False)
    assert data["members"] == [{"email": e, "role": r, "status": s} for e, r, s in (
        (ADM, "admin", "active"), (ADM2, "admin", "active"), (VIEW, "viewer", "suspended"), (REG, "regular", "active"),
        (TM, "tm", "active"), (TM2, "tm", "active"))]
    table = cli("users", "show", O).stdout
    assert "Members" in table and f"{VIEW} (viewer, suspended)" in table and "Role" in table


def test_show_a_member_says_role_owner_and_domain_grants(cli, op, teams):
    grant_domain(op, O, "a.example.com", REG, "admin")
    grant_domain(op, O, "b.example.com", REG, "viewer", email_content=True)
    data = show(cli, REG)
    assert (data["role"], data["owner"], data["members"]) == ("regular", O, [])
    assert data["domain_grants"] == [{"domain": "a.example.com", "role": "admin", "email_content": False},
                                     {"domain": "b.example.com", "role": "viewer", "email_content": True}]
    table = cli("users", "show", REG).stdout
    assert "Account owner" in table and "a.example.com: admin" in table and "b.example.com: viewer, email content" in table


def test_list_account_gives_owner_and_members_with_roles(cli, teams):
    r = cli("users", "list", "--account", VIEW, "-o", "json")  # named by a member: its account
    assert r.exit_code == 0, r
    assert [(u["email"], u["role"]) for u in r.json()] == [
        (O, "owner"), (ADM, "admin"), (ADM2, "admin"), (VIEW, "viewer"), (REG, "regular"), (TM, "tm"), (TM2, "tm")]
    table = cli("users", "list", "--account", O).stdout
    assert "Role" in table and "regular" in table
    assert cli("users", "list", "--search", "gone", "-o", "json").json()[0]["role"] is None
    refused(cli("users", "list", "--account", GONE), 5, "belongs to no account")
    refused(cli("users", "list", "--account", "ghost@example.com"), 3, "no user 'ghost@example.com'")


# -- visibility under --as (rule 4) --------------------------------------------------------------------
@pytest.mark.parametrize(("actor", "sees"), [
    (O, [O, ADM, ADM2, VIEW, REG, TM, TM2]),  # owners see every member (seed 001)
    (ADM, [O, ADM, ADM2, VIEW, REG, TM, TM2]),  # so do admins
    (TM, [O, ADM, ADM2, VIEW, REG, TM, TM2]),  # and whoever manages the team
    (VIEW, [VIEW]),  # others see only themselves
    (REG, [REG]),
    (OM, [OM]),  # and nobody sees another account
])
def test_list_shows_what_the_actor_may_see(cli, teams, actor, sees):
    r = cli("--as", actor, "users", "list", "-o", "ids")
    assert r.exit_code == 0, r
    assert r.stdout.split() == sees


def test_a_domain_admin_sees_the_members_of_its_domains(cli, op, teams):
    grant_domain(op, O, "d.example.com", REG, "admin")
    grant_domain(op, O, "d.example.com", VIEW, "viewer")
    assert cli("--as", REG, "users", "list", "-o", "ids").stdout.split() == [VIEW, REG]
    assert show(cli, VIEW, "--as", REG)["role"] == "viewer"
    refused(cli("--as", REG, "users", "show", ADM), 3, f"no user '{ADM}'")
    refused(cli("--as", REG, "users", "list", "--account", O), 3, f"no user '{O}'")


def test_an_unseen_user_named_by_id_is_not_found_by_that_id(cli, teams):
    adm_id = show(cli, ADM)["id"]
    r = cli("--as", VIEW, "users", "show", f"#{adm_id}")
    refused(r, 3, f"no user '#{adm_id}'")
    assert ADM not in r.stderr


@pytest.mark.parametrize("command", [["show", OTHER], ["limits", OTHER], ["show", f"#{2**31 - 1}"]])
def test_reading_another_account_is_not_found(cli, teams, command):
    refused(cli("--as", ADM, "users", *command), 3, "no user")


# -- plan expiry (deliverable 8) ------------------------------------------------------------------------
def test_expires_sets_and_clears_the_plan_and_an_expired_account_reads_so(cli, teams):
    r = cli("users", "edit", O, "--expires", "2020-01-01", "-o", "json")
    assert r.exit_code == 0, r
    data = r.json()
    assert (data["plan_expires_at"], data["plan_expired"], data["status"]) == ("2020-01-01T00:00:00Z", True, "active")
    assert "Plan expires  | 2020-01-01T00:00:00Z (expired: read-only)" in cli("users", "show", O).stdout
    assert show(cli, ADM)["plan_expired"] is True  # the plan is the account's
    entry = last_entry(cli, "user.edit")
    assert entry["before"] == {"plan_expires_at": None} and entry["after"]["plan_expires_at"].startswith("2020-01-01")
    # an expired account is read-only for its team: changes are refused with the reason
    refused(cli("--as", ADM, "users", "invite", O, NEW, "--role", "viewer"), 4, "read-only")
    data = cli("users", "edit", O, "--expires", "never", "-o", "json").json()
    assert (data["plan_expires_at"], data["plan_expired"]) == (None, False)
    future = cli("users", "edit", O, "--expires", "30d", "-o", "json").json()
    assert future["plan_expires_at"] > "2026" and future["plan_expired"] is False


def test_expires_with_a_package_change_wins_over_the_packages_period(cli, teams):
    data = cli("users", "edit", O, "--package", "tiny", "--expires", "2031-05-01T12:00:00Z", "-o", "json").json()
    assert (data["package"], data["plan_expires_at"]) == ("tiny", "2031-05-01T12:00:00Z")


def test_package_and_expiry_are_operator_actions(cli, teams):
    refused(cli("--as", O, "users", "edit", O, "--expires", "never"), 4, "changing the plan expiry is an operator action")
    refused(cli("--as", O, "users", "edit", O, "--package", "tiny"), 4, "changing the package is an operator action")
    refused(cli("users", "edit", ADM, "--expires", "never"), 5, "the plan belongs to the account: edit the owner")


# -- the lifecycle run as a client user -----------------------------------------------------------------
def test_an_owner_closes_its_own_account_through_as(cli, teams):
    r = cli("--as", O, "users", "close", O, "--reason", "moving on", "--yes")
    assert r.exit_code == 0, r
    assert show(cli, ADM)["status"] == "closed"  # the team is shut out with it


@pytest.mark.parametrize(("actor", "args", "code", "needle"), [
    (ADM, ["close", O, "--reason", "x", "--yes"], 4, "lacks account.delete"),  # admins lack it (SPEC roles)
    (O, ["close", OTHER, "--reason", "x", "--yes"], 3, f"no user '{OTHER}'"),  # another account: as if absent
    (O, ["delete", OM, "--force", "--yes"], 3, f"no user '{OM}'"),
    (O, ["close", VIEW, "--reason", "x", "--yes"], 4, "acts on a whole account, through its owner"),
    (O, ["suspend", O, "--reason", "x", "--yes"], 4, "operator action"),
])
def test_lifecycle_as_a_client_user_is_refused(cli, db_url, teams, actor, args, code, needle):
    entries = audit_count(db_url)
    refused(cli("--as", actor, "users", *args), code, needle)
    assert audit_count(db_url) == entries


def test_a_client_bulk_run_lists_other_accounts_as_unknown_by_the_reference_given(cli, teams):
    other_id = show(cli, OTHER)["id"]
    r = cli("--as", O, "users", "close", "-", "--reason", "x", "--skip-missing", "--yes", "-o", "json",
            input=f"{O}\n#{other_id}\n")
    assert r.exit_code == 1, r
    assert r.json() == {"changed": [O], "unchanged": [], "failed": [{"id": f"#{other_id}", "error": "no such user"}]}
    assert OTHER not in r.stderr and OTHER not in r.stdout
    one_line_error(r)

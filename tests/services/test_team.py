"""services/team.py and the team paths of services/users.py and lifecycle.py, below the CLI: the
one-owner index under a transfer, what rule 3 compares (what a role gives on the account, not its
raw keys), removal keeping the person and its history, and a client's lifecycle run staying
set-based (no query per reference)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from mailadmin.errors import Conflict, PermissionDenied
from mailadmin.refs import parse_ref
from tests.cli.test_team import ADM, GONE, NEW, O, TM, VIEW, build_team


@pytest.fixture
def teams(op):
    build_team(op)


@contextmanager
def acting_as(store, email: str, command: str):
    """A write operation run by a client user through --as, as the CLI builds one."""
    from mailadmin.needs import need_of
    from mailadmin.operation import Actor, Operation
    from mailadmin.store.models import User
    from mailadmin.timeutil import utcnow

    with store.write() as session:
        uid = session.execute(select(User.id).where(User.email == email)).scalar_one()
        yield Operation(session, Actor.user(uid, email, Actor.operator("tester")), utcnow(), need_of(command))


def user_row(op, email):
    from mailadmin.store.models import User

    with op.read() as o:
        u = o.session.execute(select(User).where(User.email == email)).scalar_one()
        return u.id, u.account_id, u.is_owner, u.role_id


def test_transfer_to_a_member_with_a_lower_id_keeps_one_owner(op, teams):
    """The member's row comes before the owner's: the old owner must step down first, or the
    one-owner index (account_id WHERE is_owner) refuses the change on both stores."""
    from mailadmin.services import team, users

    with op.write() as o:
        users.create(o, "late@example.com", "biz")
        team.invite(o, parse_ref("late@example.com"), GONE, "viewer")  # GONE's id is lower than late's
        detail, moved = team.transfer(o, parse_ref("late@example.com"), parse_ref(GONE))
    assert detail.is_owner and detail.role == "owner" and moved.old_owner == "late@example.com"
    gone_id, account, is_owner, role_id = user_row(op, GONE)
    late_id, late_account, late_owner, late_role = user_row(op, "late@example.com")
    assert gone_id < late_id and (account, is_owner, role_id) == (late_account, True, None)
    assert late_owner is False and late_role is not None


def test_rule_3_compares_what_a_role_gives_on_the_account(op, store, teams):
    """An owner on a package capped at `regular` may still make someone an admin: the admin gets
    what the package allows, all of which the owner holds. A member holding only team.manage and
    campaigns.view may not."""
    from mailadmin.services import team

    with acting_as(store, "tiny@example.com", "users edit") as o:
        current, role = team.check_role_change(o, _user(o, "t1@example.com"), "admin")
        assert (current, role.name) == ("viewer", "admin")
    with acting_as(store, TM, "users invite") as o, pytest.raises(PermissionDenied, match="cannot give role admin"):
        team.invite(o, parse_ref(O), NEW, "admin")


def _user(o, email):
    from mailadmin.store.models import User

    return o.session.execute(select(User).where(User.email == email)).scalar_one()


def test_remove_keeps_the_person_its_suspensions_and_its_audit_trail(op, teams):
    from mailadmin.services import lifecycle, team
    from mailadmin.store.models import AuditEntry, Suspension

    with op.write() as o:
        lifecycle.run(o, lifecycle.make_request("suspend", now=o.now, reason="spam", code="abuse"), [parse_ref(VIEW)], single=True)
        detail, removal = team.remove(o, parse_ref(VIEW))
    assert (removal.email, removal.owner, removal.role) == (VIEW, O, "viewer")
    assert (detail.account_id, detail.role, detail.owner, detail.status) == (None, None, None, "suspended")
    with op.read() as o:
        uid = _user(o, VIEW).id
        assert o.session.execute(select(func.count()).select_from(Suspension).where(Suspension.user_id == uid)).scalar_one() == 1
        actions = o.session.execute(select(AuditEntry.action).where(AuditEntry.target == f"user:{VIEW}")).scalars().all()
    assert actions == ["team.invite", "user.suspend", "team.remove"]


def test_a_refused_change_writes_nothing(op, teams):
    from mailadmin.services import team
    from mailadmin.store.models import AuditEntry

    with op.read() as o:
        before = o.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    with pytest.raises(Conflict, match="owns the account"), op.write() as o:
        team.remove(o, parse_ref(O))
    with op.read() as o:
        assert o.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == before


@contextmanager
def counting(store):
    seen = []

    def count(*_args):
        seen.append(1)

    engine = store.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_client_lifecycle_run_costs_the_same_queries_for_10_or_300_outsiders(op, store, teams):
    from mailadmin.services import lifecycle, users
    from mailadmin.store.models import Package

    with op.write() as o:
        package_id = o.session.execute(select(Package.id).where(Package.name == "biz")).scalar_one()
        users.insert_owners(o, [{"email": f"x{i}@example.org", "name": "", "package_id": package_id} for i in range(300)])

    def run(n: int) -> tuple[int, lifecycle.BulkReport]:
        refs = [parse_ref(O), *(parse_ref(f"x{i}@example.org") for i in range(n))]
        with counting(store) as seen, acting_as(store, O, "users close") as o:
            report = lifecycle.run(o, lifecycle.make_request("close", now=o.now, reason="r"), refs,
                                   skip_missing=True, dry_run=True)
        return len(seen), report

    small, report = run(10)
    large, report = run(300)
    assert report.changed == [O] and len(report.failed) == 300
    assert {f.problem for f in report.failed} == {"missing"}
    assert large == small


def test_a_client_lifecycle_run_never_touches_a_member(store, teams):
    from mailadmin.services import lifecycle

    with acting_as(store, O, "users close") as o, pytest.raises(PermissionDenied, match="through its owner"):
        lifecycle.run(o, lifecycle.make_request("close", now=o.now, reason="r"), [parse_ref(O), parse_ref(ADM)])

"""Status derivation as a table (services/status.py): own suspensions, suspensions whose end has
passed or that were lifted, closure, and an owner shutting out its team member; the per-user form
(`users show`) and the set-based one (`users list`, its --status filter) must agree on every row."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from mailadmin.refs import parse_ref

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
OWNER, MEMBER = "owner@status.example", "member@status.example"

# how a suspension row stands at NOW
STANDING = {"until": None}
ENDS_LATER = {"until": NOW + timedelta(days=1)}
ENDED = {"until": NOW - timedelta(seconds=1)}
LIFTED = {"lifted_at": NOW - timedelta(hours=1), "lifted_by": "t"}

# (case, owner's suspensions, owner closed, member's suspensions, member closed) ->
#   (owner's status, member's status, whether the member's status comes from its owner)
CASES = [
    ("nothing", [], False, [], False, "active", "active", False),
    ("owner suspended", [STANDING], False, [], False, "suspended", "suspended", True),
    ("owner suspended until later", [ENDS_LATER], False, [], False, "suspended", "suspended", True),
    ("owner suspension ended", [ENDED], False, [], False, "active", "active", False),
    ("owner suspension lifted", [LIFTED], False, [], False, "active", "active", False),
    ("owner lifted one of two", [LIFTED, STANDING], False, [], False, "suspended", "suspended", True),
    ("owner closed", [], True, [], False, "closed", "closed", True),
    ("owner closed and suspended", [STANDING], True, [], False, "closed", "closed", True),
    ("member suspended", [], False, [STANDING], False, "active", "suspended", False),
    ("member suspension ended", [], False, [ENDED], False, "active", "active", False),
    ("member closed", [], False, [], True, "active", "closed", False),
    ("member closed, owner suspended", [STANDING], False, [], True, "suspended", "closed", False),
    ("both suspended", [STANDING], False, [STANDING], False, "suspended", "suspended", False),
    ("member suspended, owner closed", [], True, [STANDING], False, "closed", "closed", True),  # a closed owner wins
]


def team(o, owner_suspensions, owner_closed, member_suspensions, member_closed):
    """An owner and one team member on its account, with suspension rows as given."""
    from mailadmin.services import users
    from mailadmin.store.models import Role, Suspension, User
    from tests.factories import make_package

    make_package(o.session, "status")
    owner = users.create(o, OWNER, "status")
    role_id = o.session.execute(select(Role.id).where(Role.name == "regular")).scalar_one()
    member = User(email=MEMBER, account_id=owner.account_id, is_owner=False, role_id=role_id, created_at=NOW)
    o.session.add(member)
    o.session.flush()
    for user_id, rows, closed in ((owner.id, owner_suspensions, owner_closed), (member.id, member_suspensions, member_closed)):
        for i, row in enumerate(rows):
            o.session.add(Suspension(user_id=user_id, code=("billing", "abuse")[i % 2], reason="t", actor="t",
                                     started_at=NOW - timedelta(days=2), **row))
        if closed:
            o.session.get(User, user_id).status = "closed"
    o.session.flush()


@pytest.mark.parametrize(("case", "own_s", "own_c", "mem_s", "mem_c", "owner_status", "member_status", "from_owner"), CASES,
                         ids=[(c.values if hasattr(c, "values") else c)[0] for c in CASES])
def test_status(op, case, own_s, own_c, mem_s, mem_c, owner_status, member_status, from_owner):
    from mailadmin.services import users

    with op.write(now=NOW) as o:
        team(o, own_s, own_c, mem_s, mem_c)
    with op.read(now=NOW) as o:
        owner, member = users.show(o, parse_ref(OWNER)), users.show(o, parse_ref(MEMBER))
        listed = {row.email: row.status for row in users.list_users(o)}
        filtered = {s: [row.email for row in users.list_users(o, status_filter=s)] for s in ("active", "suspended", "closed")}
    assert (owner.status, member.status) == (owner_status, member_status)
    assert listed == {OWNER: owner_status, MEMBER: member_status}  # the set-based form agrees
    assert filtered[owner_status].count(OWNER) == 1 and filtered[member_status].count(MEMBER) == 1
    assert owner.status_reason is None
    assert (member.status_reason is not None) == from_owner
    if from_owner:
        assert member.status_reason == f"the account owner {OWNER} is {owner_status}"
    # what `users show` lists as suspensions is what counts now; nothing is written to the member
    # when its owner is shut out: that is worked out when read
    assert len(owner.suspensions) == sum(s in (STANDING, ENDS_LATER) for s in own_s)
    assert len(member.suspensions) == sum(s in (STANDING, ENDS_LATER) for s in mem_s)


def test_own_status_closed_wins_over_suspended():
    from mailadmin.services import status

    assert status.own_status(False, []) == "active"
    assert status.own_status(False, ["billing"]) == "suspended"
    assert status.own_status(True, ["billing"]) == "closed"
    assert status.own_status(True, ()) == "closed"


def test_lifting_the_owner_restores_the_member_and_an_end_passes_with_no_job(op):
    """Through the lifecycle: what the owner's state shuts out comes back when it is lifted."""
    from mailadmin.services import lifecycle, users

    def statuses(now):
        with op.read(now=now) as o:
            return users.show(o, parse_ref(OWNER)).status, users.show(o, parse_ref(MEMBER)).status

    def run(action, now=NOW, **kw):
        with op.write(now=now) as o:
            reason = "t" if action in ("suspend", "close") else None
            lifecycle.run(o, lifecycle.make_request(action, now=now, reason=reason, **kw), [parse_ref(OWNER)], single=True)

    with op.write(now=NOW) as o:
        team(o, [], False, [], False)
    run("suspend", code="billing", until=NOW + timedelta(days=1))
    assert statuses(NOW) == ("suspended", "suspended")
    assert statuses(NOW + timedelta(days=2)) == ("active", "active")  # the end passed: nothing to run
    run("unsuspend")
    assert statuses(NOW) == ("active", "active")
    run("close")
    assert statuses(NOW) == ("closed", "closed")
    run("reopen")
    assert statuses(NOW) == ("active", "active")

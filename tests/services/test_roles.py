"""Roles as a service: grant and revoke keep grants compressed, the owner is never altered,
inert keys are flagged; one table, each row a starting role, a change, and what is stored."""

from __future__ import annotations

import pytest

from mailadmin.errors import Conflict, InvalidInput
from mailadmin.services import roles

CASES = [
    # (starting grants, action, keys, stored grants afterwards, keys reported as already held / absent)
    ([], "grant", ["campaigns"], ["campaigns"], []),
    ([], "grant", ["campaigns.view", "campaigns.edit", "campaigns.send"], ["campaigns"], []),  # all levels: the area
    (["campaigns.view"], "grant", ["campaigns.view"], ["campaigns.view"], ["campaigns.view"]),
    (["campaigns"], "grant", ["campaigns.send"], ["campaigns"], ["campaigns.send"]),
    (["smtp.pricing.view"], "grant", ["smtp.pricing.request"], ["smtp.pricing"], []),  # a nested node
    (["campaigns"], "revoke", ["campaigns.send"], ["campaigns.view", "campaigns.edit"], []),
    (["campaigns"], "revoke", ["campaigns"], [], []),
    (["campaigns.view"], "revoke", ["sms"], ["campaigns.view"], ["sms"]),
    (["smtp"], "revoke", ["smtp.pricing.request"], ["smtp.dashboard", "smtp.activity", "smtp.pricing.view"], []),
    (["senders.manage"], "grant", ["campaigns.edit"], ["campaigns.edit", "senders"], []),  # one child: the area
]


@pytest.mark.parametrize(("start", "action", "keys", "stored", "noted"), CASES,
                         ids=[f"{c[1]}-{'+'.join(c[2])}-on-{'+'.join(c[0]) or 'nothing'}" for c in CASES])
def test_grant_and_revoke_store_the_smallest_covering_set(op, start, action, keys, stored, noted):
    with op.write() as o:
        roles.create(o, "r", grant=start)
        change = getattr(roles, action)(o, "r", keys)
        view, reported = change.view, change.idle
    assert view.grants == stored
    assert reported == noted
    with op.read() as o:
        assert roles.describe(o, "r").grants == stored


def test_senders_manage_alone_is_stored_but_inert(op):
    with op.write() as o:
        view = roles.create(o, "senders-only", grant=["senders.manage"])
    assert view.grants == ["senders"]  # its only level: stored as the area
    assert "senders.manage" in view.inert and "senders.manage" not in view.permissions


@pytest.mark.parametrize(("action", "args", "error"), [
    ("grant", ("owner", ["chat"]), Conflict),
    ("revoke", ("owner", ["chat"]), Conflict),
    ("grant", ("viewer", ["chat.nope"]), InvalidInput),
    ("delete_role", ("viewer",), Conflict),
    ("rename", ("admin", "boss"), Conflict),
])
def test_refusals_change_nothing(op, action, args, error):
    from mailadmin.store.models import AuditEntry

    with op.read() as o:
        before = o.session.query(AuditEntry).count()
    with pytest.raises(error):
        with op.write() as o:
            getattr(roles, action)(o, *args)
    with op.read() as o:
        assert o.session.query(AuditEntry).count() == before

"""Limit names and values (parsed by cli/parse.py), and the one inheritance rule (override row,
else package row)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailadmin.cli import parse
from mailadmin.errors import InvalidInput
from mailadmin.services import limits


def parse_assignment(text):
    ((name, value),) = parse.limit_assignments([text]).items()
    return name, value


@pytest.mark.parametrize(
    ("text", "expected"),
    [("daily=5000", ("daily", 5000)), ("Hourly=unlimited", ("hourly", None)), ("team-members=0", ("team_members", 0)),
     (" contacts = UNLIMITED ", ("contacts", None))],
)
def test_parse_assignment(text, expected):
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["daily", "daily=", "daily=-1", "daily=1e3", "daily=٣", "nosuch=1", "daily=99999999999999999999"])
def test_bad_assignments_are_invalid_input(text):
    with pytest.raises(InvalidInput):
        parse_assignment(text)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(InvalidInput) as info:
        parse.limit_name("montly")
    assert info.value.hint == "did you mean monthly?"


def test_effective_prefers_the_override_and_says_so():
    from mailadmin.render.users import limit_json

    package = {name: 10 for name in limits.LIMIT_NAMES} | {"daily": None}
    result = {lim.name: lim for lim in limits.effective(package, {"daily": 5, "hourly": None})}
    assert (result["daily"].value, result["daily"].source, result["daily"].package_value) == (5, "override", None)
    assert (result["hourly"].value, result["hourly"].source) == (None, "override")
    assert (result["monthly"].value, result["monthly"].source) == (10, "package")
    assert limit_json(result["daily"]) == {"value": 5, "source": "override", "package_value": "unlimited"}


def test_set_based_variant_matches_the_single_one(op):
    from mailadmin.services import users
    from mailadmin.store.models import Account, AccountLimit
    from tests.factories import make_package

    with op.write() as o:
        p1 = make_package(o.session, "p1", limits={"daily": 10})
        p2 = make_package(o.session, "p2", limits={"daily": 20, "hourly": 2})
        users.insert_owners(o, [{"email": f"u{i}@example.com", "package_id": (p1 if i % 2 else p2).id} for i in range(6)])
        accounts = list(o.session.execute(select(Account).order_by(Account.id)).scalars())
        o.session.add(AccountLimit(account_id=accounts[0].id, name="daily", value=99))
        o.session.flush()
        many = limits.effective_limits_many(o, [a.id for a in accounts], chunk=4)
        for account in accounts:
            assert many[account.id] == limits.effective_limits(o, account)
        assert many[accounts[0].id][1].value == 99 and many[accounts[0].id][1].source == "override"

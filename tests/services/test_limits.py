"""Limit names and values, and the one inheritance rule (override row, else package row)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailadmin.errors import InvalidInput
from mailadmin.services import limits


@pytest.mark.parametrize(
    ("text", "expected"),
    [("daily=5000", ("daily", 5000)), ("Hourly=unlimited", ("hourly", None)), ("team-members=0", ("team_members", 0)),
     (" contacts = UNLIMITED ", ("contacts", None))],
)
def test_parse_assignment(text, expected):
    assert limits.parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["daily", "daily=", "daily=-1", "daily=1e3", "daily=٣", "nosuch=1", "daily=99999999999999999999"])
def test_bad_assignments_are_invalid_input(text):
    with pytest.raises(InvalidInput):
        limits.parse_assignment(text)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(InvalidInput) as info:
        limits.check_name("montly")
    assert info.value.hint == "did you mean monthly?"


def test_effective_prefers_the_override_and_says_so():
    package = {name: 10 for name in limits.LIMIT_NAMES} | {"daily": None}
    result = {lim.name: lim for lim in limits.effective(package, {"daily": 5, "hourly": None})}
    assert (result["daily"].value, result["daily"].source, result["daily"].package_value) == (5, "override", None)
    assert (result["hourly"].value, result["hourly"].source) == (None, "override")
    assert (result["monthly"].value, result["monthly"].source) == (10, "package")
    assert result["daily"].as_json() == {"value": 5, "source": "override", "package_value": "unlimited"}


def test_set_based_variant_matches_the_single_one(store):
    from mailadmin.services import packages, users
    from mailadmin.store.models import Account, AccountLimit, Package

    with store.write() as session:
        packages.create(session, "t", "p1", packages.parse_settings(role="regular", limit=["daily=10"]))
        packages.create(session, "t", "p2", packages.parse_settings(role="regular", limit=["daily=20", "hourly=2"]))
        ids = dict(session.execute(select(Package.name, Package.id)).all())
        users.insert_owners(session, "t", [{"email": f"u{i}@example.com", "package_id": ids["p1" if i % 2 else "p2"]} for i in range(6)])
        accounts = list(session.execute(select(Account).order_by(Account.id)).scalars())
        session.add(AccountLimit(account_id=accounts[0].id, name="daily", value=99))
        session.flush()
        many = limits.effective_limits_many(session, [a.id for a in accounts], chunk=4)
        for account in accounts:
            assert many[account.id] == limits.effective_limits(session, account)
        assert many[accounts[0].id][1].value == 99 and many[accounts[0].id][1].source == "override"

"""Package settings: parsing what an operator types (cli/parse.py), and the service that takes
them typed (create, audit snapshot, assets, delete with --reassign on the operation's clock)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from mailadmin import units
from mailadmin.cli import parse
from mailadmin.errors import Conflict, InvalidInput, NotFound
from mailadmin.services import audit, packages
from mailadmin.services.packages import Settings


@pytest.mark.parametrize(("text", "hundredths"), [("5", 500), ("2.5", 250), ("2.25%", 225), ("0", 0), ("100", 10000), ("none", None)])
def test_bounce_limit(text, hundredths):
    assert parse.bounce_limit(text) == hundredths
    if hundredths is not None:
        assert units.format_percent(hundredths) == f"{hundredths // 100}.{hundredths % 100:02d}"


@pytest.mark.parametrize("text", ["100.01", "-1", "1.234", "five", "", "1e2"])
def test_bad_bounce_limit(text):
    with pytest.raises(InvalidInput):
        parse.bounce_limit(text)


@pytest.mark.parametrize(("text", "days"), [("30", 30), ("never", None), ("NEVER", None)])
def test_expires_after(text, days):
    assert parse.expires_after(text) == days


@pytest.mark.parametrize("text", ["0", "-3", "3.5", "forever", "99999"])
def test_bad_expires_after(text):
    with pytest.raises(InvalidInput):
        parse.expires_after(text)


@pytest.mark.parametrize(
    ("text", "asset"),
    [("node=MTA-1.example", ("node", "mta-1.example")), ("bounce=B@Example.net", ("bounce", "b@example.net")),
     ("domain=Bücher.example.", ("domain", "xn--bcher-kva.example"))],
)
def test_assets_are_normalised(text, asset):
    assert parse.asset(text) == asset


@pytest.mark.parametrize("text", ["node", "vm=x", "node=", "node=a b", "bounce=x", "domain=localhost", "domain=a..b"])
def test_bad_assets(text):
    with pytest.raises(InvalidInput):
        parse.asset(text)


# -- the service, with typed settings --------------------------------------------------------
NOON = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def test_create_takes_typed_settings_and_audits_a_snapshot(op):
    settings = Settings(role="admin", description=" tier ", limits={"daily": 5000}, credits_enabled=True, credit_cost=15,
                        bounce_limit=250, expires_after=30, assets=[("node", "mta1"), ("node", "mta1")])
    with op.write(now=NOON) as o:
        view = packages.create(o, "business", settings)
    assert (view.role, view.description, view.credit_cost, view.bounce_limit, view.expires_after) == ("admin", "tier", 15, 250, 30)
    assert view.limits["daily"] == 5000 and view.limits["hourly"] is None
    assert view.assets == {"node": ["mta1"], "bounce": [], "domain": []}
    assert settings.description == " tier "  # the caller's settings are not rewritten
    with op.read() as o:
        entry = audit.entries(o, target="package:business")[0]
    assert entry.at == NOON and entry.actor == "tester" and entry.before is None
    assert entry.after["credit_cost"] == "0.0015" and entry.after["bounce_limit"] == "2.50"
    assert entry.after["limits"]["daily"] == 5000 and entry.after["limits"]["hourly"] == "unlimited"


@pytest.mark.parametrize(
    ("settings", "error", "needle"),
    [
        (Settings(), InvalidInput, "needs --role"),
        (Settings(role="nosuch"), NotFound, "no role named"),
        (Settings(role="regular", limits={"dayly": 5}), InvalidInput, "unknown limit"),
        (Settings(role="regular", limits={"daily": -1}), InvalidInput, ">= 0"),
        (Settings(role="regular", credit_cost=-1), InvalidInput, "out of range"),
        (Settings(role="regular", bounce_limit=10_001), InvalidInput, "between 0 and 100"),
        (Settings(role="regular", expires_after=0), InvalidInput, "expires after"),
        (Settings(role="regular", assets=[("printer", "x")]), InvalidInput, "unknown asset kind"),
    ],
)
def test_create_checks_the_meaning_of_typed_settings(op, settings, error, needle):
    with pytest.raises(error, match=needle), op.write() as o:
        packages.create(o, "p", settings)
    with op.read() as o:
        assert packages.names(o.session) == []


def test_create_twice_is_a_conflict(op):
    with op.write() as o:
        packages.create(o, "p", Settings(role="regular"))
    with pytest.raises(Conflict), op.write() as o:
        packages.create(o, "p", Settings(role="admin"))


def test_change_assets_reports_what_was_already_so(op):
    with op.write() as o:
        packages.create(o, "p", Settings(role="regular", assets=[("node", "mta1")]))
    with op.write() as o:
        change = packages.change_assets(o, "p", [("node", "mta1"), ("node", "mta2")], [("domain", "x.example")])
    assert change.already == [("node", "mta1")] and change.absent == [("domain", "x.example")]
    assert change.view.assets["node"] == ["mta1", "mta2"]
    with pytest.raises(InvalidInput, match="both added and removed"), op.write() as o:
        packages.change_assets(o, "p", [("node", "mta3")], [("node", "mta3")])


def test_delete_with_reassign_restarts_plans_from_the_operation_clock(op):
    from mailadmin.store.models import Account
    from tests.factories import make_owner

    with op.write() as o:
        packages.create(o, "old", Settings(role="regular"))
        packages.create(o, "trial", Settings(role="regular", expires_after=14))
        make_owner(o.session, "a@example.com", packages.get(o.session, "old"))
    with op.write(now=NOON) as o:
        deletion = packages.delete_package(o, "old", reassign="trial")
    assert (deletion.name, deletion.moved, deletion.reassigned_to) == ("old", 1, "trial")
    with op.read() as o:
        expires = o.session.execute(select(Account.plan_expires_at)).scalar_one()
        assert packages.names(o.session) == ["trial"]
    assert expires == NOON + timedelta(days=14)

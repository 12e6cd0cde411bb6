"""What a package edit reaches, table-driven: which accounts inherit a changed limit, which keep
an override, that role and credit changes reach every account and a new validity period none, and
that a dry run reports the same impact while changing nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, insert, select

from mailadmin.services import packages
from mailadmin.services.packages import Settings
from mailadmin.store.models import Account, AccountLimit, AuditEntry

A, B, C = "a@example.com", "b@example.com", "c@example.com"
PLAN_END = datetime(2027, 1, 1, tzinfo=timezone.utc)
# starter: daily=100, hourly=10. A overrides nothing, B overrides daily, C overrides hourly.
OVERRIDES = {B: {"daily": 999}, C: {"hourly": 5}}
EVERYONE = {A, B, C}

CASES = [
    # id, settings, accounts reached, {owner: limits inherited}, {owner: overrides kept}
    ("one limit", Settings(limits={"daily": 200}), {A, C}, {A: ["daily"], C: ["daily"]}, {B: ["daily"]}),
    ("two limits", Settings(limits={"daily": 200, "hourly": 20}), EVERYONE,
     {A: ["daily", "hourly"], B: ["hourly"], C: ["daily"]}, {B: ["daily"], C: ["hourly"]}),
    ("limit to unlimited", Settings(limits={"hourly": None}), {A, B}, {A: ["hourly"], B: ["hourly"]}, {C: ["hourly"]}),
    ("limit unchanged", Settings(limits={"daily": 100}), set(), {}, {}),
    ("role", Settings(role="viewer"), EVERYONE, {}, {}),
    ("role and limit", Settings(role="viewer", limits={"daily": 200}), EVERYONE, {A: ["daily"], C: ["daily"]}, {B: ["daily"]}),
    ("credits", Settings(credits_enabled=True), EVERYONE, {}, {}),
    ("credit cost", Settings(credit_cost=10), EVERYONE, {}, {}),
    ("overuse", Settings(allow_overuse=True), EVERYONE, {}, {}),
    ("bounce limit", Settings(bounce_limit=500), EVERYONE, {}, {}),
    ("expires after", Settings(expires_after=30), set(), {}, {}),
    ("description", Settings(description="new words"), set(), {}, {}),
]


@pytest.fixture
def starter(op):
    from tests.factories import make_owner

    with op.write() as o:
        packages.create(o, "starter", Settings(role="regular", limits={"daily": 100, "hourly": 10}))
        package = packages.get(o.session, "starter")
        for email in (A, B, C):
            user = make_owner(o.session, email, package)
            o.session.get(Account, user.account_id).plan_expires_at = PLAN_END
            for name, value in OVERRIDES.get(email, {}).items():
                o.session.execute(insert(AccountLimit).values(account_id=user.account_id, name=name, value=value))
    return op


def state(op) -> tuple:
    """Everything an edit could touch: the package, the overrides, the plan ends, the audit log."""
    with op.read() as o:
        s = o.session
        return (
            packages.describe(o, "starter"),
            sorted(s.execute(select(AccountLimit.account_id, AccountLimit.name, AccountLimit.value)).all()),
            sorted(s.execute(select(Account.id, Account.plan_expires_at)).all()),
            s.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
        )


def check_impact(result, reached, inherits, keeps) -> None:
    by_owner = {a.owner: a for a in result.accounts}
    assert set(by_owner) == EVERYONE
    assert {owner for owner, a in by_owner.items() if a.affected} == reached
    assert {owner: a.inherits for owner, a in by_owner.items() if a.inherits} == inherits
    assert {owner: a.keeps_override for owner, a in by_owner.items() if a.keeps_override} == keeps
    assert (result.affected, result.keeping_override) == (len(reached), len(keeps))


@pytest.mark.parametrize(("settings", "reached", "inherits", "keeps"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_dry_run_reports_the_impact_and_changes_nothing(starter, settings, reached, inherits, keeps):
    before = state(starter)
    with starter.read() as o:
        result = packages.edit(o, "starter", settings, dry_run=True)
    check_impact(result, reached, inherits, keeps)
    assert result.dry_run and result.view == before[0]
    assert state(starter) == before


@pytest.mark.parametrize(("settings", "reached", "inherits", "keeps"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_edit_reaches_what_the_dry_run_said_and_overrides_survive(starter, settings, reached, inherits, keeps):
    view, overrides, plan_ends, audit_count = state(starter)
    with starter.write() as o:
        result = packages.edit(o, "starter", settings)
    check_impact(result, reached, inherits, keeps)
    after_view, after_overrides, after_plan_ends, after_audit = state(starter)
    assert after_overrides == overrides and after_plan_ends == plan_ends  # no account row is rewritten
    assert after_view.limits == {**view.limits, **settings.limits}
    assert after_audit == audit_count + (1 if result.changes else 0)
    assert result.view == after_view


def test_expires_after_applies_to_new_accounts_only(starter):
    with starter.write() as o:
        result = packages.edit(o, "starter", Settings(expires_after=30))
    assert result.changes == {"expires_after": {"before": None, "after": 30}}
    assert not result.all_accounts_affected and result.affected == 0
    with starter.read() as o:
        assert set(o.session.execute(select(Account.plan_expires_at)).scalars()) == {PLAN_END}


def test_changes_are_spelled_as_the_audit_log_records_them(starter):
    settings = Settings(limits={"hourly": None}, credit_cost=15, bounce_limit=250, role="viewer")
    with starter.write() as o:
        result = packages.edit(o, "starter", settings)
    assert result.changes == {
        "role": {"before": "regular", "after": "viewer"},
        "credit_cost": {"before": "0.0000", "after": "0.0015"},
        "bounce_limit": {"before": None, "after": "2.50"},
        "limits.hourly": {"before": 10, "after": "unlimited"},
    }

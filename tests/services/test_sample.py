"""`init --sample`: packages and a few hundred accounts in varied states, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select


def test_sample_is_varied_and_idempotent(op):
    from mailadmin.services import sample, status
    from mailadmin.store.models import AccountIP, AccountLimit, AuditEntry, Package, Suspension, User
    from mailadmin.timeutil import utcnow

    with op.write() as o:
        first = sample.load(o)
    assert first["packages"] == 3 and first["accounts"] == sample.ACCOUNTS
    with op.write() as o:
        session = o.session
        audit_before = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
        assert sample.load(o) == {"roles": 0, "packages": 0, "accounts": 0}
        assert session.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == audit_before
    with op.read() as o:
        session = o.session
        now = utcnow()
        assert session.execute(select(func.count()).select_from(User)).scalar_one() == sample.ACCOUNTS
        business = session.execute(select(Package).where(Package.name == "business")).scalar_one()
        assert business.credits_enabled and business.credit_cost == 10
        closed = session.execute(select(func.count()).select_from(User).where(User.status == "closed")).scalar_one()
        suspended = session.execute(select(func.count()).select_from(User).where(status.is_suspended(User.id, now))).scalar_one()
        codes = set(session.execute(select(Suspension.code).where(status.standing(now))).scalars())
        expired = session.execute(select(func.count()).select_from(Suspension).where(Suspension.until < now)).scalar_one()
        overrides = session.execute(select(func.count()).select_from(AccountLimit)).scalar_one()
        ips = session.execute(select(func.count()).select_from(AccountIP)).scalar_one()
    assert closed > 5 and suspended > 10 and len(codes) >= 3 and expired > 5 and overrides > 10 and ips > 5

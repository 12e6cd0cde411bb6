"""Building rows directly through the store, for tests that need accounts before the CLI
command that makes them is the subject (service tests, credits, benchmarks)."""

from __future__ import annotations

from sqlalchemy import select

from mailadmin.store.models import Account, Package, PackageLimit, Role, User


def make_package(session, name: str, *, role: str = "regular", credits_enabled: bool = True,
                 credit_cost: int = 0, allow_overuse: bool = False, limits: dict[str, int | None] | None = None) -> Package:
    role_id = session.execute(select(Role.id).where(Role.name == role)).scalar_one()
    package = Package(name=name, role_id=role_id, credits_enabled=credits_enabled, credit_cost=credit_cost,
                      allow_overuse=allow_overuse)
    session.add(package)
    session.flush()
    for limit, value in (limits or {}).items():
        session.add(PackageLimit(package_id=package.id, name=limit, value=value))
    session.flush()
    return package


def make_owner(session, email: str, package: Package, *, name: str = "") -> User:
    account = Account(package_id=package.id)
    session.add(account)
    session.flush()
    user = User(email=email.lower(), name=name, account_id=account.id, is_owner=True)
    session.add(user)
    session.flush()
    return user

"""Users: creating account owners, finding, listing and editing them.

A user is a person; an account owner is a user with is_owner and an Account (package, limit
overrides, IP allow-list, credits, plan expiry). Team members (a later issue) share an account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from mailadmin.errors import Conflict, InvalidInput
from mailadmin.services import audit, limits, status
from mailadmin.services.accounts import account_of, find_user
from mailadmin.services.batching import chunks
from mailadmin.services.validate import text
from mailadmin.store.models import Account, AccountIP, Package, User
from mailadmin.timeutil import utcnow

def plan_expiry(package: Package, now: datetime) -> datetime | None:
    return now + timedelta(days=package.expires_after_days) if package.expires_after_days else None


def clean_name(name: str | None) -> str:
    return text(name or "", "name", max_len=200, allow_empty=True)


# -- creating --------------------------------------------------------------------------------
def create(session: Session, actor: str, email: str, package_name: str, *, name: str | None = None) -> "UserDetail":
    """A new account owner: the user, its Account on `package_name`, one audit entry."""
    from mailadmin.services import packages
    from mailadmin.services.accounts import normalise_email

    email = normalise_email(email)
    name = clean_name(name)
    package = packages.get(session, package_name)
    if session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict(f"user {email} already exists", hint=f"see `mailadmin users show {email}`")
    now = utcnow()
    account = Account(package_id=package.id, plan_expires_at=plan_expiry(package, now), created_at=now)
    session.add(account)
    session.flush()
    user = User(email=email, name=name, account_id=account.id, is_owner=True, created_at=now)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", f"user:{email}", None,
                 {"name": name, "package": package.name, "account_id": account.id, "plan_expires_at": account.plan_expires_at})
    return describe(session, user)


def insert_owners(session: Session, actor: str, rows: Sequence[dict[str, Any]]) -> int:
    """Many owners at once (sample data, benchmarks): rows of {email, name, package_id,
    plan_expires_at?, created_at?}; emails already normalised and new. Set-based, audited."""
    now = utcnow()
    done = 0
    for part in chunks(rows):
        account_rows = [
            {"package_id": r["package_id"], "plan_expires_at": r.get("plan_expires_at"), "created_at": r.get("created_at", now),
             "credit_balance": 0}
            for r in part
        ]
        ids = session.execute(
            insert(Account).returning(Account.id, sort_by_parameter_order=True), account_rows
        ).scalars().all()
        session.execute(
            insert(User),
            [{"email": r["email"], "name": r.get("name", ""), "account_id": aid, "is_owner": True, "status": "active",
              "created_at": r.get("created_at", now)} for r, aid in zip(part, ids)],
        )
        audit.record_many(session, actor, [
            audit.Change("user.create", f"user:{r['email']}", None, {"name": r.get("name", ""), "account_id": aid})
            for r, aid in zip(part, ids)
        ])
        done += len(part)
    return done


# -- reading ---------------------------------------------------------------------------------
@dataclass
class SuspensionView:
    code: str
    reason: str
    actor: str
    started_at: datetime
    until: datetime | None


@dataclass
class UserDetail:
    id: int
    email: str
    name: str
    status: str
    status_reason: str | None
    package: str | None
    account_id: int | None
    is_owner: bool
    created_at: datetime
    plan_expires_at: datetime | None
    credit_balance: int | None
    suspensions: list[SuspensionView]
    closed_reason: str | None
    closed_at: datetime | None
    closed_by: str | None
    ip_allow: list[str]
    limits: list[limits.EffectiveLimit] = field(default_factory=list)


def describe(session: Session, user: User) -> UserDetail:
    from mailadmin.services.ipallow import sort_cidrs

    now = utcnow()
    eff_status, why = status.effective_status(session, user, now)
    account = session.get(Account, user.account_id) if user.account_id is not None else None
    package = session.get(Package, account.package_id) if account else None
    cidrs = (
        list(session.execute(select(AccountIP.cidr).where(AccountIP.account_id == account.id)).scalars()) if account else []
    )
    return UserDetail(
        id=user.id,
        email=user.email,
        name=user.name,
        status=eff_status,
        status_reason=why,
        package=package.name if package else None,
        account_id=user.account_id,
        is_owner=user.is_owner,
        created_at=user.created_at,
        plan_expires_at=account.plan_expires_at if account else None,
        credit_balance=account.credit_balance if account else None,
        suspensions=[
            SuspensionView(s.code, s.reason, s.actor, s.started_at, s.until)
            for s in status.standing_suspensions(session, user.id, now)
        ],
        closed_reason=user.closed_reason,
        closed_at=user.closed_at,
        closed_by=user.closed_by,
        ip_allow=sort_cidrs(cidrs),
        limits=limits.effective_limits(session, account) if account else [],
    )


def show(session: Session, ref: str) -> UserDetail:
    return describe(session, find_user(session, ref))


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    status: str
    package: str | None
    account_id: int | None
    is_owner: bool
    created_at: datetime


def list_users(
    session: Session,
    *,
    status_filter: str | None = None,
    package: str | None = None,
    search: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[UserRow]:
    """Users in id order, filtered in SQL; status is derived in the same query."""
    from mailadmin.services import packages

    if status_filter is not None and status_filter not in status.STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(status.STATUSES)}, not {status_filter!r}")
    owner = aliased(User)
    state = status.status_column(User, owner, utcnow()).label("state")
    query = (
        select(User.id, User.email, User.name, state, Package.name, User.account_id, User.is_owner, User.created_at)
        .select_from(User)
        .outerjoin(Account, Account.id == User.account_id)
        .outerjoin(Package, Package.id == Account.package_id)
        .outerjoin(owner, and_(owner.account_id == User.account_id, owner.is_owner))
        .order_by(User.id)
    )
    if package is not None:
        query = query.where(Account.package_id == packages.get(session, package).id)
    if search:
        needle = search.strip().lower()
        query = query.where(or_(User.email.contains(needle, autoescape=True), func.lower(User.name).contains(needle, autoescape=True)))
    if since is not None:
        query = query.where(User.created_at >= since)
    if status_filter is not None:
        query = query.where(state == status_filter)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [UserRow(*row) for row in session.execute(query)]


# -- editing ---------------------------------------------------------------------------------
def edit(
    session: Session,
    actor: str,
    ref: str,
    *,
    name: str | None = None,
    email: str | None = None,
    package: str | None = None,
) -> tuple[UserDetail, dict[str, dict]]:
    """Change name, email or (for an owner) the account's package. Returns (detail, changes).

    A package change keeps the account's limit overrides and restarts its plan expiry from the
    new package's validity period (none: the plan no longer expires)."""
    from mailadmin.services import packages
    from mailadmin.services.accounts import normalise_email

    if name is None and email is None and package is None:
        raise InvalidInput("nothing to change: give --name, --email or --package")
    user = find_user(session, ref)
    changes: dict[str, dict] = {}
    if name is not None:
        new_name = clean_name(name)
        if new_name != user.name:
            changes["name"] = {"before": user.name, "after": new_name}
    if email is not None:
        new_email = normalise_email(email)
        if new_email != user.email:
            if session.execute(select(User.id).where(User.email == new_email)).first():
                raise Conflict(f"user {new_email} already exists")
            changes["email"] = {"before": user.email, "after": new_email}
    new_package = None
    if package is not None:
        new_package = packages.get(session, package)
        if not user.is_owner:
            raise Conflict(f"{user.email} is a team member; the package belongs to the account",
                           hint="edit the account owner's package instead")
        account = account_of(session, user)
        if account.package_id != new_package.id:
            old = session.get(Package, account.package_id)
            changes["package"] = {"before": old.name, "after": new_package.name}
    target = f"user:{user.email}"
    if not changes:
        return describe(session, user), changes
    if "name" in changes:
        user.name = changes["name"]["after"]
    if "email" in changes:
        user.email = changes["email"]["after"]
    if "package" in changes:
        expires = plan_expiry(new_package, utcnow())
        changes["plan_expires_at"] = {"before": account.plan_expires_at, "after": expires}
        session.execute(update(Account).where(Account.id == account.id).values(package_id=new_package.id, plan_expires_at=expires))
    session.flush()
    session.expire_all()
    audit.record(session, actor, "user.edit", target, {k: c["before"] for k, c in changes.items()},
                 {k: c["after"] for k, c in changes.items()})
    return describe(session, find_user(session, f"#{user.id}")), changes


def set_limits(
    session: Session, actor: str, ref: str, *, set_: Iterable[str] = (), inherit: Iterable[str] = ()
) -> tuple[UserDetail, list[str]]:
    """Override limits (`NAME=VALUE`) or clear overrides back to the package (`NAME`).
    Returns the detail and notes about what was already so."""
    from sqlalchemy import delete

    from mailadmin.store.models import AccountLimit

    new = limits.parse_assignments(set_)
    back = list(dict.fromkeys(limits.check_name(n) for n in inherit))
    clash = set(new) & set(back)
    if clash:
        raise InvalidInput(f"limit {', '.join(sorted(clash))} is both set and inherited")
    user = find_user(session, ref)
    account = account_of(session, user)
    current = limits.overrides(session, account.id)
    notes = [f"{n} already inherits from the package" for n in back if n not in current]
    gone = [n for n in back if n in current]
    changed = {n: v for n, v in new.items() if n not in current or current[n] != v}
    if gone:
        session.execute(delete(AccountLimit).where(AccountLimit.account_id == account.id, AccountLimit.name.in_(gone)))
    if changed:
        session.execute(delete(AccountLimit).where(AccountLimit.account_id == account.id, AccountLimit.name.in_(list(changed))))
        session.execute(insert(AccountLimit), [{"account_id": account.id, "name": n, "value": v} for n, v in changed.items()])
    if gone or changed:
        before = {n: limits.display(current[n]) if n in current else "inherit" for n in [*gone, *changed]}
        after = {**{n: "inherit" for n in gone}, **{n: limits.display(v) for n, v in changed.items()}}
        audit.record(session, actor, "account.limits", f"user:{user.email}", before, after)
    return describe(session, user), notes

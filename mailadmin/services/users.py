"""Users: creating account owners, finding, listing and editing them, and their limit overrides.

A user is a person; an account owner is a user with is_owner and an Account (package, limit
overrides, IP allow-list, credits, plan expiry). Team members (a later issue) share an account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from mailadmin.errors import Conflict, InvalidInput
from mailadmin.operation import Operation
from mailadmin.refs import UserRef, normalise_email
from mailadmin.services import audit, limits, status
from mailadmin.services.accounts import account_of, find_user
from mailadmin.services.batching import chunks
from mailadmin.services.diff import Changes, diff, sides
from mailadmin.services.validate import text
from mailadmin.store.models import Account, AccountIP, AccountLimit, Package, User
from mailadmin.units import display_limit
from mailadmin.vocab import ACTIVE, LIMIT_NAMES, STATUSES

INHERIT = "inherit"  # how the audit log spells "back to the package's value"
SEARCH_MAX = 200  # longer than any email or name the store keeps: a pasted blob, not a search


def clean_name(name: str | None) -> str:
    return text(name or "", "name", max_len=200, allow_empty=True)


# -- creating --------------------------------------------------------------------------------
def free_email(op: Operation, email: str) -> str:
    """The normalised email, when it is valid and no user has it yet (the wizard asks this
    before it asks for the package; `create` asks it again inside its transaction)."""
    email = normalise_email(email)
    if op.session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict(f"user {email} already exists", hint=f"see `mailadmin users show {email}`")
    return email


def create(op: Operation, email: str, package_name: str, *, name: str | None = None) -> "UserDetail":
    """A new account owner: the user, its Account on `package_name`, one audit entry."""
    from mailadmin.services import packages

    session = op.session
    email = normalise_email(email)
    name = clean_name(name)
    package = packages.get(session, package_name)
    email = free_email(op, email)
    account = Account(package_id=package.id, plan_expires_at=status.plan_expires_at(package.expires_after_days, op.now),
                      created_at=op.now)
    session.add(account)
    session.flush()
    user = User(email=email, name=name, account_id=account.id, is_owner=True, created_at=op.now)
    session.add(user)
    session.flush()
    audit.record(op, "user.create", f"user:{email}", None,
                 {"name": name, "package": package.name, "account_id": account.id, "plan_expires_at": account.plan_expires_at})
    return describe(op, user)


def insert_owners(op: Operation, rows: Sequence[dict[str, Any]]) -> int:
    """Many owners at once (sample data, benchmarks): rows of {email, name, package_id,
    plan_expires_at?, created_at?}; emails already normalised and new. Set-based, audited."""
    session, now = op.session, op.now
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
            [{"email": r["email"], "name": r.get("name", ""), "account_id": aid, "is_owner": True, "status": ACTIVE,
              "created_at": r.get("created_at", now)} for r, aid in zip(part, ids)],
        )
        audit.record_many(op, [
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
    credit_balance: int | None  # units of 1/10000 credit
    suspensions: list[SuspensionView]
    closed_reason: str | None
    closed_at: datetime | None
    closed_by: str | None
    ip_allow: list[str]
    limits: list[limits.EffectiveLimit] = field(default_factory=list)


def describe(op: Operation, user: User) -> UserDetail:
    from mailadmin.services.ipallow import sort_cidrs

    session = op.session
    eff_status, why = status.effective_status(session, user, op.now)
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
            for s in status.standing_suspensions(session, user.id, op.now)
        ],
        closed_reason=user.closed_reason,
        closed_at=user.closed_at,
        closed_by=user.closed_by,
        ip_allow=sort_cidrs(cidrs),
        limits=limits.effective_limits(op, account) if account else [],
    )


def show(op: Operation, ref: UserRef) -> UserDetail:
    return describe(op, find_user(op, ref))


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
    op: Operation,
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

    if status_filter is not None and status_filter not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status_filter!r}")
    if search is not None:  # one line of text, as names are (a NUL would fail in PostgreSQL's driver)
        search = text(search, "--search", max_len=SEARCH_MAX, allow_empty=True)
    owner = aliased(User)
    state = status.status_column(User, owner, op.now).label("state")
    query = (
        select(User.id, User.email, User.name, state, Package.name, User.account_id, User.is_owner, User.created_at)
        .select_from(User)
        .outerjoin(Account, Account.id == User.account_id)
        .outerjoin(Package, Package.id == Account.package_id)
        .outerjoin(owner, and_(owner.account_id == User.account_id, owner.is_owner))
        .order_by(User.id)
    )
    if package is not None:
        query = query.where(Account.package_id == packages.get(op.session, package).id)
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
    return [UserRow(*row) for row in op.session.execute(query)]


# -- editing ---------------------------------------------------------------------------------
def edit(
    op: Operation,
    ref: UserRef,
    *,
    name: str | None = None,
    email: str | None = None,
    package: str | None = None,
) -> tuple[UserDetail, Changes]:
    """Change name, email or (for an owner) the account's package. Returns (detail, changes).

    A package change keeps the account's limit overrides and restarts its plan expiry from the
    new package's validity period (none: the plan no longer expires)."""
    from mailadmin.services import packages

    if name is None and email is None and package is None:
        raise InvalidInput("nothing to change: give --name, --email or --package")
    session = op.session
    user = find_user(op, ref)
    before: dict[str, Any] = {"name": user.name, "email": user.email}
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = clean_name(name)
    if email is not None:
        new_email = normalise_email(email)
        if new_email != user.email and session.execute(select(User.id).where(User.email == new_email)).first():
            raise Conflict(f"user {new_email} already exists")
        wanted["email"] = new_email
    new_package = account = None
    if package is not None:
        new_package = packages.get(session, package)
        if not user.is_owner:
            raise Conflict(f"{user.email} is a team member; the package belongs to the account",
                           hint="edit the account owner's package instead")
        account = account_of(session, user)
        before["package"] = session.get(Package, account.package_id).name
        wanted["package"] = new_package.name
    changes = diff(before, wanted)
    if not changes:
        return describe(op, user), changes
    target = f"user:{user.email}"
    if "name" in changes:
        user.name = wanted["name"]
    if "email" in changes:
        user.email = wanted["email"]
    if "package" in changes:
        expires = status.plan_expires_at(new_package.expires_after_days, op.now)
        # the plan restarts with every package change, so it is part of the change even when
        # neither package's plans expire
        changes["plan_expires_at"] = {"before": account.plan_expires_at, "after": expires}
        session.execute(update(Account).where(Account.id == account.id).values(package_id=new_package.id, plan_expires_at=expires))
    session.flush()
    session.expire_all()
    audit.record(op, "user.edit", target, *sides(changes))
    return describe(op, session.get(User, user.id)), changes


def set_limits(
    op: Operation, ref: UserRef, *, set_: Mapping[str, int | None] | None = None, inherit: Iterable[str] = ()
) -> tuple[UserDetail, list[str]]:
    """Override limits ({name: value}, None for unlimited) or clear overrides back to the
    package (`inherit` names). Returns the detail and the names in `inherit` that already
    inherited (nothing to clear)."""
    new = dict(set_ or {})
    back = list(dict.fromkeys(inherit))
    _check_limits(new, back)
    clash = set(new) & set(back)
    if clash:
        raise InvalidInput(f"limit {', '.join(sorted(clash))} is both set and inherited")
    session = op.session
    user = find_user(op, ref)
    account = account_of(session, user)
    current = limits.overrides(op, account.id)
    already = [n for n in back if n not in current]
    gone = [n for n in back if n in current]
    changed = {n: v for n, v in new.items() if n not in current or current[n] != v}
    if gone:
        session.execute(delete(AccountLimit).where(AccountLimit.account_id == account.id, AccountLimit.name.in_(gone)))
    if changed:
        session.execute(delete(AccountLimit).where(AccountLimit.account_id == account.id, AccountLimit.name.in_(list(changed))))
        session.execute(insert(AccountLimit), [{"account_id": account.id, "name": n, "value": v} for n, v in changed.items()])
    if gone or changed:
        before = {n: display_limit(current[n]) if n in current else INHERIT for n in [*gone, *changed]}
        after = {**{n: INHERIT for n in gone}, **{n: display_limit(v) for n, v in changed.items()}}
        audit.record(op, "account.limits", f"user:{user.email}", before, after)
    return describe(op, user), already


def _check_limits(values: Mapping[str, int | None], names: Iterable[str]) -> None:
    """What a script may pass without the CLI's parsing: known names, values >= 0 or None."""
    for name in [*values, *names]:
        if name not in LIMIT_NAMES:
            raise InvalidInput(f"unknown limit {name!r}", hint=f"limits are {', '.join(LIMIT_NAMES)}")
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidInput(f"{name} must be an integer >= 0 or unlimited (None), not {value!r}")

"""Users: creating account owners, finding, listing and editing them, and their limit overrides.

A user is a person; an account owner is a user with is_owner and an Account (package, limit
overrides, IP allow-list, credits, plan expiry). Team members share the account (services/team.py
invites, removes and transfers; `edit --role` changes a member's role through its checks). Run with
`--as`, reading shows only the users the acting client may see (services/access.py, rule 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import aliased

from mailadmin.errors import Conflict, InvalidInput, PermissionDenied
from mailadmin.operation import Operation
from mailadmin.refs import UserRef, normalise_email
from mailadmin.services import access, audit, limits, status
from mailadmin.services.accounts import account_of, find_user
from mailadmin.services.batching import chunks
from mailadmin.services.diff import Changes, diff, sides
from mailadmin.services.validate import text
from mailadmin.store.models import Account, AccountIP, AccountLimit, Domain, DomainGrant, Package, Role, User
from mailadmin.units import display_limit
from mailadmin.vocab import ACTIVE, LIMIT_NAMES, STATUSES

INHERIT = "inherit"  # how the audit log spells "back to the package's value"
NEVER = "never"  # `edit --expires never`: the plan no longer expires
OWNER_ROLE = "owner"  # the role an owner holds implicitly (role_id NULL)
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


@dataclass(frozen=True)
class MemberView:
    email: str
    role: str | None
    status: str


@dataclass(frozen=True)
class GrantView:
    domain: str
    role: str  # admin | viewer
    email_content: bool


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
    role: str | None = None  # "owner" for the owner; None for a person removed from its team
    owner: str | None = None  # the account owner's email (its own, for the owner)
    members: list[MemberView] = field(default_factory=list)  # the owner's team, as far as the actor sees it
    domain_grants: list[GrantView] = field(default_factory=list)
    plan_expired: bool = False  # the account is read-only (its status stays what it is)


def describe(op: Operation, user: User) -> UserDetail:
    from mailadmin.services.ipallow import sort_cidrs

    session = op.session
    eff_status, why = status.effective_status(session, user, op.now)
    account = session.get(Account, user.account_id) if user.account_id is not None else None
    package = session.get(Package, account.package_id) if account else None
    if user.is_owner:
        role, owner = OWNER_ROLE, user.email
    else:
        role = session.get(Role, user.role_id).name if user.role_id is not None else None
        owner = session.execute(
            select(User.email).where(User.account_id == user.account_id, User.is_owner)
        ).scalar_one_or_none() if account else None
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
        role=role,
        owner=owner,
        members=_members(op, account.id) if account and user.is_owner else [],
        domain_grants=_grants(op, user.id) if account and not user.is_owner else [],
        plan_expired=bool(account and status.plan_expired(account.plan_expires_at, op.now)),
    )


def _members(op: Operation, account_id: int) -> list[MemberView]:
    """The account's members in one query, each with its role and effective status."""
    owner = aliased(User)
    query = (
        select(User.email, Role.name, status.status_column(User, owner, op.now))
        .select_from(User)
        .outerjoin(Role, Role.id == User.role_id)
        .outerjoin(owner, and_(owner.account_id == User.account_id, owner.is_owner))
        .where(User.account_id == account_id, User.is_owner.is_(False))
        .order_by(User.id)
    )
    seen = access.visible_users(op)
    if seen is not None:
        query = query.where(seen)
    return [MemberView(*row) for row in op.session.execute(query)]


def _grants(op: Operation, user_id: int) -> list[GrantView]:
    return [
        GrantView(name, role, bool(content))
        for name, role, content in op.session.execute(
            select(Domain.name, DomainGrant.role, DomainGrant.email_content)
            .join(Domain, Domain.id == DomainGrant.domain_id)
            .where(DomainGrant.user_id == user_id)
            .order_by(Domain.name)
        )
    ]


def visible(op: Operation, ref: UserRef) -> User:
    """The user a reference names, when the actor may see it (rule 4); else not found, named as
    it was typed (an `#ID` never answers with the email behind it)."""
    return access.visible_user(op, ref)


def show(op: Operation, ref: UserRef) -> UserDetail:
    return describe(op, visible(op, ref))


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
    role: str | None  # "owner" for owners; None for people removed from their team


def list_users(
    op: Operation,
    *,
    status_filter: str | None = None,
    package: str | None = None,
    search: str | None = None,
    since: datetime | None = None,
    account: UserRef | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[UserRow]:
    """Users in id order, filtered in SQL; status and role come in the same query. `account`
    names one account by its owner or any member: its owner and members. A client acting through
    --as gets only the users it may see."""
    from mailadmin.services import packages

    if status_filter is not None and status_filter not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status_filter!r}")
    if search is not None:  # one line of text, as names are (a NUL would fail in PostgreSQL's driver)
        search = text(search, "--search", max_len=SEARCH_MAX, allow_empty=True)
    owner = aliased(User)
    state = status.status_column(User, owner, op.now).label("state")
    role = case((User.is_owner, literal(OWNER_ROLE)), else_=Role.name).label("role")
    query = (
        select(User.id, User.email, User.name, state, Package.name, User.account_id, User.is_owner, User.created_at, role)
        .select_from(User)
        .outerjoin(Account, Account.id == User.account_id)
        .outerjoin(Package, Package.id == Account.package_id)
        .outerjoin(owner, and_(owner.account_id == User.account_id, owner.is_owner))
        .outerjoin(Role, Role.id == User.role_id)
        .order_by(User.id)
    )
    seen = access.visible_users(op)
    if seen is not None:
        query = query.where(seen)
    if account is not None:
        named = visible(op, account)
        query = query.where(User.account_id == account_of(op.session, named).id)
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
    role: str | None = None,
    expires: datetime | str | None = None,
) -> tuple[UserDetail, Changes]:
    """Change name, email, a member's role, or (for an owner) the account's package or plan
    expiry. `expires` is a UTC time or NEVER. Returns (detail, changes).

    A package change keeps the account's limit overrides and restarts its plan expiry from the
    new package's validity period (none: the plan no longer expires), unless `expires` says when
    it ends. A role change goes through the team rules (services/team.py)."""
    from mailadmin.services import packages, team

    if name is None and email is None and package is None and role is None and expires is None:
        raise InvalidInput("nothing to change: give --name, --email, --package, --role or --expires")
    if expires is not None and not isinstance(expires, datetime) and expires != NEVER:
        raise InvalidInput(f"plan expiry must be a time or {NEVER!r}, not {expires!r}")
    if not op.actor.is_operator and (package is not None or expires is not None):
        what = " and ".join(w for w, given in (("package", package), ("plan expiry", expires)) if given is not None)
        raise PermissionDenied(f"changing the {what} is an operator action", hint="ask the platform's operators")
    session = op.session
    user = find_user(op, ref)
    if not op.actor.is_operator:
        team.reachable(op, user, ref)
        access.authorize(op, account_id=user.account_id)
    before: dict[str, Any] = {"name": user.name, "email": user.email}
    wanted: dict[str, Any] = {}
    if name is not None:
        wanted["name"] = clean_name(name)
    if email is not None:
        new_email = normalise_email(email)
        if new_email != user.email and session.execute(select(User.id).where(User.email == new_email)).first():
            raise Conflict(f"user {new_email} already exists")
        wanted["email"] = new_email
    new_role = None
    if role is not None:
        before["role"], new_role = team.check_role_change(op, user, role)
        wanted["role"] = new_role.name
    new_package = account = None
    if package is not None or expires is not None:
        account = account_of(session, user)  # a person removed from its team has none
        if not user.is_owner:
            owner = session.execute(select(User.email).where(User.account_id == user.account_id, User.is_owner)).scalar_one()
            what, option = ("package", "--package PKG") if package is not None else ("plan", "--expires DATE|never")
            raise Conflict(f"{user.email} is a team member; the {what} belongs to the account: edit the owner",
                           hint=f"`mailadmin users edit {owner} {option}`")
    if package is not None:
        new_package = packages.get(session, package)
        before["package"] = session.get(Package, account.package_id).name
        wanted["package"] = new_package.name
    new_expiry = None if expires == NEVER else expires
    if expires is not None:
        before["plan_expires_at"] = account.plan_expires_at
        wanted["plan_expires_at"] = new_expiry
    changes = diff(before, wanted)
    if "package" in changes and expires is None:
        new_expiry = status.plan_expires_at(new_package.expires_after_days, op.now)
        # the plan restarts with every package change, so it is part of the change even when
        # neither package's plans expire
        changes["plan_expires_at"] = {"before": account.plan_expires_at, "after": new_expiry}
    if not changes:
        return describe(op, user), changes
    target = f"user:{user.email}"
    if "name" in changes:
        user.name = wanted["name"]
    if "email" in changes:
        user.email = wanted["email"]
    if "role" in changes:
        user.role_id = new_role.id
    if "package" in changes or "plan_expires_at" in changes:
        values: dict[str, Any] = {"plan_expires_at": new_expiry}
        if "package" in changes:
            values["package_id"] = new_package.id
        session.execute(update(Account).where(Account.id == account.id).values(**values))
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

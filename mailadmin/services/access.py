"""The access engine: may this person do this, on this domain, and why.

effective(member, key, domain) = status gate (account and member active; an expired plan keeps the
keys that only read) AND the package role allows the key AND (the member role grants it OR a grant
on that domain grants it), with the rules of SPEC section 1 on top: `restricted` keys (SMTP
credentials, DKIM keys) reach only the owner, `admin` members and the domain's admins (rule 6), and
a key with `requires_any` (senders.manage) takes effect only beside one of those keys (rule 7).

`decide` is pure: it works on a `Subject`, everything about one person that a decision needs,
which `load` reads in a fixed number of queries whatever the size of the account. Each decision
carries its steps (status -> package role -> member role / domain grant -> answer), the rule that
decided, and for a denial the one change that would allow it (kubectl's `auth can-i` answers with
an exit code, SpiceDB's `--explain` with the checked path, the AWS policy simulator with the
statement that decided; this says all three and what to change).

The rest of the module applies the engine to commands run with `--as`: `authorize` (the command's
declared key on the target), visibility of users and domains (rule 4), and `no_escalation` (rule 3).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, bindparam, false, literal, or_, select
from sqlalchemy.orm import Session, aliased

from mailadmin.catalog import catalog
from mailadmin.errors import NotFound, PermissionDenied
from mailadmin.operation import Operation
from mailadmin.services.status import plan_expired, standing
from mailadmin.store.models import Account, Domain, DomainGrant, Package, Role, RoleGrant, Suspension, User
from mailadmin.vocab import ACTIVE, CLOSED, DOMAIN_ADMIN, DOMAIN_VIEWER, SUSPENDED

OWNER_ROLE, ADMIN_ROLE = "owner", "admin"

# What a domain grant gives on its domain (seed 001): an admin may rename and delete the domain,
# change its settings, reset its credentials and add or remove its members, and sees email bodies;
# a viewer sees settings, reports and logs, and email bodies only with `email_content`.
EMAIL_CONTENT = "domains.email_content"
DOMAIN_GRANT_KEYS: dict[str, frozenset[str]] = {
    DOMAIN_ADMIN: frozenset({"domains.view", "domains.manage", "domains.credentials", EMAIL_CONTENT}),
    DOMAIN_VIEWER: frozenset({"domains.view"}),
}
DOMAIN_KEYS = frozenset(k for k in catalog().leaves if k.startswith("domains."))

# decided_by: which rule answered (stable words; scripts may match on them)
STATUS, PLAN_EXPIRED, REMOVED, OTHER_ACCOUNT = "status", "plan_expired", "removed", "other_account"
PACKAGE_ROLE, MEMBER_ROLE, DOMAIN_GRANT, OWNER = "package_role", "member_role", "domain_grant", "owner"
RESTRICTED, REQUIRES = "restricted_key", "requires_edit_level"


@dataclass(frozen=True)
class Grant:
    domain_id: int
    domain: str
    role: str
    email_content: bool

    @property
    def keys(self) -> frozenset[str]:
        return DOMAIN_GRANT_KEYS[self.role] | ({EMAIL_CONTENT} if self.email_content else frozenset())


@dataclass(frozen=True)
class Subject:
    """One person and everything a decision about them needs."""

    id: int
    email: str
    account_id: int | None
    is_owner: bool
    role: str | None  # member role name; "owner" for the owner; None for a removed person
    role_builtin: bool
    role_keys: frozenset[str]  # leaves the member role grants, with implied
    status: str  # own status
    status_why: str | None
    owner_email: str | None
    owner_status: str
    owner_why: str | None
    package: str | None
    package_role: str | None
    package_keys: frozenset[str]
    plan_expires_at: datetime | None
    grants: tuple[Grant, ...] = ()

    def grant_on(self, domain_id: int) -> Grant | None:
        return next((g for g in self.grants if g.domain_id == domain_id), None)


@dataclass(frozen=True)
class Target:
    """The domain a question is about (None: the account as a whole)."""

    id: int
    name: str
    account_id: int


@dataclass(frozen=True)
class Step:
    check: str  # status, plan, package role, member role, domain grant, rule 6, rule 7
    passed: bool
    detail: str


@dataclass
class Decision:
    user: str
    key: str
    domain: str | None
    allowed: bool
    reason: str
    decided_by: str
    steps: list[Step] = field(default_factory=list)
    fix: str | None = None  # for a denial: the one change that would allow it


# -- loading ---------------------------------------------------------------------------------
def role_leaves(session: Session, role: Role) -> frozenset[str]:
    """The leaves a role effectively grants (its grants' subtrees, closed over `implies`)."""
    keys = session.execute(select(RoleGrant.key).where(RoleGrant.role_id == role.id)).scalars()
    return _leaves(keys)


def gives(member: frozenset[str], package: frozenset[str]) -> frozenset[str]:
    """What a member role gives under a package role: the levels both hold, without those that
    take effect only beside a level that is not there (rule 7)."""
    held = member & package
    cat = catalog()
    return frozenset(k for k in held if not cat.unmet_requirement(k, set(held)))


def leaves_of(keys: Iterable[str]) -> frozenset[str]:
    """The leaves a list of granted keys gives (their subtrees, closed over `implies`)."""
    return _leaves(keys)


def _leaves(keys: Iterable[str]) -> frozenset[str]:
    cat = catalog()
    return frozenset(cat.with_implied(cat.expand(k for k in keys if k in cat.nodes)))


def _people(columns, owner, member_role, package_role):
    """People with their member role, account, package, package role and account owner, in one
    query (the aliases are the caller's, so it can name their columns)."""
    return (
        select(*columns)
        .select_from(User)
        .outerjoin(member_role, member_role.id == User.role_id)
        .outerjoin(Account, Account.id == User.account_id)
        .outerjoin(Package, Package.id == Account.package_id)
        .outerjoin(package_role, package_role.id == Package.role_id)
        .outerjoin(owner, and_(owner.account_id == User.account_id, owner.is_owner))
    )


@functools.cache
def _load_statements() -> tuple:
    """load()'s four statements, built once per process with bound parameters: building them
    (aliases, joins, cache keys) cost more than running them, paid on every question of a batch.
    They are immutable SQL, not state: nothing about a store or a person is kept here."""
    owner, member_role, package_role = aliased(User), aliased(Role), aliased(Role)
    person = (
        _people((User.id, User.email, User.account_id, User.is_owner, User.status, User.closed_reason,
                 member_role.id, member_role.name, member_role.builtin,
                 owner.id, owner.email, owner.status, owner.closed_reason,
                 Package.name, package_role.id, package_role.name, Account.plan_expires_at),
                owner, member_role, package_role)
        .where(User.id == bindparam("user_id"))
    )
    role_grants = select(RoleGrant.role_id, RoleGrant.key).where(RoleGrant.role_id.in_(bindparam("role_ids", expanding=True)))
    suspensions = (
        select(Suspension.user_id, Suspension.code, Suspension.reason)
        .where(Suspension.user_id.in_(bindparam("people", expanding=True)), standing(bindparam("now", type_=Suspension.until.type)))
        .order_by(Suspension.started_at, Suspension.id)
    )
    domain_grants = (
        select(DomainGrant.domain_id, Domain.name, DomainGrant.role, DomainGrant.email_content)
        .join(Domain, Domain.id == DomainGrant.domain_id)
        .where(DomainGrant.user_id == bindparam("user_id"), Domain.account_id == bindparam("account_id"))
        .order_by(Domain.name)
    )
    return person, role_grants, suspensions, domain_grants


def load(session: Session, user_id: int, now: datetime) -> Subject:
    """A Subject in four queries: the person with account, package, roles and owner; the roles'
    grants; the standing suspensions of the person and the owner; the person's domain grants."""
    person, role_grants, suspensions, grants_of = _load_statements()
    row = session.execute(person, {"user_id": user_id}).one()
    (uid, email, account_id, is_owner, own_state, closed_reason, mrole_id, mrole, mbuiltin,
     owner_id, owner_email, owner_state, owner_closed, package, prole_id, prole, expires) = row
    grants: dict[int, set[str]] = {}
    role_ids = [i for i in (mrole_id, prole_id) if i is not None]
    if role_ids:
        for rid, key in session.execute(role_grants, {"role_ids": role_ids}):
            grants.setdefault(rid, set()).add(key)
    people = [i for i in (uid, owner_id) if i is not None]
    standing_rows: dict[int, list[tuple[str, str]]] = {}
    for sid, code, reason in session.execute(suspensions, {"people": people, "now": now}):
        standing_rows.setdefault(sid, []).append((code, reason))
    domain_grants = tuple(
        Grant(did, name, role, bool(content))
        for did, name, role, content in session.execute(grants_of, {"user_id": uid, "account_id": account_id})
    )
    if is_owner:
        role, role_builtin, role_keys = OWNER_ROLE, True, frozenset(catalog().leaves)
    else:
        role, role_builtin, role_keys = mrole, bool(mbuiltin), _leaves(grants.get(mrole_id, ()))
    status, why = _state(own_state, closed_reason, standing_rows.get(uid, []))
    if owner_id is None or owner_id == uid:
        ostatus, owhy = ACTIVE, None
    else:
        ostatus, owhy = _state(owner_state, owner_closed, standing_rows.get(owner_id, []))
    return Subject(
        id=uid, email=email, account_id=account_id, is_owner=bool(is_owner), role=role if account_id else None,
        role_builtin=role_builtin, role_keys=role_keys if account_id else frozenset(),
        status=status, status_why=why, owner_email=owner_email, owner_status=ostatus, owner_why=owhy,
        package=package, package_role=prole, package_keys=_leaves(grants.get(prole_id, ())),
        plan_expires_at=expires, grants=domain_grants,
    )


def _state(stored: str, closed_reason: str | None, suspensions: list[tuple[str, str]]) -> tuple[str, str | None]:
    if stored == CLOSED:
        return CLOSED, f"closed: {closed_reason}" if closed_reason else "closed"
    if suspensions:
        return SUSPENDED, "suspended: " + "; ".join(f"{code}, {reason}" for code, reason in suspensions)
    return ACTIVE, None


def find_domain(session: Session, name: str) -> Target:
    """The domain a question names (exit 3 when there is none)."""
    from mailadmin.refs import normalise_domain

    wanted = normalise_domain(name)
    row = session.execute(select(Domain.id, Domain.name, Domain.account_id).where(Domain.name == wanted)).first()
    if row is None:
        raise NotFound(f"no domain {name.strip()!r}", hint="see `mailadmin domains list`")
    return Target(*row)


# -- deciding --------------------------------------------------------------------------------
def check_key(key: str) -> str:
    """A catalog key (exit 2 with the closest key suggested when it is not one)."""
    return catalog().check(key)


def decide(subject: Subject, key: str, now: datetime, domain: Target | None = None) -> Decision:
    """The answer for a catalog key: a level is decided by itself, an area or group by every level
    under it (all must be allowed; the first denied one explains the answer)."""
    cat = catalog()
    leaves = cat.leaves_under(key)
    if len(leaves) == 1:
        return _decide_leaf(subject, leaves[0], now, domain)
    decisions = [_decide_leaf(subject, leaf, now, domain) for leaf in leaves]
    denied = next((d for d in decisions if not d.allowed), None)
    if denied is None:
        first = decisions[0]
        return Decision(subject.email, key, first.domain, True, f"every level of {key} is allowed ({', '.join(leaves)})",
                        first.decided_by, first.steps)
    leaf, denied.key = denied.key, key
    denied.reason = f"{leaf}: {denied.reason}"
    return denied


def _decide_leaf(s: Subject, key: str, now: datetime, domain: Target | None) -> Decision:
    cat = catalog()
    steps: list[Step] = []
    where = domain.name if domain else None

    def deny(by: str, reason: str, fix: str | None) -> Decision:
        steps.append(Step("answer", False, f"{key} denied"))
        return Decision(s.email, key, where, False, reason, by, steps, fix)

    # 1. status: the person, then the account (its owner's state shuts out the team)
    if s.account_id is None:
        steps.append(Step("status", False, f"{s.email} belongs to no account (removed from its team)"))
        return deny(REMOVED, f"{s.email} was removed from its account and holds nothing",
                    "invite them again: `mailadmin users invite OWNER EMAIL --role ROLE`")
    if s.status != ACTIVE:
        steps.append(Step("status", False, f"{s.email} is {s.status_why}"))
        return deny(STATUS, f"{s.email} is {s.status_why}", _lift(s.email, s.status))
    if s.owner_status != ACTIVE:
        steps.append(Step("status", False, f"the account owner {s.owner_email} is {s.owner_why}"))
        return deny(STATUS, f"the account owner {s.owner_email} is {s.owner_why}", _lift(s.owner_email, s.owner_status))
    steps.append(Step("status", True, "the person and the account are active"))
    if domain is not None and domain.account_id != s.account_id:
        steps.append(Step("domain", False, f"{domain.name} belongs to another account"))
        return deny(OTHER_ACCOUNT, f"{domain.name} belongs to another account", None)
    expired = plan_expired(s.plan_expires_at, now)
    if expired:
        day = s.plan_expires_at.date().isoformat()
        if key not in cat.reading:
            steps.append(Step("plan", False, f"the plan expired on {day}: the account is read-only"))
            return deny(PLAN_EXPIRED, f"the plan expired on {day}: the account is read-only and {key} changes things",
                        f"renew the plan: `mailadmin users edit {s.owner_email or s.email} --expires DATE|never`")
        steps.append(Step("plan", True, f"the plan expired on {day}, and {key} only reads"))
    # 2. the package role caps what anyone on the account can ever do
    if key not in s.package_keys:
        steps.append(Step("package role", False, f"package {s.package}'s role {s.package_role} withholds {key}"))
        return deny(PACKAGE_ROLE, f"package {s.package}'s role {s.package_role} withholds {key}",
                    f"move the account to a package whose role holds {key}, or grant it to role {s.package_role}: "
                    f"`mailadmin roles grant {s.package_role} {key}` (every account on its packages gains it)")
    steps.append(Step("package role", True, f"package {s.package}'s role {s.package_role} allows {key}"))
    # 3. the member role, or a grant on the domain
    by_role = key in s.role_keys
    grant = s.grant_on(domain.id) if domain else None
    by_grant = grant is not None and key in grant.keys
    granting = [g for g in s.grants if key in g.keys] if domain is None and key in DOMAIN_KEYS else []
    if s.is_owner:
        steps.append(Step("member role", True, "the owner holds everything"))
        decided = OWNER
    elif by_role:
        steps.append(Step("member role", True, f"role {s.role} grants {key}"))
        decided = MEMBER_ROLE
    elif by_grant:
        steps.append(Step("member role", False, f"role {s.role} does not grant {key}"))
        steps.append(Step("domain grant", True, f"{grant.role} of {grant.domain}{_content(grant)} grants {key}"))
        decided = DOMAIN_GRANT
    elif granting:
        steps.append(Step("member role", False, f"role {s.role} does not grant {key}"))
        names = ", ".join(g.domain for g in granting)
        steps.append(Step("domain grant", True, f"grants on {names} give {key} there"))
        decided = DOMAIN_GRANT
    else:
        steps.append(Step("member role", False, f"role {s.role} does not grant {key}"))
        if key in DOMAIN_KEYS:
            held = s.grant_on(domain.id) if domain else None
            if held is not None:
                detail = f"{held.role} of {held.domain}{_content(held)} does not give {key}"
            else:
                detail = f"no grant{f' on {domain.name}' if domain else ''} gives {key}"
            steps.append(Step("domain grant", False, detail))
        return deny(MEMBER_ROLE, _not_granted(s, key, domain), _grant_fix(s, key, domain))
    # 4. the rules on top
    if key in cat.restricted and not _reaches_restricted(s, domain, grant if by_grant else None, granting):
        steps.append(Step("rule 6", False, f"{key} reaches only the owner, admins and the domain's admins"))
        where_txt = domain.name if domain else "DOMAIN"
        return deny(RESTRICTED, f"{key} reaches only the owner, `admin` members and the domain's admins "
                                f"(it lets mail be sent as the domain); {s.email} is {_who(s)}",
                    f"make {s.email} an admin of the domain: `mailadmin domains grant {where_txt} {s.email} --role admin`")
    if key in cat.restricted:
        steps.append(Step("rule 6", True, f"{s.email} is {_who(s, domain)}"))
    effective = s.package_keys & (s.role_keys | (grant.keys if grant else frozenset()))
    needs = cat.unmet_requirement(key, set(effective))
    if needs:
        steps.append(Step("rule 7", False, f"{key} needs one of {', '.join(needs)}, and none is held"))
        return deny(REQUIRES, f"{key} needs one of {', '.join(needs)} to take effect, and {s.email} holds none",
                    f"grant one of them to role {s.role}: `mailadmin roles grant {s.role} {needs[0]}`"
                    if not s.role_builtin else f"give {s.email} a role holding {needs[0]}")
    if cat.nodes[key].requires_any:
        steps.append(Step("rule 7", True, "an edit level it needs is held"))
    steps.append(Step("answer", True, f"{key} allowed"))
    reason = steps[-2].detail if steps[-2].check not in ("rule 6", "rule 7") else steps[-3].detail
    if expired:
        reason += " (the plan expired: read-only, and this only reads)"
    return Decision(s.email, key, where, True, reason, decided, steps)


def _content(grant: Grant) -> str:
    return " with email content" if grant.email_content else ""


def _who(s: Subject, domain: Target | None = None) -> str:
    if s.is_owner:
        return "the owner"
    if s.role == ADMIN_ROLE:
        return "an admin"
    grant = s.grant_on(domain.id) if domain else None
    if grant and grant.role == DOMAIN_ADMIN:
        return f"an admin of {grant.domain}"
    return f"a member with role {s.role}"


def _reaches_restricted(s: Subject, domain: Target | None, grant: Grant | None, granting: list[Grant]) -> bool:
    if s.is_owner or s.role == ADMIN_ROLE:
        return True
    if domain is not None:
        g = s.grant_on(domain.id)
        return g is not None and g.role == DOMAIN_ADMIN
    return any(g.role == DOMAIN_ADMIN for g in granting)


def _not_granted(s: Subject, key: str, domain: Target | None) -> str:
    if key in DOMAIN_KEYS:
        on = f"on {domain.name}" if domain else "on any domain"
        return f"role {s.role} does not grant {key}, and no grant {on} gives it"
    return f"role {s.role} does not grant {key}"


def _grant_fix(s: Subject, key: str, domain: Target | None) -> str:
    if key in DOMAIN_KEYS:
        role = DOMAIN_VIEWER if key in DOMAIN_GRANT_KEYS[DOMAIN_VIEWER] | {EMAIL_CONTENT} else DOMAIN_ADMIN
        extra = " --email-content" if key == EMAIL_CONTENT and role == DOMAIN_VIEWER else ""
        where = domain.name if domain else "DOMAIN"
        return f"make {s.email} {role} of {where}{extra}: `mailadmin domains grant {where} {s.email} --role {role}{extra}`"
    if s.role_builtin:
        role = _smallest_builtin_holding(key)
        return f"give {s.email} a role that holds {key}: `mailadmin users edit {s.email} --role {role}`"
    return f"grant {key} to role {s.role}: `mailadmin roles grant {s.role} {key}`"


def _smallest_builtin_holding(key: str) -> str:
    """The built-in member role with the fewest permissions that holds `key` (never `owner`)."""
    from mailadmin.services.roles import UNALTERABLE, _builtin_grants

    holding = [(len(leaves), name) for name, (_d, keys) in _builtin_grants().items()
               if name != UNALTERABLE and key in (leaves := _leaves(keys))]
    return min(holding)[1] if holding else "ROLE"


def _lift(email: str | None, state: str) -> str:
    if state == CLOSED:
        return f"reopen it: `mailadmin users reopen {email}`"
    return f"lift the suspension: `mailadmin users unsuspend {email}`"


def allowed_keys(subject: Subject, now: datetime, domain: Target | None = None) -> list[str]:
    """Every level the person may use (on the domain, when one is given), in catalog order."""
    return [k for k in catalog().leaves if _decide_leaf(subject, k, now, domain).allowed]


# -- the matrix of `users access` --------------------------------------------------------------
ALLOWED, NOT_GRANTED, LOCKED = "allowed", "not granted", "locked"
LOCKING = (STATUS, PLAN_EXPIRED, PACKAGE_ROLE, REMOVED, OTHER_ACCOUNT)  # what the person cannot change by a grant


@dataclass(frozen=True)
class Cell:
    key: str
    level: str
    state: str  # allowed, not granted, locked
    reason: str
    decided_by: str


def matrix(subject: Subject, now: datetime, domain: Target | None = None) -> list[tuple[str, list[Cell]]]:
    """Areas x levels: allowed; not granted (a role or grant could give it); locked (the package or
    the account's state withholds it: seed 003's lock)."""
    cat = catalog()
    rows = []
    for area in cat.areas:
        cells = []
        for leaf in cat.leaves_under(area):
            d = _decide_leaf(subject, leaf, now, domain)
            state = ALLOWED if d.allowed else LOCKED if d.decided_by in LOCKING else NOT_GRANTED
            cells.append(Cell(leaf, leaf[len(area) + 1:] or leaf, state, d.reason, d.decided_by))
        rows.append((area, cells))
    return rows


# -- impact of a role change -----------------------------------------------------------------
@dataclass(frozen=True)
class Impact:
    user: str
    account: str  # the owner's email
    member_role: str
    package: str
    gains: list[str]
    loses: list[str]


def impact(session: Session, *, role_id: int | None = None, before: frozenset[str] = frozenset(),
           after: frozenset[str] = frozenset(), package_id: int | None = None, new_package_role: tuple[frozenset[str], frozenset[str]] | None = None,
           ) -> list[Impact]:
    """Every person whose role-level permissions change, key by key, when role `role_id`'s leaves go
    from `before` to `after` (roles grant/revoke), or when package `package_id`'s role changes
    (`new_package_role` = (old leaves, new leaves)). One query for the people; the leaves of the
    other roles involved in one more."""
    cat = catalog()
    owner, member_role, package_role = aliased(User), aliased(Role), aliased(Role)
    # the filters below name a package or role, so only people with an account are listed
    query = _people((User.email, owner.email, User.is_owner, member_role.id, member_role.name, Package.name,
                     package_role.id, Package.id), owner, member_role, package_role
                    ).order_by(owner.email, User.is_owner.desc(), User.email)
    if package_id is not None:
        query = query.where(Package.id == package_id)
    else:
        query = query.where(or_(User.role_id == role_id, Package.role_id == role_id))
    rows = session.execute(query).all()
    role_ids = {r[3] for r in rows if r[3] is not None} | {r[6] for r in rows}
    keys: dict[int, set[str]] = {}
    for rid, key in session.execute(select(RoleGrant.role_id, RoleGrant.key).where(RoleGrant.role_id.in_(role_ids))):
        keys.setdefault(rid, set()).add(key)
    leaves = {rid: _leaves(k) for rid, k in keys.items()}
    every = frozenset(cat.leaves)

    out: list[Impact] = []
    memo: dict[tuple, tuple[list[str], list[str]]] = {}
    for email, owner_email, is_owner, mrole_id, mrole, package, prole_id, _pid in rows:
        member_old = every if is_owner else leaves.get(mrole_id, frozenset())
        package_old = leaves.get(prole_id, frozenset())
        member_new, package_new = member_old, package_old
        if package_id is not None and new_package_role is not None:
            package_old, package_new = new_package_role
        else:
            if not is_owner and mrole_id == role_id:
                member_old, member_new = before, after
            if prole_id == role_id:
                package_old, package_new = before, after
        memo_key = (is_owner, mrole_id, prole_id)
        if memo_key not in memo:
            old, new = gives(member_old, package_old), gives(member_new, package_new)
            memo[memo_key] = (cat.ordered(new - old), cat.ordered(old - new))
        gains, loses = memo[memo_key]
        if gains or loses:
            out.append(Impact(email, owner_email or email, OWNER_ROLE if is_owner else mrole or "", package, gains, loses))
    return out


# -- commands run as a client user (--as) ----------------------------------------------------
_SUBJECT = "mailadmin.acting_subject"


def acting_user_id(op: Operation) -> int | None:
    return None if op.actor.is_operator else int(op.actor.id)


def acting(op: Operation) -> Subject:
    """The client user a command runs as, loaded once per transaction. A person who cannot act at
    all (suspended, closed, removed) is refused here, with the reason (rule 8)."""
    cached = op.session.info.get(_SUBJECT)
    if cached is not None and cached.id == op.actor.id:
        return cached
    subject = load(op.session, int(op.actor.id), op.now)
    if subject.account_id is None:
        raise PermissionDenied(f"{subject.email} was removed from its account and cannot act")
    if subject.status != ACTIVE:
        raise PermissionDenied(f"{subject.email} cannot act: it is {subject.status_why}")
    if subject.owner_status != ACTIVE:
        raise PermissionDenied(f"{subject.email} cannot act: the account owner {subject.owner_email} is {subject.owner_why}")
    op.session.info[_SUBJECT] = subject
    return subject


def same_account(op: Operation, account_id: int | None) -> bool:
    """An operator reaches every account; a client user acting through --as only its own."""
    if op.actor.is_operator:
        return True
    return account_id is not None and acting(op).account_id == account_id


def authorize(op: Operation, *, account_id: int, domain_id: int | None = None, key: str | None = None) -> None:
    """A client user acting through --as may do `key` (default: what the command declared) on this
    account (and domain); operators were checked when the command started."""
    if op.actor.is_operator:
        return
    subject = acting(op)
    key = key or (op.need.client if op.need else None)
    if key is None or key not in catalog().nodes:
        raise PermissionDenied(f"{subject.email} cannot run this command: it is an operator action")
    if account_id != subject.account_id:
        raise PermissionDenied(f"{subject.email} may act only on its own account")
    domain = None
    if domain_id is not None:
        row = op.session.execute(select(Domain.id, Domain.name, Domain.account_id).where(Domain.id == domain_id)).one()
        domain = Target(*row)
    decision = decide(subject, key, op.now, domain)
    if not decision.allowed:
        on = f" on {domain.name}" if domain else ""
        raise PermissionDenied(f"{subject.email} lacks {key}{on}: {decision.reason}")


def no_escalation(op: Operation, leaves: set[str] | frozenset[str], *, domain_id: int | None = None, what: str) -> None:
    """Rule 3: nobody grants, invites with or assigns what they do not hold themselves."""
    if op.actor.is_operator:
        return
    subject = acting(op)
    domain = None
    if domain_id is not None:
        row = op.session.execute(select(Domain.id, Domain.name, Domain.account_id).where(Domain.id == domain_id)).one()
        domain = Target(*row)
    held = set(allowed_keys(subject, op.now, domain))
    missing = catalog().ordered(set(leaves) - held)
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise PermissionDenied(f"{subject.email} cannot give {what}: it holds {shown}, which {subject.email} does not "
                               f"hold (nobody grants more than they hold)")


def visible_users(op: Operation):
    """Rule 4, as an SQL condition on User: owners and admins (whoever holds team.manage) see every
    member of the account; domain admins also the members with access to their domains; everyone
    sees themselves. None for operators (no filter). team.view alone (viewer, regular) does not
    widen it: seed 001, "only Account owners and Account admins can see all the people"."""
    if op.actor.is_operator:
        return None
    subject = acting(op)
    if "team.manage" in subject.role_keys and "team.manage" in subject.package_keys:
        return User.account_id == subject.account_id
    admin_of = [g.domain_id for g in subject.grants if g.role == DOMAIN_ADMIN]
    if not admin_of:
        return User.id == subject.id
    shared = select(DomainGrant.user_id).where(DomainGrant.domain_id.in_(admin_of))
    return or_(User.id == subject.id, and_(User.account_id == subject.account_id, User.id.in_(shared)))


def require_visible(op: Operation, user: User, ref=None) -> None:
    """A user the acting client may not see reads as not found, as if it did not exist, named as
    it was typed (`ref`): an `#ID` never answers with the email behind it."""
    if op.actor.is_operator:
        return
    condition = visible_users(op)
    seen = op.session.execute(select(literal(1)).select_from(User).where(User.id == user.id, condition)).first()
    if seen is None:
        from mailadmin.services.accounts import no_such_user

        raise no_such_user(ref if ref is not None else user.email)


def visible_user(op: Operation, ref) -> User:
    """The user `ref` names, when the actor may see it; else not found, named as typed."""
    from mailadmin.services.accounts import find_user

    user = find_user(op, ref)
    require_visible(op, user, ref)
    return user


def visible_domains(op: Operation):
    """Rule 6, as an SQL condition on Domain: the domains the acting client has domains.view on
    (every domain of the account through a role that holds it, else those it holds a grant on)."""
    if op.actor.is_operator:
        return None
    subject = acting(op)
    if "domains.view" not in subject.package_keys:
        return false()
    if "domains.view" in subject.role_keys:
        return Domain.account_id == subject.account_id
    return Domain.id.in_([g.domain_id for g in subject.grants if "domains.view" in g.keys])


# -- the questions of `users can` and `users access` -----------------------------------------
def _about(op: Operation, ref, domain: str | None) -> tuple[Subject, Target | None]:
    """The person asked about (visible to the asker) and the domain, if any (visible too)."""
    user = visible_user(op, ref)
    target = find_domain(op.session, domain) if domain is not None else None
    if target is not None and not op.actor.is_operator:
        seen = op.session.execute(select(Domain.id).where(Domain.id == target.id, visible_domains(op))).first()
        if seen is None:
            raise NotFound(f"no domain {domain.strip()!r}", hint="see `mailadmin domains list`")
    return load(op.session, user.id, op.now), target


def ask(op: Operation, ref, key: str, *, domain: str | None = None) -> Decision:
    """May this person use `key` (on `domain`)? The answer with its path, rule and fix."""
    key = check_key(key)
    subject, target = _about(op, ref, domain)
    return decide(subject, key, op.now, target)


def allowed(op: Operation, ref, *, domain: str | None = None) -> tuple[str, str | None, list[str]]:
    """(email, domain, every level the person may use there)."""
    subject, target = _about(op, ref, domain)
    return subject.email, target.name if target else None, allowed_keys(subject, op.now, target)


def access_of(op: Operation, ref, *, domain: str | None = None) -> tuple[str, str | None, list[tuple[str, list[Cell]]]]:
    """(email, domain, the areas x levels matrix)."""
    subject, target = _about(op, ref, domain)
    return subject.email, target.name if target else None, matrix(subject, op.now, target)

"""Sending domains: the one lookup every domains command uses, adding, listing, showing and
removing them, and team members' grants on them (seed 001's Domain Admin / Domain Viewer and
View Email Content, one domain at a time).

A domain belongs to one account. Its row holds what is one value per domain (its settings); DKIM
keys, DNS results and SMTP credentials live in their own tables keyed by the domain, so each of
those commands starts from `get(op, name)` like these do. Acting through `--as`, a client user
sees only its own account's domains: a domain of another account reads as not found, never as
forbidden, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, select, update

from mailadmin.errors import Conflict, InvalidInput, LimitExceeded, NotFound, PermissionDenied
from mailadmin.operation import Operation
from mailadmin.refs import UserRef, domain_name
from mailadmin.services import access, audit, dkim, limits, status
from mailadmin.services.accounts import account_of, find_user, no_such_user, owner_of
from mailadmin.services.validate import text
from mailadmin.store.models import Domain, DomainGrant, Package, User
from mailadmin.units import display_limit
from mailadmin.vocab import CLOSED, DOMAIN_ROLES

LIST_HINT = "see `mailadmin domains list`"
SEARCH_MAX = 253  # longer than any domain name: a pasted blob, not a search
GRANTED, UPDATED, UNCHANGED, REVOKED = "granted", "updated", "unchanged", "revoked"


# -- views -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrantView:
    member: str
    role: str
    email_content: bool
    created_at: datetime


@dataclass(frozen=True)
class DomainDetail:
    id: int
    name: str  # A-labels, as stored
    unicode: str  # U-labels, as a person reads it
    owner: str  # the account owner's email
    account_id: int
    open_tracking: bool
    click_tracking: bool
    unsubscribe_footer: bool
    monthly_cap: int | str  # "unlimited" when none is set
    created_at: datetime
    grants: list[GrantView]


@dataclass(frozen=True)
class DomainRow:
    id: int
    name: str
    unicode: str
    owner: str | None
    account_id: int
    members: int  # team members holding a grant on it
    created_at: datetime


@dataclass(frozen=True)
class GrantChange:
    """What `grant` or `revoke` did: the grant as it is now (as it was, for a revoke)."""

    domain: str
    member: str
    role: str
    email_content: bool
    result: str  # granted | updated | unchanged | revoked
    before: dict | None = None


def unicode_of(name: str) -> str:
    """The U-label form of a stored name (the same text when it has no `xn--` label)."""
    if "xn--" not in name:
        return name
    import idna

    def readable(label: str) -> str:
        if not label.startswith("xn--"):
            return label
        try:
            return idna.ulabel(label)
        except (idna.IDNAError, UnicodeError):  # a row edited by hand: shown as stored, never a crash
            return label

    return ".".join(readable(label) for label in name.split("."))


# -- the one lookup --------------------------------------------------------------------------
def no_such_domain(name: str) -> NotFound:
    return NotFound(f"no domain {name.strip()!r}", hint=LIST_HINT)


def get(op: Operation, name: str) -> Domain:
    """The domain `name` names, in any spelling (Unicode, upper case, a trailing dot). A client
    user acting through --as finds only its own account's domains."""
    wanted = domain_name(name).ascii
    domain = op.session.execute(select(Domain).where(Domain.name == wanted)).scalar_one_or_none()
    if domain is None or not access.same_account(op, domain.account_id):
        raise no_such_domain(name)
    return domain


def _owner_email(op: Operation, account_id: int) -> str:
    return owner_of(op.session, account_id).email


# -- adding ----------------------------------------------------------------------------------
def add(op: Operation, name: str, owner: UserRef, *, selector: str | None = None, algorithm: str = dkim.RSA) -> DomainDetail:
    """A new domain on the account of `owner` (an owner, or a member: its account), with its first
    DKIM key (RSA 2048 unless `algorithm` says ed25519) under `selector` or a dated default. The
    package's `domains` limit counts the account's domains."""
    session = op.session
    checked = domain_name(name)
    algorithm = dkim.check_algorithm(algorithm)
    selector = dkim.check_selector(selector) if selector is not None else None
    user = access.visible_user(op, owner)
    account = account_of(session, user)
    access.authorize(op, account_id=account.id)
    owner_user = owner_of(session, account.id)
    if status.effective_status(session, owner_user, op.now)[0] == CLOSED:
        raise Conflict(f"the account of {owner_user.email} is closed", hint=f"reopen it first: `mailadmin users reopen {owner_user.email}`")
    taken = session.execute(select(Domain.account_id).where(Domain.name == checked.ascii)).scalar_one_or_none()
    if taken is not None:
        if taken == account.id:
            raise Conflict(f"{checked.ascii} is already a domain of {owner_user.email}'s account",
                           hint=f"see `mailadmin domains show {checked.ascii}`")
        who = f"{_owner_email(op, taken)}'s account" if op.actor.is_operator else "another account"
        raise Conflict(f"{checked.ascii} already belongs to {who}")
    _within_limit(op, account, owner_user.email)
    domain = Domain(name=checked.ascii, account_id=account.id, created_at=op.now)
    session.add(domain)
    session.flush()
    key = dkim.create(op, domain, selector=selector, algorithm=algorithm)
    audit.record(op, "domain.add", f"domain:{domain.name}", None,
                 {"account": owner_user.email, "account_id": account.id, "unicode": checked.unicode,
                  "dkim": {"selector": key.selector, "algorithm": key.algorithm}})  # never the private key
    return describe(op, domain)


def _within_limit(op: Operation, account, owner_email: str) -> None:
    lim = limits.effective_limit(op, account, "domains")
    if lim.value is None:
        return
    count = op.session.execute(select(func.count(Domain.id)).where(Domain.account_id == account.id)).scalar_one()
    if count >= lim.value:
        if lim.source == limits.OVERRIDE:
            source = f"an override on the account; package: {display_limit(lim.package_value)}"
        else:
            source = f"from package {op.session.get(Package, account.package_id).name}"
        raise LimitExceeded(
            f"{owner_email}'s account has {count} of {lim.value} domains: limit domains reached ({source})",
            hint=f"remove a domain, or raise the limit: `mailadmin users limits {owner_email} --set domains=N`",
        )


# -- reading ---------------------------------------------------------------------------------
def describe(op: Operation, domain: Domain) -> DomainDetail:
    """A domain with its settings and the grants of its account's current members (a removed
    person's old grant gives nothing, so it is not shown)."""
    grants = [
        GrantView(email, role, bool(content), created)
        for email, role, content, created in op.session.execute(
            select(User.email, DomainGrant.role, DomainGrant.email_content, DomainGrant.created_at)
            .join(User, User.id == DomainGrant.user_id)
            .where(DomainGrant.domain_id == domain.id, User.account_id == domain.account_id, ~User.is_owner)
            .order_by(User.email)
        )
    ]
    return DomainDetail(
        id=domain.id, name=domain.name, unicode=unicode_of(domain.name), owner=_owner_email(op, domain.account_id),
        account_id=domain.account_id, open_tracking=domain.open_tracking, click_tracking=domain.click_tracking,
        unsubscribe_footer=domain.unsubscribe_footer, monthly_cap=display_limit(domain.monthly_cap),
        created_at=domain.created_at, grants=grants,
    )


def show(op: Operation, name: str) -> DomainDetail:
    domain = get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    return describe(op, domain)


def list_domains(op: Operation, *, user: UserRef | None = None, search: str | None = None,
                 limit: int | None = None, offset: int = 0) -> list[DomainRow]:
    """Domains by name, in one query whatever their number: the owner and the count of members
    holding a grant come from a join and a correlated count. A client user sees only the domains
    it holds domains.view on."""
    from sqlalchemy.orm import aliased

    owner, member = aliased(User), aliased(User)
    members = (
        select(func.count(DomainGrant.user_id))
        .join(member, member.id == DomainGrant.user_id)
        .where(DomainGrant.domain_id == Domain.id, member.account_id == Domain.account_id, ~member.is_owner)
        .correlate(Domain)
        .scalar_subquery()
    )
    query = (
        select(Domain.id, Domain.name, owner.email, Domain.account_id, members, Domain.created_at)
        .select_from(Domain)
        .outerjoin(owner, and_(owner.account_id == Domain.account_id, owner.is_owner))
        .order_by(Domain.name)
    )
    if user is not None:
        person = access.visible_user(op, user)
        if person.account_id is None:  # removed from its team: it has no domains
            return []
        query = query.where(Domain.account_id == person.account_id)
    if search:
        query = query.where(Domain.name.contains(_search_form(search), autoescape=True))
    visible = access.visible_domains(op)
    if visible is not None:
        query = query.where(visible)
    if offset:
        query = query.offset(offset)
    if limit:
        query = query.limit(limit)
    return [DomainRow(i, name, unicode_of(name), email, aid, count, created)
            for i, name, email, aid, count, created in op.session.execute(query)]


def _search_form(search: str) -> str:
    """What --search matches in stored (A-label) names: Unicode text is matched by its A-labels
    (`bücher` finds xn--bcher-kva.example), anything else lower-cased as typed."""
    value = text(search, "--search", max_len=SEARCH_MAX, allow_empty=True).lower()
    if value.isascii():
        return value
    import idna

    try:
        return ".".join(idna.alabel(label).decode("ascii") if label and not label.isascii() else label
                        for label in idna.uts46_remap(value, std3_rules=False).split("."))
    except (idna.IDNAError, UnicodeError):
        raise InvalidInput(f"--search {search!r} cannot be part of a domain name") from None


# -- removing --------------------------------------------------------------------------------
def remove(op: Operation, name: str, *, dry_run: bool = False) -> DomainDetail:
    """Delete a domain; its grants (and whatever else hangs on it) go with it. `dry_run` checks
    everything and changes nothing, so a refusal comes before anyone is asked."""
    domain = get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    detail = describe(op, domain)
    if dry_run:
        return detail
    op.session.execute(delete(Domain).where(Domain.id == domain.id))  # grants cascade
    audit.record(op, "domain.remove", f"domain:{domain.name}",
                 {"account": detail.owner, "account_id": detail.account_id,
                  "grants": [{"member": g.member, "role": g.role, "email_content": g.email_content} for g in detail.grants]},
                 None)
    return detail


# -- grants ----------------------------------------------------------------------------------
def check_role(role: str) -> str:
    value = role.strip(" \t").lower()
    if value not in DOMAIN_ROLES:
        raise InvalidInput(f"a domain role is {' or '.join(DOMAIN_ROLES)}, not {role!r}")
    return value


def _member(op: Operation, domain: Domain, ref: UserRef) -> User:
    """The team member of the domain's account `ref` names. A client user acting through --as
    finds no one outside its own account (not found, as if they did not exist)."""
    user = find_user(op, ref)
    if user.account_id != domain.account_id:
        if not op.actor.is_operator:
            raise no_such_user(ref)
        if user.account_id is None:
            raise Conflict(f"{user.email} was removed from its team and is not a member of the account that owns {domain.name}",
                           hint=f"invite them again: `mailadmin users invite {_owner_email(op, domain.account_id)} {user.email} --role ROLE`")
        raise Conflict(f"{user.email} is not a member of the account that owns {domain.name}",
                       hint=f"domains are granted to members of {_owner_email(op, domain.account_id)}'s team")
    if user.is_owner:
        raise Conflict(f"{user.email} is the owner: the owner already holds everything on every domain")
    return user


def _not_oneself(op: Operation, user: User, what: str) -> None:
    """Rule 2: nobody changes their own permissions."""
    if access.acting_user_id(op) == user.id:
        raise PermissionDenied(f"{user.email} cannot {what} (nobody changes their own permissions)")


def grant(op: Operation, name: str, member: UserRef, role: str, *, email_content: bool = False) -> GrantChange:
    """Make `member` admin or viewer of the domain (seed 001), with or without email content;
    a second grant replaces the first."""
    role = check_role(role)
    session = op.session
    domain = get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    user = _member(op, domain, member)
    _not_oneself(op, user, f"grant itself a role on {domain.name}")
    keys = set(access.DOMAIN_GRANT_KEYS[role]) | ({access.EMAIL_CONTENT} if email_content else set())
    what = f"{role} of {domain.name}" + (" with email content" if email_content else "")
    access.no_escalation(op, keys, domain_id=domain.id, what=what)
    existing = session.get(DomainGrant, (domain.id, user.id))
    after = {"member": user.email, "role": role, "email_content": email_content}
    if existing is None:
        session.add(DomainGrant(domain_id=domain.id, user_id=user.id, role=role, email_content=email_content, created_at=op.now))
        session.flush()
        audit.record(op, "domain.grant", f"domain:{domain.name}", None, after)
        return GrantChange(domain.name, user.email, role, email_content, GRANTED)
    before = {"member": user.email, "role": existing.role, "email_content": bool(existing.email_content)}
    if before == after:
        return GrantChange(domain.name, user.email, role, email_content, UNCHANGED, before)
    session.execute(
        update(DomainGrant).where(DomainGrant.domain_id == domain.id, DomainGrant.user_id == user.id)
        .values(role=role, email_content=email_content)
    )
    audit.record(op, "domain.grant", f"domain:{domain.name}", before, after)
    return GrantChange(domain.name, user.email, role, email_content, UPDATED, before)


def revoke(op: Operation, name: str, member: UserRef) -> GrantChange:
    """Take away a member's grant on the domain; they stay on the team."""
    session = op.session
    domain = get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    user = _member(op, domain, member)
    _not_oneself(op, user, f"revoke its own grant on {domain.name}")
    existing = session.get(DomainGrant, (domain.id, user.id))
    if existing is None:
        raise Conflict(f"{user.email} holds no grant on {domain.name}", hint=f"see `mailadmin domains show {domain.name}`")
    before = {"member": user.email, "role": existing.role, "email_content": bool(existing.email_content)}
    session.execute(delete(DomainGrant).where(DomainGrant.domain_id == domain.id, DomainGrant.user_id == user.id))
    audit.record(op, "domain.revoke", f"domain:{domain.name}", before, None)
    return GrantChange(domain.name, user.email, before["role"], before["email_content"], REVOKED, before)

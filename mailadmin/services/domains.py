"""Sending domains: the one lookup every domains command uses, adding, listing, showing (with
DKIM keys, DNS verification and the SMTP login), changing settings and removing them, and team
members' grants on them (seed 001's Domain Admin / Domain Viewer and View Email Content, one
domain at a time). SMTP credentials themselves live in services/credentials.py.

A domain belongs to one account. Its row holds what is one value per domain (its settings); DKIM
keys, DNS results and SMTP credentials live in their own tables keyed by the domain, so each of
those commands starts from `get(op, name)` like these do. Acting through `--as`, a client user
sees only its own account's domains: a domain of another account reads as not found, never as
forbidden, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, delete, func, literal, or_, select, update

from mailadmin.errors import Conflict, InvalidInput, LimitExceeded, NotFound, PermissionDenied
from mailadmin.operation import Operation
from mailadmin.refs import UserRef, domain_name
from mailadmin.services import access, audit, credentials, dkim, limits, status
from mailadmin.services.accounts import account_of, find_user, no_such_user, owner_of
from mailadmin.services.dnsrecords import DKIM_PREFIX, FAILED, PENDING, VERIFIED, overall, overall_state, record_ids
from mailadmin.services.validate import text
from mailadmin.store.models import DkimKey, DnsCheck, Domain, DomainGrant, Package, User
from mailadmin.units import display_limit
from mailadmin.vocab import CLOSED, DOMAIN_ROLES

LIST_HINT = "see `mailadmin domains list`"
SEARCH_MAX = 253  # longer than any domain name: a pasted blob, not a search
GRANTED, UPDATED, UNCHANGED, REVOKED = "granted", "updated", "unchanged", "revoked"
SETTINGS = ("open_tracking", "click_tracking", "unsubscribe_footer", "monthly_cap")


# -- views -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrantView:
    member: str
    role: str
    email_content: bool
    created_at: datetime


@dataclass(frozen=True)
class KeyView:
    """A DKIM key as anyone who may view the domain reads it: never its private part."""

    selector: str
    algorithm: str
    bits: int | None
    state: str  # active | pending (a rotation's new key)
    created_at: datetime
    dns_state: str  # what the last verify found for its dkim:SELECTOR record (pending: never checked)


@dataclass(frozen=True)
class CheckView:
    record: str  # spf, dkim:SELECTOR, dmarc, return_path, tracking
    state: str
    cause: str | None
    checked_at: datetime | None


@dataclass(frozen=True)
class Verification:
    state: str  # verified (every record verified), failed (any failed), pending otherwise
    checked_at: datetime | None  # the last time any record was looked up
    records: list[CheckView]


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
    dkim_keys: list[KeyView]
    verification: Verification
    credentials: "credentials.CredentialSummary | None"  # None: none made yet, or hidden from this reader
    credentials_visible: bool  # the reader holds domains.credentials on the domain (rule 6)


@dataclass(frozen=True)
class DomainRow:
    id: int
    name: str
    unicode: str
    owner: str | None
    account_id: int
    members: int  # team members holding a grant on it
    verification: str
    checked_at: datetime | None
    open_tracking: bool
    click_tracking: bool
    unsubscribe_footer: bool
    monthly_cap: int | str
    created_at: datetime


@dataclass(frozen=True)
class SettingsChange:
    """What `set` did: the domain as it is now, the fields that changed (before, after) and those
    that already had the value asked for."""

    detail: DomainDetail
    changed: dict[str, tuple]
    unchanged: dict[str, object]


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
    checks = [
        CheckView(record, state, cause, checked_at)
        for record, state, cause, checked_at in op.session.execute(
            select(DnsCheck.record, DnsCheck.state, DnsCheck.cause, DnsCheck.checked_at)
            .where(DnsCheck.domain_id == domain.id).order_by(DnsCheck.record)
        )
    ]
    by_record = {c.record: c.state for c in checks}
    keys = [KeyView(k.selector, k.algorithm, k.bits, k.state, k.created_at, by_record.get(f"{DKIM_PREFIX}{k.selector}", PENDING))
            for k in dkim.keys_of(op.session, domain.id)]
    seen = [c.checked_at for c in checks if c.checked_at is not None]
    # every record the domain must publish counts: a rotation's new key, never checked, keeps it pending
    state = overall(by_record.get(record, PENDING) for record in record_ids(k.selector for k in keys))
    verification = Verification(state, max(seen) if seen else None, checks)
    visible = credentials.may_see(op, domain)
    return DomainDetail(
        id=domain.id, name=domain.name, unicode=unicode_of(domain.name), owner=_owner_email(op, domain.account_id),
        account_id=domain.account_id, open_tracking=domain.open_tracking, click_tracking=domain.click_tracking,
        unsubscribe_footer=domain.unsubscribe_footer, monthly_cap=display_limit(domain.monthly_cap),
        created_at=domain.created_at, grants=grants, dkim_keys=keys, verification=verification,
        credentials=credentials.summary(op, domain) if visible else None, credentials_visible=visible,
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
    # the verification of every domain, as an aggregate over its DNS checks joined in (still one
    # query): checks of records it no longer publishes (a retired selector's) do not count, and
    # it must publish 4 records plus one per DKIM key (record_ids)
    current_key = select(DkimKey.id).where(DkimKey.domain_id == DnsCheck.domain_id,
                                           DnsCheck.record == literal(DKIM_PREFIX) + DkimKey.selector).exists()
    checks = (
        select(DnsCheck.domain_id.label("domain_id"),
               func.sum(case((DnsCheck.state == VERIFIED, 1), else_=0)).label("verified"),
               func.sum(case((DnsCheck.state == FAILED, 1), else_=0)).label("failed"),
               func.max(DnsCheck.checked_at).label("checked_at"))
        .where(or_(~DnsCheck.record.startswith(DKIM_PREFIX, autoescape=True), current_key))
        .group_by(DnsCheck.domain_id)
        .subquery()
    )
    keys = select(func.count(DkimKey.id)).where(DkimKey.domain_id == Domain.id).correlate(Domain).scalar_subquery()
    query = (
        select(Domain.id, Domain.name, owner.email, Domain.account_id, members, Domain.created_at,
               keys, checks.c.verified, checks.c.failed, checks.c.checked_at,
               Domain.open_tracking, Domain.click_tracking, Domain.unsubscribe_footer, Domain.monthly_cap)
        .select_from(Domain)
        .outerjoin(owner, and_(owner.account_id == Domain.account_id, owner.is_owner))
        .outerjoin(checks, checks.c.domain_id == Domain.id)
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
    return [DomainRow(i, name, unicode_of(name), email, aid, count,
                      overall_state(len(record_ids([None] * n_keys)), verified or 0, failed or 0),
                      _utc(checked_at), bool(opens), bool(clicks), bool(footer), display_limit(cap), created)
            for (i, name, email, aid, count, created, n_keys, verified, failed, checked_at, opens, clicks, footer, cap)
            in op.session.execute(query)]


def _utc(moment: datetime | None) -> datetime | None:
    """An aggregate's time (max() loses the column type, so SQLite hands back text)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        from datetime import timezone

        moment = moment.replace(tzinfo=timezone.utc)
    return moment


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
    """Delete a domain; its grants, DKIM keys, DNS check results and SMTP credentials go with it
    (foreign keys cascade), its audit entries stay. `dry_run` checks everything and changes
    nothing, so a refusal comes before anyone is asked."""
    domain = get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    detail = describe(op, domain)
    if dry_run:
        return detail
    login = credentials.summary(op, domain)  # the audit names the login that goes, never its secret
    op.session.execute(delete(Domain).where(Domain.id == domain.id))  # grants, keys, checks, credentials cascade
    audit.record(op, "domain.remove", f"domain:{domain.name}",
                 {"account": detail.owner, "account_id": detail.account_id,
                  "grants": [{"member": g.member, "role": g.role, "email_content": g.email_content} for g in detail.grants],
                  "dkim": [{"selector": k.selector, "algorithm": k.algorithm, "state": k.state} for k in detail.dkim_keys],
                  "dns_checks": len(detail.verification.records),
                  "smtp_username": login.username if login else None},
                 None)
    return detail


# -- settings --------------------------------------------------------------------------------
def set_settings(op: Operation, name: str, values: dict[str, bool | int | None]) -> SettingsChange:
    """Change the settings given in `values` (open_tracking, click_tracking, unsubscribe_footer:
    bool; monthly_cap: int >= 0, or None for unlimited); the others stay. A value already in
    place is reported unchanged and not audited; the audit entry holds the changed fields only."""
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise InvalidInput(f"unknown setting {', '.join(sorted(unknown))}; settings: {', '.join(SETTINGS)}")
    if not values:
        raise InvalidInput("give at least one setting: --open-tracking/--no-open-tracking, --click-tracking/--no-click-tracking, "
                           "--unsubscribe-footer/--no-unsubscribe-footer or --monthly-cap N|unlimited")
    cap = values.get("monthly_cap")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 0):
        raise InvalidInput(f"--monthly-cap must be an integer >= 0 or 'unlimited', not {cap!r}")
    domain = get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id)
    changed: dict[str, tuple] = {}
    unchanged: dict[str, object] = {}
    for field in SETTINGS:  # in a fixed order, whatever order they were given in
        if field not in values:
            continue
        now, wanted = getattr(domain, field), values[field]
        if field != "monthly_cap":
            now, wanted = bool(now), bool(wanted)
        if now == wanted:
            unchanged[field] = _shown(field, now)
        else:
            changed[field] = (_shown(field, now), _shown(field, wanted))
    if changed:
        op.session.execute(update(Domain).where(Domain.id == domain.id)
                           .values({f: values[f] if f == "monthly_cap" else bool(values[f]) for f in changed}))
        op.session.refresh(domain)
        audit.record(op, "domain.set", f"domain:{domain.name}",
                     {f: before for f, (before, _after) in changed.items()},
                     {f: after for f, (_before, after) in changed.items()})
    return SettingsChange(describe(op, domain), changed, unchanged)


def _shown(field: str, value):
    return display_limit(value) if field == "monthly_cap" else value


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

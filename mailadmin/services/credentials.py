"""SMTP credentials of sending domains: show-once secrets an SMTP server can check.

A domain has at most one login. Its username is `smtp@` + the domain's A-label name: ASCII (every
SMTP client and Dovecot take it), unique because domain names are, and stable across resets, so a
reset changes only the password a client holds. The password is 32 random bytes from `secrets`
(256 bits), URL-safe base64 (43 characters of `A-Za-z0-9_-`, never starting with `-`: safe in
shells, URLs and config files); it is returned once and never stored. The store keeps only Argon2id hashes (argon2-cffi
with OWASP's m=19456 KiB, t=2, p=1) in the `{ARGON2ID}$argon2id$...` form Dovecot reads.

A reset with a grace period keeps the previous hash valid until then (one previous slot: a second
reset during a grace ends the first one's old secret). `check` accepts the current secret or the
previous one within its grace; `passwd_lines` serves Dovecot: the current secrets for one passdb,
and (`previous=True`) the previous secrets still in grace for a second passdb tried after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from mailadmin.errors import Failure, InvalidInput, NotFound, PermissionDenied
from mailadmin.operation import Operation
from mailadmin.services import access, audit
from mailadmin.store.models import Domain, SmtpCredential

SCHEME = "{ARGON2ID}"
USERNAME_PREFIX = "smtp@"
SECRET_BYTES = 32  # 256 bits
# OWASP Password Storage Cheat Sheet, Argon2id: m=19456 KiB (19 MiB), t=2, p=1
MEMORY_KIB, TIME_COST, PARALLELISM = 19456, 2, 1
GRACE_MAX = timedelta(days=30)  # longer keeps a secret believed replaced alive for too long
PASSWORD_MAX = 1024  # longer than any password we issue by far; what is longer is not one of ours
CREDENTIALS_KEY = "domains.credentials"


@dataclass(frozen=True)
class CredentialSummary:
    """What may be said about a login: never a password, never a hash."""

    domain: str
    username: str
    created_at: datetime
    reset_at: datetime
    previous_until: datetime | None  # the previous secret is live until then; None: no live previous secret

    @property
    def previous_live(self) -> bool:
        return self.previous_until is not None


@dataclass(frozen=True)
class IssuedSecret:
    """A reset's result: the one time the password exists outside the client's hands."""

    domain: str
    username: str
    password: str
    created: bool  # the first reset made the login
    created_at: datetime
    reset_at: datetime
    previous_until: datetime | None


# -- parts -----------------------------------------------------------------------------------
def username_for(domain_name: str) -> str:
    return USERNAME_PREFIX + domain_name


def parse_grace(text: str) -> timedelta:
    """`30m`, `2h`, `7d`, `1w`: more than nothing and at most GRACE_MAX."""
    from mailadmin.timeutil import parse_span

    span = parse_span(text) if len(text) < 20 else None
    if span is None:
        raise InvalidInput(f"--grace {text!r} is not a duration: a number and a unit, m, h, d or w (30m, 2h, 7d)")
    if not span:
        raise InvalidInput("--grace must be longer than 0; leave it out to end the previous secret at once")
    if span > GRACE_MAX:
        raise InvalidInput(f"--grace {text.strip()} is longer than the {GRACE_MAX.days} days a previous secret may stay valid")
    return span


def _hasher():
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM, type=Type.ID)


def hash_secret(password: str) -> str:
    """`{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$salt$hash`: what Dovecot's passwd-file reads."""
    return SCHEME + _hasher().hash(password)


def matches(stored: str | None, password: str) -> bool:
    """Does `password` match a stored `{ARGON2ID}...` value? A damaged value matches nothing."""
    if not stored or not stored.startswith(SCHEME):
        return False
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return _hasher().verify(stored[len(SCHEME):], password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """256 random bits, URL-safe base64, never starting with `-` (an option to a shell tool, and
    a cell a CSV reader would guard against formula injection by changing it)."""
    import secrets

    while True:
        password = secrets.token_urlsafe(SECRET_BYTES)
        if password[0] != "-":
            return password


def _live_previous(cred: SmtpCredential, now: datetime) -> datetime | None:
    if cred.previous_hash is None or cred.previous_until is None:
        return None
    until = _aware(cred.previous_until)
    return until if until > now else None


def _aware(moment: datetime) -> datetime:
    from datetime import timezone

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def summary_of(domain_name: str, cred: SmtpCredential, now: datetime) -> CredentialSummary:
    return CredentialSummary(domain_name, cred.username, _aware(cred.created_at), _aware(cred.reset_at),
                             _live_previous(cred, now))


def may_see(op: Operation, domain: Domain) -> bool:
    """May the actor see this domain's credentials (rule 6: owner, admins, the domain's admins)?
    Operators may; a client user acting through --as needs domains.credentials on the domain."""
    if op.actor.is_operator:
        return True
    subject = access.acting(op)
    target = access.Target(domain.id, domain.name, domain.account_id)
    return access.decide(subject, CREDENTIALS_KEY, op.now, target).allowed


def summary(op: Operation, domain: Domain) -> CredentialSummary | None:
    """The login's summary for `domains show`, or None when there is none (the caller decides
    whether the reader may see it)."""
    cred = op.session.get(SmtpCredential, domain.id)
    return summary_of(domain.name, cred, op.now) if cred is not None else None


# -- commands --------------------------------------------------------------------------------
def _domain(op: Operation, name: str) -> Domain:
    from mailadmin.services import domains

    domain = domains.get(op, name)
    access.authorize(op, account_id=domain.account_id, domain_id=domain.id, key=CREDENTIALS_KEY)
    return domain


def _no_credentials(domain: Domain) -> str:
    return f"{domain.name} has no SMTP credentials yet"


def _reset_hint(domain: Domain) -> str:
    return f"make them: `mailadmin domains credentials {domain.name} --reset`"


def show(op: Operation, name: str) -> CredentialSummary:
    domain = _domain(op, name)
    cred = op.session.get(SmtpCredential, domain.id)
    if cred is None:
        raise NotFound(_no_credentials(domain), hint=_reset_hint(domain))
    return summary_of(domain.name, cred, op.now)


def reset(op: Operation, name: str, *, grace: timedelta | None = None) -> IssuedSecret:
    """A new password for the domain's login (the first reset makes the login). With `grace`
    the secret it replaces stays valid until op.now + grace; without, it dies now."""
    domain = _domain(op, name)
    session = op.session
    password = new_password()
    hashed = hash_secret(password)
    cred = session.get(SmtpCredential, domain.id)
    until = op.now + grace if grace else None
    if cred is None:
        cred = SmtpCredential(domain_id=domain.id, username=username_for(domain.name), secret_hash=hashed,
                              previous_hash=None, previous_until=None, created_at=op.now, reset_at=op.now)
        session.add(cred)
        before = None
        created = True
    else:
        before = {"username": cred.username, "reset_at": _aware(cred.reset_at), "grace_until": _live_previous(cred, op.now)}
        cred.previous_hash = cred.secret_hash if grace else None
        cred.previous_until = until
        cred.secret_hash = hashed
        cred.reset_at = op.now
        created = False
    session.flush()
    # the audit says who reset which login when, and until when the old secret lives; never a secret or a hash
    audit.record(op, "domain.credentials.reset", f"domain:{domain.name}", _audit_times(before),
                 _audit_times({"username": cred.username, "reset_at": op.now, "grace_until": until}))
    return IssuedSecret(domain.name, cred.username, password, created, _aware(cred.created_at), op.now, until)


def _audit_times(values: dict | None) -> dict | None:
    if values is None:
        return None
    from mailadmin.timeutil import iso

    return {k: iso(v) if isinstance(v, datetime) else v for k, v in values.items()}


@dataclass(frozen=True)
class CheckResult:
    domain: str
    username: str
    matched: str | None  # "current", "previous" (within its grace), or None


def check(op: Operation, name: str, password: str) -> CheckResult:
    """Does `password` open the domain's login: the current secret, or the previous one within
    its grace? A domain without credentials is a Failure (exit 1, like a mismatch, with a line)."""
    domain = _domain(op, name)
    cred = op.session.get(SmtpCredential, domain.id)
    if cred is None:
        raise Failure(_no_credentials(domain), hint=_reset_hint(domain))
    if len(password) <= PASSWORD_MAX:
        if matches(cred.secret_hash, password):
            return CheckResult(domain.name, cred.username, "current")
        if _live_previous(cred, op.now) is not None and matches(cred.previous_hash, password):
            return CheckResult(domain.name, cred.username, "previous")
    return CheckResult(domain.name, cred.username, None)


def passwd_lines(op: Operation, name: str | None = None, *, previous: bool = False) -> list[str]:
    """`username:{ARGON2ID}$argon2id$...` lines for a Dovecot passwd-file, sorted by username:
    the current secrets, or (`previous`) the previous secrets still within their grace. Operators
    only: these hashes let anyone who holds them mount an offline guess."""
    if not op.actor.is_operator:
        raise PermissionDenied("`mailadmin domains credentials --export-passwd` is an operator action; "
                               "a client user (--as) never holds it")
    query = select(SmtpCredential.username, SmtpCredential.secret_hash, SmtpCredential.previous_hash,
                   SmtpCredential.previous_until)
    if name is not None:
        from mailadmin.services import domains

        domain = domains.get(op, name)
        if op.session.get(SmtpCredential, domain.id) is None:
            raise Failure(_no_credentials(domain), hint=_reset_hint(domain))
        query = query.where(SmtpCredential.domain_id == domain.id)
    pairs = []
    for username, current, old, until in op.session.execute(query):
        if not previous:
            pairs.append((username, current))
        elif old is not None and until is not None and _aware(until) > op.now:
            pairs.append((username, old))
    # sorted here by code point: the same on both stores (PostgreSQL's collation may ignore dots)
    return [f"{username}:{hashed}" for username, hashed in sorted(pairs)]

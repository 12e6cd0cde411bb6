"""Credits: an append-only ledger per account, exact to 1/10000 credit, idempotent by key.

Every change is a new `credit_entry` row (kind, signed amount, balance after, reason, actor, time,
optional key) and, in the same transaction, the account's cached `credit_balance` and an audit
entry. Nothing here updates or deletes an entry; `verify` proves every balance from the ledger.

Idempotency (Stripe's keys, TigerBeetle's reliable submission): a key is claimed per account by
inserting the entry itself under UNIQUE(account_id, idempotency_key). Writers are serialised by
the store's write lock, so the lookup that runs first inside the write transaction is exact; the
insert still claims the key with ON CONFLICT DO NOTHING (single) or a plain INSERT whose
IntegrityError rolls the whole batch back (bulk), so the constraint, not the lookup, is what
guarantees that a key pays once. A replay (same kind, amount and reason) is a no-op; anything else
under a used key is a conflict.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import and_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from mailadmin.errors import (
    Conflict,
    ExitCode,
    InvalidInput,
    LimitExceeded,
    MailadminError,
    NotFound,
    StoreUnavailable,
)
from mailadmin.services import audit
from mailadmin.services.accounts import (
    SIMPLE_EMAIL,
    account_of,
    find_user,
    normalise_email,
    parse_ref,
)
from mailadmin.services.amounts import format_amount, parse_amount
from mailadmin.services.batching import CHUNK, Progress, chunks, no_progress
from mailadmin.services.status import ACTIVE, CLOSED, SUSPENDED, is_suspended
from mailadmin.services.validate import not_found, text
from mailadmin.store.models import Account, CreditEntry, Package, User
from mailadmin.timeutil import utcnow

KINDS = ("topup", "spend", "overuse", "refund", "adjust")
CREDIT_KINDS = ("topup", "refund")  # `credits add`: amount > 0
DEBIT_KINDS = ("spend", "overuse")  # `credits deduct`: amount < 0, never below zero
ADJUST = "adjust"  # either sign, may go below zero: the one explicit correction

MAX_BALANCE = 10**18  # units; BIGINT holds 9.2e18, so a balance can never overflow the column
KEY_MAX = 200  # a --package key gets ":<account id>" appended and must fit the 255-character column
_KEY = re.compile(r"^[\x21-\x7e]{1,%d}$" % KEY_MAX)  # printable ASCII, no spaces
KEY_RULE = f"a key is 1 to {KEY_MAX} printable ASCII characters without spaces, like topup:2026-12"
REASON_MAX = 500
CSV_COLUMNS = ("user", "amount", "reason", "key")



# -- checks ----------------------------------------------------------------------------------
def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _KEY.match(key):
        raise InvalidInput(f"key {key!r} is not valid: {KEY_RULE}")
    return key


def check_reason(reason: str | None) -> str:
    if reason is None:
        raise InvalidInput("a reason is required", hint="add --reason TEXT")
    return text(reason, "reason", max_len=REASON_MAX)


def check_kind(kind: str, allowed: Sequence[str]) -> str:
    if kind not in allowed:
        raise InvalidInput(f"kind must be one of {', '.join(allowed)}, not {kind!r}")
    return kind


def signed_amount(raw: str, kind: str) -> int:
    """The ledger amount for what the operator typed: positive for add, negative for deduct,
    signed for adjust. Zero is never an entry."""
    if kind == ADJUST:
        return parse_amount(raw, allow_negative=True)
    try:
        units = parse_amount(raw)
    except InvalidInput as exc:
        if raw.strip().startswith("-") and "must be positive" in exc.message:
            verb = "add" if kind in CREDIT_KINDS else "deduct"
            raise InvalidInput(
                f"{verb} takes a positive amount, not {raw.strip()}",
                hint="`mailadmin credits adjust USER -5 --reason TEXT` corrects a balance in either direction",
            ) from None
        raise
    return units if kind in CREDIT_KINDS else -units


# -- views -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    id: int
    account_id: int
    kind: str
    amount: int
    balance_after: int
    reason: str
    actor: str
    created_at: datetime
    key: str | None

    @classmethod
    def of(cls, row: Any) -> "Entry":
        return cls(row.id, row.account_id, row.kind, row.amount, row.balance_after, row.reason, row.actor,
                   row.created_at, row.idempotency_key)


@dataclass(frozen=True)
class Holder:
    """Whose credits: the user named, its account, and what gates a change."""

    user: str
    account_id: int
    balance: int
    package: str
    credits_enabled: bool
    owner: str | None
    status: str


@dataclass(frozen=True)
class Applied:
    holder: Holder
    entry: Entry
    replayed: bool  # the key had been applied with the same request: nothing changed
    forced: tuple[str, ...] = ()  # the gates --force overrode (audited)

    @property
    def balance(self) -> int:
        return self.holder.balance if self.replayed else self.entry.balance_after


def _holders(now: datetime):
    """Users with their account, package, owner and the owner's standing suspension: one query
    for one user (a cron top-up compiles every statement it runs) or a chunk of them (bulk)."""
    owner = aliased(User)
    return (
        select(User.email, User.id, User.account_id, Account.credit_balance, Package.name, Package.credits_enabled,
               owner.email, owner.status, is_suspended(owner.id, now))
        .select_from(User)
        .outerjoin(Account, Account.id == User.account_id)
        .outerjoin(Package, Package.id == Account.package_id)
        .outerjoin(owner, and_(owner.account_id == User.account_id, owner.is_owner))
    )


def _holder_of(row: Any) -> Holder | None:
    """None for a user that belongs to no account (a removed member)."""
    email, _uid, account_id, bal, package, enabled, owner_email, owner_status, suspended = row
    if account_id is None:
        return None
    status = CLOSED if owner_status == CLOSED else SUSPENDED if suspended else ACTIVE
    return Holder(email, account_id, bal, package, bool(enabled), owner_email, status)


def holder(session: Session, ref: str) -> Holder:
    """The account whose credits `ref` (email or #ID) names; a member's credits are its account's."""
    key = parse_ref(ref)
    row = session.execute(_holders(utcnow()).where(User.id == key if isinstance(key, int) else User.email == key)).first()
    found = _holder_of(row) if row is not None else None
    if found is None:
        account_of(session, find_user(session, ref))  # raises the shared not-found / no-account errors
        raise AssertionError("unreachable")
    return found


def balance(session: Session, ref: str) -> Holder:
    return holder(session, ref)


# -- one change ------------------------------------------------------------------------------
def _gates(h: Holder, force: bool) -> tuple[str, ...]:
    """Refuse a change the account's state does not allow; with force, say what was overridden."""
    forced: list[str] = []
    if not h.credits_enabled:
        if not force:
            raise Conflict(
                f"package {h.package} of {h.user} does not have credits enabled",
                hint=f"enable them (`mailadmin packages edit {h.package} --credits`) or pass --force (audited)",
            )
        forced.append("credits_disabled")
    if h.status == CLOSED:
        if not force:
            raise Conflict(
                f"the account of {h.user} is closed",
                hint=f"reopen it (`mailadmin users reopen {h.owner or h.user}`) or pass --force (audited)",
            )
        forced.append("account_closed")
    return tuple(forced)


def _same_request(entry: Any, kind: str, amount: int, reason: str) -> bool:
    return entry.kind == kind and entry.amount == amount and entry.reason == reason


def _key_conflict(key: str, entry: Any, account_id: int) -> Conflict:
    return Conflict(
        f"key {key!r} was already used on account {account_id} for {entry.kind} {format_amount(entry.amount)} "
        f"({entry.reason!r}, entry #{entry.id}); a different request needs a new key"
    )


def _by_key(session: Session, account_id: int, key: str) -> CreditEntry | None:
    return session.execute(
        select(CreditEntry).where(CreditEntry.account_id == account_id, CreditEntry.idempotency_key == key)
    ).scalar_one_or_none()


def _insert_claiming_key(session: Session, row: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT (account_id, idempotency_key) DO NOTHING RETURNING id: the entry's
    id, or None when the key is already taken (the unique constraint decides, not a lookup)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = (
        dialect_insert(CreditEntry.__table__)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["account_id", "idempotency_key"])
        .returning(CreditEntry.__table__.c.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def _set_balance(session: Session, account_id: int, old: int, new: int) -> None:
    """Move the cached balance, guarded by its old value: a writer that slipped past the lock
    would make this match nothing, and the transaction rolls back instead of losing an update."""
    result = session.execute(
        update(Account.__table__)
        .where(Account.__table__.c.id == account_id, Account.__table__.c.credit_balance == old)
        .values(credit_balance=new)
    )
    if result.rowcount != 1:
        raise StoreUnavailable(f"the balance of account {account_id} changed during this change; nothing was applied, try again")


def _check_range(new: int, who: str) -> None:
    if abs(new) >= MAX_BALANCE:
        raise LimitExceeded(f"the balance of {who} would exceed {format_amount(MAX_BALANCE - 1)} credits")


def audit_target(owner: str | None, account_id: int) -> str:
    return f"user:{owner}" if owner else f"account:{account_id}"


def apply(
    session: Session,
    actor: str,
    ref: str,
    kind: str,
    amount: int,
    reason: str | None,
    *,
    key: str | None = None,
    force: bool = False,
) -> Applied:
    """Append one entry (`amount` signed, in units) to the account `ref` names.

    Order matters: a replay answers "already applied" even when the gates or the balance would
    now refuse the request, because the request already succeeded once.
    """
    check_kind(kind, KINDS)
    if amount == 0 or (kind in CREDIT_KINDS and amount < 0) or (kind in DEBIT_KINDS and amount > 0):
        raise InvalidInput(f"a {kind} entry cannot have the amount {format_amount(amount)}")
    reason = check_reason(reason)
    key = check_key(key)
    h = holder(session, ref)
    if key is not None and (existing := _by_key(session, h.account_id, key)) is not None:
        if not _same_request(existing, kind, amount, reason):
            raise _key_conflict(key, existing, h.account_id)
        return Applied(h, Entry.of(existing), replayed=True)
    forced = _gates(h, force)
    new = h.balance + amount
    if new < 0 and kind in DEBIT_KINDS:  # adding to a negative balance (after an adjust) is fine
        raise LimitExceeded(
            f"{h.user} has {format_amount(h.balance)} credits; deducting {format_amount(-amount)} would leave "
            f"{format_amount(new)} (short by {format_amount(-new)})",
            hint="add credits first, or `mailadmin credits adjust` to go below zero on purpose",
        )
    _check_range(new, h.user)
    row = {
        "account_id": h.account_id,
        "kind": kind,
        "amount": amount,
        "balance_after": new,
        "reason": reason,
        "actor": actor,
        "created_at": utcnow(),
        "idempotency_key": key,
    }
    entry_id = _insert_claiming_key(session, row)
    if entry_id is None:  # the constraint caught a claim the lookup did not see
        existing = _by_key(session, h.account_id, key)  # type: ignore[arg-type]
        if existing is None or not _same_request(existing, kind, amount, reason):
            raise _key_conflict(key, existing, h.account_id) if existing else StoreUnavailable("could not claim the key; try again")
        return Applied(h, Entry.of(existing), replayed=True)
    _set_balance(session, h.account_id, h.balance, new)
    after = {"account_id": h.account_id, "kind": kind, "amount": format_amount(amount), "balance": format_amount(new),
             "reason": reason, "key": key}
    if forced:
        after["forced"] = list(forced)
    audit.record(session, actor, f"credits.{kind}", audit_target(h.owner, h.account_id),
                 {"balance": format_amount(h.balance)}, after)
    entry = Entry(entry_id, h.account_id, kind, amount, new, reason, actor, row["created_at"], key)
    return Applied(h, entry, replayed=False, forced=forced)


# -- reading ---------------------------------------------------------------------------------
def history(
    session: Session,
    ref: str,
    *,
    kinds: Iterable[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int | None = 50,
) -> tuple[Holder, list[Entry], bool]:
    """Newest first; `before` pages back by entry id. Returns (holder, entries, more exist)."""
    h = holder(session, ref)
    kinds = [check_kind(k, KINDS) for k in kinds]
    query = select(CreditEntry).where(CreditEntry.account_id == h.account_id).order_by(CreditEntry.id.desc())
    if kinds:
        query = query.where(CreditEntry.kind.in_(kinds))
    if since:
        query = query.where(CreditEntry.created_at >= since)
    if until:
        query = query.where(CreditEntry.created_at < until)
    if before is not None:
        query = query.where(CreditEntry.id < before)
    if limit:
        query = query.limit(limit + 1)
    rows = [Entry.of(e) for e in session.execute(query).scalars()]
    more = bool(limit) and len(rows) > limit  # type: ignore[operator]
    return h, rows[:limit] if limit else rows, more


@dataclass(frozen=True)
class AccountBalance:
    account_id: int
    user: str | None  # the owner's email
    package: str
    credits_enabled: bool
    status: str
    balance: int


def accounts(
    session: Session,
    *,
    below: int | None = None,
    package: str | None = None,
    include_all: bool = False,
) -> list[AccountBalance]:
    """Balances, lowest first. By default only accounts that use credits (package has them
    enabled) and are not closed: what a low-balance alert should look at."""
    now = utcnow()
    query = (
        select(Account.id, User.email, User.status, is_suspended(User.id, now), Package.name, Package.credits_enabled,
               Account.credit_balance)
        .join(Package, Package.id == Account.package_id)
        .outerjoin(User, and_(User.account_id == Account.id, User.is_owner))
        .order_by(Account.credit_balance, Account.id)
    )
    if package is not None:
        if not session.execute(select(Package.id).where(Package.name == package)).first():
            raise not_found("package", package, session.execute(select(Package.name)).scalars(),
                            list_command="mailadmin packages list")
        query = query.where(Package.name == package)
    if below is not None:
        query = query.where(Account.credit_balance < below)
    if not include_all:
        query = query.where(Package.credits_enabled, func.coalesce(User.status, ACTIVE) != CLOSED)
    out = []
    for account_id, email, status, suspended, pname, enabled, bal in session.execute(query):
        state = CLOSED if status == CLOSED else SUSPENDED if suspended else ACTIVE
        out.append(AccountBalance(account_id, email, pname, bool(enabled), state, bal))
    return out


# -- verify ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mismatch:
    account_id: int
    entry_id: int | None
    problem: str
    expected: int | None = None  # what the ledger says
    found: int | None = None  # what is stored


@dataclass
class VerifyReport:
    accounts: int
    entries: int
    problems: list[Mismatch]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session) -> VerifyReport:
    """Recompute every balance from the ledger, set-based:
    - each entry's balance_after must equal the previous entry's plus its amount (a window
      function, so an edited or deleted entry is pinpointed rather than smearing over the rest);
    - each account's cached balance must equal the sum of its entries and its last balance_after;
    - each entry's sign must fit its kind."""
    e = CreditEntry.__table__.c
    previous = func.lag(e.balance_after).over(partition_by=e.account_id, order_by=e.id)
    chained = select(e.id, e.account_id, e.amount, e.balance_after, previous.label("prev")).subquery()
    problems: list[Mismatch] = []
    expected_after = func.coalesce(chained.c.prev, 0) + chained.c.amount
    for entry_id, account_id, after, expected in session.execute(
        select(chained.c.id, chained.c.account_id, chained.c.balance_after, expected_after)
        .where(chained.c.balance_after != expected_after)
        .order_by(chained.c.account_id, chained.c.id)
    ):
        problems.append(Mismatch(account_id, entry_id, "balance_after does not follow the previous entry", expected, after))
    for entry_id, account_id, kind, amount in session.execute(
        select(e.id, e.account_id, e.kind, e.amount).where(
            (e.amount == 0)
            | (e.kind.in_(CREDIT_KINDS) & (e.amount < 0))
            | (e.kind.in_(DEBIT_KINDS) & (e.amount > 0))
        ).order_by(e.account_id, e.id)
    ):
        problems.append(Mismatch(account_id, entry_id, f"a {kind} entry cannot have the amount {format_amount(amount)}"))

    last_id = select(e.account_id, func.max(e.id).label("last_id"), func.sum(e.amount).label("total"),
                     func.count().label("n")).group_by(e.account_id).subquery()
    last_after = select(e.balance_after).where(e.id == last_id.c.last_id).scalar_subquery()
    a = Account.__table__.c
    entries = 0
    rows = session.execute(
        select(a.id, a.credit_balance, last_id.c.total, last_id.c.n, last_after)
        .select_from(Account.__table__.outerjoin(last_id, last_id.c.account_id == a.id))
        .order_by(a.id)
    ).all()
    for account_id, cached, total, n, last in rows:
        total, n = total or 0, n or 0
        entries += n
        if cached != total:
            problems.append(Mismatch(account_id, None, "balance differs from the sum of its ledger", total, cached))
        elif n and last != cached:
            problems.append(Mismatch(account_id, None, "balance differs from its last entry's balance_after", last, cached))
    orphans = session.execute(
        select(func.count()).select_from(CreditEntry.__table__).where(~e.account_id.in_(select(a.id)))
    ).scalar_one()
    problems.sort(key=lambda p: (p.account_id, p.entry_id is None, p.entry_id or 0))  # entries, then the account
    return VerifyReport(len(rows), entries + orphans, problems)


# -- bulk ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One requested top-up, as read from a CSV line (or made for one account of a package)."""

    line: int | None
    ref: str  # what identifies it to the operator: the email or #ID as written
    amount: int
    reason: str
    key: str | None


@dataclass(frozen=True)
class RowFailure:
    line: int | None
    id: str
    error: str
    exit_code: int

    def describe(self) -> str:
        return f"line {self.line}: {self.error}" if self.line is not None else f"{self.id}: {self.error}"


@dataclass
class BulkReport:
    kind: str = "topup"
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    failed: list[RowFailure] = field(default_factory=list)
    total: int = 0  # units added

    def error(self, source: str) -> MailadminError:
        """The one-line error for a run refused because of bad rows (nothing was applied)."""
        first = self.failed[0]
        message = f"{source} {first.describe()}"
        if len(self.failed) > 1:
            lines = [str(f.line) for f in self.failed[1:11] if f.line is not None]
            more = f" (lines {', '.join(lines)}{', ...' if len(self.failed) > 11 else ''})" if lines else ""
            message += f"; {len(self.failed) - 1} more refused{more}"
        return _error_class(first.exit_code)(message + "; nothing was applied")


def _error_class(code: int) -> type[MailadminError]:
    for cls in (InvalidInput, NotFound, Conflict, LimitExceeded, StoreUnavailable):
        if cls.exit_code == code:
            return cls
    return InvalidInput


class _Failures(list):
    def add(self, line: int | None, ref: str, exc: MailadminError | str, code: int = ExitCode.USAGE) -> None:
        if isinstance(exc, MailadminError):
            self.append(RowFailure(line, ref, exc.message, int(exc.exit_code)))
        else:
            self.append(RowFailure(line, ref, exc, int(code)))


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, record): a quoted field may span several lines."""
    start = reader.line_num + 1
    for record in reader:
        yield start, record
        start = reader.line_num + 1


def read_csv(lines: Iterable[str], source: str) -> tuple[list[Row], list[RowFailure]]:
    """Rows of `user,amount,reason,key` (header required, in any order; `key` may be left out or
    empty). BOM and CRLF are the caller's to strip (open with utf-8-sig, newline=''). A bad row
    is reported with its line number; the caller applies nothing when any row is bad."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput(f"{source} is empty: the first line must be the header {','.join(CSV_COLUMNS)}") from None
    except csv.Error as exc:
        raise InvalidInput(f"{source} line 1: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{source} is not UTF-8 text; save it as UTF-8 (a BOM is fine)") from None
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in CSV_COLUMNS]
    missing = [n for n in CSV_COLUMNS[:3] if n not in names]
    if unknown or missing or len(set(names)) != len(names):
        raise InvalidInput(
            f"{source} line 1 must be the header {','.join(CSV_COLUMNS)} (key optional), not {','.join(header)!r}"
        )
    i_user, i_amount, i_reason = names.index("user"), names.index("amount"), names.index("reason")
    i_key = names.index("key") if "key" in names else None
    width = len(names)
    rows: list[Row] = []
    failures = _Failures()
    reasons: dict[str, str | MailadminError] = {}  # cron files repeat one reason: check it once
    try:
        for line, record in _records(reader):
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            if len(record) != width:
                failures.add(line, record[0] if record else "", f"expected {width} fields ({','.join(names)}), got {len(record)}")
                continue
            ref = record[i_user].strip()
            try:
                if not ref:
                    raise InvalidInput("user is empty")
                amount = parse_amount(record[i_amount])
                raw_reason = record[i_reason]
                checked = reasons.get(raw_reason)
                if checked is None:
                    try:
                        checked = text(raw_reason, "reason", max_len=REASON_MAX)
                    except InvalidInput as exc:
                        checked = exc
                    reasons[raw_reason] = checked
                if isinstance(checked, MailadminError):
                    raise checked
                key = record[i_key].strip() if i_key is not None else ""
                rows.append(Row(line, ref, amount, checked, check_key(key) if key else None))
            except MailadminError as exc:
                failures.add(line, ref, exc)
    except csv.Error as exc:
        failures.add(reader.line_num, "", f"not valid CSV: {exc}")
    except UnicodeDecodeError:
        # decoding runs ahead of the parser in blocks, so the line is only roughly known
        raise InvalidInput(f"{source} is not UTF-8 text (after line {reader.line_num}); save it as UTF-8 (a BOM is fine)") from None
    return rows, list(failures)


def _resolve(session: Session, refs: Iterable[str]) -> tuple[dict[str, tuple[str, Holder | None]], dict[str, MailadminError]]:
    """Refs as written -> (user email, its Holder or None when it has no account), set-based in
    chunks; and the refs that name no user, with why.

    The store keeps emails normalised, so a plain lower-case ASCII address is looked up as is and
    only the misses pay for full validation (email-validator costs ~30 us an address)."""
    by_email: dict[str, list[str]] = {}
    by_id: dict[int, list[str]] = {}
    errors: dict[str, MailadminError] = {}
    for ref in refs:
        stripped = ref.strip()
        if stripped.startswith("#"):
            try:
                by_id.setdefault(parse_ref(stripped), []).append(ref)  # type: ignore[arg-type]
            except MailadminError as exc:
                errors[ref] = exc
            continue
        lowered = stripped.lower()
        if SIMPLE_EMAIL.match(lowered):
            by_email.setdefault(lowered, []).append(ref)
        else:
            try:
                by_email.setdefault(normalise_email(stripped), []).append(ref)
            except MailadminError as exc:
                errors[ref] = exc
    found: dict[str, tuple[str, Holder | None]] = {}
    query = _holders(utcnow())

    def look_up(by_id_column: bool, wanted: dict) -> set:
        column = User.id if by_id_column else User.email
        hit = set()
        for chunk in chunks(list(wanted)):
            for row in session.execute(query.where(column.in_(chunk))):
                k = row[1] if by_id_column else row[0]
                hit.add(k)
                for ref in wanted[k]:
                    found[ref] = (row[0], _holder_of(row))
        return hit

    def unknown(refs_: list[str]) -> None:
        for ref in refs_:
            errors[ref] = NotFound(f"no user {ref.strip()!r}")

    retry: dict[str, list[str]] = {}
    for email in set(by_email) - look_up(False, by_email):
        try:  # not stored as typed: validate it, and look up its normal form
            normal = normalise_email(email)
        except MailadminError as exc:
            for ref in by_email[email]:
                errors[ref] = exc
            continue
        if normal != email:
            retry.setdefault(normal, []).extend(by_email[email])
        else:
            unknown(by_email[email])
    for email in set(retry) - look_up(False, retry):
        unknown(retry[email])
    for uid in set(by_id) - look_up(True, by_id):
        unknown(by_id[uid])
    return found, errors


def topup_rows(
    session: Session,
    actor: str,
    rows: Sequence[Row],
    *,
    kind: str = "topup",
    force: bool = False,
    failures: Sequence[RowFailure] = (),
    progress: Progress = no_progress,
) -> BulkReport:
    """Apply many top-ups (a CSV file) in this one transaction, set-based. When any row is bad
    (including the failures the reader found), nothing is written and the report says why."""
    check_kind(kind, CREDIT_KINDS)
    fails = _Failures(failures)
    progress("resolving users", 0, len(rows))
    users, unknown = _resolve(session, {r.ref for r in rows})
    items: list[tuple[Row, Holder]] = []
    for row in rows:
        user = users.get(row.ref)
        if user is None:
            fails.add(row.line, row.ref, unknown[row.ref])
        elif user[1] is None:
            fails.add(row.line, row.ref, f"{user[0]} belongs to no account (removed from its team)", ExitCode.CONFLICT)
        else:
            items.append((row, user[1]))
    progress("resolving users", len(rows), len(rows))
    return _apply_bulk(session, actor, items, kind=kind, force=force, failures=fails, progress=progress)


def topup_package(
    session: Session,
    actor: str,
    package: str,
    amount: int,
    reason: str | None,
    key: str | None,
    *,
    kind: str = "topup",
    force: bool = False,
    progress: Progress = no_progress,
) -> BulkReport:
    """Top up every active account of a package (owner active, no standing suspension), with
    the per-account key f"{key}:{account_id}": re-running the same job is a no-op."""
    check_kind(kind, CREDIT_KINDS)
    reason = check_reason(reason)
    if key is None:
        raise InvalidInput("--package needs --key, so that running the job twice pays once", hint="e.g. --key topup:2026-12")
    key = check_key(key)
    if amount <= 0:
        raise InvalidInput("amount must be greater than zero")
    pkg = session.execute(select(Package).where(Package.name == package)).scalar_one_or_none()
    if pkg is None:
        raise not_found("package", package, session.execute(select(Package.name)).scalars(), list_command="mailadmin packages list")
    if not pkg.credits_enabled and not force:
        raise Conflict(f"package {package} does not have credits enabled",
                       hint=f"enable them (`mailadmin packages edit {package} --credits`) or pass --force (audited)")
    now = utcnow()
    active = session.execute(
        select(Account.id, Account.credit_balance, User.email)
        .join(User, and_(User.account_id == Account.id, User.is_owner))
        .where(Account.package_id == pkg.id, User.status == ACTIVE, ~is_suspended(User.id, now))
        .order_by(Account.id)
    ).all()
    items = [
        (Row(None, email, amount, reason, f"{key}:{aid}"), Holder(email, aid, bal, package, bool(pkg.credits_enabled), email, ACTIVE))
        for aid, bal, email in active
    ]
    return _apply_bulk(session, actor, items, kind=kind, force=force, failures=_Failures(), progress=progress)


def claimed_keys(session: Session, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Any]:
    """The entries already holding these (account, key) pairs, set-based through the unique
    index. A cron file usually carries one key for every account: then the query is
    `account_id IN (chunk) AND key IN (the few keys)`, half the bind parameters of row values."""
    pairs = set(pairs)
    existing: dict[tuple[int, str], Any] = {}
    e = CreditEntry.__table__.c
    columns = (e.id, e.account_id, e.idempotency_key, e.kind, e.amount, e.reason)
    keys = sorted({k for _a, k in pairs})
    if len(keys) <= 50:
        accounts_ = sorted({a for a, _k in pairs})
        for chunk in chunks(accounts_, CHUNK - len(keys)):
            for entry in session.execute(select(*columns).where(e.account_id.in_(chunk), e.idempotency_key.in_(keys))):
                if (entry.account_id, entry.idempotency_key) in pairs:
                    existing[(entry.account_id, entry.idempotency_key)] = entry
        return existing
    for chunk in chunks(sorted(pairs), CHUNK // 2):
        for entry in session.execute(select(*columns).where(tuple_(e.account_id, e.idempotency_key).in_(chunk))):
            existing[(entry.account_id, entry.idempotency_key)] = entry
    return existing


def _apply_bulk(
    session: Session,
    actor: str,
    items: list[tuple[Row, Holder]],
    *,
    kind: str,
    force: bool,
    failures: _Failures,
    progress: Progress,
) -> BulkReport:
    report = BulkReport(kind=kind)
    total = len(items)
    existing = claimed_keys(session, {(h.account_id, r.key) for r, h in items if r.key is not None})
    balances: dict[int, int] = {}
    originals: dict[int, int] = {}
    now = utcnow()
    entries: list[dict[str, Any]] = []
    changes: list[audit.Change] = []
    seen: dict[tuple[int, str], Row] = {}
    action = f"credits.{kind}"
    for row, h in items:
        aid, email = h.account_id, h.user
        where = {"line": row.line} if row.line is not None else {}
        if row.key is not None:
            claimed = existing.get((aid, row.key))
            if claimed is not None:
                if _same_request(claimed, kind, row.amount, row.reason):
                    report.unchanged.append({"user": email, "account_id": aid, "key": row.key, "entry_id": claimed.id, **where})
                else:
                    failures.append(RowFailure(row.line, row.ref, _key_conflict(row.key, claimed, aid).message, ExitCode.CONFLICT))
                continue
            earlier = seen.get((aid, row.key))
            if earlier is not None:  # the same key twice in one file
                if earlier.amount == row.amount and earlier.reason == row.reason:
                    report.unchanged.append({"user": email, "account_id": aid, "key": row.key, "entry_id": None, **where})
                else:
                    failures.append(RowFailure(row.line, row.ref, f"key {row.key!r} is used for a different request on line {earlier.line}",
                                               ExitCode.CONFLICT))
                continue
            seen[(aid, row.key)] = row
        forced: list[str] = []
        if not h.credits_enabled:
            if not force:
                failures.append(RowFailure(row.line, row.ref, f"package {h.package} of {email} does not have credits enabled "
                                           "(--force overrides, audited)", ExitCode.CONFLICT))
                continue
            forced.append("credits_disabled")
        if h.status == CLOSED:
            if not force:
                failures.append(RowFailure(row.line, row.ref, f"the account of {email} is closed (--force overrides, audited)",
                                           ExitCode.CONFLICT))
                continue
            forced.append("account_closed")
        old = balances.get(aid)
        if old is None:
            old = originals[aid] = h.balance
        new = old + row.amount
        if abs(new) >= MAX_BALANCE:
            failures.append(RowFailure(row.line, row.ref, f"the balance of {email} would exceed {format_amount(MAX_BALANCE - 1)} credits",
                                       ExitCode.LIMIT_EXCEEDED))
            continue
        balances[aid] = new
        entries.append({"account_id": aid, "kind": kind, "amount": row.amount, "balance_after": new, "reason": row.reason,
                        "actor": actor, "created_at": now, "idempotency_key": row.key})
        amount_text, new_text = format_amount(row.amount), format_amount(new)
        after = {"account_id": aid, "kind": kind, "amount": amount_text, "balance": new_text, "reason": row.reason, "key": row.key}
        if forced:
            after["forced"] = forced
        changes.append(audit.Change(action, audit_target(h.owner, aid), {"balance": format_amount(old)}, after))
        report.changed.append({"user": email, "account_id": aid, "amount": amount_text, "balance": new_text, "key": row.key, **where})
        report.total += row.amount
    if failures:
        report.failed = sorted(failures, key=lambda f: (f.line or 0))
        report.changed, report.total = [], 0
        return report  # nothing written: a bad row refuses the whole run
    try:
        written = 0
        for batch in chunks(entries):
            session.execute(insert(CreditEntry.__table__), batch)
            written += len(batch)
            progress("writing", written, len(entries))
        a = Account.__table__.c
        moves = [{"b_id": aid, "b_old": originals[aid], "b_new": new} for aid, new in balances.items()]
        if moves:
            # guarded by the old value, like the single path: a writer that slipped past the
            # lock makes the count come up short and everything rolls back
            result = session.execute(
                update(Account.__table__)
                .where(a.id == bindparam("b_id"), a.credit_balance == bindparam("b_old"))
                .values(credit_balance=bindparam("b_new")),
                moves,
            )
            if result.rowcount != len(moves):
                raise StoreUnavailable("balances changed during this run; nothing was applied, run it again (keys make it safe)")
        progress("auditing", 0, len(changes))
        audit.record_many(session, actor, changes)
    except IntegrityError as exc:
        # the unique constraint caught a key another writer claimed after the lookup: the whole
        # run rolls back; running it again finds that key and skips it
        raise StoreUnavailable("another writer applied some of these keys at the same moment; nothing was applied, "
                               "run it again (keys make it safe)") from exc
    progress("done", total, total)
    return report

"""Credits: an append-only ledger per account, exact to 1/10000 credit, idempotent by key.

This module finds whose credits a change is for (the holder: a user's account, its package and
status), reads balances and history, and turns single, CSV and per-package top-ups into ledger
requests. Every entry is planned and written by services/ledger.py, the one append; `verify`
lives in services/ledger_verify.py and the CSV reader in services/csvrows.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import BigInteger, Select, and_, literal, select
from sqlalchemy.orm import aliased

from mailadmin.errors import Conflict, InvalidInput, MailadminError
from mailadmin.operation import Operation
from mailadmin.refs import UserRef, normalise_email, parse_ref
from mailadmin.services import csvrows, ledger, packages
from mailadmin.services.accounts import account_of, resolve, resolve_one
from mailadmin.services.batching import Progress, no_progress
from mailadmin.services.csvrows import RowFailure
from mailadmin.services.ledger import Applied, Entry, Holder, Planned, Replay, Request, check_key, check_kind, check_reason
from mailadmin.services.status import own_status_column
from mailadmin.store.models import Account, CreditEntry, Package, User
from mailadmin.units import parse_amount
from mailadmin.vocab import ACTIVE, CLOSED, CREDIT_KINDS, TOPUP

__all__ = ["Applied", "Entry", "Holder", "RowFailure", "Row", "BulkReport", "AccountBalance", "holder", "balance", "apply",
           "history", "accounts", "read_topups", "topup_rows", "topup_package"]

TOPUP_COLUMNS = ("user", "amount", "reason", "key")


# -- holders ---------------------------------------------------------------------------------
def _holder_query(now: datetime) -> Select:
    """Users with their account, package, owner and the owner's status (an account's status is
    its owner's own): one query for one user, or a chunk of them (bulk). Its first two columns
    are User.id and User.email, as services.accounts.resolve needs."""
    owner = aliased(User)
    return (
        select(User.id, User.email, User.account_id, Account.credit_balance, Package.name, Package.credits_enabled,
               owner.email, own_status_column(owner, now))
        .select_from(User)
        .outerjoin(Account, Account.id == User.account_id)
        .outerjoin(Package, Package.id == Account.package_id)
        .outerjoin(owner, and_(owner.account_id == User.account_id, owner.is_owner))
    )


def _holder_of(row: Any) -> Holder | None:
    """None for a user that belongs to no account (a removed member)."""
    _user_id, email, account_id, balance_, package, enabled, owner_email, status = row
    if account_id is None:
        return None
    return Holder(email, account_id, balance_, package, bool(enabled), owner_email, status)


def _no_account(op: Operation, user_id: int) -> Conflict:
    """Why a user without an account has no credits, in the words of accounts.account_of."""
    try:
        account_of(op.session, op.session.get(User, user_id))
    except Conflict as exc:
        return exc
    raise AssertionError(f"user {user_id} belongs to an account")


def holder(op: Operation, ref: UserRef) -> Holder:
    """The account whose credits `ref` names; a member's credits are its account's."""
    row = resolve_one(op.session, ref, _holder_query(op.now))
    found = _holder_of(row)
    if found is None:
        raise _no_account(op, row[0])
    return found


def balance(op: Operation, ref: UserRef) -> Holder:
    return _readable(op, ref)


def _readable(op: Operation, ref: UserRef) -> Holder:
    """The holder, when the actor may read its credits: a client user acting through --as sees
    only users visible to it, and needs billing.view on their account."""
    h = holder(op, ref)
    if not op.actor.is_operator:
        from mailadmin.services import access

        access.visible_user(op, ref)
        access.authorize(op, account_id=h.account_id)
    return h


# -- one change ------------------------------------------------------------------------------
def apply(
    op: Operation,
    ref: UserRef,
    kind: str,
    amount: int,
    reason: str | None,
    *,
    key: str | None = None,
    force: bool = False,
) -> Applied:
    """Append one entry (`amount` signed, in units) to the account `ref` names. The request's
    own values are checked before the user is looked up (a typo is exit 2 whoever it names)."""
    reason, key = ledger.checked(kind, amount, reason, key)
    return ledger.append(op, Request(holder(op, ref), kind, amount, reason, key, ref=ref.text), force=force)


# -- reading ---------------------------------------------------------------------------------
def history(
    op: Operation,
    ref: UserRef,
    *,
    kinds: Iterable[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[Holder, list[Entry], bool]:
    """Newest first; `before` pages back by entry id, `offset` skips that many of the entries
    that match. Returns (holder, entries, more exist)."""
    h = _readable(op, ref)
    kinds = [check_kind(k) for k in kinds]
    query = select(CreditEntry).where(CreditEntry.account_id == h.account_id).order_by(CreditEntry.id.desc())
    if kinds:
        query = query.where(CreditEntry.kind.in_(kinds))
    if since:
        query = query.where(CreditEntry.created_at >= since)
    if until:
        query = query.where(CreditEntry.created_at < until)
    if before is not None:  # a 64-bit bound: any id past the column's range is simply newer than all
        query = query.where(CreditEntry.id < literal(before, BigInteger()))
    if offset:
        query = query.offset(offset)
    if limit:
        query = query.limit(limit + 1)
    rows = [Entry.of(e) for e in op.session.execute(query).scalars()]
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
    op: Operation,
    *,
    below: int | None = None,
    package: str | None = None,
    include_all: bool = False,
) -> list[AccountBalance]:
    """Balances, lowest first. By default only accounts that use credits (package has them
    enabled) and are not closed: what a low-balance alert should look at."""
    status = own_status_column(User, op.now)  # the owner's: an account's status
    query = (
        select(Account.id, User.email, Package.name, Package.credits_enabled, status, Account.credit_balance)
        .join(Package, Package.id == Account.package_id)
        .outerjoin(User, and_(User.account_id == Account.id, User.is_owner))
        .order_by(Account.credit_balance, Account.id)
    )
    if package is not None:
        query = query.where(Account.package_id == packages.get(op.session, package).id)
    if below is not None:
        query = query.where(Account.credit_balance < below)
    if not include_all:
        query = query.where(Package.credits_enabled, status != CLOSED)
    return [AccountBalance(account_id, email, name, bool(enabled), state, balance_)
            for account_id, email, name, enabled, state, balance_ in op.session.execute(query)]


# -- bulk ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One requested top-up, as read from a CSV line."""

    line: int | None
    user: UserRef
    amount: int
    reason: str
    key: str | None

    @property
    def ref(self) -> str:
        """The user as written: what a refused row is reported by."""
        return self.user.text


@dataclass
class BulkReport:
    """A bulk run: the entries written, the requests already applied under their keys, and the
    refused rows. When any row is refused nothing was written and `changed` is empty."""

    kind: str = TOPUP
    changed: list[Planned] = field(default_factory=list)
    unchanged: list[Replay] = field(default_factory=list)
    failed: list[RowFailure] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Units added."""
        return sum(p.request.amount for p in self.changed)


def _csv_user(text: str) -> UserRef:
    """#ID or an email. A cell that is neither is judged as an address: in a file of addresses,
    "not a valid email address: ..." says best what is wrong with it."""
    if not text.startswith("#") and "@" not in text:
        normalise_email(text)  # raises InvalidInput
    return parse_ref(text)


def read_topups(lines: Iterable[str], source: str) -> tuple[list[Row], list[RowFailure]]:
    """Rows of `user,amount,reason,key` (header required, in any order; `key` may be left out or
    empty). A bad row is reported with its line number; the caller applies nothing when any row
    is bad."""
    reasons: dict[str, str | MailadminError] = {}  # cron files repeat one reason: check it once

    def make_row(line: int, user: str, amount: str, reason: str, key: str) -> Row:
        ref = user.strip()
        if not ref:
            raise InvalidInput("user is empty")
        units = parse_amount(amount)
        checked = reasons.get(reason)
        if checked is None:
            try:
                checked = check_reason(reason)
            except InvalidInput as exc:
                checked = exc
            reasons[reason] = checked
        if isinstance(checked, MailadminError):
            raise checked
        key = key.strip(" \t")  # padding around a cell, never a line break: a key is matched whole
        return Row(line, _csv_user(ref), units, checked, check_key(key) if key else None)

    return csvrows.read(lines, source, TOPUP_COLUMNS, make_row, optional=("key",), id_column="user")


def topup_rows(
    op: Operation,
    rows: Sequence[Row],
    *,
    kind: str = TOPUP,
    force: bool = False,
    failures: Sequence[RowFailure] = (),
    dry_run: bool = False,
    progress: Progress = no_progress,
) -> BulkReport:
    """Apply many top-ups (a CSV file) in this one transaction, set-based. When any row is bad
    (including the failures the reader found), nothing is written and the report says why.
    `dry_run` plans every row the same way and writes nothing: the report is what would be done."""
    check_kind(kind, CREDIT_KINDS)
    refused = list(failures)
    requests: list[Request] = []
    progress("resolving users", 0, len(rows))
    for row, found in zip(rows, resolve(op.session, [r.user for r in rows], _holder_query(op.now))):
        if found.error is not None:
            refused.append(RowFailure.of(row.line, row.ref, found.error))
            continue
        h = _holder_of(found.row)
        if h is None:
            refused.append(RowFailure.of(row.line, row.ref, _no_account(op, found.row[0])))
            continue
        requests.append(Request(h, kind, row.amount, row.reason, row.key, row.line, row.ref))
    progress("resolving users", len(rows), len(rows))
    return _apply_bulk(op, requests, kind=kind, force=force, refused=refused, dry_run=dry_run, progress=progress)


def topup_package(
    op: Operation,
    package: str,
    amount: int,
    reason: str | None,
    key: str | None,
    *,
    kind: str = TOPUP,
    force: bool = False,
    dry_run: bool = False,
    progress: Progress = no_progress,
) -> BulkReport:
    """Top up every active account of a package (owner active, no standing suspension), with
    the per-account key f"{key}:{account_id}": re-running the same job is a no-op. `dry_run`
    plans the same and writes nothing."""
    check_kind(kind, CREDIT_KINDS)
    reason = check_reason(reason)
    if key is None:
        raise InvalidInput("--package needs --key, so that running the job twice pays once", hint="e.g. --key topup:2026-12")
    key = check_key(key)
    if amount <= 0:
        raise InvalidInput("amount must be greater than zero")
    pkg = packages.get(op.session, package)
    if not pkg.credits_enabled and not force:
        raise Conflict(f"package {package} does not have credits enabled",
                       hint=f"enable them (`mailadmin packages edit {package} --credits`) or pass --force (audited)")
    active = op.session.execute(
        select(Account.id, Account.credit_balance, User.email)
        .join(User, and_(User.account_id == Account.id, User.is_owner))
        .where(Account.package_id == pkg.id, own_status_column(User, op.now) == ACTIVE)
        .order_by(Account.id)
    ).all()
    requests = [
        Request(Holder(email, account_id, balance_, package, bool(pkg.credits_enabled), email, ACTIVE), kind, amount, reason,
                f"{key}:{account_id}", None, email)
        for account_id, balance_, email in active
    ]
    return _apply_bulk(op, requests, kind=kind, force=force, refused=[], dry_run=dry_run, progress=progress)


def _apply_bulk(op: Operation, requests: Sequence[Request], *, kind: str, force: bool, refused: list[RowFailure],
                dry_run: bool, progress: Progress) -> BulkReport:
    planned, replays, failures = ledger.plan_many(op, requests, force=force)
    failed = sorted([*refused, *failures], key=lambda f: f.line or 0)
    if failed:  # nothing written: a bad row refuses the whole run
        return BulkReport(kind, [], replays, failed)
    if dry_run:  # what a real run would write, written nowhere
        return BulkReport(kind, planned, replays, [])
    ledger.write(op, planned, batch=True, progress=progress)
    progress("done", len(requests), len(requests))
    return BulkReport(kind, planned, replays, [])

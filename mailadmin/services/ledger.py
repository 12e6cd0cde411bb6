"""The one ledger append: every credit movement is planned here, then written here.

`plan` decides one requested entry against what is known of its account: a key already claimed
(the same request again is a replay, another request a conflict), the gates (credits enabled,
account not closed; --force overrides, audited), the sign its kind needs, the floor of debits,
and the range of a balance. `write` appends what was planned: the entries (claiming their keys),
the cached balances (guarded by their old values) and the audit entries, in the caller's
transaction. `append` is one entry (`credits add/deduct/adjust`, and the overuse charge of a
recorded send); `plan_many` + `write(batch=True)` are many (a CSV file, a package's accounts),
set-based: one executemany per chunk, no query per row.

Idempotency (Stripe's keys, TigerBeetle's reliable submission): a key is claimed per account by
inserting the entry itself under UNIQUE(account_id, idempotency_key). Writers are serialised by
the store's write lock, so the lookup that runs first inside the write transaction is exact; the
insert still claims the key with ON CONFLICT DO NOTHING (one entry) or a plain INSERT whose
IntegrityError rolls the whole batch back (many), so the constraint, not the lookup, is what
guarantees that a key pays once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailadmin.errors import Conflict, InvalidInput, LimitExceeded, MailadminError, StoreUnavailable
from mailadmin.operation import Operation
from mailadmin.services import audit
from mailadmin.services.batching import CHUNK, Progress, chunks, no_progress
from mailadmin.services.csvrows import RowFailure
from mailadmin.services.validate import text
from mailadmin.store.models import Account, CreditEntry
from mailadmin.units import format_amount
from mailadmin.vocab import CLOSED, CREDIT_KINDS, DEBIT_KINDS, LEDGER_KINDS

MAX_BALANCE = 10**18  # units; BIGINT holds 9.2e18, so a balance can never overflow the column
KEY_MAX = 200  # a --package key gets ":<account id>" appended and must fit the 255-character column
_KEY = re.compile(r"[\x21-\x7e]{1,%d}" % KEY_MAX)  # printable ASCII, no spaces; matched whole
KEY_RULE = f"a key is 1 to {KEY_MAX} printable ASCII characters without spaces, like topup:2026-12"
REASON_MAX = 500
FORCED_CREDITS_DISABLED, FORCED_ACCOUNT_CLOSED = "credits_disabled", "account_closed"


# -- what a request is made of ---------------------------------------------------------------
def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise InvalidInput(f"key {key!r} is not valid: {KEY_RULE}")
    return key


def check_reason(reason: str | None) -> str:
    if reason is None:
        raise InvalidInput("a reason is required", hint="add --reason TEXT")
    return text(reason, "reason", max_len=REASON_MAX)


def check_kind(kind: str, allowed: Sequence[str] = LEDGER_KINDS) -> str:
    if kind not in allowed:
        raise InvalidInput(f"kind must be one of {', '.join(allowed)}, not {kind!r}")
    return kind


def check_sign(kind: str, amount: int) -> None:
    """Zero is never an entry; credits are positive, debits negative, an adjust either."""
    if amount == 0 or (kind in CREDIT_KINDS and amount < 0) or (kind in DEBIT_KINDS and amount > 0):
        raise InvalidInput(f"a {kind} entry cannot have the amount {format_amount(amount)}")


def checked(kind: str, amount: int, reason: str | None, key: str | None) -> tuple[str, str]:
    """A request's own values, before any lookup: (reason, key) as the ledger keeps them."""
    check_kind(kind)
    check_sign(kind, amount)
    return check_reason(reason), check_key(key)  # type: ignore[return-value]


# -- the data --------------------------------------------------------------------------------
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
class Request:
    """One entry asked for. `ref` is the user as the operator wrote it and `line` where a file
    asked for it: what a refused row is reported by."""

    holder: Holder
    kind: str
    amount: int  # signed units
    reason: str
    key: str | None = None
    line: int | None = None
    ref: str = ""


@dataclass(frozen=True)
class Planned:
    """An entry to write: the balance it moves from and to, and the gates --force overrode."""

    request: Request
    before: int
    after: int
    forced: tuple[str, ...] = ()


@dataclass(frozen=True)
class Replay:
    """The request was already applied under its key: nothing to write. `entry_id` is None when
    an earlier line of the same run asked for it."""

    request: Request
    entry_id: int | None


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
class Applied:
    holder: Holder
    entry: Entry
    replayed: bool  # the key had been applied with the same request: nothing changed
    forced: tuple[str, ...] = ()  # the gates --force overrode (audited)

    @property
    def balance(self) -> int:
        return self.holder.balance if self.replayed else self.entry.balance_after


class GateClosed(Conflict):
    """The account's state refuses the change and --force would override it."""

    @property
    def row_message(self) -> str:
        """The same refusal as one row of a bulk run, where there is no room for the hint."""
        return f"{self.message} (--force overrides, audited)"


# -- plan ------------------------------------------------------------------------------------
def plan(request: Request, *, force: bool = False, balance: int | None = None, claimed: Any = None) -> Planned | Replay:
    """Decide one entry. `balance` is the account's balance so far in this run (default: the
    holder's); `claimed` is what already holds the request's key: a stored entry, or an earlier
    Request of the same run. Raises what refuses it.

    Order matters: a replay answers "already applied" even when the gates or the balance would
    now refuse the request, because the request already succeeded once."""
    h, kind, amount = request.holder, request.kind, request.amount
    check_sign(kind, amount)
    if claimed is not None:
        if claimed.kind == kind and claimed.amount == amount and claimed.reason == request.reason:
            return Replay(request, None if isinstance(claimed, Request) else claimed.id)
        raise _key_conflict(request, claimed)
    forced: list[str] = []
    if not h.credits_enabled:
        if not force:
            raise GateClosed(
                f"package {h.package} of {h.user} does not have credits enabled",
                hint=f"enable them (`mailadmin packages edit {h.package} --credits`) or pass --force (audited)",
            )
        forced.append(FORCED_CREDITS_DISABLED)
    if h.status == CLOSED:
        if not force:
            raise GateClosed(
                f"the account of {h.user} is closed",
                hint=f"reopen it (`mailadmin users reopen {h.owner or h.user}`) or pass --force (audited)",
            )
        forced.append(FORCED_ACCOUNT_CLOSED)
    old = h.balance if balance is None else balance
    new = old + amount
    if new < 0 and kind in DEBIT_KINDS:  # adding to a negative balance (after an adjust) is fine
        raise LimitExceeded(
            f"{h.user} has {format_amount(old)} credits; deducting {format_amount(-amount)} would leave "
            f"{format_amount(new)} (short by {format_amount(-new)})",
            hint="add credits first, or `mailadmin credits adjust` to go below zero on purpose",
        )
    if abs(new) >= MAX_BALANCE:
        raise LimitExceeded(f"the balance of {h.user} would exceed {format_amount(MAX_BALANCE - 1)} credits")
    return Planned(request, old, new, tuple(forced))


def _key_conflict(request: Request, claimed: Any) -> Conflict:
    if isinstance(claimed, Request):  # the same key twice in one file
        return Conflict(f"key {request.key!r} is used for a different request on line {claimed.line}")
    return Conflict(
        f"key {request.key!r} was already used on account {request.holder.account_id} for {claimed.kind} "
        f"{format_amount(claimed.amount)} ({claimed.reason!r}, entry #{claimed.id}); a different request needs a new key"
    )


def plan_many(op: Operation, requests: Sequence[Request], *, force: bool = False) -> tuple[list[Planned], list[Replay], list[RowFailure]]:
    """Plan a run of requests in order, each against the balance the ones before it left; the
    keys they name are looked up once, set-based. Refused requests come back as RowFailures."""
    existing = claimed_keys(op.session, {(r.holder.account_id, r.key) for r in requests if r.key is not None})
    balances: dict[int, int] = {}
    first_asked: dict[tuple[int, str], Request] = {}
    planned: list[Planned] = []
    replays: list[Replay] = []
    failures: list[RowFailure] = []
    for request in requests:
        account_id = request.holder.account_id
        claimed = None
        if request.key is not None:
            pair = (account_id, request.key)
            claimed = existing.get(pair)
            if claimed is None:
                claimed = first_asked.get(pair)
            if claimed is None:
                first_asked[pair] = request
        try:
            outcome = plan(request, force=force, balance=balances.get(account_id), claimed=claimed)
        except MailadminError as exc:
            message = exc.row_message if isinstance(exc, GateClosed) else exc.message
            failures.append(RowFailure(request.line, request.ref, message, int(exc.exit_code)))
            continue
        if isinstance(outcome, Replay):
            replays.append(outcome)
        else:
            balances[account_id] = outcome.after
            planned.append(outcome)
    return planned, replays, failures


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
        accounts = sorted({a for a, _k in pairs})
        for chunk in chunks(accounts, CHUNK - len(keys)):
            for entry in session.execute(select(*columns).where(e.account_id.in_(chunk), e.idempotency_key.in_(keys))):
                if (entry.account_id, entry.idempotency_key) in pairs:
                    existing[(entry.account_id, entry.idempotency_key)] = entry
        return existing
    for chunk in chunks(sorted(pairs), CHUNK // 2):
        for entry in session.execute(select(*columns).where(tuple_(e.account_id, e.idempotency_key).in_(chunk))):
            existing[(entry.account_id, entry.idempotency_key)] = entry
    return existing


def _by_key(session: Session, account_id: int, key: str) -> CreditEntry | None:
    return session.execute(
        select(CreditEntry).where(CreditEntry.account_id == account_id, CreditEntry.idempotency_key == key)
    ).scalar_one_or_none()


# -- write -----------------------------------------------------------------------------------
def write(op: Operation, planned: Sequence[Planned], *, batch: bool = False, progress: Progress = no_progress) -> list[int] | None:
    """Append the planned entries, move their accounts' cached balances, audit each entry.

    One entry (not `batch`): INSERT ... ON CONFLICT (account_id, idempotency_key) DO NOTHING
    RETURNING id gives [its id], or None (nothing written) when its key turned out to be taken.
    A batch: one executemany per chunk; a key taken meanwhile rolls the whole run back."""
    rows = [_entry_row(op, p) for p in planned]
    if not batch:
        (row,) = rows
        entry_id = _insert_claiming_key(op.session, row)
        if entry_id is None:
            return None
        if not _move_balances(op, planned):
            account_id = planned[0].request.holder.account_id
            raise StoreUnavailable(f"the balance of account {account_id} changed during this change; nothing was applied, try again")
        audit.record_many(op, [_audit_change(p) for p in planned])
        return [entry_id]
    try:
        written = 0
        for chunk in chunks(rows):
            op.session.execute(insert(CreditEntry.__table__), chunk)
            written += len(chunk)
            progress("writing", written, len(rows))
        if not _move_balances(op, planned):
            raise StoreUnavailable("balances changed during this run; nothing was applied, run it again (keys make it safe)")
        progress("auditing", 0, len(planned))
        audit.record_many(op, [_audit_change(p) for p in planned])
    except IntegrityError as exc:
        # the unique constraint caught a key another writer claimed after the lookup: the whole
        # run rolls back; running it again finds that key and skips it
        raise StoreUnavailable("another writer applied some of these keys at the same moment; nothing was applied, "
                               "run it again (keys make it safe)") from exc
    return []


def _entry_row(op: Operation, p: Planned) -> dict[str, Any]:
    r = p.request
    return {"account_id": r.holder.account_id, "kind": r.kind, "amount": r.amount, "balance_after": p.after,
            "reason": r.reason, "actor": op.actor.name, "created_at": op.now, "idempotency_key": r.key}


def _insert_claiming_key(session: Session, row: dict[str, Any]) -> int | None:
    """The entry's id, or None when the key is already taken (the unique constraint decides)."""
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


def _move_balances(op: Operation, planned: Sequence[Planned]) -> bool:
    """Each account from its balance before the first planned entry to the one after the last,
    guarded by the old value: False when a writer that slipped past the lock moved one meanwhile
    (the caller raises, and the transaction rolls back instead of losing an update)."""
    moves: dict[int, dict[str, int]] = {}
    for p in planned:
        account_id = p.request.holder.account_id
        move = moves.get(account_id)
        if move is None:
            moves[account_id] = {"b_id": account_id, "b_old": p.before, "b_new": p.after}
        else:
            move["b_new"] = p.after
    if not moves:
        return True
    a = Account.__table__.c
    result = op.session.execute(
        update(Account.__table__)
        .where(a.id == bindparam("b_id"), a.credit_balance == bindparam("b_old"))
        .values(credit_balance=bindparam("b_new")),
        list(moves.values()),
    )
    return result.rowcount == len(moves)


def audit_target(owner: str | None, account_id: int) -> str:
    return f"user:{owner}" if owner else f"account:{account_id}"


def _audit_change(p: Planned) -> audit.Change:
    r = p.request
    after: dict[str, Any] = {"account_id": r.holder.account_id, "kind": r.kind, "amount": format_amount(r.amount),
                             "balance": format_amount(p.after), "reason": r.reason, "key": r.key}
    if p.forced:
        after["forced"] = list(p.forced)
    return audit.Change(f"credits.{r.kind}", audit_target(r.holder.owner, r.holder.account_id),
                        {"balance": format_amount(p.before)}, after)


# -- one entry -------------------------------------------------------------------------------
def append(op: Operation, request: Request, *, force: bool = False) -> Applied:
    """Plan and write one entry: the path of `credits add/deduct/adjust` and of the overuse
    charge of a recorded send."""
    h, key = request.holder, request.key
    claimed = _by_key(op.session, h.account_id, key) if key is not None else None
    outcome = plan(request, force=force, claimed=claimed)
    if isinstance(outcome, Replay):
        return Applied(h, Entry.of(claimed), replayed=True)
    ids = write(op, [outcome])
    if ids is None:  # the constraint caught a claim the lookup did not see
        claimed = _by_key(op.session, h.account_id, key)  # type: ignore[arg-type]
        if claimed is None:
            raise StoreUnavailable("could not claim the key; try again")
        plan(request, force=force, claimed=claimed)  # the same request: a replay; else the conflict raised
        return Applied(h, Entry.of(claimed), replayed=True)
    entry = Entry(ids[0], h.account_id, request.kind, request.amount, outcome.after, request.reason, op.actor.name, op.now, key)
    return Applied(h, entry, replayed=False, forced=outcome.forced)

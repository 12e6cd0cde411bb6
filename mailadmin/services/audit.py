"""The audit log: every change appends an entry in the same transaction, hash-chained.

Each entry's hash covers its id, its content and the previous entry's hash, and a one-row head
records the newest entry, so editing, deleting or renumbering any entry (the last ones included)
is found by `verify`. Writers are serialised by the store, so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

from sqlalchemy import String, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from mailadmin.operation import Operation
from mailadmin.store.models import AuditEntry, AuditHead

GENESIS = "0" * 64


@dataclass(frozen=True)
class Change:
    """One change to record: `target` is `kind:identifier` (role:support, user:a@b.c)."""

    action: str
    target: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record(op: Operation, action: str, target: str, before=None, after=None) -> None:
    record_many(op, [Change(action, target, before, after)])


def record_many(op: Operation, changes: Iterable[Change], *, chunk: int = 5000) -> int:
    """Append entries for many changes with one executemany per chunk. Returns the count.
    Each entry names the operation's actor and time; a command run with --as names the
    operator who ran it as `actor` and the user it acted as as `as_user`."""
    session, at = op.session, op.now
    actor, as_user = (op.actor.on_behalf_of.name, op.actor.name) if op.actor.on_behalf_of else (op.actor.name, None)
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    last_id, last_hash, count = (head.last_id, head.last_hash, head.count) if head else (0, GENESIS, 0)
    rows: list[dict[str, Any]] = []
    written = 0
    for change in changes:
        last_id += 1
        row = {
            "id": last_id,
            "at": at,
            "actor": actor,
            "as_user": as_user,
            "action": change.action,
            "target": change.target,
            "before": _dump(change.before),
            "after": _dump(change.after),
            "prev_hash": last_hash,
        }
        row["hash"] = last_hash = entry_hash(row)
        rows.append(row)
        if len(rows) >= chunk:
            _insert_rows(session, rows)
            written += len(rows)
            rows = []
    if rows:
        _insert_rows(session, rows)
        written += len(rows)
    if written:
        if head is None:
            session.execute(insert(AuditHead).values(id=1, last_id=last_id, last_hash=last_hash, count=written))
        else:
            session.execute(
                update(AuditHead).where(AuditHead.id == 1).values(last_id=last_id, last_hash=last_hash, count=count + written)
            )
    return written


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """One executemany of prepared rows straight to the driver: an ORM or Core executemany
    spends most of a 100,000-entry bulk run building per-row parameters. Values go through
    each column's dialect bind processor, so they are stored exactly as SQLAlchemy stores them."""
    conn = session.connection()
    dialect = conn.dialect
    table = AuditEntry.__table__
    names = list(rows[0])
    compiled = table.insert().compile(dialect=dialect, column_keys=names)
    procs = {n: table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names}
    if compiled.positional:
        order = compiled.positiontup
        params: list = [tuple(procs[k](r[k]) if procs[k] else r[k] for k in order) for r in rows]
    else:
        params = [{k: procs[k](r[k]) if procs[k] else r[k] for k in names} for r in rows]
    conn.exec_driver_sql(compiled.string, params)


def entry_hash(row: dict[str, Any]) -> str:
    """The entry's hash. `as_user` joins the hashed fields only when set, so entries written
    before it existed (schema 0001) keep their hashes."""
    at: datetime = row["at"]
    fields = [row["id"], row["prev_hash"], at.isoformat(timespec="microseconds"), row["actor"], row["action"],
              row["target"], row["before"], row["after"]]
    if row.get("as_user") is not None:
        fields.append(row["as_user"])
    payload = json.dumps(
        fields,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _dump(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime | None  # None: the stored time no longer parses (someone edited the store)
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    as_user: str | None = None


# The columns as stored: a time or a JSON text that someone edited into garbage must be reported,
# not crash the reader, so they are read raw (SQLite keeps text; PostgreSQL enforces its types).
_RAW = (AuditEntry.id, type_coerce(AuditEntry.at, String).label("at"), AuditEntry.actor, AuditEntry.action,
        AuditEntry.target, AuditEntry.before, AuditEntry.after, AuditEntry.prev_hash, AuditEntry.hash,
        AuditEntry.as_user)


def entries(
    op: Operation,
    *,
    actor: str | None = None,
    target: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> list[AuditRow]:
    """Newest first. `target` matches a whole target (user:a@b.c) or a kind prefix (user:)."""
    query = select(*_RAW).order_by(AuditEntry.id.desc())
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if target:
        query = query.where(AuditEntry.target.startswith(target) if target.endswith(":") else AuditEntry.target == target)
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    if offset:
        query = query.offset(offset)
    if limit:
        query = query.limit(limit)
    return [
        AuditRow(e.id, _time(e.at), e.actor, e.action, e.target, _load(e.before), _load(e.after), e.as_user)
        for e in op.session.execute(query)
    ]


def _time(value: Any) -> datetime | None:
    """A stored time as UTC, or None when it no longer parses."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _load(text: str | None) -> Any:
    """Before/after as stored JSON; text that no longer parses is shown as it is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class Head:
    """The newest entry of the chain, to be kept somewhere else: `verify --from HASH` proves the
    log still holds it and extends it (Certificate Transparency's signed tree heads, unsigned)."""

    seq: int
    hash: str
    entries: int


def head(op: Operation) -> Head:
    row = op.session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    return Head(row.last_id, row.last_hash, row.count) if row else Head(0, GENESIS, 0)


@dataclass(frozen=True)
class Problem:
    entry_id: int | None
    problem: str


@dataclass(frozen=True)
class Verification:
    checked: int
    problems: list[Problem]
    from_hash: str | None = None
    from_seq: int | None = None  # where the kept head was found in the chain


def verify(op: Operation, *, from_hash: str | None = None) -> Verification:
    """Walk the chain in id order. With `from_hash` (a head kept elsewhere), the chain must also
    hold that entry, so deleting the whole log, or its tail with the head row, is found."""
    session = op.session
    problems: list[Problem] = []
    prev_id, prev_hash, checked, found_at = 0, GENESIS, 0, None
    for entry in _stream(session):
        checked += 1
        if entry.id != prev_id + 1:
            problems.append(Problem(entry.id, f"entries {prev_id + 1}..{entry.id - 1} are missing (deleted)"))
        if entry.prev_hash != prev_hash:
            problems.append(Problem(entry.id, "does not follow the previous entry (an entry before it was deleted or altered)"))
        at = _time(entry.at)
        if at is None:
            problems.append(Problem(entry.id, "its time no longer parses (edited)"))
        else:
            row = {"id": entry.id, "at": at, "actor": entry.actor, "action": entry.action, "target": entry.target,
                   "before": entry.before, "after": entry.after, "prev_hash": entry.prev_hash, "as_user": entry.as_user}
            if entry_hash(row) != entry.hash:
                problems.append(Problem(entry.id, "content does not match its hash (edited)"))
        if entry.hash == from_hash:
            found_at = entry.id
        prev_id, prev_hash = entry.id, entry.hash
    head_row = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    if head_row is None:
        if checked:
            problems.append(Problem(prev_id, "the chain head is missing"))
    else:
        if head_row.last_id != prev_id or head_row.last_hash != prev_hash:
            problems.append(Problem(head_row.last_id, f"the log ends at entry {prev_id} but its head records entry {head_row.last_id} (newest entries deleted)"))
        if head_row.count != checked:
            problems.append(Problem(prev_id, f"{head_row.count} entries were written, {checked} remain"))
    if from_hash is not None and found_at is None:
        problems.append(Problem(None, f"the kept head {from_hash[:16]}... is not in the log (the log, or its newest entries, were deleted)"))
    return Verification(checked, problems, from_hash, found_at)


def _stream(session: Session) -> Iterator[Any]:
    last = 0
    while True:
        batch = session.execute(select(*_RAW).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(5000)).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id

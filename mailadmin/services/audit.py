"""The audit log: every change appends an entry in the same transaction, hash-chained.

Each entry's hash covers its id, its content and the previous entry's hash, and a one-row head
records the newest entry, so editing, deleting or renumbering any entry (the last ones included)
is found by `verify`. Writers are serialised by the store, so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from mailadmin.store.models import AuditEntry, AuditHead
from mailadmin.timeutil import utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class Change:
    """One change to record: `target` is `kind:identifier` (role:support, user:a@b.c)."""

    action: str
    target: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record(session: Session, actor: str, action: str, target: str, before=None, after=None) -> None:
    record_many(session, actor, [Change(action, target, before, after)])


def record_many(session: Session, actor: str, changes: Iterable[Change], *, chunk: int = 5000) -> int:
    """Append entries for many changes with one executemany per chunk. Returns the count."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    last_id, last_hash, count = (head.last_id, head.last_hash, head.count) if head else (0, GENESIS, 0)
    at = utcnow()
    rows: list[dict[str, Any]] = []
    written = 0
    for change in changes:
        last_id += 1
        row = {
            "id": last_id,
            "at": at,
            "actor": actor,
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
    at: datetime = row["at"]
    payload = json.dumps(
        [row["id"], row["prev_hash"], at.isoformat(timespec="microseconds"), row["actor"], row["action"],
         row["target"], row["before"], row["after"]],
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
    at: datetime
    actor: str
    action: str
    target: str
    before: Any
    after: Any


def entries(
    session: Session,
    *,
    actor: str | None = None,
    target: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int | None = 100,
) -> list[AuditRow]:
    """Newest first. `target` matches a whole target (user:a@b.c) or a kind prefix (user:)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if target:
        query = query.where(AuditEntry.target.startswith(target) if target.endswith(":") else AuditEntry.target == target)
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    if limit:
        query = query.limit(limit)
    return [
        AuditRow(e.id, e.at, e.actor, e.action, e.target, _load(e.before), _load(e.after))
        for e in session.execute(query).scalars()
    ]


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class Problem:
    entry_id: int
    problem: str


def verify(session: Session) -> tuple[int, list[Problem]]:
    """Walk the chain in id order; return (entries checked, problems found)."""
    problems: list[Problem] = []
    prev_id, prev_hash, checked = 0, GENESIS, 0
    for entry in _stream(session):
        checked += 1
        if entry.id != prev_id + 1:
            problems.append(Problem(entry.id, f"entries {prev_id + 1}..{entry.id - 1} are missing (deleted)"))
        if entry.prev_hash != prev_hash:
            problems.append(Problem(entry.id, "does not follow the previous entry (an entry before it was deleted or altered)"))
        row = {c: getattr(entry, c) for c in ("id", "at", "actor", "action", "target", "before", "after", "prev_hash")}
        if entry_hash(row) != entry.hash:
            problems.append(Problem(entry.id, "content does not match its hash (edited)"))
        prev_id, prev_hash = entry.id, entry.hash
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one_or_none()
    if head is None:
        if checked:
            problems.append(Problem(prev_id, "the chain head is missing"))
    else:
        if head.last_id != prev_id or head.last_hash != prev_hash:
            problems.append(Problem(head.last_id, f"the log ends at entry {prev_id} but its head records entry {head.last_id} (newest entries deleted)"))
        if head.count != checked:
            problems.append(Problem(prev_id, f"{head.count} entries were written, {checked} remain"))
    return checked, problems


def _stream(session: Session) -> Iterator[AuditEntry]:
    last = 0
    while True:
        batch = session.execute(
            select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id).limit(5000)
        ).scalars().all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id
        session.expunge_all()

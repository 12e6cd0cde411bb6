"""The account lifecycle, one user or a hundred thousand: suspend, unsuspend, close, reopen, delete.

Every command here is the same set-based run, so a single user and a script's stream of ids
follow one set of rules:
1. resolve the references in chunks (`WHERE email IN (...)`), streaming the input;
2. all-or-nothing: an unknown user stops the run before anything is written (exit 3), unless
   `skip_missing`, which reports it under `failed` and goes on (exit 1 at the end);
3. classify each user: `changed`, or `unchanged` when its state already is what was asked
   (suspending with a code that already stands, closing a closed user, reopening an open one,
   unsuspending a user with nothing standing, suspending a closed user), or refused when the
   change is not allowed (deleting a user that is not closed, without `force`): a refusal stops
   the run (exit 5);
4. apply with one statement per chunk and one audit entry per changed user (executemany), all in
   the caller's single transaction: killed half-way, the store keeps all or none of it.

A single-user invocation (`single=True`) turns `unchanged` and refusals into exit 5 with the
reason, and an unknown user into exit 3 naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from sqlalchemy import delete, insert, literal, select, update
from sqlalchemy.orm import Session

from mailadmin.errors import Conflict, InvalidInput, NotFound
from mailadmin.services import audit, status
from mailadmin.services.batching import CHUNK, Progress, chunks, no_progress
from mailadmin.services.validate import text
from mailadmin.store.models import Account, Suspension, User
from mailadmin.timeutil import utcnow

ACTIONS = ("suspend", "unsuspend", "close", "reopen", "delete")
PAST = {"suspend": "suspended", "unsuspend": "unsuspended", "close": "closed", "reopen": "reopened", "delete": "deleted"}
KNOWN_CODES = ("billing", "abuse", "bounces", "manual", "security", "compliance", "expired")
DEFAULT_CODE = "manual"
_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")



def check_code(code: str) -> str:
    value = code.strip().lower()
    if not _CODE.match(value):
        raise InvalidInput(
            f"suspension code {code!r} is not a code: a lower-case word of at most 32 characters "
            f"(e.g. {', '.join(KNOWN_CODES[:4])})"
        )
    return value


@dataclass(slots=True)
class Target:
    id: int
    email: str
    closed: bool
    is_owner: bool
    account_id: int | None
    standing: tuple[str, ...] = ()  # codes of suspensions that count now


@dataclass
class BulkReport:
    action: str
    dry_run: bool = False
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unchanged_why: dict[str, int] = field(default_factory=dict)
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"changed": self.changed, "unchanged": self.unchanged, "failed": self.failed}

    def summary(self) -> str:
        verb = PAST[self.action]
        n = len(self.changed)
        who = self.changed[0] if n == 1 and not self.unchanged and not self.failed else f"{n} user{'s' if n != 1 else ''}"
        line = f"dry run: would {self.action} {who}" if self.dry_run else f"{verb} {who}"
        if self.unchanged:
            why = ", ".join(f"{count} {reason}" for reason, count in self.unchanged_why.items())
            line += f"; {len(self.unchanged)} unchanged ({why})"
        if self.failed:
            line += f"; {len(self.failed)} failed"
        if self.dry_run:
            line += "; nothing changed"
        return line


def preview(items: list[str], shown: int = 5) -> str:
    """'a, b, c (and 12 more)': a long list in one line."""
    head = ", ".join(items[:shown])
    return head + (f" (and {len(items) - shown} more)" if len(items) > shown else "")


# -- resolving references --------------------------------------------------------------------
def resolve(
    session: Session, refs: Iterable[str], *, progress: Progress = no_progress
) -> tuple[list[Target], list[str], list[str]]:
    """(targets in input order without repeats, unknown refs, invalid refs), a chunk at a time."""
    from mailadmin.services.accounts import parse_ref

    targets: list[Target] = []
    seen: set[int] = set()
    missing: list[str] = []
    invalid: list[str] = []
    buffer: list[tuple[str, int | str]] = []
    resolved = [0]

    def flush() -> None:
        emails = [k for _, k in buffer if isinstance(k, str)]
        ids = [k for _, k in buffer if isinstance(k, int)]
        u = User.__table__.c  # Core columns: a third of the ORM-enabled select's overhead
        cols = (u.id, u.email, u.status, u.is_owner, u.account_id)
        by_email: dict[str, tuple] = {}
        by_id: dict[int, tuple] = {}
        if emails:
            by_email = {row[1]: row for row in session.execute(select(*cols).where(u.email.in_(emails)))}
        if ids:
            by_id = {row[0]: row for row in session.execute(select(*cols).where(u.id.in_(ids)))}
        for ref, key in buffer:
            row = by_id.get(key) if isinstance(key, int) else by_email.get(key)
            if row is None:
                missing.append(ref)
            elif row[0] not in seen:
                seen.add(row[0])
                targets.append(Target(row[0], row[1], row[2] == status.CLOSED, row[3], row[4]))
        resolved[0] += len(buffer)
        progress("resolving users", resolved[0], None)
        buffer.clear()

    for raw in refs:
        ref = raw.strip()
        try:
            buffer.append((ref, parse_ref(ref)))
        except InvalidInput:
            invalid.append(ref)
        if len(buffer) >= CHUNK:
            flush()
    if buffer:
        flush()
    return targets, missing, invalid


def _load_standing(session: Session, chunk: list[Target], now: datetime) -> None:
    codes: dict[int, list[str]] = {}
    s = Suspension.__table__.c
    for uid, code in session.execute(
        select(s.user_id, s.code).where(s.user_id.in_([t.id for t in chunk]), status.standing(now, s)).order_by(s.id)
    ):
        codes.setdefault(uid, []).append(code)
    for t in chunk:
        t.standing = tuple(dict.fromkeys(codes.get(t.id, ())))


def _own_status(t: Target) -> str:
    return status.CLOSED if t.closed else status.SUSPENDED if t.standing else status.ACTIVE


# -- the run ---------------------------------------------------------------------------------
@dataclass
class Request:
    action: str
    reason: str | None = None  # suspend, close
    code: str | None = None  # suspend (default manual), unsuspend (None: every code)
    until: datetime | None = None  # suspend
    force: bool = False  # delete


def make_request(action: str, *, reason: str | None = None, code: str | None = None, until: datetime | None = None,
                 force: bool = False) -> Request:
    """Validate the parameters before any user is looked at (bad input: exit 2, nothing read)."""
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}")
    if action in ("suspend", "close"):
        if reason is None:
            raise InvalidInput(f"{action} needs --reason TEXT")
        reason = text(reason, "reason")
    if action == "suspend":
        code = check_code(code or DEFAULT_CODE)
        if until is not None and until <= utcnow():
            raise InvalidInput("--until must be in the future")
    elif action == "unsuspend" and code is not None:
        code = check_code(code)
    return Request(action, reason=reason, code=code, until=until, force=force)


def _classify(req: Request, t: Target) -> tuple[str, str | None]:
    """('change', None) | ('unchanged', why) | ('refuse', why)."""
    a = req.action
    if a == "suspend":
        if t.closed:
            return "unchanged", "closed"
        if req.code in t.standing:
            return "unchanged", f"already suspended ({req.code})"
    elif a == "unsuspend":
        if not (t.standing if req.code is None else req.code in t.standing):
            return "unchanged", "not suspended" if req.code is None else f"no standing {req.code} suspension"
    elif a == "close":
        if t.closed:
            return "unchanged", "already closed"
    elif a == "reopen":
        if not t.closed:
            return "unchanged", "not closed"
    elif a == "delete":
        if not t.closed and not req.force:
            return "refuse", f"{_own_status(t)}, not closed"
    return "change", None


def run(
    session: Session,
    actor: str,
    req: Request,
    refs: Iterable[str],
    *,
    single: bool = False,
    skip_missing: bool = False,
    dry_run: bool = False,
    progress: Progress = no_progress,
) -> BulkReport:
    now = utcnow()
    report = BulkReport(req.action, dry_run=dry_run)
    targets, missing, invalid = resolve(session, refs, progress=progress)
    if single and invalid:
        from mailadmin.services.accounts import parse_ref

        parse_ref(invalid[0])  # raises the precise InvalidInput
    if single and missing:
        raise NotFound(f"no user {missing[0]!r}", hint="see `mailadmin users list --search TEXT`")
    if invalid and not skip_missing:
        raise InvalidInput(f"{len(invalid)} line(s) are neither an email nor #ID: {preview(invalid)}; nothing changed")
    if missing and not skip_missing:
        raise NotFound(f"{len(missing)} unknown user(s): {preview(missing)}; nothing changed",
                       hint="fix the list, or add --skip-missing to go on without them")
    report.failed = [{"id": r, "error": "not an email or #ID"} for r in invalid] + [{"id": r, "error": "no such user"} for r in missing]

    # classify everything before writing anything: a refusal must leave the store untouched
    plan: list[list[Target]] = []
    refused: list[tuple[str, str]] = []
    for chunk in chunks(targets):
        _load_standing(session, chunk, now)
        todo: list[Target] = []
        for t in chunk:
            verdict, why = _classify(req, t)
            if verdict == "change":
                todo.append(t)
            elif verdict == "refuse":
                refused.append((t.email, why))
            else:
                if single:
                    raise Conflict(f"{t.email} {'has' if why.startswith('no ') else 'is'} {why}", hint=_hint(req, why))
                report.unchanged.append(t.email)
                report.unchanged_why[why] = report.unchanged_why.get(why, 0) + 1
        plan.append(todo)
    if refused:
        if single:
            raise Conflict(f"{refused[0][0]} is {refused[0][1]}; delete removes closed users",
                           hint=f"close it first (`mailadmin users close {refused[0][0]} --reason TEXT`) or add --force")
        raise Conflict(f"{len(refused)} user(s) are not closed: {preview([e for e, _ in refused])}; nothing changed",
                       hint="close them first, or add --force")

    for todo in plan:
        if not todo:
            continue
        if not dry_run:
            _apply(session, actor, req, todo, now)
        report.changed.extend(t.email for t in todo)
        progress(PAST[req.action], len(report.changed), len(targets))
    return report


def _hint(req: Request, why: str | None) -> str | None:
    if req.action == "suspend" and why == "closed":
        return "reopen it first (`mailadmin users reopen USER`)"
    if req.action == "suspend":
        return "lift it first (`mailadmin users unsuspend USER --code CODE`) to change it"
    if req.action == "unsuspend":
        return "see its suspensions with `mailadmin users show USER`"
    return None


def _apply(session: Session, actor: str, req: Request, todo: list[Target], now: datetime) -> None:
    ids = [t.id for t in todo]
    a = req.action
    changes: list[audit.Change]
    if a == "suspend":
        cols = Suspension.__table__.c
        session.execute(  # INSERT ... SELECT: one statement per chunk, no per-row parameters
            insert(Suspension.__table__).from_select(
                ["user_id", "code", "reason", "actor", "started_at", "until"],
                select(User.__table__.c.id, literal(req.code, cols.code.type), literal(req.reason, cols.reason.type),
                       literal(actor, cols.actor.type), literal(now, cols.started_at.type), literal(req.until, cols.until.type))
                .where(User.__table__.c.id.in_(ids)),
            )
        )
        after = {"status": status.SUSPENDED, "code": req.code, "reason": req.reason, "until": req.until}
        changes = [audit.Change("user.suspend", f"user:{t.email}", {"status": _own_status(t)}, after) for t in todo]
    elif a == "unsuspend":
        s = Suspension.__table__.c
        cond = [s.user_id.in_(ids), status.standing(now, s)]
        if req.code is not None:
            cond.append(s.code == req.code)
        session.execute(update(Suspension.__table__).where(*cond).values(lifted_at=now, lifted_by=actor))
        changes = []
        for t in todo:
            lifted = list(t.standing) if req.code is None else [req.code]
            left = [c for c in t.standing if c not in lifted]
            after_status = status.CLOSED if t.closed else status.SUSPENDED if left else status.ACTIVE
            changes.append(audit.Change("user.unsuspend", f"user:{t.email}", {"status": _own_status(t), "suspensions": list(t.standing)},
                                        {"status": after_status, "lifted": lifted}))
    elif a == "close":
        session.execute(
            update(User.__table__).where(User.__table__.c.id.in_(ids)).values(status=status.CLOSED, closed_reason=req.reason, closed_by=actor, closed_at=now)
        )
        changes = [audit.Change("user.close", f"user:{t.email}", {"status": _own_status(t)},
                                {"status": status.CLOSED, "reason": req.reason}) for t in todo]
    elif a == "reopen":
        session.execute(
            update(User.__table__).where(User.__table__.c.id.in_(ids)).values(status=status.ACTIVE, closed_reason=None, closed_by=None, closed_at=None)
        )
        changes = [audit.Change("user.reopen", f"user:{t.email}", {"status": status.CLOSED},
                                {"status": status.SUSPENDED if t.standing else status.ACTIVE}) for t in todo]
    else:  # delete: the user row (its suspensions cascade) and an owner's account; ledger and audit stay
        accounts = [t.account_id for t in todo if t.is_owner and t.account_id is not None]
        session.execute(delete(User.__table__).where(User.__table__.c.id.in_(ids)))
        if accounts:
            session.execute(delete(Account.__table__).where(Account.__table__.c.id.in_(accounts)))
        changes = [audit.Change("user.delete", f"user:{t.email}",
                                {"status": _own_status(t), "account_id": t.account_id, "is_owner": t.is_owner}, None) for t in todo]
    audit.record_many(session, actor, changes)

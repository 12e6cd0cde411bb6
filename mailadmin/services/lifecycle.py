"""The account lifecycle, one user or a hundred thousand: suspend, unsuspend, close, reopen, delete.

Every command here is the same set-based run, so a single user and a script's stream of ids
follow one set of rules:
1. resolve the references in chunks (services/accounts.resolve), streaming the input;
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
reason, and an unknown user into exit 3 naming it. Statuses before and after come from
services/status.py, like everywhere else.

Run as a client user (`--as`), a run may touch only the actor's own account, through its owner,
with the command's key (account.delete): users of other accounts are unknown users, as if they did
not exist, and a member of the actor's own account is refused (a member leaves with `users remove`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from sqlalchemy import delete, insert, literal, select, update

from mailadmin.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mailadmin.operation import Operation
from mailadmin.refs import UserRef
from mailadmin.services import access, accounts, audit, status
from mailadmin.services.accounts import BadRef, Resolved, no_such_user
from mailadmin.services.batching import Progress, chunks, no_progress
from mailadmin.services.validate import text
from mailadmin.store.models import Account, Suspension, User
from mailadmin.units import preview
from mailadmin.vocab import CLOSED, DEFAULT_SUSPENSION_CODE, LIFECYCLE_ACTIONS

SUSPEND, UNSUSPEND, CLOSE, REOPEN, DELETE = LIFECYCLE_ACTIONS
INVALID, MISSING = "invalid", "missing"  # why a reference is under `failed`
_PHASE = {SUSPEND: "suspended", UNSUSPEND: "unsuspended", CLOSE: "closed", REOPEN: "reopened", DELETE: "deleted"}


@dataclass(slots=True)
class Target:
    id: int
    email: str
    closed: bool
    is_owner: bool
    account_id: int | None
    standing: tuple[str, ...] = ()  # codes of suspensions that count now
    ref: UserRef | None = None  # as it was given (a client's failure names it, never the email behind an id)

    @property
    def own_status(self) -> str:
        return status.own_status(self.closed, self.standing)


@dataclass(frozen=True)
class Failed:
    ref: str  # as it was given
    problem: str  # INVALID (names no user) | MISSING (no such user)


@dataclass
class BulkReport:
    """What a run did: emails changed and unchanged (with why, counted), references that failed."""

    action: str
    dry_run: bool = False
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unchanged_why: dict[str, int] = field(default_factory=dict)
    failed: list[Failed] = field(default_factory=list)


# -- resolving references --------------------------------------------------------------------
def _query():
    return select(User.id, User.email, User.status, User.is_owner, User.account_id)


def resolve(op: Operation, refs: Iterable[UserRef | BadRef], *,
            progress: Progress = no_progress) -> tuple[list[Target], list[Resolved]]:
    """(targets in input order without repeats, references that name no user), streamed."""
    targets: list[Target] = []
    seen: set[int] = set()
    failures: list[Resolved] = []
    for found in accounts.resolve(op.session, refs, _query(), progress=progress):
        if found.error is not None:
            failures.append(found)
        elif found.row[0] not in seen:
            uid, email, stored, is_owner, account_id = found.row
            seen.add(uid)
            targets.append(Target(uid, email, stored == CLOSED, is_owner, account_id, ref=found.ref))
    return targets, failures


def _own_account(op: Operation, req: Request, targets: list[Target],
                 failures: list[Resolved]) -> tuple[list[Target], list[Resolved]]:
    """A client user's run: the targets in its own account (only its owner, checked for the
    command's key once), the others turned into unknown users. Operators: unchanged."""
    if op.actor.is_operator:
        return targets, failures
    actor_account = access.acting(op).account_id  # refuses first who cannot act at all (rule 8)
    mine = [t for t in targets if t.account_id == actor_account]
    hidden = [Resolved(t.ref, error=no_such_user(t.ref)) for t in targets if t.account_id != actor_account]
    members = [t.email for t in mine if not t.is_owner]
    if members:
        raise PermissionDenied(f"{req.action} acts on a whole account, through its owner; {preview(members)} "
                               f"{'is a member' if len(members) == 1 else 'are members'} of it",
                               hint="a member leaves with `mailadmin users remove MEMBER`")
    if mine:
        access.authorize(op, account_id=actor_account)
    return mine, [*failures, *hidden]


def _load_standing(op: Operation, chunk: list[Target]) -> None:
    codes: dict[int, list[str]] = {}
    s = Suspension.__table__.c
    for uid, code in op.session.execute(
        select(s.user_id, s.code).where(s.user_id.in_([t.id for t in chunk]), status.standing(op.now, s)).order_by(s.id)
    ):
        codes.setdefault(uid, []).append(code)
    for t in chunk:
        t.standing = tuple(dict.fromkeys(codes.get(t.id, ())))


# -- the run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    action: str
    reason: str | None = None  # suspend, close
    code: str | None = None  # suspend (default manual), unsuspend (None: every code)
    until: datetime | None = None  # suspend
    force: bool = False  # delete


def make_request(action: str, *, now: datetime, reason: str | None = None, code: str | None = None,
                 until: datetime | None = None, force: bool = False) -> Request:
    """Check the parameters before any user is looked at (bad input: exit 2, nothing read).
    `code` is a code already (cli/parse.suspension_code); `until` must come after `now`."""
    if action not in LIFECYCLE_ACTIONS:
        raise InvalidInput(f"unknown action {action!r}")
    if action in (SUSPEND, CLOSE):
        if reason is None:
            raise InvalidInput(f"{action} needs --reason TEXT")
        reason = text(reason, "reason")
    if action == SUSPEND:
        code = code or DEFAULT_SUSPENSION_CODE
        if until is not None and until <= now:
            raise InvalidInput("--until must be in the future")
    elif action != UNSUSPEND:
        code = None
    return Request(action, reason=reason, code=code, until=until if action == SUSPEND else None, force=force)


CHANGE, UNCHANGED, REFUSE = "change", "unchanged", "refuse"


def classify(req: Request, t: Target) -> tuple[str, str | None]:
    """(CHANGE, None) | (UNCHANGED, why) | (REFUSE, why): the state machine, one user."""
    a = req.action
    if a == SUSPEND:
        if t.closed:
            return UNCHANGED, "closed"
        if req.code in t.standing:
            return UNCHANGED, f"already suspended ({req.code})"
    elif a == UNSUSPEND:
        if not (t.standing if req.code is None else req.code in t.standing):
            return UNCHANGED, "not suspended" if req.code is None else f"no standing {req.code} suspension"
    elif a == CLOSE:
        if t.closed:
            return UNCHANGED, "already closed"
    elif a == REOPEN:
        if not t.closed:
            return UNCHANGED, "not closed"
    elif a == DELETE:
        if not t.closed and not req.force:
            return REFUSE, f"{t.own_status}, not closed"
    return CHANGE, None


def run(
    op: Operation,
    req: Request,
    refs: Iterable[UserRef | BadRef],
    *,
    single: bool = False,
    skip_missing: bool = False,
    dry_run: bool = False,
    progress: Progress = no_progress,
) -> BulkReport:
    report = BulkReport(req.action, dry_run=dry_run)
    targets, failures = resolve(op, refs, progress=progress)
    targets, failures = _own_account(op, req, targets, failures)
    if single and failures:
        raise failures[0].error  # the precise reason: not a reference (exit 2), or no such user (exit 3)
    invalid = [str(f.ref) for f in failures if isinstance(f.error, InvalidInput)]
    missing = [str(f.ref) for f in failures if not isinstance(f.error, InvalidInput)]
    if invalid and not skip_missing:
        raise InvalidInput(f"{len(invalid)} line(s) are neither an email nor #ID: {preview(invalid)}; nothing changed")
    if missing and not skip_missing:
        raise NotFound(f"{len(missing)} unknown user(s): {preview(missing)}; nothing changed",
                       hint="fix the list, or add --skip-missing to go on without them")
    report.failed = [Failed(r, INVALID) for r in invalid] + [Failed(r, MISSING) for r in missing]

    # classify everything before writing anything: a refusal must leave the store untouched
    plan: list[list[Target]] = []
    refused: list[tuple[str, str]] = []
    for chunk in chunks(targets):
        _load_standing(op, chunk)
        todo: list[Target] = []
        for t in chunk:
            verdict, why = classify(req, t)
            if verdict == CHANGE:
                todo.append(t)
            elif verdict == REFUSE:
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
            _apply(op, req, todo)
        report.changed.extend(t.email for t in todo)
        progress("checked" if dry_run else _PHASE[req.action], len(report.changed), len(targets))
    return report


def _hint(req: Request, why: str | None) -> str | None:
    if req.action == SUSPEND and why == "closed":
        return "reopen it first (`mailadmin users reopen USER`)"
    if req.action == SUSPEND:
        return "lift it first (`mailadmin users unsuspend USER --code CODE`) to change it"
    if req.action == UNSUSPEND:
        return "see its suspensions with `mailadmin users show USER`"
    return None


def _apply(op: Operation, req: Request, todo: list[Target]) -> None:
    session, actor, now = op.session, op.actor.name, op.now
    ids = [t.id for t in todo]
    users = User.__table__.c
    a = req.action
    changes: list[audit.Change]
    if a == SUSPEND:
        cols = Suspension.__table__.c
        session.execute(  # INSERT ... SELECT: one statement per chunk, no per-row parameters
            insert(Suspension.__table__).from_select(
                ["user_id", "code", "reason", "actor", "started_at", "until"],
                select(users.id, literal(req.code, cols.code.type), literal(req.reason, cols.reason.type),
                       literal(actor, cols.actor.type), literal(now, cols.started_at.type), literal(req.until, cols.until.type))
                .where(users.id.in_(ids)),
            )
        )
        changes = [
            audit.Change("user.suspend", f"user:{t.email}", {"status": t.own_status},
                         {"status": status.own_status(t.closed, (*t.standing, req.code)), "code": req.code,
                          "reason": req.reason, "until": req.until})
            for t in todo
        ]
    elif a == UNSUSPEND:
        s = Suspension.__table__.c
        cond = [s.user_id.in_(ids), status.standing(now, s)]
        if req.code is not None:
            cond.append(s.code == req.code)
        session.execute(update(Suspension.__table__).where(*cond).values(lifted_at=now, lifted_by=actor))
        changes = []
        for t in todo:
            lifted = list(t.standing) if req.code is None else [req.code]
            left = [c for c in t.standing if c not in lifted]
            changes.append(audit.Change("user.unsuspend", f"user:{t.email}", {"status": t.own_status, "suspensions": list(t.standing)},
                                        {"status": status.own_status(t.closed, left), "lifted": lifted}))
    elif a == CLOSE:
        session.execute(
            update(User.__table__).where(users.id.in_(ids)).values(status=CLOSED, closed_reason=req.reason, closed_by=actor, closed_at=now)
        )
        changes = [audit.Change("user.close", f"user:{t.email}", {"status": t.own_status},
                                {"status": status.own_status(True, t.standing), "reason": req.reason}) for t in todo]
    elif a == REOPEN:
        session.execute(
            update(User.__table__).where(users.id.in_(ids)).values(status=status.ACTIVE, closed_reason=None, closed_by=None, closed_at=None)
        )
        changes = [audit.Change("user.reopen", f"user:{t.email}", {"status": t.own_status},
                                {"status": status.own_status(False, t.standing)}) for t in todo]
    else:  # delete: the user row (its suspensions cascade) and an owner's account; ledger and audit stay
        owned = [t.account_id for t in todo if t.is_owner and t.account_id is not None]
        session.execute(delete(User.__table__).where(users.id.in_(ids)))
        if owned:
            session.execute(delete(Account.__table__).where(Account.__table__.c.id.in_(owned)))
        changes = [audit.Change("user.delete", f"user:{t.email}",
                                {"status": t.own_status, "account_id": t.account_id, "is_owner": t.is_owner}, None) for t in todo]
    audit.record_many(op, changes)

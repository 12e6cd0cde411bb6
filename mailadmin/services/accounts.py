"""Finding users and their accounts from typed references: one user, or a stream of them.

Both paths are the same lookup: references are grouped into chunks and looked up with
`IN (...)`, emails as typed first (the store keeps only normalised addresses, so a hit is valid
by construction) and only the misses validated with email-validator and tried again in their
normal form. An id that cannot exist (beyond the INTEGER column) is not found without a query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from mailadmin.errors import Conflict, InvalidInput, MailadminError, NotFound
from mailadmin.operation import Operation
from mailadmin.refs import UserRef, normalise_email
from mailadmin.services.batching import CHUNK, Progress, no_progress
from mailadmin.store.models import Account, User

LIST_HINT = "see `mailadmin users list --search TEXT`"


@dataclass(frozen=True)
class BadRef:
    """A line that names no user at all (neither an email nor #ID), kept to be reported."""

    text: str
    error: InvalidInput

    def __str__(self) -> str:
        return self.text


def no_such_user(ref: object) -> NotFound:
    return NotFound(f"no user {str(ref).strip()!r}", hint=LIST_HINT)


@dataclass(frozen=True)
class Resolved:
    """One reference and what it named: a row of the caller's query, or why there is none."""

    ref: UserRef | BadRef
    row: Any = None
    error: MailadminError | None = None


def resolve(session: Session, refs: Iterable[UserRef | BadRef], query: Select, *, chunk: int = CHUNK,
            progress: Progress = no_progress) -> Iterator[Resolved]:
    """Each reference with its row of `query` (which selects from User and returns User.id and
    User.email as its first two columns), in input order, a chunk at a time: the input streams."""
    buffer: list[UserRef | BadRef] = []
    done = 0
    for ref in refs:
        buffer.append(ref)
        if len(buffer) >= chunk:
            yield from _resolve_chunk(session, buffer, query)
            done += len(buffer)
            progress("resolving users", done, None)
            buffer = []
    if buffer:
        yield from _resolve_chunk(session, buffer, query)
        progress("resolving users", done + len(buffer), None)


def _resolve_chunk(session: Session, refs: list[UserRef | BadRef], query: Select) -> list[Resolved]:
    ids = {r.id for r in refs if isinstance(r, UserRef) and r.id is not None and r.can_exist}
    emails = {r.email for r in refs if isinstance(r, UserRef) and r.email is not None}
    by_id = {row[0]: row for row in session.execute(query.where(User.id.in_(ids)))} if ids else {}
    by_email = {row[1]: row for row in session.execute(query.where(User.email.in_(emails)))} if emails else {}
    # misses typed in a form the store does not keep: validate, and try their normal form
    retry: dict[str, str | InvalidInput] = {}
    for ref in refs:
        if isinstance(ref, UserRef) and ref.email is not None and ref.email not in by_email and not ref.normalised:
            try:
                retry[ref.email] = normalise_email(ref.email)
            except InvalidInput as exc:
                retry[ref.email] = exc
    second = {v for k, v in retry.items() if isinstance(v, str) and v != k}
    if second:
        by_email.update({row[1]: row for row in session.execute(query.where(User.email.in_(second)))})
    out: list[Resolved] = []
    for ref in refs:
        if isinstance(ref, BadRef):
            out.append(Resolved(ref, error=ref.error))
        elif ref.id is not None:
            row = by_id.get(ref.id)
            out.append(Resolved(ref, row) if row is not None else Resolved(ref, error=no_such_user(ref)))
        else:
            key = retry.get(ref.email, ref.email)  # type: ignore[arg-type]
            if isinstance(key, InvalidInput):
                out.append(Resolved(ref, error=key))  # a simple-looking but invalid address: exit 2, not 3
            else:
                row = by_email.get(key)
                out.append(Resolved(ref, row) if row is not None else Resolved(ref, error=no_such_user(ref)))
    return out


def resolve_one(session: Session, ref: UserRef, query: Select) -> Any:
    """The row of `query` for one reference, or its error raised."""
    (found,) = _resolve_chunk(session, [ref], query)
    if found.error is not None:
        raise found.error
    return found.row


def find_user(op: Operation, ref: UserRef) -> User:
    """The User one reference names (exit 3 when none, 2 when it is no valid address)."""
    row = resolve_one(op.session, ref, select(User.id, User.email))
    return op.session.get(User, row[0])


def owner_of(session: Session, account_id: int) -> User | None:
    """The account's owner (None only for an account whose owner row was edited away)."""
    return session.execute(select(User).where(User.account_id == account_id, User.is_owner)).scalar_one_or_none()


def account_of(session: Session, user: User) -> Account:
    """The account a user belongs to (owner or member); a removed member has none."""
    if user.account_id is None:
        raise Conflict(f"{user.email} belongs to no account (removed from its team)")
    return session.get(Account, user.account_id)

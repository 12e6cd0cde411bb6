"""Account and user status, derived rather than stored: `closed` is a column, `suspended` means
a suspension record stands (not lifted, and its `until` not yet passed), so a suspension whose
end has passed stops counting with no job to run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from mailadmin.store.models import Suspension, User

ACTIVE, SUSPENDED, CLOSED = "active", "suspended", "closed"
STATUSES = (ACTIVE, SUSPENDED, CLOSED)


def standing(now: datetime, columns=None):
    """SQL condition: this Suspension row counts at `now`. `columns` may be the Core table's
    columns (`Suspension.__table__.c`) for Core statements in bulk paths."""
    s = Suspension if columns is None else columns
    return and_(s.lifted_at.is_(None), or_(s.until.is_(None), s.until > now))


def is_suspended(user_id_column, now: datetime):
    """SQL condition: the user behind `user_id_column` has a standing suspension (set-based)."""
    return exists(select(Suspension.id).where(Suspension.user_id == user_id_column, standing(now)))


def status_of(session: Session, user: User, now: datetime) -> str:
    if user.status == CLOSED:
        return CLOSED
    suspended = session.execute(select(is_suspended(user.id, now))).scalar()
    return SUSPENDED if suspended else ACTIVE


def status_column(user, owner, now: datetime):
    """SQL expression: a user's effective status, set-based (lists and filters).

    `owner` is an aliased User joined on the same account with is_owner (NULL for a user with no
    account). Suspending or closing an owner shuts out the whole team: a member reads as closed
    or suspended while its owner is, derived at evaluation time, so lifting it restores exactly
    what it shut out with nothing to cascade.
    """
    from sqlalchemy import case

    return case(
        (or_(user.status == CLOSED, owner.status == CLOSED), CLOSED),
        (or_(is_suspended(user.id, now), and_(owner.id.is_not(None), owner.id != user.id, is_suspended(owner.id, now))), SUSPENDED),
        else_=ACTIVE,
    )


def own_status(user: User, standing_codes: set[str] | list[str]) -> str:
    """A user's own status (without its owner), from its row and its standing suspension codes."""
    if user.status == CLOSED:
        return CLOSED
    return SUSPENDED if standing_codes else ACTIVE


def standing_suspensions(session: Session, user_id: int, now: datetime) -> list[Suspension]:
    """The suspensions that count now, oldest first."""
    return list(
        session.execute(
            select(Suspension).where(Suspension.user_id == user_id, standing(now)).order_by(Suspension.started_at, Suspension.id)
        ).scalars()
    )


def effective_status(session: Session, user: User, now: datetime) -> tuple[str, str | None]:
    """(status, why) for one user: its own status, else the one its owner imposes on the team."""
    own = status_of(session, user, now)
    if own != ACTIVE or user.is_owner or user.account_id is None:
        return own, None
    owner = session.execute(select(User).where(User.account_id == user.account_id, User.is_owner)).scalar_one_or_none()
    if owner is None:
        return own, None
    owners = status_of(session, owner, now)
    if owners == ACTIVE:
        return own, None
    return owners, f"the account owner {owner.email} is {owners}"

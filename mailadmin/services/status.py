"""Account and user status, and plan expiry: derived here and nowhere else.

`closed` is a column; `suspended` means a suspension record stands (not lifted, its `until` not
yet passed), so a suspension whose end has passed stops counting with no job to run. An owner's
state shuts out the whole team, worked out when status is read, so lifting it restores exactly
what it shut out with nothing to cascade. Both a set-based SQL form (lists, bulk runs, filters)
and a per-row form (one user) are here, side by side, so they cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import and_, case, exists, or_, select
from sqlalchemy.orm import Session

from mailadmin.store.models import Suspension, User
from mailadmin.vocab import ACTIVE, CLOSED, SUSPENDED

# -- plan expiry -----------------------------------------------------------------------------
def plan_expires_at(expires_after_days: int | None, start: datetime) -> datetime | None:
    """When a plan that starts at `start` ends; None when the package's plans never expire."""
    return start + timedelta(days=expires_after_days) if expires_after_days else None


def plan_expired(expires_at: datetime | None, now: datetime) -> bool:
    """The plan has ended: the account is read-only (seed 000)."""
    return expires_at is not None and expires_at <= now


# -- one user, from what is already loaded ---------------------------------------------------
def own_status(closed: bool, standing_codes: Iterable[str] | bool) -> str:
    """A user's own status (without its owner's): closed wins over suspended."""
    if closed:
        return CLOSED
    return SUSPENDED if standing_codes else ACTIVE


# -- SQL forms -------------------------------------------------------------------------------
def standing(now: datetime, columns=None):
    """SQL condition: this Suspension row counts at `now`. `columns` may be the Core table's
    columns (`Suspension.__table__.c`) for Core statements in bulk paths."""
    s = Suspension if columns is None else columns
    return and_(s.lifted_at.is_(None), or_(s.until.is_(None), s.until > now))


def is_suspended(user_id_column, now: datetime):
    """SQL condition: the user behind `user_id_column` has a standing suspension (set-based)."""
    return exists(select(Suspension.id).where(Suspension.user_id == user_id_column, standing(now)))


def own_status_column(user, now: datetime):
    """SQL expression: a user's own status (an account's status is its owner's own status)."""
    return case((user.status == CLOSED, CLOSED), (is_suspended(user.id, now), SUSPENDED), else_=ACTIVE)


def status_column(user, owner, now: datetime):
    """SQL expression: a user's effective status, set-based (lists and filters).

    `owner` is an aliased User joined on the same account with is_owner (NULL for a user with no
    account). A member reads as closed or suspended while its owner is."""
    return case(
        (or_(user.status == CLOSED, owner.status == CLOSED), CLOSED),
        (or_(is_suspended(user.id, now), and_(owner.id.is_not(None), owner.id != user.id, is_suspended(owner.id, now))), SUSPENDED),
        else_=ACTIVE,
    )


# -- one user, from the store ----------------------------------------------------------------
def standing_suspensions(session: Session, user_id: int, now: datetime) -> list[Suspension]:
    """The suspensions that count now, oldest first."""
    return list(
        session.execute(
            select(Suspension).where(Suspension.user_id == user_id, standing(now)).order_by(Suspension.started_at, Suspension.id)
        ).scalars()
    )


def effective_status(session: Session, user: User, now: datetime) -> tuple[str, str | None]:
    """(status, why) for one user: its own status, else the one its owner imposes on the team."""
    own = session.execute(select(own_status_column(User, now)).where(User.id == user.id)).scalar_one()
    if own == CLOSED or user.is_owner or user.account_id is None:
        return own, None
    row = session.execute(
        select(User.email, own_status_column(User, now)).where(User.account_id == user.account_id, User.is_owner)
    ).first()
    # the owner's state wins when it is worse: a suspended member of a closed account is closed,
    # as status_column says for lists
    if row is None or row[1] == ACTIVE or row[1] == own:
        return own, None
    return row[1], f"the account owner {row[0]} is {row[1]}"

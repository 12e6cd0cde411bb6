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


def standing(now: datetime):
    """SQL condition: this Suspension row counts at `now`."""
    return and_(Suspension.lifted_at.is_(None), or_(Suspension.until.is_(None), Suspension.until > now))


def is_suspended(user_id_column, now: datetime):
    """SQL condition: the user behind `user_id_column` has a standing suspension (set-based)."""
    return exists(select(Suspension.id).where(Suspension.user_id == user_id_column, standing(now)))


def status_of(session: Session, user: User, now: datetime) -> str:
    if user.status == CLOSED:
        return CLOSED
    suspended = session.execute(select(is_suspended(user.id, now))).scalar()
    return SUSPENDED if suspended else ACTIVE

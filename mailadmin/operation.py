"""One operation: the store session it runs in, who acts, and the moment it happens at.

cli/ builds one per transaction of an invocation (batch mode: one per line; a server: one per
request) and passes it to every service, so services never read the clock or the environment
themselves, and a test can hand them any actor and any time (gh's `CloseOptions`, alembic's
`command.upgrade(config, ...)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailadmin.needs import Need

OPERATOR, USER = "operator", "user"


@dataclass(frozen=True)
class Actor:
    """Who acts: the operator running the command (its OS user name), or a client user acting
    through `--as` (its user id and email). `name` is what the audit log records."""

    kind: str  # operator | user
    id: str | int  # the OS user name, or the user's id
    name: str
    on_behalf_of: "Actor | None" = None  # the operator behind a user acting through --as

    @classmethod
    def operator(cls, login: str) -> "Actor":
        return cls(OPERATOR, login, login)

    @classmethod
    def user(cls, user_id: int, email: str, operator: "Actor") -> "Actor":
        """A client user acting through --as, on behalf of the operator who ran the command."""
        return cls(USER, user_id, email, operator)

    @property
    def is_operator(self) -> bool:
        return self.kind == OPERATOR

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Operation:
    """What every service takes: `session` (one transaction), `actor`, and `now` (UTC, fixed for
    the whole transaction so every row and audit entry of one change agree on its time). `need`
    is what the running command declared (mailadmin/needs.py): services check a client user's
    part of it on the account or domain they act on (services/access.authorize)."""

    session: "Session"
    actor: Actor
    now: datetime
    need: "Need | None" = None

"""Per-invocation state the root callback sets (--db) and the helpers commands share.

Kept light: the store is imported only when a command asks for it.
"""

from __future__ import annotations

import getpass
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailadmin.render.output import Format
    from mailadmin.store import Store


@dataclass
class State:
    db: str | None = None


state = State()


def store(*, check_schema: bool = True) -> "Store":
    from mailadmin.store import open_store

    return open_store(state.db, check_schema=check_schema)


@contextmanager
def write() -> Iterator["Session"]:
    with store().write() as session:
        yield session


@contextmanager
def read() -> Iterator["Session"]:
    with store().read() as session:
        yield session


def actor() -> str:
    """The operator running the command: the OS user, recorded in every audit entry."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def output_format(value: "Format | None", *, allow_ids: bool = True) -> "Format":
    """-o if given, else the config file's `output`, else table."""
    from mailadmin import config
    from mailadmin.errors import InvalidInput
    from mailadmin.render.output import Format

    if value is None:
        return Format(config.get("output"))
    if value is Format.ids and not allow_ids:
        raise InvalidInput("-o ids is offered by list commands only; use table, json or csv")
    return value


def can_prompt() -> bool:
    """A person is there to answer: both stdin and stderr are terminals (gh's CanPrompt)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm(question: str, yes: bool) -> None:
    """Ask a person before a destructive change; a script without --yes gets exit 2 at once."""
    from mailadmin.errors import InvalidInput

    if yes:
        return
    if not can_prompt():
        raise InvalidInput("this change needs confirmation and no terminal is attached", hint="add --yes")
    import typer

    if not typer.confirm(question, default=False, err=True):
        from mailadmin.errors import Failure

        raise Failure("cancelled; nothing changed")

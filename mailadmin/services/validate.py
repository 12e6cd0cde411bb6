"""Input checks shared by services: slugs, emails, limits, names."""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Iterable

from mailadmin.errors import InvalidInput, NotFound

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
# One line means one line: besides control characters (\n, \r, \v, \f...), Unicode's own line and
# paragraph separators and NEL end a line in some readers too.
_LINE_BREAKS = {"\u2028", "\u2029", "\u0085"}


def slug(value: str, what: str) -> str:
    """Roles and packages are lower-case slugs (SPEC section 4), matched whole: `p1\n` is not `p1`."""
    if not SLUG.fullmatch(value):
        raise InvalidInput(
            f"{what} name {value!r} is not a slug: use lower-case letters, digits, '-' and '_', starting with a letter or digit (at most 64)"
        )
    return value


def text(value: str, what: str, *, max_len: int = 1000, allow_empty: bool = False) -> str:
    """One line of text: surrounding spaces trimmed, no line break of any kind, no control character."""
    value = value.strip(" \t")
    if any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in value):  # \n, \r, \v... included
        raise InvalidInput(f"{what} must not contain control characters")
    if any(ch in _LINE_BREAKS for ch in value):
        raise InvalidInput(f"{what} must be one line (it holds a Unicode line separator)")
    if not value and not allow_empty:
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    return value


def by_name(session, model, name: str, what: str, *, list_command: str):
    """The row of `model` (a role, a package) with this name, or NotFound naming the closest."""
    from sqlalchemy import select

    if not SLUG.fullmatch(name):  # no such name can be stored; a NUL must not even reach the driver
        raise not_found(what, name, session.execute(select(model.name)).scalars(), list_command=list_command)
    row = session.execute(select(model).where(model.name == name)).scalar_one_or_none()
    if row is None:
        raise not_found(what, name, session.execute(select(model.name)).scalars(), list_command=list_command)
    return row


def not_found(what: str, name: str, known: Iterable[str], *, list_command: str) -> NotFound:
    """A NotFound naming the closest known name, or the command that lists them."""
    close = get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"see `{list_command}`"
    return NotFound(f"no {what} named {name!r}", hint=hint)

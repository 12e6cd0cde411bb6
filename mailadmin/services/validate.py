"""Input checks shared by services: slugs, emails, limits, names."""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Iterable

from mailadmin.errors import InvalidInput, NotFound

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def slug(value: str, what: str) -> str:
    """Roles and packages are lower-case slugs (SPEC section 4)."""
    if not SLUG.match(value):
        raise InvalidInput(
            f"{what} name {value!r} is not a slug: use lower-case letters, digits, '-' and '_', starting with a letter or digit (at most 64)"
        )
    return value


def text(value: str, what: str, *, max_len: int = 1000, allow_empty: bool = False) -> str:
    value = value.strip()
    if not value and not allow_empty:
        raise InvalidInput(f"{what} must not be empty")
    if len(value) > max_len:
        raise InvalidInput(f"{what} is longer than {max_len} characters")
    if any(ord(ch) < 32 and ch not in "\t" for ch in value):
        raise InvalidInput(f"{what} must not contain control characters")
    return value


def not_found(what: str, name: str, known: Iterable[str], *, list_command: str) -> NotFound:
    """A NotFound naming the closest known name, or the command that lists them."""
    close = get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else f"see `{list_command}`"
    return NotFound(f"no {what} named {name!r}", hint=hint)

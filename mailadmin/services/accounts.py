"""Finding users and their accounts from what an operator types: an email or `#ID`."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailadmin.errors import Conflict, InvalidInput, NotFound
from mailadmin.store.models import Account, User


# Plain ASCII addresses are looked up as typed (lower-cased) before email-validator is loaded:
# the store keeps only normalised addresses, so a hit is valid by construction, and only a miss
# pays for validation (the import, and about 30 us an address).
SIMPLE_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def normalise_email(raw: str) -> str:
    """Validated and normalised (IDNA domain, lower-case): the one spelling the store keeps."""
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{raw!r} is not a valid email address: {exc}") from None
    return f"{info.local_part}@{info.ascii_domain}".lower()


def parse_ref(ref: str) -> int | str:
    """`#12` -> 12; an email -> the spelling to look up (see SIMPLE_EMAIL)."""
    ref = ref.strip()
    if ref.startswith("#"):
        if not ref[1:].isdigit():
            raise InvalidInput(f"{ref!r} is not a user id: use #ID (digits) or an email")
        return int(ref[1:])
    if SIMPLE_EMAIL.match(ref):
        return ref.lower()
    if "@" not in ref:
        raise InvalidInput(f"{ref!r} is neither an email nor #ID")
    return normalise_email(ref)


def find_user(session: Session, ref: str) -> User:
    key = parse_ref(ref)
    query = select(User).where(User.id == key) if isinstance(key, int) else select(User).where(User.email == key)
    user = session.execute(query).scalar_one_or_none()
    if user is None:
        if isinstance(key, str):
            normalise_email(ref)  # a simple-looking but invalid address is exit 2, not 3
        raise NotFound(f"no user {ref.strip()!r}", hint="see `mailadmin users list --search TEXT`")
    return user


def account_of(session: Session, user: User) -> Account:
    """The account a user belongs to (owner or member); a removed member has none."""
    if user.account_id is None:
        raise Conflict(f"{user.email} belongs to no account (removed from its team)")
    return session.get(Account, user.account_id)

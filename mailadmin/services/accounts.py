"""Finding users and their accounts from what an operator types: an email or `#ID`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailadmin.errors import Conflict, InvalidInput, NotFound
from mailadmin.store.models import Account, User


def normalise_email(raw: str) -> str:
    """Validated and normalised (IDNA domain, lower-case): the one spelling the store keeps."""
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{raw!r} is not a valid email address: {exc}") from None
    return f"{info.local_part}@{info.ascii_domain}".lower()


def parse_ref(ref: str) -> int | str:
    """`#12` -> 12; anything else -> a normalised email."""
    ref = ref.strip()
    if ref.startswith("#"):
        if not ref[1:].isdigit():
            raise InvalidInput(f"{ref!r} is not a user id: use #ID (digits) or an email")
        return int(ref[1:])
    if "@" not in ref:
        raise InvalidInput(f"{ref!r} is neither an email nor #ID")
    return normalise_email(ref)


def find_user(session: Session, ref: str) -> User:
    key = parse_ref(ref)
    query = select(User).where(User.id == key) if isinstance(key, int) else select(User).where(User.email == key)
    user = session.execute(query).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {ref.strip()!r}", hint="see `mailadmin users list --search TEXT`")
    return user


def account_of(session: Session, user: User) -> Account:
    """The account a user belongs to (owner or member); a removed member has none."""
    if user.account_id is None:
        raise Conflict(f"{user.email} belongs to no account (removed from its team)")
    return session.get(Account, user.account_id)

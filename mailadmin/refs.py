"""What an operator types to name a user, turned into a typed reference before any service runs.

A user is its email or `#ID` (SPEC section 4). Plain ASCII addresses are kept as typed
(lower-cased) and looked up before email-validator is loaded: the store keeps only normalised
addresses, so a hit is valid by construction and only a miss pays for validation (the import,
and about 30 us an address).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailadmin.errors import InvalidInput

SIMPLE_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_ID = re.compile(r"#([0-9]+)")
# user ids are INTEGER columns: 32-bit on PostgreSQL. A larger id cannot exist, and must never
# reach the driver (which would fail with an overflow instead of "not found").
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class UserRef:
    """`#12` (id) or an email (lower-cased; `normalised` once email-validator has seen it)."""

    text: str
    id: int | None = None
    email: str | None = None
    normalised: bool = False

    def __str__(self) -> str:
        return self.text

    @property
    def can_exist(self) -> bool:
        return self.id is None or 0 < self.id <= MAX_ID


def normalise_email(raw: str) -> str:
    """Validated and normalised (IDNA domain, lower-case): the one spelling the store keeps."""
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{raw!r} is not a valid email address: {exc}") from None
    return f"{info.local_part}@{info.ascii_domain}".lower()


def parse_ref(raw: str) -> UserRef:
    """`#12` -> UserRef(id=12); an email -> UserRef(email=...). Anything else is exit 2."""
    text = raw.strip()
    if text.startswith("#"):
        match = _ID.fullmatch(text)
        if not match or len(match.group(1)) > 30:
            raise InvalidInput(f"{text!r} is not a user id: use #ID (digits) or an email")
        return UserRef(text, id=int(match.group(1)))
    if SIMPLE_EMAIL.fullmatch(text):
        return UserRef(text, email=text.lower())
    if "@" not in text:
        raise InvalidInput(f"{text!r} is neither an email nor #ID")
    return UserRef(text, email=normalise_email(text), normalised=True)


def is_comment(line: str) -> bool:
    """On bulk stdin `#12` is user 12; any other line starting with `#` (`# note`) is a comment,
    except `#` and digits of any script (`#²`, `#٣`): a mistyped id, refused rather than skipped."""
    return line.startswith("#") and not line[1:].isdigit()


def normalise_domain(raw: str) -> str:
    """A domain name as the store keeps it: IDNA (punycode), lower-case, no trailing dot."""
    value = raw.strip().lower()
    value = value[:-1] if value.endswith(".") else value  # one trailing dot: the root, as in DNS
    try:
        ascii_ = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(f"{raw!r} is not a domain name") from None
    labels = ascii_.split(".")
    ok = len(labels) >= 2 and len(ascii_) <= 253 and all(0 < len(label) <= 63 and _LABEL.fullmatch(label) for label in labels)
    if not ok or not all(_punycode_ok(label) for label in labels if label.startswith("xn--")):
        raise InvalidInput(f"{raw!r} is not a domain name")
    return ascii_


def _punycode_ok(label: str) -> bool:
    """An `xn--` label must decode (xn--zz does not), else it names no Unicode domain at all."""
    try:
        label.encode("ascii").decode("idna")
    except UnicodeError:
        return False
    return True


_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")

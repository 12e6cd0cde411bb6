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
    """A domain name as the store keeps it: IDNA (punycode), lower-case, no trailing dot. The same
    spelling `domains add` stores, so every command that names a domain finds it."""
    return domain_name(raw).ascii


@dataclass(frozen=True)
class DomainName:
    """A checked domain name: `ascii` (A-labels, what the store keeps) and `unicode` (U-labels,
    what a person reads; the same as `ascii` for a name without `xn--` labels)."""

    ascii: str
    unicode: str


MAX_DOMAIN, MAX_LABEL = 253, 63  # octets of the A-label form (RFC 1035 2.3.4)
_LDH = re.compile(r"[a-z0-9-]+")


def domain_name(raw: str) -> DomainName:
    """What a person typed as a domain, checked and normalised: UTS-46 mapping (case, full-width
    forms), then A-labels; one trailing dot (the root) dropped; spaces around it forgiven. A name
    that is not one is InvalidInput saying what is wrong with it."""
    text = raw.strip(" \t")
    shown = raw if len(raw) <= 80 else raw[:60] + "..."  # a pasted blob is named, not echoed whole

    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"{shown!r} is not a domain name: {why}")

    if not text:
        raise InvalidInput("a domain name must not be empty")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise bad("it holds a control character (a line break?)")
    if any(ch.isspace() for ch in text):
        raise bad("it holds a space")
    if _ip_literal(text):
        raise bad("it is an IP address; a sending domain is a name")
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    import idna

    try:
        mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise bad(str(exc)) from None
    labels = mapped.split(".")
    if "" in labels:
        raise bad("it has an empty label (two dots in a row, or a leading dot)")
    if len(labels) < 2:
        raise bad("it needs at least two labels, like example.com")
    ascii_labels = [_a_label(label, bad) for label in labels]
    name = ".".join(ascii_labels)
    if len(name) > MAX_DOMAIN:
        raise bad(f"it is {len(name)} octets long; at most {MAX_DOMAIN}")
    if ascii_labels[-1].isdigit():
        raise bad(f"its last label {ascii_labels[-1]!r} is all digits; a top-level domain never is")
    unicode = ".".join(idna.ulabel(a) if a.startswith("xn--") else a for a in ascii_labels)
    return DomainName(name, unicode)


def _a_label(label: str, bad) -> str:
    """One label as an A-label: plain letters, digits and hyphens as they are (DNS allows `ab--c`
    below a registry), `xn--` labels checked to decode and re-encode the same, others encoded."""
    import idna

    if label.isascii():
        if not _LDH.fullmatch(label):
            odd = next(ch for ch in label if not _LDH.fullmatch(ch))
            raise bad(f"label {label!r} holds {odd!r}; labels hold letters, digits and hyphens")
        if label.startswith("xn--"):
            try:
                if idna.alabel(idna.ulabel(label)).decode("ascii") != label:
                    raise idna.IDNAError("it does not re-encode to itself")
            except (idna.IDNAError, UnicodeError) as exc:
                raise bad(f"label {label!r} is not a valid IDNA A-label ({exc})") from None
        ascii_ = label
    else:
        try:
            ascii_ = idna.alabel(label).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            raise bad(f"label {label!r} cannot be an internationalised label ({exc})") from None
    if len(ascii_) > MAX_LABEL:
        raise bad(f"label {ascii_[:20]}... is {len(ascii_)} octets long; at most {MAX_LABEL}")
    if ascii_.startswith("-") or ascii_.endswith("-"):
        raise bad(f"label {ascii_!r} starts or ends with a hyphen")
    return ascii_


def _ip_literal(text: str) -> bool:
    """`192.0.2.1`, `2001:db8::1`, `[192.0.2.1]`, `[IPv6:2001:db8::1]` (an address literal as
    mail writes it)."""
    import ipaddress

    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    inner = inner[5:] if inner.lower().startswith("ipv6:") else inner
    try:
        ipaddress.ip_address(inner.rstrip("."))
    except ValueError:
        return text.startswith("[")
    return True

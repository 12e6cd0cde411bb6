"""What an operator types, turned into typed values before a service is called.

The command line is text: `#12`, `daily=5000`, `12.5`, `203.0.113.0/24`, `node=mta1`, `7d`.
Services take what these become (a UserRef, {limit: int | None}, units of credit, IP networks,
(kind, value) assets), so a script importing the services, `apply` and batch mode never pass
text where a value is meant, and every syntax error is exit 2 before the store is touched.
"""

from __future__ import annotations

import ipaddress
import re
from difflib import get_close_matches
from typing import TYPE_CHECKING, Iterable, Iterator, TextIO

from mailadmin.errors import InvalidInput
from mailadmin.refs import UserRef, is_comment, normalise_domain, normalise_email, parse_ref
from mailadmin.units import parse_amount
from mailadmin.vocab import ADJUST, ASSET_KINDS, CREDIT_KINDS, LIMIT_NAMES, SUSPENSION_CODES, UNLIMITED

if TYPE_CHECKING:
    from mailadmin.services.accounts import BadRef

# -- users -----------------------------------------------------------------------------------
user_ref = parse_ref


def user_refs(args: Iterable[str], stdin: TextIO | None) -> Iterator["UserRef | BadRef"]:
    """The users named as arguments, then (with `stdin`) one a line from it; blank lines and
    comments are skipped, and a line that names no user is kept as a BadRef to be reported."""
    from mailadmin.services.accounts import BadRef

    def lines() -> Iterator[str]:
        yield from args
        if stdin is not None:
            for number, text in enumerate(_stdin_lines(stdin)):
                text = (text.lstrip("\ufeff") if number == 0 else text).strip()  # a BOM, as CSV input allows
                if text and not is_comment(text):
                    yield text

    for text in lines():
        try:
            yield parse_ref(text)
        except InvalidInput as exc:
            yield BadRef(text.strip(), exc)


_LINE_END = re.compile(r"\r\n?|\n")


def _stdin_lines(stdin: TextIO) -> Iterator[str]:
    """Lines ended by LF, CRLF or a lone CR, as the csv module reads them (a POSIX stdin splits
    at LF only); text that is not UTF-8 is exit 2, not a crash half-way through a run."""
    try:
        for chunk in stdin:
            yield from _LINE_END.split(chunk)
    except UnicodeDecodeError:
        raise InvalidInput("stdin is not UTF-8 text") from None


# A name, a value or a code is matched whole: spaces around it are forgiven, a line break is not
# (`$'daily\n'` is refused, not stored as `daily`).
_BLANKS = " \t"


# -- limits ----------------------------------------------------------------------------------
MAX_LIMIT = 10**15  # inside BIGINT with room; a typo of many digits fails loudly


def limit_name(name: str) -> str:
    """A known limit name, or InvalidInput naming the closest one."""
    name = name.strip(_BLANKS).lower().replace("-", "_")
    if name not in LIMIT_NAMES:
        close = get_close_matches(name, LIMIT_NAMES, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"limits are {', '.join(LIMIT_NAMES)}"
        raise InvalidInput(f"unknown limit {name!r}", hint=hint)
    return name


def limit_value(text: str, name: str = "limit") -> int | None:
    """'100' -> 100, 'unlimited' -> None. An integer >= 0, ASCII digits only."""
    raw = text.strip(_BLANKS).lower()
    if raw == UNLIMITED:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise InvalidInput(f"{name} must be an integer >= 0 or 'unlimited', not {text!r}")
    if len(raw) > 16 or int(raw) >= MAX_LIMIT:
        raise InvalidInput(f"{name} {text} is too large; use 'unlimited'")
    return int(raw)


def limit_assignments(items: Iterable[str]) -> dict[str, int | None]:
    """Several NAME=VALUE ('daily=5000', 'hourly=unlimited'); one limit named twice with
    different values is refused."""
    out: dict[str, int | None] = {}
    for item in items:
        if "=" not in item:
            raise InvalidInput(f"{item!r} is not NAME=VALUE (e.g. daily=5000 or hourly=unlimited)")
        raw_name, raw_value = item.split("=", 1)
        name = limit_name(raw_name)
        value = limit_value(raw_value, name)
        if name in out and out[name] != value:
            raise InvalidInput(f"limit {name} is given twice with different values")
        out[name] = value
    return out


def limit_names(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(limit_name(n) for n in items))


# -- IP allow-lists --------------------------------------------------------------------------
def ip_networks(items: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses or CIDRs in network form (`10.1.2.3/24` -> `10.1.2.0/24`, a bare address /32 or
    /128), in the order given, duplicates merged; one bad item is exit 2."""
    out: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for raw in items:
        if "%" in raw:  # fe80::1%eth0: a zone index names an interface of one host, not a network
            raise InvalidInput(f"{raw!r} has a zone index (%...); an allow-list takes addresses and networks without one")
        try:
            out.append(ipaddress.ip_network(raw.strip(), strict=False))
        except ValueError:
            raise InvalidInput(f"{raw!r} is not an IP address or CIDR (e.g. 203.0.113.7, 198.51.100.0/24, 2001:db8::/32)") from None
    if not out:
        raise InvalidInput("give at least one address or CIDR")
    return list(dict.fromkeys(out))


# -- credits ---------------------------------------------------------------------------------
def signed_amount(raw: str, kind: str) -> int:
    """The ledger amount for what the operator typed: positive for add, negative for deduct,
    signed for adjust. Zero is never an entry."""
    if kind == ADJUST:
        return parse_amount(raw, allow_negative=True)
    try:
        units = parse_amount(raw)
    except InvalidInput as exc:
        if raw.strip().startswith("-") and "must be positive" in exc.message:
            verb = "add" if kind in CREDIT_KINDS else "deduct"
            raise InvalidInput(
                f"{verb} takes a positive amount, not {raw.strip()}",
                hint="`mailadmin credits adjust USER -5 --reason TEXT` corrects a balance in either direction",
            ) from None
        raise
    return units if kind in CREDIT_KINDS else -units


# -- suspensions -----------------------------------------------------------------------------
_CODE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def suspension_code(code: str) -> str:
    value = code.strip(_BLANKS).lower()
    if not _CODE.fullmatch(value):
        raise InvalidInput(
            f"suspension code {code!r} is not a code: a lower-case word of at most 32 characters "
            f"(e.g. {', '.join(SUSPENSION_CODES[:4])})"
        )
    return value


# -- packages --------------------------------------------------------------------------------

_NODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,253}")
_PERCENT = re.compile(r"([0-9]{1,3})(?:\.([0-9]{1,2}))?%?")
NEVER = "never"


def bounce_limit(raw: str) -> int | None:
    """'5', '2.5', '2.25%' -> 1/100 percent (500, 250, 225); 'none' -> no bounce limit."""
    value = raw.strip().lower()
    if value in ("none", "off"):
        return None
    match = _PERCENT.fullmatch(value)
    if not match:
        raise InvalidInput(f"bounce limit {raw!r} is not a percentage: use 0 to 100 with at most 2 decimals (e.g. 5 or 2.5), or none")
    hundredths = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0") or 0)
    if hundredths > 10_000:
        raise InvalidInput(f"bounce limit {raw} is over 100 %")
    return hundredths


def expires_after(raw: str) -> int | None:
    """Days (> 0), or 'never' for no validity period."""
    value = raw.strip().lower()
    if value == NEVER:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 6 or int(value) <= 0:
        raise InvalidInput(f"expires after must be a number of days > 0 or 'never', not {raw!r}")
    if int(value) > 36_500:
        raise InvalidInput(f"expires after {raw} days is more than 100 years; use 'never'")
    return int(value)


def asset(raw: str) -> tuple[str, str]:
    """'node=mta1' -> ('node', 'mta1'); bounce addresses are emails, domains IDNA-normalised."""
    if "=" not in raw:
        raise InvalidInput(f"{raw!r} is not KIND=VALUE (kinds: {', '.join(ASSET_KINDS)}; e.g. node=mta1)")
    kind, value = (part.strip() for part in raw.split("=", 1))
    kind = kind.lower()
    if kind not in ASSET_KINDS:
        raise InvalidInput(f"unknown asset kind {kind!r}: use {', '.join(ASSET_KINDS)}")
    if kind == "bounce":
        return kind, normalise_email(value)
    if kind == "domain":
        return kind, normalise_domain(value)
    value = value.lower()
    if not _NODE.fullmatch(value):
        raise InvalidInput(f"sending node {value!r} is not a node name (letters, digits, '.', '-', '_')")
    return kind, value


def assets(items: Iterable[str]) -> list[tuple[str, str]]:
    return sorted(set(asset(a) for a in items))

"""Exact quantities and how they are spelled: credit amounts, limit values, percentages, lists.

Neutral ground: the CLI parses with these, services compute in the units they define, and
render/ prints with them, so neither render/ nor cli/ needs services/ to format a number.
Credit amounts are decimals with at most 4 fractional digits, held as integers of 1/10000;
parsing is strict on purpose: a cron job's typo must fail loudly, never round silently.
"""

from __future__ import annotations

import re
from decimal import Decimal

from mailadmin.errors import InvalidInput
from mailadmin.vocab import UNLIMITED

# -- credit amounts --------------------------------------------------------------------------
SCALE = 10_000  # 1 credit = 10000 units
MAX_UNITS = 10**17  # far inside BIGINT, so sums of many entries cannot overflow
_AMOUNT = re.compile(r"(-)?([0-9]+)(?:\.([0-9]{1,4}))?")  # ASCII digits only
RULE = "an amount is digits with at most 4 decimals after a dot, like 10, 0.5 or 12.3456"


def parse_amount(text: str, *, what: str = "amount", allow_zero: bool = False, allow_negative: bool = False) -> int:
    """'12.5' -> 125000. Refuses exponents, NaN, '-0', empty, separators, 5+ decimals."""
    raw = text.strip() if isinstance(text, str) else str(text)
    match = _AMOUNT.fullmatch(raw)
    if not match:
        raise InvalidInput(f"{what} {text!r} is not valid: {RULE}")
    sign, whole, frac = match.groups()
    if len(whole) > 20:
        raise InvalidInput(f"{what} {text} is too large")
    units = int(whole) * SCALE + int((frac or "").ljust(4, "0") or 0)
    if sign and units == 0:
        raise InvalidInput(f"{what} {text!r} is not valid: -0 is not an amount")
    if sign and not allow_negative:
        raise InvalidInput(f"{what} must be positive, not {text}")
    if units == 0 and not allow_zero:
        raise InvalidInput(f"{what} must be greater than zero")
    if units >= MAX_UNITS:
        raise InvalidInput(f"{what} {text} is too large")
    return -units if sign else units


def to_decimal(units: int) -> Decimal:
    """Exact decimal with its 4 digits: 125000 -> Decimal('12.5000')."""
    return Decimal(units).scaleb(-4)


def format_amount(units: int) -> str:
    """The JSON and table spelling: always 4 decimals, '12.5000'."""
    return str(to_decimal(units).quantize(Decimal("0.0001")))


# -- limits ----------------------------------------------------------------------------------
def display_limit(value: int | None) -> int | str:
    """The JSON and table spelling of a limit: the integer, or 'unlimited' (None)."""
    return UNLIMITED if value is None else value


# -- percentages -----------------------------------------------------------------------------
def format_percent(hundredths: int | None) -> str | None:
    """500 -> '5.00' (percent, exact digits); None stays None."""
    if hundredths is None:
        return None
    return f"{hundredths // 100}.{hundredths % 100:02d}"


# -- lists -----------------------------------------------------------------------------------
def preview(items: list[str], shown: int = 5) -> str:
    """'a, b, c (and 12 more)': a long list in one line (error messages and summaries alike)."""
    head = ", ".join(items[:shown])
    return head + (f" (and {len(items) - shown} more)" if len(items) > shown else "")

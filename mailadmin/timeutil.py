"""UTC times: the clock, ISO 8601 output with a Z, and parsing of --since/--until values.

The clock is read in one place, `clock()`, by cli/ when it starts a transaction; services get
the time from their `Operation`. `MAILADMIN_TEST_NOW` fixes the clock of a real mailadmin process
for tests of hour and month rollovers; it is a test hook, never a setting.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Mapping

from mailadmin.errors import InvalidInput

_RELATIVE = re.compile(r"([0-9]+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
TEST_CLOCK_ENV = "MAILADMIN_TEST_NOW"

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def clock(env: Mapping[str, str]) -> Clock:
    """The real clock, or the fixed time `MAILADMIN_TEST_NOW` names (tests only)."""
    fixed = env.get(TEST_CLOCK_ENV)
    if not fixed:
        return utcnow
    moment = parse_when(fixed, now=datetime(2000, 1, 1, tzinfo=timezone.utc))
    return lambda: moment


def iso(moment: datetime | None) -> str | None:
    """`2026-11-22T18:00:00Z`: the one time format of every JSON and CSV output."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_span(text: str) -> timedelta | None:
    """A span like 30m, 12h, 7d, 2w (None when `text` is not one)."""
    match = _RELATIVE.fullmatch(text.strip(" \t").lower())  # a line break is not part of a span
    if not match:
        return None
    try:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        raise InvalidInput(f"{text!r} reaches beyond the years a date can hold") from None


def parse_when(text: str, *, now: datetime, future: bool = False) -> datetime:
    """An ISO date or datetime (UTC unless it says otherwise), or a span like 30m, 12h, 7d, 2w.

    A span counts back from `now`, or forward when `future` (for `--until 7d`).
    """
    value = text.strip()
    if (span := parse_span(value)) is not None:
        try:
            return now + span if future else now - span
        except OverflowError:
            raise InvalidInput(f"{text!r} reaches beyond the years a date can hold") from None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a time: use an ISO date (2026-11-22), a UTC time (2026-11-22T18:00:00Z) or a span (12h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidInput(f"{text!r} reaches beyond the years a date can hold") from None

"""The pure rules under `users record`, as tables: UTC periods and their resets, how many sends of a
batch land past a limit, the bars' states, and parsing of --over."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mailadmin.errors import InvalidInput
from mailadmin.services import usage


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize(("span", "now", "start", "end"), [
    ("hour", "2026-11-26T14:30:00Z", "2026-11-26T14:00:00Z", "2026-11-26T15:00:00Z"),
    ("hour", "2026-11-30T23:59:59Z", "2026-11-30T23:00:00Z", "2026-12-01T00:00:00Z"),
    ("day", "2026-11-26T00:00:00Z", "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"),
    ("day", "2028-02-28T12:00:00Z", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z"),
    ("month", "2026-11-26T14:30:00Z", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
    ("month", "2026-12-31T23:59:59Z", "2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
    ("month", "2028-02-29T10:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z"),
    ("hour", "2026-11-26T16:30:00+02:00", "2026-11-26T14:00:00Z", "2026-11-26T15:00:00Z"),  # any zone: UTC periods
])
def test_periods_are_utc_hours_days_and_months(span, now, start, end):
    begins = usage.period_start(span, utc(now))
    assert begins == utc(start) and begins.tzinfo == timezone.utc
    assert usage.period_end(span, begins) == utc(end)


@pytest.mark.parametrize(("used", "sent", "limit", "excess"), [
    (0, 10, None, 0),  # unlimited
    (0, 10, 10, 0),  # exactly at the limit is within it
    (5, 10, 10, 5),
    (10, 3, 10, 3),  # at the limit already: every send is past it
    (14, 3, 10, 3),  # past it already (a paid overuse): still every send, never more
    (0, 0, 0, 0),  # nothing sent is never past
    (0, 1, 0, 1),
])
def test_the_excess_of_a_batch_is_what_lands_past_the_limit(used, sent, limit, excess):
    assert usage._excess(used, sent, limit) == excess


@pytest.mark.parametrize(("used", "limit", "state", "percent"), [
    (5, None, "unlimited", None),
    (0, 10, "ok", 0),
    (7, 9, "ok", 7777),
    (8, 10, "near", 8000),  # 80 % is yellow
    (10, 10, "near", 10000),  # 100 % is yellow
    (11, 10, "over", 11000),
    (0, 0, "near", 10000),  # nothing left to use
    (1, 0, "over", None),
])
def test_bar_states(used, limit, state, percent):
    assert usage.state_of(used, limit) == state
    assert usage.percent_of(used, limit) == percent


@pytest.mark.parametrize(("raw", "hundredths"), [("90", 9000), ("92.5", 9250), ("0", 0), ("100%", 10000), (" 7.25 ", 725),
                                                 ("10000", 1_000_000)])
def test_over_thresholds(raw, hundredths):
    assert usage.parse_percent(raw) == hundredths


@pytest.mark.parametrize("raw", ["", "-1", "1e2", "nan", "inf", "9.999", "10000.01", "١٠", "90\n", "5 %"])
def test_bad_over_thresholds(raw):
    with pytest.raises(InvalidInput):
        usage.parse_percent(raw)


@pytest.mark.parametrize(("sent", "bounced", "needle"), [
    (-1, 0, "--sent must be 0 or more"), (1, 2, "--bounced 2 is more than --sent 1"), (1.0, 0, "whole number"),
    (True, 0, "whole number"), ("3", 0, "whole number"), (10**10, 0, "more than one call records"),
])
def test_counts_a_script_may_pass(sent, bounced, needle):
    with pytest.raises(InvalidInput, match=needle):
        usage.check_counts(sent, bounced)

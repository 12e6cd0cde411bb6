"""Parsing of package settings: bounce limits, validity periods, assets."""

from __future__ import annotations

import pytest

from mailadmin.errors import InvalidInput
from mailadmin.services import packages


@pytest.mark.parametrize(("text", "hundredths"), [("5", 500), ("2.5", 250), ("2.25%", 225), ("0", 0), ("100", 10000), ("none", None)])
def test_bounce_limit(text, hundredths):
    assert packages.parse_bounce_limit(text) == hundredths
    if hundredths is not None:
        assert packages.format_percent(hundredths) == f"{hundredths // 100}.{hundredths % 100:02d}"


@pytest.mark.parametrize("text", ["100.01", "-1", "1.234", "five", "", "1e2"])
def test_bad_bounce_limit(text):
    with pytest.raises(InvalidInput):
        packages.parse_bounce_limit(text)


@pytest.mark.parametrize(("text", "days"), [("30", 30), ("never", None), ("NEVER", None)])
def test_expires_after(text, days):
    assert packages.parse_expires_after(text) == days


@pytest.mark.parametrize("text", ["0", "-3", "3.5", "forever", "99999"])
def test_bad_expires_after(text):
    with pytest.raises(InvalidInput):
        packages.parse_expires_after(text)


@pytest.mark.parametrize(
    ("text", "asset"),
    [("node=MTA-1.example", ("node", "mta-1.example")), ("bounce=B@Example.net", ("bounce", "b@example.net")),
     ("domain=Bücher.example.", ("domain", "xn--bcher-kva.example"))],
)
def test_assets_are_normalised(text, asset):
    assert packages.parse_asset(text) == asset


@pytest.mark.parametrize("text", ["node", "vm=x", "node=", "node=a b", "bounce=x", "domain=localhost", "domain=a..b"])
def test_bad_assets(text):
    with pytest.raises(InvalidInput):
        packages.parse_asset(text)

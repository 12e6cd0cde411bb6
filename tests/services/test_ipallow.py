"""IP allow-list input: normalised network form, duplicates merged, all or nothing."""

from __future__ import annotations

import pytest

from mailadmin.errors import InvalidInput
from mailadmin.services import ipallow


def test_parse_many_normalises_and_merges_in_order():
    assert ipallow.parse_many(["10.1.2.3/8", "10.0.0.0/8", "::1", "0:0::1/128"]) == ["10.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("bad", [["1.2.3.4", "nope"], [], ["1.2.3.4/40"]])
def test_any_bad_item_refuses_all(bad):
    with pytest.raises(InvalidInput):
        ipallow.parse_many(bad)


def test_sort_puts_ipv4_first():
    assert ipallow.sort_cidrs(["2001:db8::/32", "10.0.0.0/8", "9.0.0.0/8"]) == ["9.0.0.0/8", "10.0.0.0/8", "2001:db8::/32"]

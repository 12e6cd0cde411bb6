"""IP allow-list input: normalised network form, duplicates merged, all or nothing (parsed by
cli/parse.ip_networks), and the order lists are kept in (services/ipallow.sort_cidrs)."""

from __future__ import annotations

import pytest

from mailadmin.cli.parse import ip_networks
from mailadmin.errors import InvalidInput
from mailadmin.services import ipallow


def parse_many(items):
    return [str(n) for n in ip_networks(items)]


def test_parse_many_normalises_and_merges_in_order():
    assert parse_many(["10.1.2.3/8", "10.0.0.0/8", "::1", "0:0::1/128"]) == ["10.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("bad", [["1.2.3.4", "nope"], [], ["1.2.3.4/40"]])
def test_any_bad_item_refuses_all(bad):
    with pytest.raises(InvalidInput):
        parse_many(bad)


def test_sort_puts_ipv4_first():
    assert ipallow.sort_cidrs(["2001:db8::/32", "10.0.0.0/8", "9.0.0.0/8"]) == ["9.0.0.0/8", "10.0.0.0/8", "2001:db8::/32"]


def test_allow_and_deny_take_networks_and_say_what_they_did(op):
    import ipaddress

    from mailadmin.refs import parse_ref
    from mailadmin.services import users
    from tests.factories import make_package

    ref = parse_ref("ip@example.com")
    with op.write() as o:
        make_package(o.session, "ip")
        users.create(o, "ip@example.com", "ip")
        first = ipallow.allow(o, ref, [ipaddress.ip_network("2001:db8::/32"), ipaddress.ip_network("192.0.2.0/24")])
        again = ipallow.allow(o, ref, [ipaddress.ip_network("192.0.2.0/24")])
        gone = ipallow.deny(o, ref, [ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("198.51.100.1/32")])
        with pytest.raises(InvalidInput):
            ipallow.allow(o, ref, [])
    assert (first.done, first.unchanged, first.ip_allow) == (["2001:db8::/32", "192.0.2.0/24"], [], ["192.0.2.0/24", "2001:db8::/32"])
    assert (again.done, again.unchanged) == ([], ["192.0.2.0/24"])
    assert (gone.user, gone.done, gone.unchanged, gone.ip_allow) == ("ip@example.com", ["192.0.2.0/24"], ["198.51.100.1/32"], ["2001:db8::/32"])


@pytest.mark.parametrize("raw", ["fe80::1%eth0", "fe80::1%1", "fe80::%eth0/64"])
def test_a_zone_index_is_refused_as_text_and_as_a_network(op, raw):
    import ipaddress

    from mailadmin.refs import parse_ref
    from mailadmin.services import users
    from tests.factories import make_package

    with pytest.raises(InvalidInput, match="zone index"):
        parse_many([raw])
    with op.write() as o:
        make_package(o.session, "ip")
        users.create(o, "ip@example.com", "ip")
        # a script that builds the network itself meets the same rule in the service
        with pytest.raises(InvalidInput, match="zone index"):
            ipallow.allow(o, parse_ref("ip@example.com"), [ipaddress.ip_network(raw, strict=False)])
    with op.read() as o:
        assert users.show(o, parse_ref("ip@example.com")).ip_allow == []

"""`mailadmin users allow-ip|deny-ip`: IPv4 and IPv6, normalised to networks, duplicates merged,
invalid input refused whole (exit 2, nothing written), the list shown by `users show`."""

from __future__ import annotations

import pytest

from tests.helpers import one_line_error


@pytest.fixture
def alice(cli):
    assert cli("packages", "create", "starter", "--role", "regular").exit_code == 0
    assert cli("users", "create", "alice@example.com", "--package", "starter").exit_code == 0


def ip_list(cli) -> list[str]:
    return cli("users", "show", "alice@example.com", "-o", "json").json()["ip_allow"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("203.0.113.7", "203.0.113.7/32"),
        ("198.51.100.77/24", "198.51.100.0/24"),
        ("2001:DB8::1", "2001:db8::1/128"),
        ("2001:db8:0:0::/32", "2001:db8::/32"),
        (" 10.0.0.0/8 ", "10.0.0.0/8"),
    ],
)
def test_addresses_are_normalised_to_networks(cli, alice, given, stored):
    r = cli("users", "allow-ip", "alice@example.com", given)
    assert r.exit_code == 0, r
    assert r.stderr == f"added 1; allow-list now: {stored}\n" and r.stdout == ""
    assert ip_list(cli) == [stored]


def test_duplicates_merge_and_the_list_is_sorted(cli, alice):
    r = cli("users", "allow-ip", "alice@example.com", "2001:db8::/32", "198.51.100.9/24", "198.51.100.0/24", "203.0.113.7", "-o", "json")
    assert r.exit_code == 0, r
    assert r.json() == {"user": "alice@example.com", "ip_allow": ["198.51.100.0/24", "203.0.113.7/32", "2001:db8::/32"],
                        "added": ["2001:db8::/32", "198.51.100.0/24", "203.0.113.7/32"], "unchanged": []}
    assert r.stderr == "added 3; allow-list now: 198.51.100.0/24, 203.0.113.7/32, 2001:db8::/32\n"
    again = cli("users", "allow-ip", "alice@example.com", "203.0.113.7/32", "192.0.2.1")
    assert again.exit_code == 0 and "already on the list: 203.0.113.7/32" in again.stderr
    assert again.stderr.splitlines() == [
        "already on the list: 203.0.113.7/32",
        "added 1; allow-list now: 192.0.2.1/32, 198.51.100.0/24, 203.0.113.7/32, 2001:db8::/32",
    ]
    assert ip_list(cli) == ["192.0.2.1/32", "198.51.100.0/24", "203.0.113.7/32", "2001:db8::/32"]
    assert "203.0.113.7/32" in cli("users", "show", "alice@example.com").stdout


def test_deny_removes_and_reports_what_was_not_there(cli, alice):
    cli("users", "allow-ip", "alice@example.com", "203.0.113.7", "2001:db8::/32")
    r = cli("users", "deny-ip", "alice@example.com", "203.0.113.7/32", "192.0.2.1")
    assert r.exit_code == 0, r
    assert "not on the list: 192.0.2.1/32" in r.stderr
    assert r.stderr.splitlines() == ["not on the list: 192.0.2.1/32", "removed 1; allow-list now: 2001:db8::/32"]
    assert ip_list(cli) == ["2001:db8::/32"]
    entry = cli("audit", "list", "--target", "user:alice@example.com", "--action", "account.deny_ip", "-o", "json").json()[0]
    assert entry["after"]["removed"] == ["203.0.113.7/32"]
    r = cli("users", "deny-ip", "alice@example.com", "2001:db8::/32", "-o", "json")
    assert r.json() == {"user": "alice@example.com", "ip_allow": [], "removed": ["2001:db8::/32"], "unchanged": []}
    assert r.stderr == "removed 1; allow-list now: empty (every address allowed)\n"


@pytest.mark.parametrize("bad", ["300.1.1.1", "10.0.0.0/33", "2001:db8::/129", "example.com", "1.2.3", ""])
def test_invalid_input_writes_nothing(cli, alice, bad):
    cli("users", "allow-ip", "alice@example.com", "192.0.2.1")
    r = cli("users", "allow-ip", "alice@example.com", "203.0.113.7", bad)
    assert r.exit_code == 2, r
    assert "not an IP address or CIDR" in one_line_error(r)
    assert ip_list(cli) == ["192.0.2.1/32"]
    r = cli("users", "deny-ip", "alice@example.com", "192.0.2.1", bad)
    assert r.exit_code == 2 and ip_list(cli) == ["192.0.2.1/32"]
    assert "not an IP address or CIDR" in one_line_error(r)


def test_unknown_user_and_missing_cidr(cli, alice):
    r = cli("users", "allow-ip", "nobody@example.com", "192.0.2.1")
    assert r.exit_code == 3
    assert "no user 'nobody@example.com'" in one_line_error(r)
    r = cli("users", "allow-ip", "alice@example.com")
    assert r.exit_code == 2 and "Missing argument" in one_line_error(r)

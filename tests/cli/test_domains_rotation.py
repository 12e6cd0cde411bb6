"""`mailadmin domains rotate-dkim`: a pending key published beside the active one, `--finish` only
once `verify` found the new record, `--cancel`; one rotation at a time; audited without keys."""

from __future__ import annotations

import pytest

from tests.cli.test_domains_dns import add_domain, configure, stored_keys
from tests.dnsserver import DnsServer, serve_records
from tests.helpers import audit_count, refused

D = "rotate.example"
NOW = {"MAILADMIN_TEST_NOW": "2026-11-26T12:00:00Z"}


@pytest.fixture
def domain(cli_env, op):
    configure(cli_env["MAILADMIN_CONFIG"])
    add_domain(op, D, selector="old")


def test_a_rotation_from_start_to_finish(cli, db_url, domain):
    from mailadmin.render.dns import DKIM_KEY, DKIM_ROTATION

    r = cli("domains", "rotate-dkim", D, "-o", "json", env=NOW)
    assert r.exit_code == 0, r
    data = r.json()
    assert list(data) == list(DKIM_ROTATION.fields) and list(data["pending"]) == list(DKIM_KEY.fields)
    assert (data["action"], data["active"]["selector"], data["pending"]["selector"]) == ("started", "old", "ma20261126")
    assert (data["pending"]["algorithm"], data["pending"]["bits"], data["retired"]) == ("rsa", 2048, None)
    assert "PRIVATE" not in r.stdout + r.stderr
    # dns shows both keys, active first
    records = cli("domains", "dns", D, "-o", "json").json()["records"]
    assert [x["id"] for x in records if x["id"].startswith("dkim:")] == ["dkim:old", "dkim:ma20261126"]
    with DnsServer() as server:
        # only the old key published: --finish is refused until the new record is verified
        refused(cli("domains", "rotate-dkim", D, "--finish"), 5, "selector ma20261126 is pending, not verified")
        serve_records(server, [x for x in records if x["id"] != "dkim:ma20261126"])
        assert cli("domains", "verify", D, "--resolver", server.address).exit_code == 1
        line = refused(cli("domains", "rotate-dkim", D, "--finish"), 5, "is failed, not verified: no such name (NXDOMAIN)")
        assert f"mailadmin domains verify {D}" in line
        assert [k[:3] for k in stored_keys(db_url, D)] == [("old", "rsa", "active"), ("ma20261126", "rsa", "pending")]
        serve_records(server, records)
        assert cli("domains", "verify", D, "--resolver", server.address).exit_code == 0
    done = cli("domains", "rotate-dkim", D, "--finish", "-o", "json")
    assert done.exit_code == 0, done
    assert (done.json()["action"], done.json()["active"]["selector"], done.json()["retired"]["selector"]) == (
        "finished", "ma20261126", "old")
    assert "keep its DNS record a few days" in done.stderr
    assert [k[:3] for k in stored_keys(db_url, D)] == [("ma20261126", "rsa", "active")]
    after = cli("domains", "dns", D, "-o", "json").json()
    assert [x["id"] for x in after["records"] if x["id"].startswith("dkim:")] == ["dkim:ma20261126"]
    assert after["state"] == "verified"  # the old selector's check went with its key
    entries = cli("audit", "list", "--target", f"domain:{D}", "-n", "4", "-o", "json").json()
    assert [e["action"] for e in entries[:2]] == ["domain.dkim_finish", "domain.verify"]
    assert entries[0]["after"] == {"active": {"selector": "ma20261126", "algorithm": "rsa"},
                                   "retired": {"selector": "old", "algorithm": "rsa"}}
    every = cli("audit", "list", "-o", "json").stdout
    assert "PRIVATE" not in every and "MII" not in every  # neither a private nor a public key


def test_one_rotation_at_a_time_and_selectors_are_unique(cli, db_url, domain):
    assert cli("domains", "rotate-dkim", D, "--selector", "new", "--algorithm", "ed25519", "-q").exit_code == 0
    before = audit_count(db_url)
    line = refused(cli("domains", "rotate-dkim", D), 5, "already has a rotation pending (selector new)")
    assert "--finish" in line and "--cancel" in line
    assert audit_count(db_url) == before
    cancelled = cli("domains", "rotate-dkim", D, "--cancel", "-o", "json")
    assert cancelled.exit_code == 0 and cancelled.json()["retired"]["selector"] == "new"
    assert [k[:3] for k in stored_keys(db_url, D)] == [("old", "rsa", "active")]
    refused(cli("domains", "rotate-dkim", D, "--selector", "OLD"), 5, "selector old is already a key of rotate.example")
    refused(cli("domains", "rotate-dkim", D, "--cancel"), 5, "has no rotation pending; nothing to cancel")
    refused(cli("domains", "rotate-dkim", D, "--finish"), 5, "has no rotation pending")
    entry = cli("audit", "list", "--target", f"domain:{D}", "-n", "1", "-o", "json").json()[0]
    assert entry["action"] == "domain.dkim_cancel" and entry["before"] == {"pending": {"selector": "new", "algorithm": "ed25519"}}


def test_the_algorithm_follows_the_active_key_unless_asked(cli, db_url, cli_env, op):
    configure(cli_env["MAILADMIN_CONFIG"])
    add_domain(op, "ed.example", algorithm="ed25519", selector="a")
    r = cli("domains", "rotate-dkim", "ed.example", "-o", "json", env=NOW)
    assert r.json()["pending"]["algorithm"] == "ed25519" and r.json()["pending"]["bits"] is None
    cli("domains", "rotate-dkim", "ed.example", "--cancel")
    assert cli("domains", "rotate-dkim", "ed.example", "--algorithm", "RSA", "-o", "json").json()["pending"]["algorithm"] == "rsa"


def test_a_second_rotation_on_the_same_day_gets_a_suffix(cli, db_url, cli_env, op):
    configure(cli_env["MAILADMIN_CONFIG"])
    add_domain(op, "day.example", algorithm="ed25519", selector="ma20261126")
    r = cli("domains", "rotate-dkim", "day.example", "-o", "json", env=NOW)
    assert r.json()["pending"]["selector"] == "ma20261126-2"


def test_a_cancelled_then_reused_selector_needs_a_new_verify(cli, db_url, domain):
    """A check stored for a dropped key never lets a new key under the same selector finish."""
    records = None
    with DnsServer() as server:
        cli("domains", "rotate-dkim", D, "--selector", "again")
        records = cli("domains", "dns", D, "-o", "json").json()["records"]
        serve_records(server, records)
        assert cli("domains", "verify", D, "--resolver", server.address).exit_code == 0
    cli("domains", "rotate-dkim", D, "--cancel")
    cli("domains", "rotate-dkim", D, "--selector", "again")
    refused(cli("domains", "rotate-dkim", D, "--finish"), 5, "selector again is pending, not verified")

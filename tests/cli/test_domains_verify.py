"""`mailadmin domains verify` against a real DNS server on 127.0.0.1 (tests/dnsserver.py): right,
wrong and missing records, each failure with its cause, one stored DnsCheck row per record, exit 0
when all are verified and 1 when any failed (stored either way)."""

from __future__ import annotations

import pytest

from tests.cli.test_domains_dns import RETURN_PATH_HOST, SPF_INCLUDE, add_domain, configure
from tests.dnsserver import DnsServer, serve_records, txt
from tests.helpers import audit_count

D = "verify.example"
SPF_OK = txt(f"v=spf1 include:{SPF_INCLUDE} ~all")


@pytest.fixture
def server():
    with DnsServer() as s:
        yield s


@pytest.fixture
def published(cli, cli_env, op, server):
    """D with an RSA key under selector `s1`, every record served as `dns -o json` prints it."""
    configure(cli_env["MAILADMIN_CONFIG"])
    add_domain(op, D, selector="s1")
    records = cli("domains", "dns", D, "-o", "json").json()["records"]
    serve_records(server, records)
    return {r["id"]: r for r in records}


def verify(cli, server, *more):
    return cli("domains", "verify", D, "--resolver", server.address, "-o", "json", *more)


def stored_checks(db_url: str) -> dict[str, tuple]:
    """The DnsCheck rows of D, read directly: record -> (state, expected, found, cause, checked_at)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT c.record, c.state, c.expected, c.found, c.cause, c.checked_at FROM dns_check c "
                "JOIN domain d ON d.id = c.domain_id WHERE d.name = :name"), {"name": D}).all()
    finally:
        engine.dispose()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_published_records_verify_and_are_stored(cli, db_url, server, published):
    from mailadmin.render.dns import DNS_CHECK, DNS_VERIFY

    before = audit_count(db_url)
    r = verify(cli, server)
    assert r.exit_code == 0, r
    data = r.json()
    assert list(data) == list(DNS_VERIFY.fields) and all(list(c) == list(DNS_CHECK.fields) for c in data["records"])
    assert (data["state"], data["server"]) == ("verified", server.address)
    assert {c["id"]: c["state"] for c in data["records"]} == dict.fromkeys(published, "verified")
    assert "all 5 records verified" in r.stderr
    rows = stored_checks(db_url)
    assert set(rows) == set(published)
    assert all(state == "verified" and cause is None and checked for state, _e, _f, cause, checked in rows.values())
    assert rows["return_path"][1:3] == (RETURN_PATH_HOST, RETURN_PATH_HOST)
    assert rows["dkim:s1"][1] == published["dkim:s1"]["value"]
    # the domain's state moved: one audit entry; the same result again adds none
    assert audit_count(db_url) == before + 1
    assert verify(cli, server).exit_code == 0 and audit_count(db_url) == before + 1
    assert cli("domains", "dns", D, "-o", "json").json()["state"] == "verified"
    entry = cli("audit", "list", "--target", f"domain:{D}", "-n", "1", "-o", "json").json()[0]
    assert entry["action"] == "domain.verify" and entry["after"]["state"] == "verified"
    assert entry["before"]["records"]["spf"] is None and entry["after"]["records"]["spf"] == "verified"


def test_failures_are_stored_and_exit_1(cli, db_url, server, published):
    server.remove(f"track.{D}")
    r = verify(cli, server)
    assert r.exit_code == 1, r
    assert r.json()["state"] == "failed" and "1 record of 5 failed (tracking)" in r.stderr
    assert stored_checks(db_url)["tracking"][0] == "failed"
    assert cli("domains", "dns", D, "-o", "json").json()["state"] == "failed"
    table = cli("domains", "verify", D, "--resolver", server.address)
    assert table.exit_code == 1 and "no such name (NXDOMAIN)" in table.stdout


def _dkim_split_in_two_records(server, published):
    value = published["dkim:s1"]["value"]
    server.set(f"s1._domainkey.{D}", "TXT", txt(value[:200]), txt(value[200:]))


def _other_key(server, published):
    from mailadmin.services.dkim import new_key

    _private, public, _bits = new_key("ed25519")
    server.set(f"s1._domainkey.{D}", "TXT", txt(f"v=DKIM1; k=ed25519; p={public}"))


# (what is served instead, the record, its state, what its cause says (or the found value when verified))
CASES = [
    # SPF (RFC 7208): exactly one v=spf1 record holding our include; the customer's other terms stay theirs
    ("spf with the customer's terms", lambda s, p: s.set(D, "TXT", txt(f"v=spf1 ip4:192.0.2.0/24 include:{SPF_INCLUDE} "
                                                                     "include:_spf.google.com -all")), "spf", "verified", "_spf.google.com"),
    ("spf include in another case, with the final dot", lambda s, p: s.set(D, "TXT", txt(f"v=spf1 +include:{SPF_INCLUDE.upper()}. "
                                                                                       "~all")), "spf", "verified", "SPF.PLATFORM"),
    ("spf beside other TXT records", lambda s, p: s.add(D, "TXT", txt("google-site-verification=abc")), "spf", "verified", "google"),
    ("spf missing, the name has other TXT", lambda s, p: s.set(D, "TXT", txt("google-site-verification=abc")), "spf", "failed",
     "no SPF record among the TXT records"),
    ("spf: no TXT at the name", lambda s, p: s.remove(D, "TXT"), "spf", "failed", "no record of that type"),
    ("spf twice", lambda s, p: s.add(D, "TXT", txt("v=spf1 mx -all")), "spf", "failed", "several SPF records (2): RFC 7208"),
    ("spf without our include", lambda s, p: s.set(D, "TXT", txt("v=spf1 include:spf.other.example -all")), "spf", "failed",
     f"SPF without our include: add include:{SPF_INCLUDE}"),
    ("spf split into two records", lambda s, p: s.set(D, "TXT", txt("v=spf1 "), txt(f"include:{SPF_INCLUDE} ~all")), "spf",
     "failed", "TXT split wrongly"),
    ("spf split inside the include", lambda s, p: s.set(D, "TXT", txt("v=spf1 include:spf.plat"), txt("form.example ~all")),
     "spf", "failed", "publish ONE record of several strings"),
    # DKIM: this selector's key, in one record (of several strings)
    ("dkim in two strings of one record", lambda s, p: None, "dkim:s1", "verified", "v=DKIM1"),
    ("dkim in two records", _dkim_split_in_two_records, "dkim:s1", "failed", "TXT split wrongly"),
    ("dkim with another key", _other_key, "dkim:s1", "failed", "a DKIM record with a different key"),
    ("dkim revoked", lambda s, p: s.set(f"s1._domainkey.{D}", "TXT", txt("v=DKIM1; k=rsa; p=")), "dkim:s1", "failed",
     "the key is revoked (empty p=)"),
    ("dkim not a key record", lambda s, p: s.set(f"s1._domainkey.{D}", "TXT", txt("hello")), "dkim:s1", "failed",
     "wrong value: not a DKIM key record"),
    ("dkim twice", lambda s, p: s.add(f"s1._domainkey.{D}", "TXT", txt("v=DKIM1; p=AAAA")), "dkim:s1", "failed",
     "several TXT records (2)"),
    ("dkim name without TXT", lambda s, p: (s.remove(f"s1._domainkey.{D}"), s.set(f"s1._domainkey.{D}", "A", "192.0.2.1")),
     "dkim:s1", "failed", "no record of that type"),
    ("dkim missing", lambda s, p: s.remove(f"s1._domainkey.{D}"), "dkim:s1", "failed", "no such name (NXDOMAIN)"),
    # DMARC: one v=DMARC1 record, whatever its policy
    ("dmarc with the customer's policy", lambda s, p: s.set(f"_dmarc.{D}", "TXT", txt("v=DMARC1; p=reject; adkim=s")), "dmarc",
     "verified", "p=reject"),
    ("dmarc twice", lambda s, p: s.add(f"_dmarc.{D}", "TXT", txt("v=DMARC1; p=reject")), "dmarc", "failed",
     "several DMARC records (2)"),
    ("dmarc split", lambda s, p: s.set(f"_dmarc.{D}", "TXT", txt("v=DMA"), txt("RC1; p=none")), "dmarc", "failed", "TXT split wrongly"),
    ("dmarc missing", lambda s, p: s.remove(f"_dmarc.{D}"), "dmarc", "failed", "no such name (NXDOMAIN)"),
    ("dmarc not one", lambda s, p: s.set(f"_dmarc.{D}", "TXT", txt("p=none")), "dmarc", "failed", "no DMARC record"),
    # the CNAMEs
    ("return path in upper case", lambda s, p: s.set(f"bounces.{D}", "CNAME", RETURN_PATH_HOST.upper() + "."), "return_path",
     "verified", RETURN_PATH_HOST),
    ("return path elsewhere", lambda s, p: s.set(f"bounces.{D}", "CNAME", "bounces.other.example."), "return_path", "failed",
     f"a CNAME pointing elsewhere (to bounces.other.example, not {RETURN_PATH_HOST})"),
    ("return path as an A record", lambda s, p: (s.remove(f"bounces.{D}"), s.set(f"bounces.{D}", "A", "192.0.2.1")),
     "return_path", "failed", "no record of that type (the name exists, with no CNAME record"),
    ("tracking missing", lambda s, p: s.remove(f"track.{D}"), "tracking", "failed", "no such name (NXDOMAIN)"),
]


@pytest.mark.parametrize(("change", "record", "state", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_cause(cli, db_url, server, published, change, record, state, needle):
    change(server, published)
    r = verify(cli, server)
    data = r.json()
    checks = {c["id"]: c for c in data["records"]}
    others = {k: v["state"] for k, v in checks.items() if k != record}
    assert others == dict.fromkeys(others, "verified"), others  # only the changed record moved
    check = checks[record]
    assert check["state"] == state, check
    if state == "verified":
        assert r.exit_code == 0 and check["cause"] is None and needle in check["found"]
    else:
        assert r.exit_code == 1 and needle in check["cause"], check
    stored = stored_checks(db_url)[record]
    assert (stored[0], stored[2], stored[3]) == (check["state"], check["found"], check["cause"])


def test_a_large_answer_comes_over_tcp(cli, server, published):
    """An answer larger than the asker's UDP size is truncated; the resolver retries over TCP."""
    server.add(D, "TXT", txt(*["x" * 250] * 6))
    r = verify(cli, server)
    assert r.exit_code == 0, r
    assert (D, "TXT", "tcp") in server.queries


def test_the_resolver_can_come_from_the_config(cli, cli_env, server, published):
    configure(cli_env["MAILADMIN_CONFIG"], {"platform.resolver": server.address})
    r = cli("domains", "verify", D, "-o", "json")
    assert r.exit_code == 0, r
    assert r.json()["server"] == server.address and server.queries


def test_rows_of_records_no_longer_expected_are_deleted(cli, db_url, server, published):
    assert verify(cli, server).exit_code == 0
    assert cli("domains", "rotate-dkim", D, "--selector", "s2").exit_code == 0
    serve_records(server, cli("domains", "dns", D, "-o", "json").json()["records"])
    assert verify(cli, server).exit_code == 0
    assert set(stored_checks(db_url)) == {"spf", "dkim:s1", "dkim:s2", "dmarc", "return_path", "tracking"}
    assert cli("domains", "rotate-dkim", D, "--cancel").exit_code == 0
    assert "dkim:s2" not in stored_checks(db_url)
    assert verify(cli, server).exit_code == 0
    assert set(stored_checks(db_url)) == {"spf", "dkim:s1", "dmarc", "return_path", "tracking"}


@pytest.mark.parametrize("rcode", ["SERVFAIL", "REFUSED"])
def test_a_server_that_fails_or_refuses_is_75_and_nothing_is_stored(cli, db_url, server, published, rcode):
    import dns.rcode

    from tests.helpers import refused

    server.rcode = dns.rcode.from_text(rcode)
    before = audit_count(db_url)
    line = refused(verify(cli, server), 75, f"DNS server {server.address} could not answer {D} TXT")
    assert rcode in line and "nothing was stored" in line
    assert stored_checks(db_url) == {} and audit_count(db_url) == before


def test_domain_states_for_show_and_list(cli, op, server, published):
    """`dnsrecords.states`: what `domains show` and `list` show per domain, two queries for many."""
    from sqlalchemy import select

    from mailadmin.services import dnsrecords
    from mailadmin.store.models import Domain

    add_domain(op, "never.example", algorithm="ed25519")
    with op.read() as o:
        ids = dict(o.session.execute(select(Domain.name, Domain.id)).all())
        assert dnsrecords.states(o.session, ids.values()) == {ids[D]: "pending", ids["never.example"]: "pending"}
    assert verify(cli, server).exit_code == 0
    with op.read() as o:
        assert dnsrecords.states(o.session, [ids[D], ids["never.example"]]) == {ids[D]: "verified", ids["never.example"]: "pending"}
    cli("domains", "rotate-dkim", D, "--selector", "s2")  # a new key not yet checked: pending again
    with op.read() as o:
        assert dnsrecords.states(o.session, [ids[D]]) == {ids[D]: "pending"}
    server.remove(f"track.{D}")
    assert verify(cli, server).exit_code == 1
    with op.read() as o:
        assert dnsrecords.states(o.session, [ids[D]]) == {ids[D]: "failed"}


def test_a_record_name_longer_than_dns_allows_is_refused(cli, cli_env, op, server):
    """A record no DNS server could hold is exit 5 saying which, with the setting to change."""
    from tests.helpers import refused

    long_domain = ".".join(["l" * 60] * 3) + ".example"  # 191 octets; with a 67-octet label, 259
    configure(cli_env["MAILADMIN_CONFIG"], {"platform.return_path_label": "r" * 60 + ".bounces"})
    add_domain(op, long_domain, algorithm="ed25519", selector="s")
    for args in (["verify", long_domain, "--resolver", server.address], ["dns", long_domain, "--zone"]):
        line = refused(cli("domains", *args), 5, "cannot publish its return_path record")
        assert "259 octets long; DNS names hold at most 253; a shorter platform.return_path_label" in line
    assert not server.queries

"""`mailadmin domains dns`: the records a domain publishes (table, zone-file lines, JSON), built from
the store's keys and the config's platform host names; the zone lines loaded by BIND's
`named-checkzone`; a missing host name is exit 78; and who may run the DNS commands through --as."""

from __future__ import annotations

import base64
import shutil
import subprocess

import pytest

from tests.helpers import audit_count, refused

OWNER = "owner@dns.example"
SPF_INCLUDE, RETURN_PATH_HOST, TRACKING_HOST = "spf.platform.example", "rp.platform.example", "t.platform.example"
PLATFORM = {
    "platform.spf_include": SPF_INCLUDE,
    "platform.return_path_host": RETURN_PATH_HOST,
    "platform.tracking_host": TRACKING_HOST,
}


def configure(path: str, settings: dict[str, str] | None = None) -> None:
    """Write the config file: the platform's host names, plus `settings`."""
    import tomli_w

    from mailadmin.config import _nest

    with open(path, "wb") as fh:
        fh.write(tomli_w.dumps(_nest({**PLATFORM, **(settings or {})})).encode())


def add_domain(op, name: str, *, algorithm: str = "rsa", selector: str | None = None, owner: str = OWNER) -> None:
    """An account owner (made once) and a domain with its first DKIM key."""
    from sqlalchemy import select

    from mailadmin.refs import parse_ref
    from mailadmin.services import domains, users
    from mailadmin.store.models import Package, User
    from tests.factories import make_package

    with op.write() as o:
        if o.session.execute(select(Package.id).where(Package.name == "dnspro")).scalar_one_or_none() is None:
            make_package(o.session, "dnspro", role="admin")
        if o.session.execute(select(User.id).where(User.email == owner)).scalar_one_or_none() is None:
            users.create(o, owner, "dnspro")
        domains.add(o, name, parse_ref(owner), selector=selector, algorithm=algorithm)


def stored_keys(db_url: str, domain: str) -> list[tuple[str, str, str, str]]:
    """(selector, algorithm, state, private key PEM) of a domain's keys, read directly."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT k.selector, k.algorithm, k.state, k.private_key FROM dkim_key k JOIN domain d ON d.id = k.domain_id "
                "WHERE d.name = :name ORDER BY k.id"), {"name": domain})]
    finally:
        engine.dispose()


def public_value(private_pem: str) -> str:
    """The p= value a private key implies: base64 of the DER SubjectPublicKeyInfo (RSA) or of the raw
    32-byte key (Ed25519, RFC 8463), computed here independently of the code under test."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        raw = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(raw).decode()


@pytest.fixture
def platform(cli_env):
    configure(cli_env["MAILADMIN_CONFIG"])


# -- what dns prints -----------------------------------------------------------------------------
def test_dns_json_gives_every_record_whole_and_split(cli, db_url, op, platform):
    from mailadmin.render.dns import DNS_RECORD, DNS_RECORDS

    add_domain(op, "rsa.example", selector="s1")
    r = cli("domains", "dns", "RSA.example.", "-o", "json")
    assert r.exit_code == 0, r
    data = r.json()
    assert list(data) == list(DNS_RECORDS.fields) and all(list(x) == list(DNS_RECORD.fields) for x in data["records"])
    assert (data["domain"], data["state"]) == ("rsa.example", "pending")
    records = {x["id"]: x for x in data["records"]}
    assert list(records) == ["spf", "dkim:s1", "dmarc", "return_path", "tracking"]
    assert (records["spf"]["name"], records["spf"]["value"]) == ("rsa.example", f"v=spf1 include:{SPF_INCLUDE} ~all")
    ((_sel, _alg, _state, private),) = stored_keys(db_url, "rsa.example")
    dkim = records["dkim:s1"]
    assert dkim["name"] == "s1._domainkey.rsa.example"
    assert dkim["value"] == f"v=DKIM1; k=rsa; p={public_value(private)}"
    # RFC 1035 3.3.14: one record of several strings of at most 255 octets, joined back whole
    assert len(dkim["strings"]) == 2 and all(len(s.encode()) <= 255 for s in dkim["strings"])
    assert "".join(dkim["strings"]) == dkim["value"]
    assert records["dmarc"]["value"] == "v=DMARC1; p=none" and records["dmarc"]["name"] == "_dmarc.rsa.example"
    assert (records["return_path"]["type"], records["return_path"]["name"], records["return_path"]["value"]) == (
        "CNAME", "bounces.rsa.example", RETURN_PATH_HOST)
    assert (records["tracking"]["name"], records["tracking"]["value"], records["tracking"]["strings"]) == (
        "track.rsa.example", TRACKING_HOST, None)
    assert "PRIVATE" not in r.stdout + r.stderr


def test_ed25519_is_the_raw_32_byte_key(cli, db_url, op, platform):
    add_domain(op, "ed.example", algorithm="ed25519", selector="e1")
    record = cli("domains", "dns", "ed.example", "-o", "json").json()["records"][1]
    ((_sel, algorithm, _state, private),) = stored_keys(db_url, "ed.example")
    assert algorithm == "ed25519"
    p = record["value"].split("p=")[1]
    assert record["value"].startswith("v=DKIM1; k=ed25519; p=") and len(base64.b64decode(p)) == 32
    assert p == public_value(private) and record["strings"] == [record["value"]]


def test_zone_lines_are_absolute_quoted_and_split(cli, op, platform):
    add_domain(op, "zone.example", selector="z")
    r = cli("domains", "dns", "zone.example", "--zone")
    assert r.exit_code == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].startswith("; zone.example")
    assert lines[1:] == [
        f'zone.example. 3600 IN TXT "v=spf1 include:{SPF_INCLUDE} ~all"',
        lines[2],
        '_dmarc.zone.example. 3600 IN TXT "v=DMARC1; p=none"',
        f"bounces.zone.example. 3600 IN CNAME {RETURN_PATH_HOST}.",
        f"track.zone.example. 3600 IN CNAME {TRACKING_HOST}.",
    ]
    assert lines[2].startswith('z._domainkey.zone.example. 3600 IN TXT "v=DKIM1; k=rsa; p=')
    strings = lines[2].split(" IN TXT ")[1]
    assert strings.count('"') == 4 and all(len(s) <= 255 for s in strings.strip('"').split('" "'))


def test_table_names_every_record_and_csv_has_the_fields(cli, op, platform):
    add_domain(op, "table.example", selector="t")
    table = cli("domains", "dns", "table.example")
    assert table.exit_code == 0 and "t._domainkey.table.example" in table.stdout and "bounces.table.example" in table.stdout
    assert "--zone" in table.stderr
    csv = cli("domains", "dns", "table.example", "-o", "csv").stdout.splitlines()
    assert csv[0] == "id,name,type,value,ttl,purpose,state,checked_at" and len(csv) == 6


def test_config_decides_labels_policy_and_reports(cli, cli_env, op):
    configure(cli_env["MAILADMIN_CONFIG"], {"platform.return_path_label": "rp", "platform.tracking_label": "links",
                                            "platform.dmarc_policy": "quarantine", "platform.dmarc_rua": "mailto:DMARC@Platform.Example"})
    add_domain(op, "labels.example", algorithm="ed25519")
    records = {x["id"]: x for x in cli("domains", "dns", "labels.example", "-o", "json").json()["records"]}
    assert records["return_path"]["name"] == "rp.labels.example" and records["tracking"]["name"] == "links.labels.example"
    assert records["dmarc"]["value"] == "v=DMARC1; p=quarantine; rua=mailto:DMARC@platform.example"


@pytest.mark.parametrize("missing", sorted(PLATFORM))
def test_a_missing_platform_host_is_78_naming_the_key(cli, cli_env, op, missing):
    add_domain(op, "cfg.example", algorithm="ed25519")
    settings = {k: v for k, v in PLATFORM.items() if k != missing}
    import tomli_w

    from mailadmin.config import _nest

    with open(cli_env["MAILADMIN_CONFIG"], "wb") as fh:
        fh.write(tomli_w.dumps(_nest(settings)).encode())
    line = refused(cli("domains", "dns", "cfg.example"), 78, f"config key {missing} is not set")
    assert f"mailadmin config set {missing} VALUE" in line


def test_no_config_file_names_every_missing_key(cli, op):
    add_domain(op, "none.example", algorithm="ed25519")
    line = refused(cli("domains", "dns", "none.example", "-o", "json"), 78, "config keys platform.spf_include, "
                   "platform.return_path_host, platform.tracking_host are not set")
    assert "mailadmin config set platform.spf_include VALUE" in line


# -- interop: BIND loads the zone lines ----------------------------------------------------------
ZONES = [("rsa", "bind-rsa.example"), ("ed25519", "bind-ed.example"), ("rsa", "bücher.example")]


@pytest.mark.parametrize(("algorithm", "name"), ZONES, ids=["rsa", "ed25519", "unicode"])
def test_named_checkzone_accepts_the_zone_lines(cli, op, platform, tmp_path, algorithm, name):
    tool = shutil.which("named-checkzone")
    if tool is None:
        pytest.skip("named-checkzone not installed: apt-get install bind9-utils")
    add_domain(op, name, algorithm=algorithm, selector="bind")
    data = cli("domains", "dns", name, "-o", "json").json()
    zone_name = data["domain"]
    lines = cli("domains", "dns", name, "--zone").stdout
    zone = tmp_path / "zone.db"
    zone.write_text(
        f"{zone_name}. 3600 IN SOA ns1.{zone_name}. hostmaster.{zone_name}. 1 3600 600 86400 300\n"
        f"{zone_name}. 3600 IN NS ns1.{zone_name}.\n"
        f"ns1.{zone_name}. 3600 IN A 192.0.2.53\n" + lines, encoding="utf-8")
    checked = subprocess.run([tool, zone_name, str(zone)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK" in checked.stdout
    # what BIND loaded, printed back canonically, joins to the very values `dns -o json` printed
    dump = subprocess.run([tool, "-D", "-o", "-", zone_name, str(zone)], capture_output=True, text=True).stdout
    loaded = _loaded_txt(dump)
    for record in data["records"]:
        if record["type"] == "TXT":
            assert loaded[record["name"] + "."] == record["value"], record["id"]
    assert f"bounces.{zone_name}.\t" in dump.replace("  ", "\t") or f"bounces.{zone_name}." in dump


def _loaded_txt(dump: str) -> dict[str, str]:
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype

    out = {}
    for line in dump.splitlines():
        parts = line.split(None, 4)
        if len(parts) == 5 and parts[3] == "TXT":
            rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, parts[4])
            out[parts[0].lower()] = b"".join(rdata.strings).decode()
    return out


# -- who may run what through --as (rule 6: no secret in dns, so every viewer may) --------------
AS_TABLE = {  # actor -> exit codes of (dns, verify, rotate-dkim, export-dkim) on D1
    "owner": (0, 1, 0, 4),
    "admin": (0, 1, 0, 4),
    "domain admin": (0, 1, 0, 4),
    "domain viewer": (0, 4, 4, 4),
    "viewer": (0, 4, 4, 4),
    "manager (custom role, domains.manage)": (0, 1, 4, 4),
    "regular": (4, 4, 4, 4),
    "member of another account": (3, 3, 3, 4),
}


@pytest.mark.parametrize("who", list(AS_TABLE))
def test_who_may_run_the_dns_commands(cli, db_url, op, platform, tmp_path, who):
    from tests.cli.test_domains import ADMIN, D1, D_ADMIN, D_VIEWER, MANAGER, OTHER, OWNER as TEAM_OWNER, REGULAR, VIEWER, build_team
    from tests.dnsserver import DnsServer

    actor = {"owner": TEAM_OWNER, "admin": ADMIN, "domain admin": D_ADMIN, "domain viewer": D_VIEWER, "viewer": VIEWER,
             "manager (custom role, domains.manage)": MANAGER, "regular": REGULAR, "member of another account": OTHER}[who]
    with op.write() as o:
        build_team(o)
    expected = AS_TABLE[who]
    with DnsServer() as server:  # serves nothing: a verify that runs fails every record (exit 1)
        commands = [["dns", D1, "-o", "json"], ["verify", D1, "--resolver", server.address],
                    ["rotate-dkim", D1, "--selector", "next"], ["export-dkim", str(tmp_path / "out")]]
        for args, code in zip(commands, expected):
            before = audit_count(db_url)
            r = cli("--as", actor, "domains", *args)
            assert r.exit_code == code, (args, r)
            if code in (3, 4):
                refused(r, code, {3: "no domain", 4: "lacks" if args[0] != "export-dkim" else "operator action"}[code])
                assert audit_count(db_url) == before
    assert not (tmp_path / "out").exists()
    keys = [k[:3] for k in stored_keys(db_url, D1)]
    assert (("next", "rsa", "pending") in keys) == (expected[2] == 0)


def test_dns_imports_neither_dnspython_nor_cryptography(cli_env, op, platform):
    """`dns` builds records from stored keys: the DNS and crypto libraries load only where used."""
    from tests.cli.test_startup import imported_modules

    add_domain(op, "light.example", algorithm="ed25519")
    code, modules = imported_modules(["domains", "dns", "light.example", "-o", "json"], cli_env)
    assert code == 0 and "sqlalchemy" in modules  # the check sees what a store command imports
    assert not modules & {"dns", "cryptography"}, modules & {"dns", "cryptography"}
    code, modules = imported_modules(["domains", "verify", "--help"], cli_env)
    assert code == 0 and not modules & {"dns", "cryptography", "sqlalchemy"}

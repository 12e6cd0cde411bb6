"""`mailadmin domains export-dkim DIR`: OpenDKIM's KeyTable and SigningTable and one private-key file
per key (0600 in 0700 directories); the pending key too; `--domain` replaces only its own lines; and
a message signed with an exported key file (dkimpy) verifies against the record `domains dns`
printed, served by the loopback DNS server."""

from __future__ import annotations

import os
import stat

import pytest

from tests.cli.test_domains_dns import add_domain, configure
from tests.dnsserver import DnsServer, serve_records
from tests.helpers import audit_count


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def two_domains(cli_env, op):
    configure(cli_env["MAILADMIN_CONFIG"])
    add_domain(op, "a.example", selector="sa")
    add_domain(op, "bücher.example", algorithm="ed25519", selector="sb")


def test_export_writes_tables_and_private_key_files(cli, db_url, tmp_path, two_domains):
    from mailadmin.render.dns import DKIM_EXPORT, DKIM_EXPORT_KEY

    assert cli("domains", "rotate-dkim", "a.example", "--selector", "next", "-q").exit_code == 0
    out = tmp_path / "opendkim"
    before = audit_count(db_url)
    r = cli("domains", "export-dkim", str(out), "-o", "json")
    assert r.exit_code == 0, r
    data = r.json()
    assert list(data) == list(DKIM_EXPORT.fields) and list(data["keys"][0]) == list(DKIM_EXPORT_KEY.fields)
    keys = {(k["domain"], k["selector"]): k for k in data["keys"]}
    assert set(keys) == {("a.example", "sa"), ("a.example", "next"), ("xn--bcher-kva.example", "sb")}
    key_a = out / "keys" / "a.example" / "sa.private"
    assert keys[("a.example", "sa")]["path"] == str(key_a) and keys[("a.example", "next")]["state"] == "pending"
    # the files: keys 0600 in 0700 directories, PEM PKCS#8 for both algorithms
    assert mode(out) == mode(out / "keys") == mode(out / "keys" / "a.example") == 0o700
    for k in keys.values():
        assert mode(k["path"]) == 0o600
        assert open(k["path"]).read().startswith("-----BEGIN PRIVATE KEY-----")
    key_table = (out / "KeyTable").read_text().splitlines()[1:]
    assert key_table == [
        f"sa._domainkey.a.example a.example:sa:{key_a}",
        f"next._domainkey.a.example a.example:next:{out}/keys/a.example/next.private",
        f"sb._domainkey.xn--bcher-kva.example xn--bcher-kva.example:sb:{out}/keys/xn--bcher-kva.example/sb.private",
    ]
    # the SigningTable (read with refile:) names the active keys only
    assert (out / "SigningTable").read_text().splitlines()[1:] == [
        "*@a.example sa._domainkey.a.example", "*@xn--bcher-kva.example sb._domainkey.xn--bcher-kva.example"]
    assert "PRIVATE" not in r.stdout + r.stderr and "wrote 3 private keys of 2 domains" in r.stderr
    assert not [p for p in os.listdir(out / "keys" / "a.example") if p.endswith(".tmp")]
    # audited: where, how many; never a key
    assert audit_count(db_url) == before + 1
    entry = cli("audit", "list", "-n", "1", "-o", "json").json()[0]
    assert entry["action"] == "dkim.export" and entry["after"] == {"dir": str(out), "domain": None, "algorithm": None, "domains": 2, "keys": 3}
    # the table format prints the paths written, one a line
    paths = cli("domains", "export-dkim", str(out)).stdout.splitlines()
    assert paths[:2] == [str(out / "KeyTable"), str(out / "SigningTable")] and str(key_a) in paths


def test_retired_keys_leave_and_one_domain_keeps_the_others_lines(cli, tmp_path, two_domains):
    out = tmp_path / "x"
    cli("domains", "rotate-dkim", "a.example", "--selector", "next")
    assert cli("domains", "export-dkim", str(out), "-q").exit_code == 0
    cli("domains", "rotate-dkim", "a.example", "--cancel")
    os.chmod(out / "keys" / "a.example", 0o755)  # narrowed back on the next export
    one = cli("domains", "export-dkim", str(out), "--domain", "A.EXAMPLE", "-o", "json").json()
    assert one["domain"] == "a.example" and [k["selector"] for k in one["keys"]] == ["sa"]
    assert one["removed"] == [str(out / "keys" / "a.example" / "next.private")]
    assert mode(out / "keys" / "a.example") == 0o700
    table = (out / "KeyTable").read_text()
    assert "sb._domainkey.xn--bcher-kva.example" in table and "next._domainkey" not in table and "sa._domainkey.a.example" in table
    assert (out / "SigningTable").read_text().count("*@") == 2
    # a key file someone changed (content or mode) is written again; an identical one is left alone
    key = out / "keys" / "a.example" / "sa.private"
    right = key.read_text()
    key.write_text("tampered\n")
    os.chmod(key, 0o644)
    other = out / "keys" / "xn--bcher-kva.example" / "sb.private"
    untouched = os.stat(other).st_ino
    assert cli("domains", "export-dkim", str(out), "-q").exit_code == 0
    assert key.read_text() == right and mode(key) == 0o600 and os.stat(other).st_ino == untouched


def _dkimpy_ed25519(pem: bytes) -> bytes:
    """dkimpy takes an Ed25519 key as base64 of its 32-byte seed, not as PEM: the same key, read
    from the exported file."""
    import base64

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pem, password=None)
    return base64.b64encode(key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption()))


def test_one_directory_per_algorithm_for_one_opendkim_instance_each(cli, tmp_path, two_domains):
    rsa = cli("domains", "export-dkim", str(tmp_path / "rsa"), "--algorithm", "rsa", "-o", "json")
    assert rsa.exit_code == 0, rsa
    assert [(k["domain"], k["algorithm"]) for k in rsa.json()["keys"]] == [("a.example", "rsa")]
    assert rsa.json()["algorithm"] == "rsa" and "wrote 1 rsa private key of 1 domain" in rsa.stderr
    ed = cli("domains", "export-dkim", str(tmp_path / "ed"), "--algorithm", "ED25519", "-o", "json").json()
    assert [k["selector"] for k in ed["keys"]] == ["sb"]
    assert (tmp_path / "ed" / "SigningTable").read_text().splitlines()[1:] == [
        "*@xn--bcher-kva.example sb._domainkey.xn--bcher-kva.example"]
    assert not (tmp_path / "ed" / "keys" / "a.example").exists()


@pytest.mark.parametrize("algorithm", ["rsa", "ed25519"])
def test_a_message_signed_with_the_exported_key_verifies_against_the_published_record(cli, cli_env, op, tmp_path, algorithm):
    dkim = pytest.importorskip("dkim", reason="dkimpy not installed: pip install dkimpy")
    import dns.resolver

    configure(cli_env["MAILADMIN_CONFIG"])
    add_domain(op, "signed.example", algorithm=algorithm, selector="sel")
    records = cli("domains", "dns", "signed.example", "-o", "json").json()["records"]
    export = cli("domains", "export-dkim", str(tmp_path / "k"), "--domain", "signed.example", "-o", "json").json()
    (key,) = export["keys"]
    message = (b"From: Alice <alice@signed.example>\r\nTo: bob@elsewhere.example\r\nSubject: exported key\r\n"
               b"Date: Thu, 26 Nov 2026 12:00:00 +0000\r\nMessage-ID: <1@signed.example>\r\n\r\nHello.\r\n")
    with open(key["path"], "rb") as fh:
        private = fh.read()  # PEM PKCS#8, what OpenDKIM reads for both algorithms
    extra = {}
    if algorithm == "ed25519":
        pytest.importorskip("nacl", reason="pynacl not installed: dkimpy needs it for Ed25519 (pip install pynacl)")
        private = _dkimpy_ed25519(private)
        extra = {"signature_algorithm": b"ed25519-sha256"}
    signature = dkim.sign(message, b"sel", b"signed.example", private, include_headers=[b"from", b"to", b"subject"], **extra)
    signed = signature + message

    with DnsServer() as server:
        serve_records(server, records)
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers, resolver.port = ["127.0.0.1"], server.port

        def dnsfunc(name, timeout=5):
            name = name.decode() if isinstance(name, bytes) else name
            answer = resolver.resolve(name, "TXT", lifetime=timeout, raise_on_no_answer=False)
            return b"".join(answer.rrset[0].strings) if answer.rrset else None

        assert dkim.verify(signed, dnsfunc=dnsfunc)
        assert ("sel._domainkey.signed.example", "TXT", "udp") in server.queries
        assert not dkim.verify(signed.replace(b"Hello.", b"Hullo."), dnsfunc=dnsfunc)  # a changed body fails

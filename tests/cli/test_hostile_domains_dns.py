"""Hostile input for `domains dns|verify|rotate-dkim|export-dkim`: each bad input gets its exit code and
one `error:` line, prints nothing on stdout and changes nothing (no audit entry, the same keys and
DNS checks in the store, no export files).

Classes: names that are not domain names (the table of tests/cli/test_hostile_domains.py) as every
command's DOMAIN; unknown domains; bad selectors and algorithms; a taken selector; a second
rotation; --finish with nothing pending or an unverified key; --cancel with nothing pending; option
clashes; bad --resolver forms and --timeout values; a server that never answers and one that is
not there (75); a DIR that is a file, or under a missing parent; a missing platform host name (78).
Every row runs on both stores.
"""

from __future__ import annotations

import os

import pytest

from tests.cli.test_domains_dns import add_domain, configure
from tests.cli.test_hostile_domains import NAMES
from tests.dnsserver import SilentServer
from tests.helpers import audit_count, refused

D, PENDING = "hostile.example", "pending.example"
LONG = ".".join(["l" * 60] * 3) + ".example"  # 191 octets: a 63-octet selector's record would be 266
SILENT, NOWHERE = "<silent>", "127.0.0.1:9"  # a bound socket that never answers; a port nothing listens on
NOCONFIG = "<no config>"

OTHER_ROWS = [
    # -- dns ------------------------------------------------------------------------------------
    (["dns", "nosuch.example"], 3, "no domain 'nosuch.example'"),
    (["dns", D, "--zone", "-o", "json"], 2, "--zone prints zone-file lines; it does not take -o"),
    (["dns", D, "-o", "ids"], 2, "list commands only"),
    (["dns", D, NOCONFIG], 78, "config keys platform.spf_include, platform.return_path_host, platform.tracking_host are not set"),
    (["dns", D, "--zone", NOCONFIG], 78, "mailadmin config set platform.spf_include VALUE"),
    # -- verify ---------------------------------------------------------------------------------
    (["verify", "nosuch.example", "--resolver", NOWHERE], 3, "no domain 'nosuch.example'"),
    (["verify", D, "--resolver", "localhost"], 2, "--resolver: 'localhost' is not a DNS server address"),
    (["verify", D, "--resolver", "ns1.example.net:53"], 2, "is not a DNS server address"),
    (["verify", D, "--resolver", "127.0.0.1:0"], 2, "has a bad port '0': 1 to 65535"),
    (["verify", D, "--resolver", "127.0.0.1:65536"], 2, "has a bad port '65536'"),
    (["verify", D, "--resolver", "127.0.0.1:５３"], 2, "has a bad port"),
    (["verify", D, "--resolver", "127.0.0.1:"], 2, "has a bad port ''"),
    (["verify", D, "--resolver", "[::1"], 2, "is not a DNS server address"),
    (["verify", D, "--resolver", "[::1]53"], 2, "is not a DNS server address"),
    (["verify", D, "--resolver", "::1:53:x"], 2, "is not a DNS server address"),
    (["verify", D, "--resolver", ""], 2, "is not a DNS server address"),
    (["verify", D, "--resolver", "127.0.0.1\n"], 2, "is not a DNS server address"),
    (["verify", D, "--resolver", NOWHERE, "--timeout", "0"], 2, "--timeout 0 is not a number of seconds above 0"),
    (["verify", D, "--resolver", NOWHERE, "--timeout", "-1"], 2, "--timeout -1 is not"),
    (["verify", D, "--resolver", NOWHERE, "--timeout", "nan"], 2, "--timeout nan is not"),
    (["verify", D, "--resolver", NOWHERE, "--timeout", "61"], 2, "at most 60"),
    (["verify", D, "--resolver", NOWHERE, "--timeout", "soon"], 2, "Invalid value for '--timeout'"),
    (["verify", D, "--resolver", NOWHERE, "-o", "ids"], 2, "list commands only"),
    (["verify", D, "--resolver", SILENT, "--timeout", "0.3"], 75, "did not answer within 0.3 s (asking hostile.example TXT); nothing was stored"),
    (["verify", D, "--resolver", NOWHERE, "--timeout", "0.3"], 75, "DNS server 127.0.0.1:9"),
    (["verify", D, "--resolver", NOWHERE, NOCONFIG], 78, "are not set"),
    # -- rotate-dkim ----------------------------------------------------------------------------
    (["rotate-dkim", "nosuch.example"], 3, "no domain 'nosuch.example'"),
    (["rotate-dkim", D, "--selector", ""], 2, "a DKIM selector must not be empty"),
    (["rotate-dkim", D, "--selector", "-bad"], 2, "DKIM selector '-bad' is not one"),
    (["rotate-dkim", D, "--selector", "a_b"], 2, "is not one"),
    (["rotate-dkim", D, "--selector", "s1\n"], 2, "is not one"),
    (["rotate-dkim", D, "--selector", "s" * 64], 2, "is 64 characters long; at most 63"),
    (["rotate-dkim", D, "--selector", "sélecteur"], 2, "is not one"),
    (["rotate-dkim", LONG, "--selector", "s" * 63], 2, "octets long; DNS names hold at most 253"),
    (["rotate-dkim", D, "--algorithm", "dsa"], 2, "a DKIM algorithm is rsa or ed25519, not 'dsa'"),
    (["rotate-dkim", D, "--algorithm", ""], 2, "a DKIM algorithm is rsa or ed25519"),
    (["rotate-dkim", D, "--algorithm", "rsa\n"], 2, "a DKIM algorithm is rsa or ed25519"),
    (["rotate-dkim", D, "--finish", "--cancel"], 2, "--finish and --cancel exclude each other"),
    (["rotate-dkim", D, "--finish", "--selector", "x"], 2, "--finish takes no --selector or --algorithm"),
    (["rotate-dkim", D, "--cancel", "--algorithm", "rsa"], 2, "--cancel takes no --selector or --algorithm"),
    (["rotate-dkim", D, "-o", "csv"], 2, "is not one of table, json"),
    (["rotate-dkim", D, "--selector", "S1"], 5, "selector s1 is already a key of hostile.example"),
    (["rotate-dkim", D, "--finish"], 5, "hostile.example has no rotation pending"),
    (["rotate-dkim", D, "--cancel"], 5, "has no rotation pending; nothing to cancel"),
    (["rotate-dkim", PENDING], 5, "already has a rotation pending (selector next)"),
    (["rotate-dkim", PENDING, "--selector", "other"], 5, "already has a rotation pending"),
    (["rotate-dkim", PENDING, "--finish"], 5, "the DKIM record of selector next is pending, not verified"),
    # -- export-dkim ----------------------------------------------------------------------------
    (["export-dkim", "<file>"], 2, "is a file, not a directory"),
    (["export-dkim", "<missing parent>"], 2, "does not exist"),
    (["export-dkim", "<keys is a file>"], 2, "is not a directory (a file or a symlink)"),
    (["export-dkim", ""], 2, "is not a directory path"),
    (["export-dkim", "<dir>", "--domain", "nosuch.example"], 3, "no domain 'nosuch.example'"),
    (["export-dkim", "<dir>", "-o", "csv"], 2, "is not one of table, json"),
    (["export-dkim", "<dir>", "--algorithm", "dsa"], 2, "a DKIM algorithm is rsa or ed25519, not 'dsa'"),
]


def _cases():
    cases = list(OTHER_ROWS)
    for name, needle in NAMES:
        cases += [
            (["dns", name], 2, needle),
            (["verify", name, "--resolver", NOWHERE], 2, needle),
            (["rotate-dkim", name], 2, needle),
            (["export-dkim", "<dir>", "--domain", name], 2, needle),
        ]
    return cases


CASES = _cases()
COMMANDS = sorted({args[0] for args, _code, _needle in CASES})


@pytest.fixture
def world(cli, cli_env, op):
    """D with one key (selector s1), PENDING with a rotation pending (selector next), the platform configured."""
    configure(cli_env["MAILADMIN_CONFIG"])
    add_domain(op, D, algorithm="ed25519", selector="s1")
    add_domain(op, PENDING, algorithm="ed25519", selector="s1")
    add_domain(op, LONG, algorithm="ed25519", selector="s1")
    assert cli("domains", "rotate-dkim", PENDING, "--selector", "next").exit_code == 0


def snapshot(db_url: str) -> tuple:
    """Every key (selector, state) and every DNS check, read directly."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            keys = conn.execute(text("SELECT domain_id, selector, algorithm, state FROM dkim_key ORDER BY id")).all()
            checks = conn.execute(text("SELECT domain_id, record, state, found FROM dns_check ORDER BY domain_id, record")).all()
    finally:
        engine.dispose()
    return [tuple(k) for k in keys], [tuple(c) for c in checks]


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_input_is_refused_whole(cli, db_url, tmp_path, world, command):
    """Every row of one command on one store; failures are listed together, each by its row."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    keys_file = tmp_path / "keys-file"
    keys_file.mkdir()
    (keys_file / "keys").write_text("in the way\n")
    places = {"<file>": str(a_file), "<missing parent>": str(tmp_path / "no" / "such" / "dir"),
              "<keys is a file>": str(keys_file), "<dir>": str(tmp_path / "out")}
    failures = []
    rows = [case for case in CASES if case[0][0] == command]
    with SilentServer() as silent:
        for args, code, needle in rows:
            env = {"MAILADMIN_CONFIG": str(tmp_path / "empty.toml")} if NOCONFIG in args else None
            line = [places.get(a, a) for a in args if a != NOCONFIG]
            line = [silent.address if a == SILENT else a for a in line]
            before, state = audit_count(db_url), snapshot(db_url)
            result = cli("domains", *line, env=env)
            try:
                refused(result, code, needle)
                assert result.stdout == "", result
                assert audit_count(db_url) == before, "the audit log grew"
                assert snapshot(db_url) == state, "the store changed"
                assert not (tmp_path / "out").exists(), "an export directory was made"
                assert os.listdir(keys_file) == ["keys"], "files were written"
            except AssertionError as exc:
                shown = " ".join(line).encode("unicode_escape").decode("ascii")[:90]
                failures.append(f"{shown}: {str(exc).splitlines()[0][:300]}")
    assert not failures, f"{len(failures)} of {len(rows)} rows:\n" + "\n".join(failures)


def test_a_failed_verify_is_stored_but_a_timeout_is_not(cli, db_url, world):
    """The contrast the table relies on: a check that ran (exit 1) is stored; one that did not is not."""
    from tests.dnsserver import DnsServer

    with DnsServer() as server:
        assert cli("domains", "verify", D, "--resolver", server.address).exit_code == 1
    stored = snapshot(db_url)[1]
    assert len(stored) == 5 and {s[2] for s in stored} == {"failed"}
    with SilentServer() as silent:
        refused(cli("domains", "verify", D, "--resolver", silent.address, "--timeout", "0.2"), 75, "did not answer")
    assert snapshot(db_url)[1] == stored

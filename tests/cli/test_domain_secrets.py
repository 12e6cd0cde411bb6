"""Secrets never leak (issue 10, "Done means"): after a reset, the password just issued is nowhere
in the store (the SQLite file and its WAL, every PostgreSQL table's text), the audit log, or any
output of `domains show`/`list`/`credentials` in any format; the stored hash is in no output but
`--export-passwd`'s; and the DKIM private key is in no command output and no audit entry."""

from __future__ import annotations

from pathlib import Path

import pytest

OWNER = "owner@secret.example"
D = "secret.example"
FORMATS = {"show": ("table", "json", "csv"), "list": ("table", "wide", "json", "csv", "ids"),
           "credentials": ("table", "json", "csv")}


@pytest.fixture
def issued(cli, db_url):
    """A domain with a DKIM key, a current and a previous secret (in grace) and a settings change;
    the passwords as they were printed once."""
    assert cli("packages", "create", "pro", "--role", "admin").exit_code == 0
    assert cli("users", "create", OWNER, "--package", "pro").exit_code == 0
    assert cli("domains", "add", D, "--user", OWNER).exit_code == 0
    first = cli("domains", "credentials", D, "--reset", "-o", "json").json()["password"]
    second = cli("domains", "credentials", D, "--reset", "--grace", "1d", "-o", "json").json()["password"]
    assert cli("domains", "set", D, "--no-open-tracking").exit_code == 0
    return [first, second]


def _rows(db_url: str) -> dict[str, str]:
    """Every table's rows as text, read straight from the store."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            if engine.dialect.name == "postgresql":
                return {t: "\n".join(conn.execute(text(f'SELECT t::text FROM "{t}" t')).scalars()) for t in tables}
            return {t: "\n".join(repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{t}"'))) for t in tables}
    finally:
        engine.dispose()


def _private_key_lines(db_url: str) -> list[str]:
    """The base64 lines of the DKIM private key's PEM body, as the store holds it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            pem = conn.execute(text("SELECT private_key FROM dkim_key")).scalar_one()
    finally:
        engine.dispose()
    lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    assert len(lines) > 10  # an RSA 2048 key: many lines, each a needle
    return lines


def _hashes(db_url: str) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT secret_hash, previous_hash FROM smtp_credential")).one()
    finally:
        engine.dispose()
    assert all(row)
    # the hash part after the parameters: what identifies it, whatever prefix a printer adds
    return [h.rsplit("$", 2)[-2] + "$" + h.rsplit("$", 1)[-1] for h in row]


def test_the_password_is_nowhere_in_the_store(db_url, backend, issued):
    if backend == "sqlite":
        for path in (Path(db_url), Path(db_url + "-wal")):
            if path.exists():
                data = path.read_bytes()
                for password in issued:
                    assert password.encode() not in data, path.name
    rows = _rows(db_url)
    assert "smtp_credential" in rows and "{ARGON2ID}$argon2id$" in rows["smtp_credential"]  # what is there instead
    for table, text in rows.items():
        for password in issued:
            assert password not in text, table


def _every_output(cli) -> list[tuple[str, str]]:
    """(what, output) of every read of the domain, in every format, as the operator and the owner."""
    out = []
    for actor in ([], ["--as", OWNER]):
        for command, formats in FORMATS.items():
            for fmt in formats:
                args = [command] if command == "list" else [command, D]
                r = cli(*actor, "domains", *args, "-o", fmt)
                assert r.exit_code == 0, (command, fmt, r)
                out.append((f"{' '.join(actor)} {command} -o {fmt}", r.stdout + r.stderr))
    for args in (["audit", "list", "-o", "json"], ["audit", "list"], ["audit", "list", "-o", "csv"],
                 ["users", "show", OWNER, "-o", "json"]):
        r = cli(*args)
        assert r.exit_code == 0, r
        out.append((" ".join(args), r.stdout + r.stderr))
    return out


def test_no_output_and_no_audit_entry_holds_a_password_a_hash_or_a_private_key(cli, db_url, issued):
    key_lines = _private_key_lines(db_url)
    hashes = _hashes(db_url)
    outputs = _every_output(cli)
    check = cli("domains", "credentials", D, "--check", input=issued[1] + "\n")
    assert check.exit_code == 0
    outputs.append(("--check", check.stdout + check.stderr))
    for what, text in outputs:
        for password in issued:
            assert password not in text, f"a password in {what}"
        for hashed in hashes:
            assert hashed not in text, f"a hash in {what}"
        assert "argon2id" not in text.lower(), what
        for line in key_lines:
            assert line not in text, f"the DKIM private key in {what}"
    # the audit entries themselves, as the store holds them
    audit_text = _rows(db_url)["audit_entry"]
    for needle in [*issued, *hashes, *key_lines, "PRIVATE KEY"]:
        assert needle not in audit_text


def test_only_export_passwd_prints_the_hash(cli, db_url, issued):
    hashes = _hashes(db_url)
    current = cli("domains", "credentials", "--export-passwd").stdout
    previous = cli("domains", "credentials", "--export-passwd", "--previous").stdout
    assert hashes[0] in current and hashes[1] in previous
    for password in issued:
        assert password not in current + previous

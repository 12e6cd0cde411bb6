"""`mailadmin audit`: every change is recorded in its transaction, and tampering is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.helpers import one_line_error


@pytest.fixture
def changed(cli):
    cli("roles", "create", "support", "--from", "viewer")
    cli("roles", "grant", "support", "contacts.import")
    cli("roles", "revoke", "support", "chat")
    return cli


def test_changes_are_listed_newest_first_with_before_and_after(changed, cli):
    entries = cli("audit", "list", "--target", "role:support", "-o", "json").json()
    assert [e["action"] for e in entries] == ["role.revoke", "role.grant", "role.create"]
    grant = entries[1]
    assert "contacts.import" not in grant["before"]["grants"] and "contacts.import" in grant["after"]["grants"]
    assert grant["at"].endswith("Z") and grant["actor"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--action", "role.grant"], ["role.grant"]),
        (["--target", "role:"], None),
        (["--since", "1h", "--target", "role:support"], ["role.revoke", "role.grant", "role.create"]),
        (["--since", "2999-01-01"], []),
        (["--actor", "nobody-at-all"], []),
        (["--limit", "1", "--target", "role:support"], ["role.revoke"]),
    ],
)
def test_filters(changed, cli, args, expected):
    entries = cli("audit", "list", *args, "-o", "json").json()
    if expected is None:
        assert entries and all(e["target"].startswith("role:") for e in entries)
    else:
        assert [e["action"] for e in entries] == expected


def test_bad_since_is_2(cli):
    r = cli("audit", "list", "--since", "yesterday-ish")
    assert r.exit_code == 2 and "is not a time" in one_line_error(r)


def test_verify_passes_on_an_intact_log(changed, cli):
    r = cli("audit", "verify", "-o", "json")
    assert r.exit_code == 0 and r.json()["ok"] is True and r.json()["checked"] >= 9


def _engine(db_url):
    from sqlalchemy import create_engine

    return create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")


@pytest.mark.parametrize(
    ("tamper", "needle"),
    [
        ("UPDATE audit_entry SET actor = 'mallory' WHERE id = (SELECT MAX(id) - 1 FROM audit_entry)", "edited"),
        ("DELETE FROM audit_entry WHERE id = (SELECT MAX(id) - 1 FROM audit_entry)", "missing"),
        ("DELETE FROM audit_entry WHERE id = (SELECT MAX(id) FROM audit_entry)", "newest entries deleted"),
        ("UPDATE audit_entry SET after = NULL WHERE id = 1", "edited"),
    ],
)
def test_verify_detects_tampering(changed, cli, db_url, tamper, needle):
    engine = _engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(tamper.replace("(SELECT MAX(id)", "(SELECT * FROM (SELECT MAX(id)").replace("FROM audit_entry)", "FROM audit_entry) AS m)")))
    engine.dispose()
    r = cli("audit", "verify")
    assert r.exit_code == 1
    assert needle in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: the audit log has been tampered with")


def test_a_failed_change_leaves_no_audit_entry(cli):
    before = cli("audit", "list", "-o", "json", "--limit", "0").json()
    assert cli("roles", "grant", "owner", "chat").exit_code == 5
    assert cli("audit", "list", "-o", "json", "--limit", "0").json() == before

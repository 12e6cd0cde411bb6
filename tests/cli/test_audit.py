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


def _head(cli) -> dict:
    head = cli("audit", "head", "-o", "json")
    assert head.exit_code == 0
    return head.json()


def test_head_names_the_newest_entry(changed, cli):
    newest = cli("audit", "list", "-n", "1", "-o", "json").json()[0]
    head = _head(cli)
    assert head["seq"] == newest["id"] and len(head["hash"]) == 64 and head["entries"] >= 9


@pytest.mark.parametrize(("tamper", "kept_is_found"), [
    (None, True),  # intact: it extends the kept head
    ("DELETE FROM audit_entry; DELETE FROM audit_head", False),  # the whole log, head row included
    ("DELETE FROM audit_entry WHERE id > {seq} - 2; UPDATE audit_head SET last_id = {seq} - 2, count = {seq} - 2,"
     " last_hash = (SELECT hash FROM audit_entry WHERE id = {seq} - 2)", False),  # the tail, head rewritten to match
])
def test_a_kept_head_detects_what_the_chain_alone_cannot(changed, cli, db_url, tamper, kept_is_found):
    head = _head(cli)
    if tamper:
        engine = _engine(db_url)
        with engine.begin() as conn:
            for statement in tamper.format(seq=head["seq"]).split("; "):
                conn.execute(text(statement))
        engine.dispose()
        assert cli("audit", "verify").exit_code == 0  # without the kept head the log looks intact
    r = cli("audit", "verify", "--from", head["hash"])
    if kept_is_found:
        assert r.exit_code == 0 and f"extends the kept head (entry {head['seq']})" in r.stderr
    else:
        assert r.exit_code == 1
        assert "is not in the log" in one_line_error(r)
        assert cli("audit", "verify", "--from", head["hash"], "-o", "json").json()["from_seq"] is None


@pytest.mark.parametrize("tamper", [
    "UPDATE audit_entry SET after = '{{not json' WHERE id = 2",
    "UPDATE audit_entry SET at = 'yesterday-ish' WHERE id = 2",
])
def test_an_entry_edited_into_garbage_is_named_not_a_crash(changed, cli, db_url, backend, tamper):
    if "at =" in tamper and backend != "sqlite":
        pytest.skip("PostgreSQL keeps its column types")
    engine = _engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(tamper.replace("{{", "{")))
    engine.dispose()
    listed = cli("audit", "list", "-o", "json", "--limit", "0")
    assert listed.exit_code == 0
    r = cli("audit", "verify")
    assert r.exit_code == 1 and "entry 2:" in one_line_error(r)

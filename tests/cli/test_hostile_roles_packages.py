"""Hostile input for roles, packages, config, db and audit: each class of bad input on each
option gets its documented exit code and one stderr line, and changes nothing (issue 8)."""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

HUGE = "9" * 30
LONG = "x" * 5000

CASES = [
    # -- names, keys and text are matched whole and are one line ------------------------------
    (["roles", "create", "p1\n"], 2, "is not a slug"),
    (["roles", "create", "P1"], 2, "is not a slug"),
    (["roles", "create", "ok", "--description", "two\nlines"], 2, "must not contain control characters"),
    (["roles", "create", "ok", "--description", "line\u2028separator"], 2, "must be one line"),
    (["roles", "create", "ok", "--description", "bell\x07"], 2, "control characters"),
    (["roles", "create", "ok", "--description", LONG], 2, "longer than"),
    (["roles", "create", "ok", "--grant", "chat\n"], 2, "unknown permission key"),
    (["roles", "create", "ok", "--from", "nosuch"], 3, "no role named 'nosuch'"),
    (["roles", "grant", "viewer", "campaigns.vew"], 2, "did you mean campaigns.view"),
    (["roles", "rename", "support", "new\n"], 3, "no role named"),
    (["roles", "permissions", "--search", LONG], 2, "longer than"),
    # -- formats, fields, numbers ---------------------------------------------------------
    (["roles", "show", "viewer", "-o", "ids"], 2, "list commands only"),
    (["roles", "list", "-o", "yaml"], 2, "is not one of"),
    (["roles", "list", "--fields", "name,nope"], 2, "unknown field 'nope'; fields: name,"),
    (["roles", "list", "--fields", ","], 2, "at least one field"),
    (["roles", "list", "--sort", "nope"], 2, "unknown field 'nope'"),
    (["roles", "list", "--limit", HUGE], 2, "is not a count of rows"),
    (["roles", "list", "--offset", "-1"], 2, "is not a count of rows"),
    (["packages", "list", "--limit", "1e3"], 2, "should be a valid integer"),
    (["packages", "create", "p", "--role", "regular", "--limit", "daily=1e3"], 2, "integer >= 0"),
    (["packages", "create", "p", "--role", "regular", "--limit", "daily=\u0663"], 2, "integer >= 0"),
    (["packages", "create", "p", "--role", "regular", "--limit", f"daily={HUGE}"], 2, "too large"),
    (["packages", "create", "p", "--role", "regular", "--credit-cost", "1e-3"], 2, "is not valid"),
    (["packages", "create", "p", "--role", "regular", "--credit-cost", HUGE], 2, "too large"),
    (["packages", "create", "p", "--role", "regular", "--bounce-limit", "101"], 2, "over 100"),
    (["packages", "create", "p", "--role", "regular", "--expires-after", HUGE], 2, "number of days"),
    (["packages", "create", "p", "--role", "regular", "--asset", "domain=xn--zz.example"], 2, "is not a domain name"),
    (["packages", "create", "p", "--role", "regular", "--asset", "node=a\nb"], 2, "is not a node name"),
    (["packages", "create", "p", "--role", "nosuch"], 3, "no role named"),
    (["packages", "edit", "nosuch", "--limit", "daily=5"], 3, "no package named"),
    # -- validate before asking (no --yes, no terminal: the refusal, not "needs confirmation") --
    (["roles", "delete", "admin"], 5, "built-in role"),
    (["roles", "delete", "nosuch"], 3, "no role named"),
    (["packages", "delete", "nosuch"], 3, "no package named"),
    # -- times, config, files, the audit log ----------------------------------------------------
    (["audit", "list", "--since", "9999-12-31T23:59:59-01:00"], 2, "beyond the years"),
    (["audit", "list", "--since", "99999999999w"], 2, "beyond the years"),
    (["audit", "list", "--since", "٣d"], 2, "is not a time"),
    (["audit", "verify", "--from", "zz"], 2, "64 hex digits"),
    (["config", "set", "platform.tracking_host", "a b.example"], 2, "is not a host name"),
    (["config", "set", "platform.spf_include", "xn--zz.example"], 2, "is not a host name"),
    (["config", "set", "output", "json\n"], 2, "output must be one of"),
    (["db", "backup", "/nonexistent/dir/copy.db"], 2, "cannot write the backup"),
]


@pytest.mark.parametrize(("args", "code", "needle"), CASES, ids=[" ".join(a)[:60] for a, _c, _n in CASES])
def test_bad_input_is_refused_whole(cli, db_url, backend, args, code, needle):
    if args[:2] == ["db", "backup"] and backend != "sqlite":
        needle = "pg_dump"  # a server is backed up with its own tools
    before = audit_count(db_url)
    refused(cli(*args), code, needle)
    assert audit_count(db_url) == before


def test_a_package_in_use_is_refused_before_the_question(cli):
    assert cli("packages", "create", "used", "--role", "regular").exit_code == 0
    assert cli("users", "create", "a@example.com", "--package", "used").exit_code == 0
    refused(cli("packages", "delete", "used"), 5, "is used by 1 account")
    r = cli("packages", "delete", "used", "--reassign", "nosuch")
    refused(r, 3, "no package named 'nosuch'")


def test_packages_delete_dry_run_changes_nothing(cli, db_url):
    assert cli("packages", "create", "old", "--role", "regular").exit_code == 0
    assert cli("packages", "create", "new", "--role", "regular").exit_code == 0
    assert cli("users", "create", "a@example.com", "--package", "old").exit_code == 0
    before = audit_count(db_url)
    r = cli("packages", "delete", "old", "--reassign", "new", "--dry-run")
    assert r.exit_code == 0 and "would delete package old; would move 1 account to new; nothing changed" in r.stderr
    assert audit_count(db_url) == before and cli("packages", "show", "old").exit_code == 0


@pytest.mark.parametrize(("content", "needle"), [
    ('output = 5\n', "output: it must be a string"),
    ('output = "yaml"\n', "output: output must be one of"),
    ('[platform]\ntracking_host = "a b.example"\n', "platform.tracking_host"),
])
def test_a_config_value_of_the_wrong_kind_is_78_naming_the_key(cli, cli_env, content, needle):
    with open(cli_env["MAILADMIN_CONFIG"], "w") as fh:
        fh.write(content)
    refused(cli("roles", "list"), 78, needle)


def test_an_unreadable_config_file_is_78(cli, cli_env, tmp_path, monkeypatch):
    folder = tmp_path / "a-folder.toml"
    folder.mkdir()
    monkeypatch.setenv("MAILADMIN_CONFIG", str(folder))
    refused(cli("roles", "list"), 78, "cannot be read")


def test_the_config_file_is_written_private(cli, cli_env):
    import os
    import stat

    assert cli("config", "set", "database", "postgresql://u:secret@db.example/mail").exit_code == 0
    assert stat.S_IMODE(os.stat(cli_env["MAILADMIN_CONFIG"]).st_mode) == 0o600

"""`mailadmin export` and `mailadmin apply`: the round trip (export -> apply into a fresh store ->
export is byte for byte the same), idempotence, the plan of a dry run (no side effect, no key
generated), edits through a file, and --prune refusing what is in use."""

from __future__ import annotations

import stat

import pytest

from tests.helpers import audit_count, refused

ME = "opsroot"  # the OS login running every command here (registered as the first operator)
ENV = {"LOGNAME": ME, "USER": ME, "MAILADMIN_TEST_NOW": "2026-11-22T18:00:00Z"}


@pytest.fixture
def ma(cli):
    def invoke(*args: str, input: str | None = None, login: str = ME):
        return cli(*args, input=input, env={**ENV, "LOGNAME": login, "USER": login})

    return invoke


def ok(result):
    assert result.exit_code == 0, result
    return result


def build_world(ma) -> None:
    """Every kind of state a document carries, made through the commands."""
    ok(ma("roles", "create", "support", "--from", "viewer", "--grant", "contacts.import", "--description", "Support staff"))
    ok(ma("roles", "create", "sender", "--grant", "campaigns", "--grant", "senders"))
    ok(ma("packages", "create", "gold", "--role", "admin", "--limit", "daily=500", "--limit", "domains=5", "--credits",
          "--credit-cost", "0.25", "--allow-overuse", "--bounce-limit", "2.5", "--expires-after", "30",
          "--asset", "node=mta1", "--asset", "bounce=b@gold.example"))
    ok(ma("packages", "create", "basic", "--role", "support", "--limit", "hourly=10"))
    ok(ma("users", "create", "owner@a.example", "--package", "gold", "--name", "Ann Owner"))
    ok(ma("users", "create", "bob@b.example", "--package", "basic"))
    ok(ma("users", "create", "shut@c.example", "--package", "basic"))
    ok(ma("users", "limits", "owner@a.example", "--set", "monthly=9000", "--set", "contacts=unlimited"))
    ok(ma("users", "allow-ip", "owner@a.example", "192.0.2.0/24", "2001:db8::/48"))
    ok(ma("users", "suspend", "bob@b.example", "--reason", "unpaid invoice", "--code", "billing", "--yes"))
    ok(ma("users", "suspend", "bob@b.example", "--reason", "spam complaints", "--code", "abuse", "--until", "2027-01-01T00:00:00Z", "--yes"))
    ok(ma("users", "close", "shut@c.example", "--reason", "asked to leave", "--yes"))
    ok(ma("users", "invite", "owner@a.example", "mem@a.example", "--role", "sender", "--name", "Mem"))
    ok(ma("users", "invite", "owner@a.example", "view@a.example", "--role", "viewer"))
    ok(ma("domains", "add", "mail.a.example", "--user", "owner@a.example", "--selector", "s1"))
    ok(ma("domains", "add", "ed.a.example", "--user", "owner@a.example", "--selector", "k2", "--algorithm", "ed25519"))
    ok(ma("domains", "set", "mail.a.example", "--no-click-tracking", "--monthly-cap", "1000"))
    ok(ma("domains", "grant", "mail.a.example", "mem@a.example", "--role", "admin", "--email-content"))
    ok(ma("domains", "grant", "ed.a.example", "view@a.example", "--role", "viewer"))
    ok(ma("operators", "roles", "create", "auditor", "--grant", "clients.view_all", "--description", "reads"))
    ok(ma("operators", "add", ME, "--role", "superadmin"))
    ok(ma("operators", "add", "carol", "--role", "auditor"))


@pytest.fixture
def world(ma):
    build_world(ma)
    return ma


def test_round_trip_is_byte_for_byte_and_a_second_apply_changes_nothing(world, empty_db_url, tmp_path):
    ma = world
    first = ok(ma("export", "--with-secrets")).stdout
    path = tmp_path / "state.toml"
    path.write_text(first)
    ok(ma("--db", empty_db_url, "init"))
    before = audit_count(empty_db_url)
    applied = ok(ma("--db", empty_db_url, "apply", str(path)))
    assert "create account owner@a.example" in applied.stdout
    assert audit_count(empty_db_url) > before
    again = ok(ma("--db", empty_db_url, "export", "--with-secrets")).stdout
    assert again == first
    count = audit_count(empty_db_url)
    second = ok(ma("--db", empty_db_url, "apply", str(path)))
    assert second.stdout == "" and "nothing to change" in second.stderr
    assert audit_count(empty_db_url) == count


def test_round_trip_without_secrets_makes_fresh_keys_under_the_same_selectors(world, empty_db_url, tmp_path):
    ma = world
    first = ok(ma("export")).stdout
    assert "PRIVATE KEY" not in first and "secret" not in first.lower()
    path = tmp_path / "state.toml"
    path.write_text(first)
    ok(ma("--db", empty_db_url, "init"))
    ok(ma("--db", empty_db_url, "apply", str(path)))
    assert ok(ma("--db", empty_db_url, "export")).stdout == first
    keys = ok(ma("--db", empty_db_url, "domains", "show", "ed.a.example", "-o", "json")).json()["dkim_keys"]
    assert [(k["selector"], k["algorithm"]) for k in keys] == [("k2", "ed25519")]


def test_export_of_a_store_applied_to_itself_is_nothing_to_change(world, db_url):
    ma = world
    doc = ok(ma("export")).stdout
    count = audit_count(db_url)
    result = ok(ma("apply", "-", input=doc))
    assert result.stdout == "" and "nothing to change" in result.stderr
    assert audit_count(db_url) == count


def test_document_shape_stable_order_and_no_balances_or_hashes(world):
    ma = world
    ok(ma("credits", "add", "owner@a.example", "10", "--reason", "gift"))
    ok(ma("domains", "credentials", "mail.a.example", "--reset", "-o", "json"))
    import tomllib

    text = ok(ma("export")).stdout
    doc = tomllib.loads(text)
    assert doc["version"] == 1
    assert list(doc) == ["version", "roles", "packages", "accounts", "domains", "operator_roles", "operators"]
    assert list(doc["roles"]) == ["sender", "support"]  # custom only, by name
    assert list(doc["accounts"]) == sorted(doc["accounts"])
    gold = doc["packages"]["gold"]
    assert (gold["credit_cost"], gold["bounce_limit"], gold["expires_after"], gold["limits"]["daily"]) == ("0.2500", "2.50", 30, 500)
    assert gold["assets"] == {"bounce": ["b@gold.example"], "domain": [], "node": ["mta1"]}
    owner = doc["accounts"]["owner@a.example"]
    assert owner["limits"] == {"monthly": 9000, "contacts": "unlimited"}
    assert owner["ip_allow"] == ["192.0.2.0/24", "2001:db8::/48"]
    assert owner["members"] == {"mem@a.example": {"name": "Mem", "role": "sender"}, "view@a.example": {"name": "", "role": "viewer"}}
    assert [s["code"] for s in doc["accounts"]["bob@b.example"]["suspensions"]] == ["abuse", "billing"]
    assert doc["accounts"]["shut@c.example"]["status"] == "closed"
    assert doc["domains"]["mail.a.example"]["grants"] == {"mem@a.example": {"role": "admin", "email_content": True}}
    assert doc["operators"] == {"carol": {"role": "auditor"}, ME: {"role": "superadmin"}}
    for secret in ("balance", "ARGON2ID", "secret_hash", "PRIVATE KEY"):
        assert secret not in text


def test_only_sections_and_file_mode(world, tmp_path):
    ma = world
    out = ok(ma("export", "--only", "packages,roles")).stdout
    import tomllib

    assert list(tomllib.loads(out)) == ["version", "roles", "packages"]
    plain, secret = tmp_path / "plain.toml", tmp_path / "secret.toml"
    r = ok(ma("export", str(plain)))
    assert r.stdout == "" and plain.read_text() == ok(ma("export")).stdout
    ok(ma("export", "--with-secrets", str(secret)))
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in secret.read_text()


def test_with_secrets_needs_operators_manage(world):
    refused(world("export", "--with-secrets", login="carol"), 4, "operators.manage")
    assert world("export", login="carol").exit_code == 0  # clients.view_all is enough without secrets


def test_dry_run_prints_the_plan_and_changes_nothing(world, tmp_path, db_url):
    ma = world
    doc = ok(ma("export")).stdout
    edited = (doc.replace("daily = 500", "daily = 800")
              .replace('[packages.basic]', '[packages.silver]\nrole = "regular"\n\n[packages.basic]')
              + '\n[domains."new.a.example"]\nowner = "owner@a.example"\n')
    path = tmp_path / "state.toml"
    path.write_text(edited)
    count = audit_count(db_url)
    plan = ok(ma("apply", str(path), "--dry-run"))
    lines = plan.stdout.splitlines()
    assert "change package gold: limits.daily: 500 -> 800" in lines
    assert "create package silver" in lines
    assert "create domain new.a.example" in lines
    assert "dry run: 3 changes planned" in plan.stderr
    assert audit_count(db_url) == count
    assert ok(ma("export")).stdout == doc
    refused(ma("domains", "show", "new.a.example"), 3, "new.a.example")  # no key generated, no domain
    as_json = ok(ma("apply", str(path), "--dry-run", "-o", "json")).json()
    assert as_json["dry_run"] is True and as_json["applied"] is False
    change = next(s for s in as_json["steps"] if s["action"] == "change")
    assert change == {"action": "change", "kind": "package", "name": "gold", "account": None,
                      "changes": {"limits.daily": {"before": 500, "after": 800}}}
    done = ok(ma("apply", str(path)))
    assert "applied 3 changes" in done.stderr
    assert ok(ma("packages", "show", "gold", "-o", "json")).json()["limits"]["daily"] == 800
    assert "nothing to change" in ok(ma("apply", str(path))).stderr


def test_edits_reach_accounts_members_suspensions_and_grants(world, tmp_path):
    ma = world
    import tomli_w
    import tomllib

    doc = tomllib.loads(ok(ma("export")).stdout)
    owner = doc["accounts"]["owner@a.example"]
    owner["limits"] = {"monthly": 100}  # contacts back to inherit
    owner["ip_allow"] = ["198.51.100.7"]
    owner["members"]["new@a.example"] = {"role": "viewer", "name": "New"}
    owner["members"]["view@a.example"]["role"] = "support"
    doc["accounts"]["bob@b.example"]["suspensions"] = [{"code": "billing", "reason": "unpaid invoice"}]  # abuse lifted
    doc["accounts"]["shut@c.example"]["status"] = "active"
    del doc["accounts"]["shut@c.example"]["closed_reason"]
    doc["domains"]["mail.a.example"]["grants"] = {"new@a.example": {"role": "viewer", "email_content": False}}
    path = tmp_path / "state.toml"
    path.write_text(tomli_w.dumps(doc))
    ok(ma("apply", str(path)))
    show = ok(ma("users", "show", "owner@a.example", "-o", "json")).json()
    assert show["ip_allow"] == ["198.51.100.7/32"]
    limits = ok(ma("users", "limits", "owner@a.example", "-o", "json")).json()["limits"]
    assert limits["monthly"]["value"] == 100 and limits["contacts"]["source"] == "package"
    assert ok(ma("users", "show", "view@a.example", "-o", "json")).json()["role"] == "support"
    assert ok(ma("users", "show", "bob@b.example", "-o", "json")).json()["status"] == "suspended"
    assert ok(ma("users", "show", "shut@c.example", "-o", "json")).json()["status"] == "active"
    grants = ok(ma("domains", "show", "mail.a.example", "-o", "json")).json()["grants"]
    assert [(g["member"], g["role"]) for g in grants] == [("new@a.example", "viewer")]
    assert "nothing to change" in ok(ma("apply", str(path))).stderr


def test_prune_deletes_what_the_file_lacks_and_refuses_what_is_in_use(world, tmp_path, db_url):
    ma = world
    import tomli_w
    import tomllib

    doc = tomllib.loads(ok(ma("export", "--only", "roles,packages")).stdout)
    del doc["roles"]["sender"]  # still held by mem@a.example
    path = tmp_path / "state.toml"
    path.write_text(tomli_w.dumps(doc))
    count = audit_count(db_url)
    refused(ma("apply", str(path), "--prune"), 5, "role sender")
    refused(ma("apply", str(path), "--prune", "--dry-run"), 5, "role sender")
    assert audit_count(db_url) == count
    without_prune = ok(ma("apply", str(path)))
    assert "nothing to change" in without_prune.stderr  # nothing deleted without --prune
    ok(ma("packages", "create", "spare", "--role", "viewer"))
    ok(ma("roles", "create", "unused", "--grant", "chat.view"))
    pruned = ok(ma("apply", str(_kept(tmp_path, ma)), "--prune"))
    assert "delete package spare" in pruned.stdout and "delete role unused" in pruned.stdout
    refused(ma("roles", "show", "unused"), 3, "unused")
    doc = tomllib.loads(ok(ma("export", "--only", "roles,packages")).stdout)
    del doc["packages"]["basic"]  # bob and shut are on it
    path.write_text(tomli_w.dumps(doc))
    refused(ma("apply", str(path), "--prune"), 5, "package basic")


def _kept(tmp_path, ma):
    """The store's roles and packages as they were built (without `spare` and `unused`)."""
    import tomli_w
    import tomllib

    doc = tomllib.loads(ok(ma("export", "--only", "roles,packages")).stdout)
    doc["roles"].pop("unused")
    doc["packages"].pop("spare")
    path = tmp_path / "kept.toml"
    path.write_text(tomli_w.dumps(doc))
    return path

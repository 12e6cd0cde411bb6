"""Hostile input for `users record` and `users usage`: each bad input gets its exit code and one
`error:` line, prints nothing on stdout, counts nothing and writes nothing (no audit entry, no
counter, no resource count, no ledger entry). Every row runs on both stores."""

from __future__ import annotations

import pytest

from tests.cli.test_usage import CAPPED, METERED, NOW, at, sql, world  # noqa: F401 - world is a fixture
from tests.helpers import audit_count, refused

REMOVED = "removed@u.example"
HUGE = "9" * 40

ROWS = [
    # -- record: counts ----------------------------------------------------------------------------
    (["record", CAPPED, "--sent", "-5"], 2, "--sent must be 0 or more, not -5"),
    (["record", CAPPED, "--sent", "1.5"], 2, "--sent must be a whole number (ASCII digits), not '1.5'"),
    (["record", CAPPED, "--sent", "abc"], 2, "--sent must be a whole number"),
    (["record", CAPPED, "--sent", ""], 2, "--sent must be a whole number"),
    (["record", CAPPED, "--sent", "1e3"], 2, "--sent must be a whole number"),
    (["record", CAPPED, "--sent", "+5"], 2, "--sent must be a whole number"),
    (["record", CAPPED, "--sent", "5_000"], 2, "--sent must be a whole number"),
    (["record", CAPPED, "--sent", "٣"], 2, "--sent must be a whole number (ASCII digits)"),
    (["record", CAPPED, "--sent", "5\n"], 2, "--sent must be a whole number"),
    (["record", CAPPED, "--sent", HUGE], 2, "is too large"),
    (["record", CAPPED, "--sent", "2000000000"], 2, "--sent 2000000000 is more than one call records"),
    (["record", CAPPED], 2, "Missing option '--sent'"),
    (["record", CAPPED, "--sent"], 2, "requires an argument"),
    (["record", CAPPED, "--sent", "5", "--bounced", "6"], 2, "--bounced 6 is more than --sent 5"),
    (["record", CAPPED, "--sent", "5", "--bounced", "-1"], 2, "--bounced must be 0 or more, not -1"),
    (["record", CAPPED, "--sent", "5", "--bounced", "x"], 2, "--bounced must be a whole number"),
    (["record", CAPPED, "--sent", "5", "-o", "ids"], 2, "is not one of table, json: a report prints as table or json"),
    (["record", CAPPED, "--sent", "5", "-o", "csv"], 2, "is not one of table, json"),
    # -- record: who and where -----------------------------------------------------------------------
    (["record", "ghost@u.example", "--sent", "1"], 3, "no user 'ghost@u.example'"),
    (["record", "#2147483648", "--sent", "1"], 3, "no user '#2147483648'"),
    (["record", "nobody", "--sent", "1"], 2, "neither an email nor #ID"),
    (["record", REMOVED, "--sent", "1"], 5, "belongs to no account"),
    (["record", CAPPED, "--sent", "1", "--domain", "nosuch.example"], 3, "no domain 'nosuch.example'"),
    (["record", CAPPED, "--sent", "1", "--domain", "m.metered.example"], 5,
     f"m.metered.example belongs to {METERED}'s account, not to {CAPPED}'s; nothing was counted"),
    (["record", CAPPED, "--sent", "1", "--domain", "exa mple.com"], 2, "holds a space"),
    (["record", CAPPED, "--sent", "1", "--domain", ""], 2, "must not be empty"),
    # -- usage: resources ----------------------------------------------------------------------------
    (["usage", CAPPED, "--set", "nosuch=5"], 2, "unknown resource 'nosuch'"),
    (["usage", CAPPED, "--set", "contact=5"], 2, "unknown resource 'contact'; did you mean contacts?"),
    (["usage", CAPPED, "--set", "domains=3"], 2, "domains is counted from the store, not reported"),
    (["usage", CAPPED, "--set", "team_members=3"], 2, "team_members is counted from the store"),
    (["usage", CAPPED, "--set", "daily=3"], 2, "daily sends are counted by `mailadmin users record`"),
    (["usage", CAPPED, "--set", "contacts=-1"], 2, "contacts must be 0 or more, not -1"),
    (["usage", CAPPED, "--set", "contacts=abc"], 2, "contacts must be a whole number"),
    (["usage", CAPPED, "--set", "contacts=1.5"], 2, "contacts must be a whole number"),
    (["usage", CAPPED, "--set", f"contacts={'9' * 17}"], 2, "contacts 99999999999999999 is too large"),
    (["usage", CAPPED, "--set", "contacts"], 2, "'contacts' is not NAME=COUNT"),
    (["usage", CAPPED, "--set", "contacts=1", "--set", "contacts=2"], 2, "contacts is given twice with different counts"),
    (["usage", CAPPED, "--set", "=1"], 2, "unknown resource ''"),
    (["usage", "ghost@u.example", "--set", "contacts=1"], 3, "no user 'ghost@u.example'"),
    (["usage", REMOVED, "--set", "contacts=1"], 5, "belongs to no account"),
    (["usage", "ghost@u.example"], 3, "no user 'ghost@u.example'"),
    (["usage", REMOVED], 5, "belongs to no account"),
    # -- usage: --over --------------------------------------------------------------------------------
    (["usage"], 2, "give a USER, or --over PCT"),
    (["usage", "--over", "abc"], 2, "--over 'abc' is not a percentage"),
    (["usage", "--over", "-5"], 2, "--over '-5' is not a percentage"),
    (["usage", "--over", ""], 2, "is not a percentage"),
    (["usage", "--over", "1e2"], 2, "is not a percentage"),
    (["usage", "--over", "90.123"], 2, "at most 2 decimals"),
    (["usage", "--over", "nan"], 2, "is not a percentage"),
    (["usage", "--over", "20000"], 2, "--over 20000 is more than 10000 %"),
    (["usage", "--over", HUGE], 2, "is not a percentage"),
    (["usage", CAPPED, "--over", "90"], 2, "--over lists every account: give it without USER and --set"),
    (["usage", "--over", "90", "--set", "contacts=1"], 2, "give it without USER and --set"),
    (["usage", CAPPED, "--package", "capped"], 2, "--package goes with --over"),
    (["usage", CAPPED, "--limit", "5"], 2, "--limit goes with --over"),
    (["usage", "--over", "90", "--limit", "-1"], 2, "is not a count of rows"),
    (["usage", "--over", "90", "--package", "nosuch"], 3, "no package named 'nosuch'"),
    (["usage", "--over", "90", "-o", "ids"], 2, "is not one of table, json, csv"),
]


@pytest.fixture
def hostile(cli, world, db_url):
    assert cli("domains", "add", "m.metered.example", "--user", METERED, "--algorithm", "ed25519").exit_code == 0
    assert cli("users", "invite", CAPPED, REMOVED, "--role", "viewer").exit_code == 0
    assert cli("users", "remove", REMOVED, "--yes").exit_code == 0
    return db_url


def _state(db_url):
    return (audit_count(db_url), sql(db_url, "SELECT count(*), coalesce(sum(sent), 0) FROM usage_counter"),
            sql(db_url, "SELECT count(*) FROM resource_usage"), sql(db_url, "SELECT count(*) FROM credit_entry"),
            sql(db_url, "SELECT count(*) FROM domain_usage"), sql(db_url, "SELECT count(*) FROM suspension"))


@pytest.mark.parametrize(("args", "code", "needle"), ROWS, ids=[f"{i}-{' '.join(r[0])[:40]}" for i, r in enumerate(ROWS)])
def test_bad_input_is_refused_with_one_line_and_nothing_counted(cli, hostile, args, code, needle):
    before = _state(hostile)
    result = cli("users", *args, env=at(NOW))
    refused(result, code, needle)
    assert result.stdout == ""
    assert _state(hostile) == before


PACKAGE_ROWS = [
    (["packages", "create", "p2", "--role", "regular", "--bounce-min-sends", "-1"], 2, "--bounce-min-sends must be 0 or more"),
    (["packages", "create", "p2", "--role", "regular", "--bounce-min-sends", "ten"], 2, "--bounce-min-sends must be a whole number"),
    (["packages", "create", "p2", "--role", "regular", "--bounce-min-sends", "2000000000"], 2,
     "bounce minimum sends must be a whole number from 0 to 1000000000"),
    (["packages", "edit", "capped", "--bounce-min-sends", "1.5"], 2, "--bounce-min-sends must be a whole number"),
    (["packages", "edit", "nosuch", "--bounce-min-sends", "5"], 3, "no package named 'nosuch'"),
]


@pytest.mark.parametrize(("args", "code", "needle"), PACKAGE_ROWS, ids=[" ".join(r[0])[:50] for r in PACKAGE_ROWS])
def test_bad_bounce_minimum_is_refused(cli, world, args, code, needle):
    before = audit_count(world)
    result = cli(*args)
    refused(result, code, needle)
    assert result.stdout == "" and audit_count(world) == before
    assert cli("packages", "show", "capped", "-o", "json").json()["bounce_min_sends"] == 100

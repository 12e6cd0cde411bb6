"""`mailadmin domains set`: only what is given changes, an unchanged value is said so and not
audited, the audit entry holds before/after of the changed fields, -o json is the domain after."""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

OWNER = "owner@set.example"
D = "set.example"
DEFAULTS = {"open_tracking": True, "click_tracking": True, "unsubscribe_footer": True, "monthly_cap": "unlimited"}


@pytest.fixture
def domain(cli):
    assert cli("packages", "create", "pro", "--role", "admin").exit_code == 0
    assert cli("users", "create", OWNER, "--package", "pro").exit_code == 0
    assert cli("domains", "add", D, "--user", OWNER, "--algorithm", "ed25519").exit_code == 0
    return D


def settings(cli) -> dict:
    data = cli("domains", "show", D, "-o", "json").json()
    return {k: data[k] for k in DEFAULTS}


# (options, the settings after, what stderr says)
CHANGES = [
    (["--no-open-tracking"], {"open_tracking": False}, "open tracking off (was on)"),
    (["--no-click-tracking", "--no-unsubscribe-footer"], {"click_tracking": False, "unsubscribe_footer": False},
     "click tracking off (was on); unsubscribe footer off (was on)"),
    (["--monthly-cap", "50000"], {"monthly_cap": 50000}, "monthly cap 50000 (was unlimited)"),
    (["--monthly-cap", "0"], {"monthly_cap": 0}, "monthly cap 0 (was unlimited)"),
    (["--monthly-cap", " UNLIMITED "], {}, "monthly cap already unlimited; nothing changed"),
    (["--open-tracking", "--no-click-tracking"], {"click_tracking": False}, "click tracking off (was on); open tracking already on"),
]


@pytest.mark.parametrize(("options", "after", "said"), CHANGES, ids=[" ".join(c[0]).strip() for c in CHANGES])
def test_set_changes_only_what_is_given(cli, db_url, domain, options, after, said):
    before = audit_count(db_url)
    r = cli("domains", "set", D, *options)
    assert r.exit_code == 0, r
    assert r.stdout == "" and said in r.stderr
    assert settings(cli) == {**DEFAULTS, **after}
    assert audit_count(db_url) == before + (1 if after else 0)


def test_the_audit_holds_the_changed_fields_and_json_is_the_domain_after(cli, db_url, domain):
    from mailadmin.render.domains import DOMAIN

    cli("domains", "set", D, "--monthly-cap", "100")
    r = cli("domains", "set", D, "--no-open-tracking", "--open-tracking", "--monthly-cap", "unlimited",
            "--unsubscribe-footer", "-o", "json")  # the last of a flag pair wins, as Click reads it
    assert r.exit_code == 0, r
    data = r.json()
    assert list(data) == list(DOMAIN.fields) and data["monthly_cap"] == "unlimited"
    entry = cli("audit", "list", "--target", f"domain:{D}", "-n", "1", "-o", "json").json()[0]
    assert entry["action"] == "domain.set"
    assert entry["before"] == {"monthly_cap": 100} and entry["after"] == {"monthly_cap": "unlimited"}
    # the same again: nothing changes, nothing is audited, and it says so
    before = audit_count(db_url)
    again = cli("domains", "set", D, "--monthly-cap", "unlimited", "--open-tracking")
    assert again.exit_code == 0 and "nothing changed" in again.stderr and audit_count(db_url) == before
    csv = cli("domains", "set", D, "--no-click-tracking", "-o", "csv").stdout.splitlines()
    assert csv[0].startswith("id,name,unicode,owner") and ",no," in csv[1]


def test_list_shows_the_settings(cli, domain):
    cli("domains", "set", D, "--no-click-tracking", "--monthly-cap", "7")
    row = cli("domains", "list", "-o", "json").json()[0]
    assert (row["open_tracking"], row["click_tracking"], row["unsubscribe_footer"], row["monthly_cap"]) == (True, False, True, 7)
    assert row["verification"] == "pending" and row["checked_at"] is None


def test_no_option_is_a_usage_error(cli, db_url, domain):
    before = audit_count(db_url)
    refused(cli("domains", "set", D), 2, "give at least one setting")
    assert audit_count(db_url) == before

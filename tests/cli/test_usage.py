"""`mailadmin users record` and `users usage` through the CLI, on SQLite and PostgreSQL (issue 11):
the three windows enforced together with overrides, the domain's cap, overuse paid and refused,
the status gate, --dry-run, bounce suspensions and their figures, hour/day/month rollovers with the
clock fixed by MAILADMIN_TEST_NOW, retention, the reports with their bars, `--over`, and a fixed
number of statements whatever the history."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import audit_count, refused

CAPPED, METERED, BOUNCY, MEMBER = "capped@u.example", "metered@u.example", "bouncy@u.example", "member@u.example"
NOW = "2026-11-26T14:30:00Z"


def at(when: str) -> dict[str, str]:
    return {"MAILADMIN_TEST_NOW": when}


def sql(db_url: str, statement: str, **params):
    engine = create_engine(db_url if "://" in db_url else f"sqlite:///{db_url}")
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def counters(db_url: str, email: str) -> dict[str, tuple[int, int, int]]:
    """span -> (sent, bounced, overuse) of every row of the user's account, keyed `span@start`."""
    rows = sql(db_url, "SELECT c.span, c.starts_at, c.sent, c.bounced, c.overuse FROM usage_counter c "
                       "JOIN \"user\" u ON u.account_id = c.account_id WHERE u.email = :e", e=email)
    return {f"{span}@{str(start)[:16]}": (sent, bounced, overuse) for span, start, sent, bounced, overuse in rows}


def current(db_url: str, email: str) -> dict[str, int]:
    """Sends of the newest hour, day and month rows."""
    rows = sql(db_url, "SELECT c.span, c.sent FROM usage_counter c JOIN \"user\" u ON u.account_id = c.account_id "
                       "WHERE u.email = :e ORDER BY c.starts_at", e=email)
    return {span: sent for span, sent in rows}


def ledger(db_url: str, email: str) -> list[tuple[str, int, str]]:
    return [tuple(r) for r in sql(db_url, "SELECT e.kind, e.amount, e.reason FROM credit_entry e JOIN \"user\" u "
                                          "ON u.account_id = e.account_id WHERE u.email = :e ORDER BY e.id", e=email)]


@pytest.fixture
def world(cli, db_url):
    """capped: 10 an hour, 25 a day, 40 a month, no overuse. metered: 10 an hour, overuse at 0.01
    a send with credits. bouncy: 10 % bounce limit from 20 sends a window."""
    for args in (
        ["packages", "create", "capped", "--role", "regular", "--limit", "hourly=10", "--limit", "daily=25", "--limit", "monthly=40"],
        ["packages", "create", "metered", "--role", "admin", "--limit", "hourly=10", "--credits", "--credit-cost", "0.01",
         "--allow-overuse"],
        ["packages", "create", "bouncy", "--role", "regular", "--bounce-limit", "10", "--bounce-min-sends", "20"],
        ["users", "create", CAPPED, "--package", "capped"],
        ["users", "create", METERED, "--package", "metered"],
        ["users", "create", BOUNCY, "--package", "bouncy"],
        ["users", "invite", CAPPED, MEMBER, "--role", "viewer"],
    ):
        result = cli(*args, env=at(NOW))
        assert result.exit_code == 0, (args, result)
    return db_url


def record(cli, user: str, *args: str, when: str = NOW):
    return cli("users", "record", user, *args, env=at(when))


# -- within the limits ---------------------------------------------------------------------------
def test_within_every_limit_a_send_counts_in_its_hour_day_and_month(cli, world):
    result = record(cli, CAPPED, "--sent", "4", "--bounced", "1", "-o", "json")
    assert result.exit_code == 0, result
    data = result.json()
    assert (data["sent"], data["bounced"], data["dry_run"], data["overuse"], data["suspended"]) == (4, 1, False, None, None)
    assert data["windows"]["hourly"] == {"used": 4, "limit": 10, "remaining": 6, "source": "package",
                                         "resets_at": "2026-11-26T15:00:00Z"}
    assert data["windows"]["daily"]["resets_at"] == "2026-11-27T00:00:00Z"
    assert data["windows"]["monthly"]["resets_at"] == "2026-12-01T00:00:00Z"
    assert counters(world, CAPPED) == {"hour@2026-11-26 14:00": (4, 1, 0), "day@2026-11-26 00:00": (4, 1, 0),
                                       "month@2026-11-01 00:00": (4, 1, 0)}


def test_a_member_records_for_its_account_and_the_table_form_says_so_on_stderr(cli, world):
    result = record(cli, MEMBER, "--sent", "3")
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.strip() == f"counted 3 sends for {MEMBER}: hourly 3/10, daily 3/25, monthly 3/40"
    assert current(world, CAPPED) == {"hour": 3, "day": 3, "month": 3}
    assert record(cli, MEMBER, "--sent", "1", "-q").stderr == ""


# -- refused: each window, overrides included ---------------------------------------------------
# (overrides set first, earlier records (time, n), the record refused, what its one line says)
REFUSALS = [
    ({}, [(NOW, 8)], 3, "would pass its hourly limit of 10 (package capped) by 1: 8 sent this hour + 3; "
                        "it resets at 2026-11-26T15:00:00Z; nothing was counted"),
    ({}, [("2026-11-26T10:00:00Z", 10), ("2026-11-26T11:00:00Z", 10)], 6,
     "would pass its daily limit of 25 (package capped) by 1: 20 sent today + 6; it resets at 2026-11-27T00:00:00Z"),
    ({}, [("2026-11-24T10:00:00Z", 10), ("2026-11-25T10:00:00Z", 10), ("2026-11-25T11:00:00Z", 10),
          ("2026-11-26T10:00:00Z", 5)], 6,
     "would pass its monthly limit of 40 (package capped) by 1: 35 sent this month + 6; it resets at 2026-12-01T00:00:00Z"),
    ({"hourly": "unlimited", "daily": "3"}, [], 5,
     "would pass its daily limit of 3 (override on the account) by 2: 0 sent today + 5; it resets at 2026-11-27T00:00:00Z"),
    ({"hourly": "2"}, [], 10,
     "would pass its hourly limit of 2 (override on the account) by 8: 0 sent this hour + 10; it resets at 2026-11-26T15:00:00Z"),
]


@pytest.mark.parametrize(("overrides", "before", "n", "needle"), REFUSALS)
def test_past_a_limit_without_overuse_nothing_is_counted_and_the_limit_is_named(cli, world, overrides, before, n, needle):
    for name, value in overrides.items():
        assert cli("users", "limits", CAPPED, "--set", f"{name}={value}").exit_code == 0
    for when, sent in before:
        assert record(cli, CAPPED, "--sent", str(sent), when=when).exit_code == 0
    kept, audited = counters(world, CAPPED), audit_count(world)
    result = record(cli, CAPPED, "--sent", str(n))
    line = refused(result, 6, needle)
    assert "package capped does not allow overuse" in line
    assert counters(world, CAPPED) == kept and audit_count(world) == audited


def test_a_refusal_names_the_worst_window_and_the_others_it_passes(cli, world):
    assert cli("users", "limits", CAPPED, "--set", "daily=12").exit_code == 0
    result = record(cli, CAPPED, "--sent", "20")
    refused(result, 6, "would pass its hourly limit of 10 (package capped) by 10: 0 sent this hour + 20; "
                       "also the daily limit by 8")


# -- overuse -------------------------------------------------------------------------------------
def test_overuse_pays_the_largest_excess_once_through_the_ledger(cli, world):
    assert cli("credits", "add", METERED, "1", "--reason", "prepaid").exit_code == 0
    assert cli("users", "limits", METERED, "--set", "daily=12").exit_code == 0
    assert record(cli, METERED, "--sent", "8").exit_code == 0
    result = record(cli, METERED, "--sent", "6", "-o", "json")  # hourly: 4 past 10; daily: 2 past 12
    assert result.exit_code == 0, result
    data = result.json()
    assert data["overuse"] == {"window": "hourly", "count": 4, "amount": "0.0400", "balance": "0.9600",
                               "entry_id": data["overuse"]["entry_id"]}
    assert data["windows"]["hourly"]["used"] == 14 and data["windows"]["daily"]["used"] == 14
    entries = ledger(world, METERED)
    assert [(k, a) for k, a, _r in entries] == [("topup", 10000), ("overuse", -400)]
    assert entries[1][2] == "overuse: 4 sends past the hourly limit of 10 (2026-11-26T14:00Z) at 0.0100 each"
    assert current(world, METERED) == {"hour": 14, "day": 14, "month": 14}
    assert counters(world, METERED)["month@2026-11-01 00:00"] == (14, 0, 4)
    # past the limit already, every new send is excess; the table form prints the charge
    again = record(cli, METERED, "--sent", "2")
    assert again.exit_code == 0
    # a tie (2 past both) is named by the window that resets last
    assert "charged 0.0200 credits for 2 sends past the daily limit (entry #" in again.stderr
    assert "balance 0.9400" in again.stderr
    verify = cli("credits", "verify", "-o", "json")
    assert verify.exit_code == 0 and verify.json()["ok"] is True


@pytest.mark.parametrize(("credits", "needle"), [
    (None, "overuse of 5 sends costs 0.0500 credits and the account has 0.0000; nothing was counted"),
    ("0.04", "overuse of 5 sends costs 0.0500 credits and the account has 0.0400; nothing was counted"),
])
def test_overuse_the_balance_cannot_cover_is_refused_whole(cli, world, credits, needle):
    if credits:
        assert cli("credits", "add", METERED, credits, "--reason", "prepaid").exit_code == 0
    before, audited = ledger(world, METERED), audit_count(world)
    line = refused(record(cli, METERED, "--sent", "15"), 6, needle)
    assert "hourly limit of 10 (package metered) by 5" in line and "resets at 2026-11-26T15:00:00Z" in line
    assert ledger(world, METERED) == before and counters(world, METERED) == {} and audit_count(world) == audited


def test_overuse_needs_credits_enabled_on_the_package(cli, world):
    assert cli("packages", "edit", "metered", "--no-credits").exit_code == 0
    refused(record(cli, METERED, "--sent", "11"), 6, "hourly limit of 10")
    assert "has no credits enabled" in record(cli, METERED, "--sent", "11").stderr


def test_dry_run_answers_with_the_same_exit_codes_and_counts_nothing(cli, world):
    assert cli("credits", "add", METERED, "1", "--reason", "prepaid").exit_code == 0
    audited = audit_count(world)
    ok = record(cli, METERED, "--sent", "12", "--dry-run", "-o", "json")
    assert ok.exit_code == 0, ok
    assert ok.json()["dry_run"] is True and ok.json()["overuse"]["amount"] == "0.0200" and ok.json()["overuse"]["entry_id"] is None
    table = record(cli, METERED, "--sent", "12", "--dry-run")
    assert "dry run: would count 12 sends" in table.stderr and "would charge 0.0200 credits" in table.stderr
    refused(record(cli, CAPPED, "--sent", "11", "--dry-run"), 6, "hourly limit of 10")
    assert counters(world, METERED) == {} and ledger(world, METERED)[1:] == [] and audit_count(world) == audited


# -- the domain's monthly cap ---------------------------------------------------------------------
def test_a_domains_monthly_cap_is_a_hard_stop_even_with_overuse(cli, world):
    assert cli("domains", "add", "mail.metered.example", "--user", METERED, "--algorithm", "ed25519").exit_code == 0
    sql(world, "UPDATE domain SET monthly_cap = 6 WHERE name = 'mail.metered.example'")
    assert cli("credits", "add", METERED, "10", "--reason", "prepaid").exit_code == 0
    ok = record(cli, METERED, "--sent", "5", "--domain", "MAIL.metered.example.", "-o", "json")
    assert ok.exit_code == 0, ok
    assert ok.json()["domain"] == {"domain": "mail.metered.example", "used": 5, "cap": 6, "remaining": 1,
                                   "resets_at": "2026-12-01T00:00:00Z"}
    line = refused(record(cli, METERED, "--sent", "2", "--domain", "mail.metered.example"), 6,
                   "domain mail.metered.example would pass its monthly cap of 6 by 1: 5 sent this month + 2; "
                   "it resets at 2026-12-01T00:00:00Z")
    assert "not paid past with credits" in line
    assert current(world, METERED)["month"] == 5
    # without --domain the account's own limits decide: the cap is the domain's
    assert record(cli, METERED, "--sent", "2").exit_code == 0
    assert sql(world, "SELECT sent FROM domain_usage") == [(5,)]
    # the next month the cap starts again
    assert record(cli, METERED, "--sent", "6", "--domain", "mail.metered.example", when="2026-12-01T00:00:00Z").exit_code == 0


# -- the status gate ------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "needle"), [
    (["users", "suspend", CAPPED, "--reason", "unpaid invoice", "--code", "billing", "--yes"],
     f"the account of {CAPPED} is suspended (billing: unpaid invoice); nothing was counted"),
    (["users", "close", CAPPED, "--reason", "left us", "--yes"], f"the account of {CAPPED} is closed (left us)"),
    (["users", "edit", CAPPED, "--expires", "2026-11-01"], f"the plan of {CAPPED}'s account expired at 2026-11-01T00:00:00Z"),
    (["users", "suspend", MEMBER, "--reason", "on leave", "--yes"], f"{MEMBER} is suspended (manual: on leave)"),
])
@pytest.mark.parametrize("who", [CAPPED, MEMBER])
def test_a_suspended_closed_or_expired_account_counts_nothing(cli, world, change, needle, who):
    assert cli(*change, env=at(NOW)).exit_code == 0
    if change[2] == MEMBER and who == CAPPED:  # a member's own suspension stops the member only
        assert record(cli, who, "--sent", "1").exit_code == 0
        return
    audited = audit_count(world)
    refused(record(cli, who, "--sent", "1"), 5, needle)
    refused(record(cli, who, "--sent", "1", "--dry-run"), 5, needle)
    assert counters(world, CAPPED) == {} and audit_count(world) == audited


# -- bounces --------------------------------------------------------------------------------------
def test_a_bounce_rate_past_the_limit_suspends_once_with_its_figures(cli, world):
    first = record(cli, BOUNCY, "--sent", "10", "--bounced", "5", "-o", "json")  # 50 %, but 10 sends < 20
    assert first.exit_code == 0 and first.json()["suspended"] is None
    second = record(cli, BOUNCY, "--sent", "15", "--bounced", "0", "-o", "json")  # 5 of 25 = 20 % > 10 %
    assert second.exit_code == 0, second
    reason = "bounce rate 20.00% (5 of 25 today) over the package's 10.00% (package bouncy)"
    assert second.json()["suspended"] == {"code": "bounces", "window": "day", "reason": reason}
    assert current(world, BOUNCY)["day"] == 25  # the send that crossed it happened: counted
    shown = cli("users", "show", BOUNCY, "-o", "json", env=at(NOW)).json()
    assert shown["status"] == "suspended"
    assert [(s["code"], s["reason"]) for s in shown["suspensions"]] == [("bounces", reason)]
    refused(record(cli, BOUNCY, "--sent", "1"), 5, f"is suspended (bounces: {reason})")
    assert sql(world, "SELECT count(*) FROM suspension")[0][0] == 1  # never stacked
    entry = cli("audit", "list", "-n", "1", "-o", "json").json()[0]
    assert (entry["action"], entry["target"]) == ("user.suspend", f"user:{BOUNCY}")


def test_a_lifted_bounce_suspension_accepts_the_window_until_it_rolls_over(cli, world):
    assert record(cli, BOUNCY, "--sent", "20", "--bounced", "10").exit_code == 0  # suspended at 50 %
    assert cli("users", "unsuspend", BOUNCY, "--code", "bounces", "--yes", env=at("2026-11-26T15:00:00Z")).exit_code == 0
    later = record(cli, BOUNCY, "--sent", "5", "--bounced", "5", "-o", "json", when="2026-11-26T16:00:00Z")
    assert later.exit_code == 0 and later.json()["suspended"] is None  # the operator accepted today and this month
    # a new month counts afresh
    fresh = record(cli, BOUNCY, "--sent", "20", "--bounced", "3", "-o", "json", when="2026-12-01T00:30:00Z")
    assert fresh.json()["suspended"]["reason"].startswith("bounce rate 15.00% (3 of 20 today)")


def test_the_minimum_of_sends_is_a_package_setting(cli, world):
    assert cli("packages", "create", "strict", "--role", "regular", "--bounce-limit", "5").exit_code == 0
    assert cli("packages", "show", "strict", "-o", "json").json()["bounce_min_sends"] == 100
    assert cli("packages", "edit", "strict", "--bounce-min-sends", "2").exit_code == 0
    assert cli("packages", "show", "strict", "-o", "json").json()["bounce_min_sends"] == 2
    assert cli("users", "create", "strict@u.example", "--package", "strict").exit_code == 0
    result = record(cli, "strict@u.example", "--sent", "2", "--bounced", "1", "-o", "json")
    assert result.json()["suspended"]["reason"] == "bounce rate 50.00% (1 of 2 today) over the package's 5.00% (package strict)"


# -- time ----------------------------------------------------------------------------------------
def test_hour_day_and_month_roll_over(cli, world):
    assert record(cli, CAPPED, "--sent", "5", when="2026-11-30T21:10:00Z").exit_code == 0
    assert record(cli, CAPPED, "--sent", "10", when="2026-11-30T22:59:59Z").exit_code == 0
    refused(record(cli, CAPPED, "--sent", "1", when="2026-11-30T22:59:59Z"), 6, "resets at 2026-11-30T23:00:00Z")
    assert record(cli, CAPPED, "--sent", "10", when="2026-11-30T23:00:00Z").exit_code == 0  # a new hour; the day is full
    refused(record(cli, CAPPED, "--sent", "1", when="2026-11-30T23:59:59Z"), 6,
            "daily limit of 25 (package capped) by 1: 25 sent today + 1; also the hourly limit by 1; "
            "it resets at 2026-12-01T00:00:00Z")
    day = record(cli, CAPPED, "--sent", "10", "-o", "json", when="2026-12-01T00:00:00Z")  # a new day, hour and month
    assert day.exit_code == 0, day
    assert {k: w["used"] for k, w in day.json()["windows"].items()} == {"hourly": 10, "daily": 10, "monthly": 10}
    assert day.json()["windows"]["monthly"]["resets_at"] == "2027-01-01T00:00:00Z"


def test_the_year_rolls_over_too(cli, world):
    assert record(cli, CAPPED, "--sent", "10", when="2026-12-31T23:10:00Z").exit_code == 0
    data = record(cli, CAPPED, "--sent", "10", "-o", "json", when="2027-01-01T00:10:00Z").json()
    assert data["windows"]["monthly"] == {"used": 10, "limit": 40, "remaining": 30, "source": "package",
                                          "resets_at": "2027-02-01T00:00:00Z"}


def test_hourly_rows_are_dropped_after_48_hours_by_record_itself(cli, world):
    assert record(cli, CAPPED, "--sent", "1", when="2026-11-20T10:00:00Z").exit_code == 0
    assert record(cli, CAPPED, "--sent", "1", when="2026-11-21T10:00:00Z").exit_code == 0
    assert "hour@2026-11-20 10:00" in counters(world, CAPPED)
    assert record(cli, METERED, "--sent", "1", when="2026-11-22T11:00:00Z").exit_code == 0  # any account's record prunes
    rows = counters(world, CAPPED)
    assert "hour@2026-11-20 10:00" not in rows and "hour@2026-11-21 10:00" in rows
    assert rows["day@2026-11-20 00:00"] == (1, 0, 0) and rows["month@2026-11-01 00:00"] == (2, 0, 0)


# -- reports -------------------------------------------------------------------------------------
def test_usage_report_shows_every_limit_with_source_reset_and_state(cli, world):
    assert cli("users", "limits", METERED, "--set", "daily=100", "--set", "contacts=1000").exit_code == 0
    assert cli("credits", "add", METERED, "1", "--reason", "prepaid").exit_code == 0
    assert record(cli, METERED, "--sent", "12", "--bounced", "1").exit_code == 0
    assert cli("domains", "add", "r.metered.example", "--user", METERED, "--algorithm", "ed25519").exit_code == 0
    assert cli("users", "invite", METERED, "team@u.example", "--role", "viewer").exit_code == 0
    set_ = cli("users", "usage", METERED, "--set", "contacts=850", "--set", "segments=3", "-o", "json", env=at(NOW))
    assert set_.exit_code == 0, set_
    assert "reported contacts=850 (was none), segments=3 (was none)" in set_.stderr
    data = cli("users", "usage", METERED, "-o", "json", env=at("2026-11-26T14:45:00Z")).json()
    limits = data["limits"]
    assert list(limits) == ["hourly", "daily", "monthly", "contacts", "segments", "domains", "triggers", "evergreen_campaigns",
                            "threads", "automation_actions", "automation_monthly", "suppressed_domains", "team_members"]
    assert limits["hourly"] == {"used": 12, "limit": 10, "remaining": 0, "percent": "120.00", "state": "over",
                                "source": "package", "resets_at": "2026-11-26T15:00:00Z", "reported_at": None}
    assert limits["daily"] == {"used": 12, "limit": 100, "remaining": 88, "percent": "12.00", "state": "ok",
                               "source": "override", "resets_at": "2026-11-27T00:00:00Z", "reported_at": None}
    assert limits["contacts"] == {"used": 850, "limit": 1000, "remaining": 150, "percent": "85.00", "state": "near",
                                  "source": "override", "resets_at": None, "reported_at": "2026-11-26T14:30:00Z"}
    assert limits["monthly"]["state"] == "unlimited" and limits["monthly"]["percent"] is None
    assert (limits["domains"]["used"], limits["team_members"]["used"]) == (1, 1)
    assert data["bounces"]["day"] == {"sent": 12, "bounced": 1, "rate": "8.33", "limit": None, "min_sends": 100, "counts": False}
    assert (data["overuse_sends"], data["overuse_amount"], data["balance"]) == (2, "0.0200", "0.9800")
    assert (data["package"], data["credits_enabled"], data["allow_overuse"], data["credit_cost"]) == ("metered", True, True, "0.0100")
    # the same again is no change, and says so
    again = cli("users", "usage", METERED, "--set", "contacts=850")
    assert again.exit_code == 0 and "nothing changed" in again.stderr


def test_usage_table_draws_bars_in_ascii_without_colour(cli, world):
    assert record(cli, CAPPED, "--sent", "9").exit_code == 0
    table = cli("users", "usage", CAPPED, env=at(NOW)).stdout
    hourly = next(line for line in table.splitlines() if line.startswith("| hourly"))
    assert "[##################..] near" in hourly and "90.00" in hourly and "2026-11-26T15:00:00Z" in hourly
    daily = next(line for line in table.splitlines() if line.startswith("| daily"))
    assert "[#######.............]" in daily and "near" not in daily
    assert "credits: off" in table
    csv = cli("users", "usage", CAPPED, "-o", "csv", env=at(NOW)).stdout.splitlines()
    assert csv[0] == "name,used,limit,remaining,percent,state,source,resets_at,reported_at"
    assert csv[1] == "hourly,9,10,1,90.00,near,package,2026-11-26T15:00:00Z,"


def test_usage_table_in_colour_on_a_terminal(world, tmp_path):
    from mailadmin.cli.app import invoke
    from tests.conftest import BASE_ENV

    class Tty(io.StringIO):
        def isatty(self):
            return True

    env = {**BASE_ENV, "MAILADMIN_DB": world, "MAILADMIN_CONFIG": str(tmp_path / "c.toml"), "FORCE_COLOR": "1",
           "MAILADMIN_TEST_NOW": NOW, "TERM": "xterm-256color"}
    env.pop("NO_COLOR")
    assert invoke(["users", "record", CAPPED, "--sent", "11", "-q"], stdout=io.StringIO(), stderr=io.StringIO(), env=env) == 6
    assert invoke(["users", "record", CAPPED, "--sent", "9", "-q"], stdout=io.StringIO(), stderr=io.StringIO(), env=env) == 0
    out = Tty()
    assert invoke(["users", "usage", CAPPED], stdout=out, stderr=io.StringIO(), env=env) == 0
    drawn = out.getvalue()
    assert "\x1b[33m" in drawn and "█" in drawn  # yellow: 90 % of the hourly limit
    assert "\x1b[32m" in drawn  # green: the daily one at 36 %


def test_over_lists_accounts_worst_first_with_every_limit_they_are_over(cli, world):
    assert record(cli, CAPPED, "--sent", "9").exit_code == 0  # hourly 90 %, daily 36 %
    assert cli("credits", "add", METERED, "1", "--reason", "prepaid").exit_code == 0
    assert record(cli, METERED, "--sent", "12").exit_code == 0  # hourly 120 %
    assert cli("users", "limits", BOUNCY, "--set", "contacts=10", "--set", "daily=100").exit_code == 0
    assert cli("users", "usage", BOUNCY, "--set", "contacts=10").exit_code == 0  # contacts 100 %
    data = cli("users", "usage", "--over", "90", "-o", "json", env=at(NOW)).json()
    assert [(r["user"], r["limit_name"], r["percent"], r["over"]) for r in data] == [
        (METERED, "hourly", "120.00", ["hourly"]),
        (BOUNCY, "contacts", "100.00", ["contacts"]),
        (CAPPED, "hourly", "90.00", ["hourly"]),
    ]
    assert data[0] == {"user": METERED, "account_id": data[0]["account_id"], "package": "metered", "limit_name": "hourly",
                       "used": 12, "limit": 10, "percent": "120.00", "source": "package", "over": ["hourly"]}
    assert [r["user"] for r in cli("users", "usage", "--over", "95.5", "-o", "json", env=at(NOW)).json()] == [METERED, BOUNCY]
    assert [r["user"] for r in cli("users", "usage", "--over", "30", "--package", "capped", "-o", "json", env=at(NOW)).json()] == [CAPPED]
    assert cli("users", "usage", "--over", "30", "--package", "capped", "-o", "json", env=at(NOW)).json()[0]["over"] == ["hourly", "daily"]
    csv = cli("users", "usage", "--over", "90", "-o", "csv", env=at(NOW)).stdout.splitlines()
    assert csv[0] == "user,account_id,package,limit_name,used,limit,percent,source,over"
    # the next hour the hourly figures start again
    later = cli("users", "usage", "--over", "90", "-o", "json", env=at("2026-11-26T15:00:00Z")).json()
    assert [r["user"] for r in later] == [BOUNCY]
    table = cli("users", "usage", "--over", "90", "--limit", "1", env=at(NOW))
    assert [line.split("|")[1].strip() for line in table.stdout.splitlines() if "@" in line] == [METERED]
    assert "3 accounts at or over 90.00% of a limit; showing the worst 1" in table.stderr
    assert len(cli("users", "usage", "--over", "90", "--limit", "2", "-o", "json", env=at(NOW)).json()) == 2
    empty = cli("users", "usage", "--over", "200", env=at(NOW))
    assert empty.exit_code == 0 and empty.stdout == "" and "no account uses 200.00% of any limit" in empty.stderr


# -- a client user acting through --as ------------------------------------------------------------
def test_a_client_user_reads_its_own_usage_and_nothing_more(cli, world):
    assert record(cli, CAPPED, "--sent", "2").exit_code == 0
    own = cli("--as", CAPPED, "users", "usage", CAPPED, "-o", "json", env=at(NOW))
    assert own.exit_code == 0 and own.json()["limits"]["hourly"]["used"] == 2
    assert own.json()["balance"] == "0.0000"  # the owner holds billing.view
    assert cli("roles", "create", "campaigner", "--grant", "campaigns").exit_code == 0
    assert cli("users", "invite", CAPPED, "camp@u.example", "--role", "campaigner").exit_code == 0
    member = cli("--as", "camp@u.example", "users", "usage", "camp@u.example", "-o", "json", env=at(NOW))
    assert member.exit_code == 0 and member.json()["limits"]["hourly"]["used"] == 2
    # credits and what overuse cost are billing: a member without billing.view sees neither
    assert (member.json()["balance"], member.json()["overuse_amount"], member.json()["credit_cost"]) == (None, None, None)
    refused(cli("--as", CAPPED, "users", "usage", METERED), 3, f"no user '{METERED}'")
    refused(cli("--as", CAPPED, "users", "usage", "--over", "90"), 4, "operator action")
    refused(cli("--as", CAPPED, "users", "usage", CAPPED, "--set", "contacts=1"), 4, "operator action")
    refused(cli("--as", CAPPED, "users", "record", CAPPED, "--sent", "1"), 4, "operator action")
    assert current(world, CAPPED)["hour"] == 2


# -- a fixed number of statements -----------------------------------------------------------------
def _statements(db_url, tmp_path, *args, when=NOW):
    from mailadmin.cli.app import invoke
    from tests.cli.test_access_queries import counted_statements
    from tests.conftest import BASE_ENV

    env = {**BASE_ENV, "MAILADMIN_DB": db_url, "MAILADMIN_CONFIG": str(tmp_path / "c.toml"), "MAILADMIN_TEST_NOW": when}
    err = io.StringIO()
    with counted_statements() as seen:
        code = invoke(list(args), stdin=io.StringIO(""), stdout=io.StringIO(), stderr=err, env=env)
    assert code == 0, err.getvalue()
    return len(seen)


def test_record_costs_the_same_statements_whatever_the_history(cli, world, tmp_path):
    assert cli("domains", "add", "q.capped.example", "--user", CAPPED, "--algorithm", "ed25519").exit_code == 0
    args = ["users", "record", CAPPED, "--sent", "1", "--domain", "q.capped.example"]
    first = _statements(world, tmp_path, *args)
    # a long history: a month of records, suspensions lifted, ledger entries
    for day in range(1, 26):
        assert record(cli, CAPPED, "--sent", "1", "--domain", "q.capped.example", when=f"2026-11-{day:02d}T09:00:00Z").exit_code == 0
    for _ in range(3):
        assert cli("users", "suspend", CAPPED, "--reason", "r", "--yes").exit_code == 0
        assert cli("users", "unsuspend", CAPPED, "--yes").exit_code == 0
    later = _statements(world, tmp_path, *args)
    plain = _statements(world, tmp_path, "users", "record", CAPPED, "--sent", "1")
    assert first == later <= 14, (first, later)
    assert plain == first - 3  # the domain, its month's row, and its upsert


def test_over_is_one_query_whatever_the_number_of_accounts(cli, world, tmp_path):
    assert record(cli, CAPPED, "--sent", "9").exit_code == 0
    few = _statements(world, tmp_path, "users", "usage", "--over", "50", "-o", "json")
    for n in range(30):
        email = f"more{n}@u.example"
        assert cli("users", "create", email, "--package", "capped").exit_code == 0
        assert record(cli, email, "--sent", "9").exit_code == 0
    many = _statements(world, tmp_path, "users", "usage", "--over", "50", "-o", "json")
    assert few == many


def test_over_counts_domains_and_members_from_the_store_and_honours_overrides(cli, world):
    assert cli("packages", "create", "small", "--role", "admin", "--limit", "domains=2", "--limit", "team_members=4",
               "--limit", "contacts=10").exit_code == 0
    for owner in ("s1@u.example", "s2@u.example", "s3@u.example"):
        assert cli("users", "create", owner, "--package", "small").exit_code == 0
    assert cli("domains", "add", "a.s1.example", "--user", "s1@u.example", "--algorithm", "ed25519").exit_code == 0
    assert cli("domains", "add", "b.s1.example", "--user", "s1@u.example", "--algorithm", "ed25519").exit_code == 0  # 100 %
    for n in range(3):
        assert cli("users", "invite", "s2@u.example", f"t{n}@u.example", "--role", "viewer").exit_code == 0  # 75 %
    assert cli("users", "invite", "s3@u.example", "solo@u.example", "--role", "viewer").exit_code == 0
    assert cli("users", "limits", "s3@u.example", "--set", "team_members=0", "--set", "contacts=unlimited").exit_code == 0
    assert cli("users", "usage", "s3@u.example", "--set", "contacts=999").exit_code == 0  # unlimited: never over
    data = cli("users", "usage", "--over", "75", "--package", "small", "-o", "json", env=at(NOW)).json()
    assert [(r["user"], r["limit_name"], r["used"], r["limit"], r["percent"], r["source"]) for r in data] == [
        ("s3@u.example", "team_members", 1, 0, None, "override"),  # a limit of 0 with something used: worst of all
        ("s1@u.example", "domains", 2, 2, "100.00", "package"),
        ("s2@u.example", "team_members", 3, 4, "75.00", "package"),
    ]

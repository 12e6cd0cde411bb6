"""The account lifecycle through the CLI: suspensions as records, unsuspend by code, expiry
without a job, close/reopen/delete and their state rules, the team shut out by its owner, and the
bulk contract (several users, stdin, --dry-run, --yes, all-or-nothing, --skip-missing, JSON)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import one_line_error

USERS = ["a@example.com", "b@example.com", "c@example.com"]


@pytest.fixture
def accounts(cli):
    assert cli("packages", "create", "starter", "--role", "regular").exit_code == 0
    for email in USERS:
        assert cli("users", "create", email, "--package", "starter").exit_code == 0


def show(cli, user):
    r = cli("users", "show", user, "-o", "json")
    assert r.exit_code == 0, r
    return r.json()


def statuses(cli) -> dict[str, str]:
    return {r["email"]: r["status"] for r in cli("users", "list", "-o", "json").json()}


def audit_count(cli) -> int:
    return len(cli("audit", "list", "--limit", "0", "-o", "json").json())


# -- suspensions ---------------------------------------------------------------------------------
def test_suspend_records_code_reason_actor_start_and_until(cli, accounts):
    r = cli("users", "suspend", "a@example.com", "--reason", "unpaid invoice", "--code", "billing", "--until", "7d", "--yes")
    assert r.exit_code == 0, r
    assert r.stderr.strip() == "suspended a@example.com" and r.stdout == ""
    data = show(cli, "a@example.com")
    assert data["status"] == "suspended"
    [s] = data["suspensions"]
    assert (s["code"], s["reason"]) == ("billing", "unpaid invoice")
    assert s["actor"] and s["started_at"].endswith("Z") and s["until"].endswith("Z")
    entry = cli("audit", "list", "--target", "user:a@example.com", "--action", "user.suspend", "-o", "json").json()[0]
    assert entry["before"] == {"status": "active"} and entry["after"]["code"] == "billing"


def test_code_defaults_to_manual(cli, accounts):
    cli("users", "suspend", "a@example.com", "--reason", "look", "--yes")
    assert [s["code"] for s in show(cli, "a@example.com")["suspensions"]] == ["manual"]


def test_several_suspensions_stand_and_unsuspend_code_lifts_one(cli, accounts):
    cli("users", "suspend", "a@example.com", "--reason", "unpaid", "--code", "billing", "--yes")
    cli("users", "suspend", "a@example.com", "--reason", "spam", "--code", "abuse", "--yes")
    assert [s["code"] for s in show(cli, "a@example.com")["suspensions"]] == ["billing", "abuse"]
    assert cli("users", "unsuspend", "a@example.com", "--code", "billing", "--yes").exit_code == 0
    data = show(cli, "a@example.com")
    assert data["status"] == "suspended" and [s["code"] for s in data["suspensions"]] == ["abuse"]
    assert cli("users", "unsuspend", "a@example.com", "--yes").exit_code == 0
    assert show(cli, "a@example.com")["status"] == "active"


def test_expired_suspension_stops_counting_without_a_job(cli, accounts, store):
    from mailadmin.store.models import Suspension, User
    from mailadmin.timeutil import utcnow

    with store.write() as session:
        uid = session.execute(select(User.id).where(User.email == "a@example.com")).scalar_one()
        session.add(Suspension(user_id=uid, code="billing", reason="old", actor="t",
                               started_at=utcnow() - timedelta(days=9), until=utcnow() - timedelta(days=1)))
    data = show(cli, "a@example.com")
    assert data["status"] == "active" and data["suspensions"] == []
    assert statuses(cli)["a@example.com"] == "active"
    r = cli("users", "unsuspend", "a@example.com", "--yes")
    assert r.exit_code == 5 and "not suspended" in one_line_error(r)
    assert cli("users", "suspend", "a@example.com", "--reason", "again", "--code", "billing", "--yes").exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["suspend", "a@example.com", "--yes"], 2, "--reason"),
        (["suspend", "a@example.com", "--reason", "  ", "--yes"], 2, "reason must not be empty"),
        (["suspend", "a@example.com", "--reason", "x", "--code", "Not A Code", "--yes"], 2, "not a code"),
        (["suspend", "a@example.com", "--reason", "x", "--until", "2000-01-01", "--yes"], 2, "in the future"),
        (["suspend", "a@example.com", "--reason", "x", "--until", "soon", "--yes"], 2, "not a time"),
        (["suspend", "--reason", "x", "--yes"], 2, "give one or more users"),
        (["suspend", "nobody@example.com", "--reason", "x", "--yes"], 3, "no user 'nobody@example.com'"),
        (["suspend", "nobody", "--reason", "x", "--yes"], 2, "neither an email nor #ID"),
        (["suspend", "a@example.com", "--reason", "x"], 2, "add --yes"),
        (["unsuspend", "a@example.com", "--yes"], 5, "not suspended"),
        (["reopen", "a@example.com", "--yes"], 5, "not closed"),
        (["delete", "a@example.com", "--yes"], 5, "not closed"),
        (["close", "a@example.com", "--yes"], 2, "--reason"),
        (["close", "a@example.com", "--reason", "x", "--yes", "-o", "csv"], 2, "bulk commands print -o json"),
    ],
)
def test_single_user_bad_input_and_wrong_state(cli, accounts, args, code, needle):
    before = (audit_count(cli), statuses(cli))
    r = cli("users", *args)
    assert r.exit_code == code, r
    assert needle in one_line_error(r)
    assert r.stdout == ""
    assert (audit_count(cli), statuses(cli)) == before


def test_suspending_again_with_the_same_code_is_refused_for_one_user(cli, accounts):
    cli("users", "suspend", "a@example.com", "--reason", "x", "--code", "abuse", "--yes")
    r = cli("users", "suspend", "a@example.com", "--reason", "y", "--code", "abuse", "--yes")
    assert r.exit_code == 5 and "already suspended (abuse)" in one_line_error(r)
    assert len(show(cli, "a@example.com")["suspensions"]) == 1


# -- close, reopen, delete -----------------------------------------------------------------------
def test_close_keeps_data_and_reopen_restores(cli, accounts):
    cli("users", "limits", "a@example.com", "--set", "daily=5")
    cli("users", "allow-ip", "a@example.com", "192.0.2.1")
    cli("users", "suspend", "a@example.com", "--reason", "unpaid", "--code", "billing", "--yes")
    assert cli("users", "close", "a@example.com", "--reason", "asked to leave", "--yes").exit_code == 0
    data = show(cli, "a@example.com")
    assert data["status"] == "closed" and data["closed_reason"] == "asked to leave" and data["closed_at"]
    assert data["ip_allow"] == ["192.0.2.1/32"] and data["limits"]["daily"]["value"] == 5
    r = cli("users", "close", "a@example.com", "--reason", "again", "--yes")
    assert r.exit_code == 5 and "already closed" in one_line_error(r)
    r = cli("users", "suspend", "a@example.com", "--reason", "x", "--yes")
    assert r.exit_code == 5 and "is closed" in one_line_error(r)
    assert cli("users", "reopen", "a@example.com", "--yes").exit_code == 0
    data = show(cli, "a@example.com")
    assert data["status"] == "suspended" and data["closed_reason"] is None  # the billing suspension still stands
    cli("users", "unsuspend", "a@example.com", "--yes")
    assert show(cli, "a@example.com")["status"] == "active"


def test_delete_closed_user_removes_account_keeps_ledger_and_audit(cli, accounts, store):
    from mailadmin.store.models import Account, AccountLimit, CreditEntry

    cli("users", "limits", "a@example.com", "--set", "daily=5")
    account_id = show(cli, "a@example.com")["account_id"]
    with store.write() as session:
        session.add(CreditEntry(account_id=account_id, kind="topup", amount=10_000, balance_after=10_000, reason="t", actor="t"))
    cli("users", "close", "a@example.com", "--reason", "bye", "--yes")
    r = cli("users", "delete", "a@example.com", "--yes")
    assert r.exit_code == 0, r
    assert cli("users", "show", "a@example.com").exit_code == 3
    with store.read() as session:
        assert session.get(Account, account_id) is None
        assert session.execute(select(func.count()).select_from(AccountLimit).where(AccountLimit.account_id == account_id)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(CreditEntry).where(CreditEntry.account_id == account_id)).scalar_one() == 1
    actions = [e["action"] for e in cli("audit", "list", "--target", "user:a@example.com", "-o", "json").json()]
    assert actions[0] == "user.delete" and "user.create" in actions
    assert cli("audit", "verify").exit_code == 0


def test_delete_active_needs_force(cli, accounts):
    r = cli("users", "delete", "b@example.com", "--yes")
    assert r.exit_code == 5 and "--force" in one_line_error(r)
    assert cli("users", "delete", "b@example.com", "--yes", "--force").exit_code == 0
    assert cli("users", "show", "b@example.com").exit_code == 3


def test_the_email_of_a_deleted_user_can_be_used_again(cli, accounts):
    cli("users", "delete", "a@example.com", "--force", "--yes")
    assert cli("users", "create", "a@example.com", "--package", "starter").exit_code == 0


# -- the team follows its owner ------------------------------------------------------------------
def test_suspending_or_closing_the_owner_shuts_out_the_team_and_lifting_restores(cli, accounts, store):
    from mailadmin.store.models import Role, User

    account_id = show(cli, "a@example.com")["account_id"]
    with store.write() as session:
        role_id = session.execute(select(Role.id).where(Role.name == "regular")).scalar_one()
        session.add(User(email="member@example.com", account_id=account_id, is_owner=False, role_id=role_id))
    cli("users", "suspend", "member@example.com", "--reason", "own", "--code", "abuse", "--yes")
    cli("users", "unsuspend", "member@example.com", "--yes")
    assert show(cli, "member@example.com")["status"] == "active"

    cli("users", "suspend", "a@example.com", "--reason", "unpaid", "--code", "billing", "--yes")
    member = show(cli, "member@example.com")
    assert member["status"] == "suspended" and "a@example.com" in member["status_reason"]
    assert member["suspensions"] == []  # nothing was written to the member
    assert "member@example.com" in cli("users", "list", "--status", "suspended", "-o", "ids").stdout
    cli("users", "close", "a@example.com", "--reason", "left", "--yes")
    assert show(cli, "member@example.com")["status"] == "closed"
    cli("users", "reopen", "a@example.com", "--yes")
    cli("users", "unsuspend", "a@example.com", "--yes")
    assert show(cli, "member@example.com")["status"] == "active"
    assert statuses(cli)["member@example.com"] == "active"


# -- bulk --------------------------------------------------------------------------------------
def test_several_users_as_arguments_and_json_report(cli, accounts):
    cli("users", "suspend", "b@example.com", "--reason", "x", "--code", "billing", "--yes")
    r = cli("users", "suspend", *USERS, "--reason", "x", "--code", "billing", "--yes", "-o", "json")
    assert r.exit_code == 0, r
    assert r.json() == {"changed": ["a@example.com", "c@example.com"], "unchanged": ["b@example.com"], "failed": []}
    assert "suspended 2 users; 1 unchanged (1 already suspended (billing))" in r.stderr


def test_stdin_with_blank_lines_comments_ids_and_repeats(cli, accounts):
    uid = show(cli, "c@example.com")["id"]
    text = f"# users to close\n\nA@Example.com\n  b@example.com  \n#{uid}\n# {uid} is a comment with a space\na@example.com\n"
    r = cli("users", "close", "-", "--reason", "cleanup", "--yes", "-o", "json", input=text)
    assert r.exit_code == 0, r
    assert r.json()["changed"] == ["a@example.com", "b@example.com", "c@example.com"]
    assert set(statuses(cli).values()) == {"closed"}
    r = cli("users", "reopen", "--stdin", "--yes", input="a@example.com\n")
    assert r.exit_code == 0 and statuses(cli)["a@example.com"] == "active"


def test_bulk_unchanged_instead_of_errors(cli, accounts):
    cli("users", "close", "a@example.com", "--reason", "x", "--yes")
    r = cli("users", "close", "-", "--reason", "x", "--yes", "-o", "json", input="a@example.com\nb@example.com\n")
    assert r.exit_code == 0 and r.json()["unchanged"] == ["a@example.com"]
    r = cli("users", "reopen", "-", "--yes", "-o", "json", input="a@example.com\nc@example.com\n")
    assert r.exit_code == 0 and r.json() == {"changed": ["a@example.com"], "unchanged": ["c@example.com"], "failed": []}


def test_dry_run_prints_what_would_change_and_changes_nothing(cli, accounts):
    before = (audit_count(cli), statuses(cli))
    r = cli("users", "suspend", "-", "--reason", "x", "--dry-run", input="a@example.com\nb@example.com\n")
    assert r.exit_code == 0, r  # no --yes needed: nothing changes
    assert r.stdout.splitlines() == ["a@example.com", "b@example.com"]
    assert "dry run: would suspend 2 users; nothing changed" in r.stderr
    r = cli("users", "delete", *USERS, "--force", "--dry-run", "-o", "json")
    assert r.json()["changed"] == USERS
    assert (audit_count(cli), statuses(cli)) == before


def test_unknown_user_means_nothing_changes_exit_3_listing_them(cli, accounts):
    before = (audit_count(cli), statuses(cli))
    missing = [f"ghost{i}@example.com" for i in range(8)]
    r = cli("users", "suspend", "-", "--reason", "x", "--yes", "-o", "json", input="\n".join(["a@example.com", *missing]) + "\n")
    assert r.exit_code == 3, r
    line = one_line_error(r)
    assert "8 unknown user(s): ghost0@example.com" in line and "(and 3 more)" in line and "--skip-missing" in line
    assert r.stdout == ""
    assert (audit_count(cli), statuses(cli)) == before


def test_skip_missing_goes_on_reports_failed_and_exits_1(cli, accounts):
    r = cli("users", "suspend", "-", "--reason", "x", "--yes", "--skip-missing", "-o", "json",
            input="a@example.com\nghost@example.com\nnot-a-ref\n")
    assert r.exit_code == 1, r
    assert r.json() == {"changed": ["a@example.com"], "unchanged": [],
                        "failed": [{"id": "not-a-ref", "error": "not an email or #ID"},
                                   {"id": "ghost@example.com", "error": "no such user"}]}
    assert "ghost@example.com" in one_line_error(r)
    assert statuses(cli)["a@example.com"] == "suspended"


def test_bulk_delete_refuses_unclosed_users_without_force_and_changes_nothing(cli, accounts):
    cli("users", "close", "a@example.com", "--reason", "x", "--yes")
    r = cli("users", "delete", *USERS, "--yes")
    assert r.exit_code == 5
    assert "2 user(s) are not closed: b@example.com, c@example.com" in one_line_error(r)
    assert len(statuses(cli)) == 3


def test_bulk_without_yes_and_no_terminal_exits_2_at_once(cli, accounts):
    r = cli("users", "suspend", "-", "--reason", "x", input="a@example.com\n")
    assert r.exit_code == 2 and "--yes" in one_line_error(r)
    assert statuses(cli)["a@example.com"] == "active"


def test_bulk_writes_one_audit_entry_per_changed_user(cli, accounts):
    before = audit_count(cli)
    cli("users", "close", *USERS, "--reason", "x", "--yes")
    assert audit_count(cli) == before + 3
    assert cli("audit", "verify").exit_code == 0


def test_force_deleting_a_suspended_owner_keeps_its_member_in_the_system(cli, accounts, store):
    from mailadmin.store.models import Role, Suspension, User

    account_id = show(cli, "a@example.com")["account_id"]
    with store.write() as session:
        role_id = session.execute(select(Role.id).where(Role.name == "regular")).scalar_one()
        session.add(User(email="member@example.com", account_id=account_id, is_owner=False, role_id=role_id))
    cli("users", "suspend", "a@example.com", "--reason", "abuse", "--code", "abuse", "--yes")
    r = cli("users", "delete", "a@example.com", "--force", "--yes", "-o", "json")
    assert r.exit_code == 0 and r.json()["changed"] == ["a@example.com"]
    member = show(cli, "member@example.com")
    assert member["account_id"] is None and member["status"] == "active" and member["package"] is None
    with store.read() as session:
        assert session.execute(select(func.count()).select_from(Suspension)).scalar_one() == 0


# -- issue 8: validate before asking; the question names the count; prompts through pipes -----------
@pytest.fixture
def asked(monkeypatch):
    """A terminal that answers `yes` to every question (read from /dev/tty when stdin is data);
    the list holds the questions asked, so a test sees whether one was asked, and what."""
    from mailadmin.cli import context

    questions: list[str] = []
    monkeypatch.setattr(context.Invocation, "can_prompt", lambda self: True)

    def answer(prompt: str) -> bool:
        questions.append(prompt)
        return True

    monkeypatch.setattr(context, "_ask_terminal", answer)
    return questions


@pytest.mark.parametrize(
    ("args", "stdin", "question"),
    [
        (["suspend", "a@example.com", "--reason", "x"], None, "suspend a@example.com? [y/N]: "),
        (["suspend", *USERS, "--reason", "x"], None, "suspend 3 users? [y/N]: "),
        (["suspend", "-", "--reason", "x"], "".join(f"{u}\n" for u in USERS), "suspend 3 users? [y/N]: "),
        (["close", "-", "b@example.com", "--reason", "x"], "a@example.com\nb@example.com\n", "close 2 users? [y/N]: "),
        (["delete", "--stdin", "--force"], "a@example.com\nghost@example.com\n", None),  # unknown: refused, never asked
        (["delete", "-", "--force", "--skip-missing"], "a@example.com\nghost@example.com\n",
         "delete a@example.com (1 failed)? [y/N]: "),
    ],
)
def test_the_question_names_the_count_and_comes_after_the_checks(cli, accounts, asked, args, stdin, question):
    r = cli("users", *args, input=stdin)
    assert asked == ([question] if question else []), r
    if question is None:
        assert r.exit_code == 3 and "ghost@example.com" in one_line_error(r)


def test_a_question_counts_what_would_change(cli, accounts, asked):
    cli("users", "suspend", "b@example.com", "--reason", "x", "--yes")
    r = cli("users", "suspend", "-", "--reason", "x", "-o", "json", input="\n".join(USERS) + "\n")
    assert r.exit_code == 0, r
    assert asked == ["suspend 2 users (1 unchanged)? [y/N]: "]
    assert r.json()["changed"] == ["a@example.com", "c@example.com"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["delete", "a@example.com"], 5, "is active, not closed"),
        (["delete", *USERS], 5, "3 user(s) are not closed"),
        (["reopen", "a@example.com"], 5, "not closed"),
        (["unsuspend", *USERS[:1]], 5, "not suspended"),
        (["suspend", "ghost@example.com", "--reason", "x"], 3, "no user 'ghost@example.com'"),
        (["suspend", "a@example.com", "#²", "--reason", "x"], 2, "neither an email nor #ID: #²"),
    ],
)
def test_what_would_be_refused_is_refused_before_anyone_is_asked(cli, accounts, asked, args, code, needle):
    before = (audit_count(cli), statuses(cli))
    r = cli("users", *args)
    assert r.exit_code == code and needle in one_line_error(r)
    assert asked == []
    assert (audit_count(cli), statuses(cli)) == before


def test_stdin_refusals_are_checked_before_asking_too(cli, accounts, asked):
    r = cli("users", "delete", "-", input="a@example.com\nc@example.com\n")
    assert r.exit_code == 5 and "2 user(s) are not closed" in one_line_error(r)
    assert asked == []


def test_no_is_cancelled_and_changes_nothing(cli, accounts, monkeypatch):
    from mailadmin.cli import context

    monkeypatch.setattr(context.Invocation, "can_prompt", lambda self: True)
    monkeypatch.setattr(context, "_ask_terminal", lambda prompt: False)
    before = (audit_count(cli), statuses(cli))
    r = cli("users", "close", "-", "--reason", "x", input="a@example.com\n")
    assert r.exit_code == 1 and "cancelled; nothing changed" in one_line_error(r)
    assert (audit_count(cli), statuses(cli)) == before


def test_quiet_bulk_prints_no_summary_but_the_report_and_errors(cli, accounts):
    r = cli("users", "suspend", *USERS, "--reason", "x", "--yes", "-q")
    assert r.exit_code == 0 and r.stderr == "" and r.stdout == ""
    r = cli("users", "unsuspend", "a@example.com", "--yes", "-q", "-o", "json")
    assert r.stderr == "" and r.json()["changed"] == ["a@example.com"]
    r = cli("users", "close", "ghost@example.com", "--reason", "x", "--yes", "-q")
    assert r.exit_code == 3 and "no user" in one_line_error(r)
    for action, extra in [("close", ["--reason", "x"]), ("reopen", []), ("close", ["--reason", "y"]), ("delete", [])]:
        r = cli("users", action, "a@example.com", *extra, "--yes", "--quiet")
        assert r.exit_code == 0 and r.stderr == "", (action, r)


@pytest.mark.parametrize(
    ("line", "code", "needle", "failed"),
    [
        ("#9223372036854775808", 3, "1 unknown user(s): #9223372036854775808", "no such user"),
        ("#2147483648", 3, "1 unknown user(s): #2147483648", "no such user"),
        ("#²", 2, "neither an email nor #ID: #²", "not an email or #ID"),
        ("#٣٤", 2, "neither an email nor #ID: #٣٤", "not an email or #ID"),
    ],
)
def test_out_of_range_and_non_ascii_ids_on_stdin(cli, accounts, line, code, needle, failed):
    text = f"a@example.com\n{line}\n"
    r = cli("users", "suspend", "-", "--reason", "x", "--yes", input=text)
    assert r.exit_code == code and needle in one_line_error(r)
    assert statuses(cli)["a@example.com"] == "active"
    r = cli("users", "suspend", "-", "--reason", "x", "--yes", "--skip-missing", "-o", "json", input=text)
    assert r.exit_code == 1, r
    assert r.json() == {"changed": ["a@example.com"], "unchanged": [], "failed": [{"id": line, "error": failed}]}


def test_a_hash_with_more_than_digits_on_stdin_is_still_a_comment(cli, accounts):
    r = cli("users", "close", "-", "--reason", "x", "--yes", "-o", "json", input="#12x\n# 12\n#\na@example.com\n")
    assert r.exit_code == 0 and r.json()["changed"] == ["a@example.com"]


def test_bom_crlf_and_lone_cr_line_ends_on_stdin(cli, accounts):
    r = cli("users", "close", "-", "--reason", "x", "--yes", "-o", "json",
            input="\ufeffa@example.com\r\nb@example.com\rc@example.com\r")
    assert r.exit_code == 0, r
    assert r.json()["changed"] == USERS

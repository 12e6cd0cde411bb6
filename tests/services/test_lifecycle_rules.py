"""The lifecycle state machine as a table: every action from every starting state is changed,
unchanged (and why) or refused, and leaves a known status (services/lifecycle.py).

One test per action; each makes one owner per starting state and runs the action on each,
as a dry run first (same verdict, nothing written), then as a single-user command when the
verdict is not a change (exit 5 with the reason, nothing written), then for real.
"""

from __future__ import annotations

import pytest

from mailadmin.errors import Conflict, NotFound
from mailadmin.refs import parse_ref

CHANGED, UNCHANGED, REFUSED = "changed", "unchanged", "refused"
GONE = "gone"  # deleted: `users show` finds no such user

# starting state -> the steps that make it, and the status it reads as
STATES: dict[str, tuple[list[dict], str]] = {
    "active": ([], "active"),
    "suspended (billing)": ([{"action": "suspend", "code": "billing"}], "suspended"),
    "suspended (billing, abuse)": ([{"action": "suspend", "code": "billing"}, {"action": "suspend", "code": "abuse"}], "suspended"),
    "closed": ([{"action": "close"}], "closed"),
    "closed and suspended (billing)": ([{"action": "suspend", "code": "billing"}, {"action": "close"}], "closed"),
}
A, S, S2, C, CS = STATES  # the starting states in the order above

ACTIONS: dict[str, dict] = {
    "suspend --code billing": {"action": "suspend", "code": "billing"},
    "suspend --code abuse": {"action": "suspend", "code": "abuse"},
    "unsuspend": {"action": "unsuspend"},
    "unsuspend --code billing": {"action": "unsuspend", "code": "billing"},
    "close": {"action": "close"},
    "reopen": {"action": "reopen"},
    "delete": {"action": "delete"},
    "delete --force": {"action": "delete", "force": True},
}

# action -> starting state -> (verdict, why, status afterwards)
RULES: dict[str, dict[str, tuple[str, str | None, str]]] = {
    "suspend --code billing": {
        A: (CHANGED, None, "suspended"),
        S: (UNCHANGED, "already suspended (billing)", "suspended"),
        S2: (UNCHANGED, "already suspended (billing)", "suspended"),
        C: (UNCHANGED, "closed", "closed"),
        CS: (UNCHANGED, "closed", "closed"),
    },
    "suspend --code abuse": {
        A: (CHANGED, None, "suspended"),
        S: (CHANGED, None, "suspended"),  # a second suspension stands beside the first
        S2: (UNCHANGED, "already suspended (abuse)", "suspended"),
        C: (UNCHANGED, "closed", "closed"),
        CS: (UNCHANGED, "closed", "closed"),
    },
    "unsuspend": {
        A: (UNCHANGED, "not suspended", "active"),
        S: (CHANGED, None, "active"),
        S2: (CHANGED, None, "active"),
        C: (UNCHANGED, "not suspended", "closed"),
        CS: (CHANGED, None, "closed"),
    },
    "unsuspend --code billing": {
        A: (UNCHANGED, "no standing billing suspension", "active"),
        S: (CHANGED, None, "active"),
        S2: (CHANGED, None, "suspended"),  # abuse still stands
        C: (UNCHANGED, "no standing billing suspension", "closed"),
        CS: (CHANGED, None, "closed"),
    },
    "close": {
        A: (CHANGED, None, "closed"),
        S: (CHANGED, None, "closed"),
        S2: (CHANGED, None, "closed"),
        C: (UNCHANGED, "already closed", "closed"),
        CS: (UNCHANGED, "already closed", "closed"),
    },
    "reopen": {
        A: (UNCHANGED, "not closed", "active"),
        S: (UNCHANGED, "not closed", "suspended"),
        S2: (UNCHANGED, "not closed", "suspended"),
        C: (CHANGED, None, "active"),
        CS: (CHANGED, None, "suspended"),  # the billing suspension still stands
    },
    "delete": {
        A: (REFUSED, "active, not closed", "active"),
        S: (REFUSED, "suspended, not closed", "suspended"),
        S2: (REFUSED, "suspended, not closed", "suspended"),
        C: (CHANGED, None, GONE),
        CS: (CHANGED, None, GONE),
    },
    "delete --force": {state: (CHANGED, None, GONE) for state in STATES},
}


def test_the_table_covers_every_action_from_every_state():
    assert set(RULES) == set(ACTIONS)
    assert all(set(row) == set(STATES) for row in RULES.values())


def request(o, action: str, *, code: str | None = None, force: bool = False):
    from mailadmin.services import lifecycle

    reason = "rules" if action in ("suspend", "close") else None
    return lifecycle.make_request(action, now=o.now, reason=reason, code=code, force=force)


def status_of(o, email: str) -> str:
    from mailadmin.services import users

    try:
        return users.show(o, parse_ref(email)).status
    except NotFound:
        return GONE


def email_of(state: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in state).strip("-") + "@rules.example"


@pytest.fixture
def owners(op):
    """One owner per starting state, brought there through the lifecycle itself."""
    from mailadmin.services import lifecycle, users
    from tests.factories import make_package

    with op.write() as o:
        make_package(o.session, "rules")
        for state, (steps, _status) in STATES.items():
            users.create(o, email_of(state), "rules")
            for step in steps:
                lifecycle.run(o, request(o, **step), [parse_ref(email_of(state))], single=True)
    with op.read() as o:
        assert {state: status_of(o, email_of(state)) for state in STATES} == {s: st for s, (_, st) in STATES.items()}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_starting_state(op, owners, name):
    from mailadmin.services import audit, lifecycle

    params = ACTIONS[name]
    action = params["action"]
    for state, (verdict, why, after) in RULES[name].items():
        email = email_of(state)
        before = STATES[state][1]
        where = f"{name} from {state}"

        # a dry run gives the same verdict and writes nothing
        with op.read() as o:
            if verdict == REFUSED:
                with pytest.raises(Conflict, match="1 user\\(s\\) are not closed"):
                    lifecycle.run(o, request(o, **params), [parse_ref(email)], dry_run=True)
            else:
                report = lifecycle.run(o, request(o, **params), [parse_ref(email)], dry_run=True)
                assert (report.changed, report.unchanged) == (([email], []) if verdict == CHANGED else ([], [email])), where
            assert status_of(o, email) == before, where

        # one user named alone: anything but a change is exit 5, with the reason
        if verdict != CHANGED:
            with op.write() as o, pytest.raises(Conflict) as info:
                lifecycle.run(o, request(o, **params), [parse_ref(email)], single=True)
            assert why in info.value.message and info.value.exit_code == 5, where

        # the run itself
        with op.write() as o:
            if verdict == REFUSED:
                with pytest.raises(Conflict, match="1 user\\(s\\) are not closed"):
                    lifecycle.run(o, request(o, **params), [parse_ref(email)])
            else:
                report = lifecycle.run(o, request(o, **params), [parse_ref(email)])
                if verdict == CHANGED:
                    assert (report.changed, report.unchanged, report.failed) == ([email], [], []), where
                else:
                    assert (report.changed, report.unchanged) == ([], [email]), where
                    assert report.unchanged_why == {why: 1}, where
        with op.read() as o:
            assert status_of(o, email) == after, where
            entries = audit.entries(o, target=f"user:{email}", action=f"user.{action}")
            if verdict == CHANGED:
                # the audit entry says the same statuses as `users show`, before and after
                assert entries[0].before["status"] == before, where
                assert (entries[0].after["status"] if entries[0].after else GONE) == after, where
            else:
                assert len(entries) == sum(step["action"] == action for step in STATES[state][0]), where


def test_a_bulk_run_classifies_each_user_and_a_refusal_writes_nothing(op, owners):
    from mailadmin.services import lifecycle

    refs = [parse_ref(email_of(state)) for state in STATES]
    with op.write() as o:
        report = lifecycle.run(o, request(o, "close"), refs)
    assert report.changed == [email_of(A), email_of(S), email_of(S2)]
    assert report.unchanged == [email_of(C), email_of(CS)] and report.unchanged_why == {"already closed": 2}
    with op.write() as o:
        lifecycle.run(o, request(o, "reopen"), refs[:1])
    with op.write() as o, pytest.raises(Conflict, match="1 user\\(s\\) are not closed"):
        lifecycle.run(o, request(o, "delete"), refs)
    with op.read() as o:
        assert all(status_of(o, str(ref)) != GONE for ref in refs)

"""Hostile input for the team commands (invite, remove, transfer, edit --role/--expires): each row
gets its documented exit code and one `error:` stderr line, prints nothing on stdout and changes
nothing (the audit log does not grow). Rows run as the operator or, where the rule is about who
acts, as a client user through --as. Every row runs on both stores.

Classes: references (ids beyond the store's integers, non-ASCII digits, malformed ids and emails,
unknown users) in each position; bad emails and names for the invitee; unknown and malformed roles,
the owner role; inviting an existing member, an owner, another account's member, into a member's
"account"; the limit; removing the owner or a removed person; transferring to a non-member, to
oneself, from a removed person; self-changes and escalations; bad --expires values; formats a
command does not offer; a destructive change without --yes and no terminal.
"""

from __future__ import annotations

import pytest

from tests.cli.test_team import ADM, GONE, NEW, O, OM, OTHER, REG, T1, TINY, TM, TM2, VIEW, build_team
from tests.helpers import audit_count, refused

HUGE = "9" * 30
LONG = "x" * 5000

REFS = [  # (reference, exit code, what the one error line says)
    ("#9223372036854775808", 3, "no user '#9223372036854775808'"),
    ("#2147483648", 3, "no user '#2147483648'"),
    ("#0", 3, "no user '#0'"),
    ("#²", 2, "'#²' is not a user id"),
    ("#12x", 2, "not a user id"),
    ("nobody", 2, "neither an email nor #ID"),
    ("bad..dots@example.com", 2, "not a valid email"),
    ("ghost@example.com", 3, "no user 'ghost@example.com'"),
]


def _ref_cases():
    cases = []
    for ref, code, needle in REFS:
        cases += [
            (None, ["invite", ref, NEW, "--role", "viewer"], code, needle),
            (None, ["remove", ref, "--yes"], code, needle),
            (None, ["remove", ref], code, needle),  # refused for what it is, before the question
            (None, ["transfer", ref, VIEW, "--yes"], code, needle),
            (None, ["transfer", O, ref, "--yes"], code, needle),
            (None, ["edit", ref, "--role", "viewer"], code, needle),
        ]
    return cases


INVITEES = [  # (email, exit code, what the error line says)
    ("not-an-email", 2, "not a valid email"),
    ("a@b", 2, "not a valid email"),
    ("x" * 300 + "@example.com", 2, "not a valid email"),
    ("two@example.com\nthree@example.com", 2, "not a valid email"),
    ("nul\x00@example.com", 2, "not a valid email"),
    ("", 2, "not a valid email"),
    (VIEW.upper(), 5, f"{VIEW} is already a member"),
    (O, 5, f"{O} owns an account"),
    (OTHER, 5, f"{OTHER} owns an account"),
    (OM, 5, f"{OM} is a member of another account"),
]

ROLES = [  # (role, exit code, what the error line says), for invite --role and edit --role
    ("nosuch", 3, "no role named 'nosuch'"),
    ("viewr", 3, "did you mean viewer"),
    ("Viewer", 3, "no role named 'Viewer'"),
    ("viewer\n", 3, "no role named"),
    (LONG, 3, "no role named"),
    ("", 3, "no role named"),
    ("owner", 5, "the owner role cannot be given: there is one owner per account"),
]

EXPIRES = [  # (--expires value, what the error line says)
    ("soon", "is not a time"),
    ("2026-02-30", "is not a time"),
    ("", "is not a time"),
    ("nevermore", "is not a time"),
    ("٣d", "is not a time"),
    ("9999-12-31T23:59:59-01:00", "beyond the years"),
    (HUGE + "d", "beyond the years"),
]

TEXT = [  # --name of the invitee
    ("two\nlines", "name must not contain control characters"),
    ("line\u2028separator", "name must be one line"),
    ("x" * 201, "name is longer than 200 characters"),
]

OTHER_CASES = [
    # -- invite: into what, and the limit ---------------------------------------------------------
    (None, ["invite", VIEW, NEW, "--role", "viewer"], 5, f"{VIEW} is a team member, not an account owner"),
    (None, ["invite", GONE, NEW, "--role", "viewer"], 5, f"{GONE} belongs to no account"),
    (None, ["invite", O, NEW], 2, "missing option --role"),
    (None, ["invite", O], 2, "Missing argument"),
    (None, ["invite", TINY, NEW, "--role", "viewer"], 6, "team_members limit is 1 (from package tiny)"),
    (None, ["invite", O, NEW, "--role", "viewer", "-o", "ids"], 2, "list commands only"),
    (None, ["invite", O, NEW, "--role", "viewer", "-o", "wide"], 2, "is not one of"),
    # -- invite as a client: who acts -------------------------------------------------------------
    (VIEW, ["invite", O, NEW, "--role", "viewer"], 4, f"{VIEW} lacks team.manage"),
    (TM, ["invite", O, NEW, "--role", "admin"], 4, f"{TM} cannot give role admin"),
    (ADM, ["invite", OTHER, NEW, "--role", "viewer"], 3, f"no user '{OTHER}'"),
    (ADM, ["invite", TINY, NEW, "--role", "viewer"], 3, f"no user '{TINY}'"),
    (GONE, ["invite", O, NEW, "--role", "viewer"], 4, "removed from its account and cannot act"),
    # -- remove -----------------------------------------------------------------------------------
    (None, ["remove", O, "--yes"], 5, f"{O} owns the account and cannot be removed"),
    (None, ["remove", O], 5, f"{O} owns the account"),
    (None, ["remove", GONE, "--yes"], 5, f"{GONE} was removed from its account already"),
    (None, ["remove", VIEW], 2, "add --yes"),  # valid, and no terminal to ask
    (None, ["remove", VIEW, "--yes", "-o", "ids"], 2, "list commands only"),
    (ADM, ["remove", ADM, "--yes"], 4, "nobody changes their own permissions"),
    (TM, ["remove", ADM, "--yes"], 4, "cannot give or take away role admin"),
    (VIEW, ["remove", REG, "--yes"], 4, f"{VIEW} lacks team.manage"),
    (ADM, ["remove", OM, "--yes"], 3, f"no user '{OM}'"),
    (ADM, ["remove", GONE, "--yes"], 3, f"no user '{GONE}'"),
    # -- transfer ----------------------------------------------------------------------------------
    (None, ["transfer", O, OM, "--yes"], 5, "transferring to a non-member"),
    (None, ["transfer", O, OTHER, "--yes"], 5, "transferring to a non-member"),
    (None, ["transfer", O, GONE, "--yes"], 5, "transferring to a non-member"),
    (None, ["transfer", O, O, "--yes"], 5, f"{O} already owns the account"),
    (None, ["transfer", GONE, VIEW, "--yes"], 5, f"{GONE} belongs to no account"),
    (None, ["transfer", O, VIEW], 2, "add --yes"),
    (None, ["transfer", O], 2, "Missing argument"),
    (ADM, ["transfer", O, ADM, "--yes"], 4, f"{ADM} lacks account.transfer"),
    (O, ["transfer", O, OM, "--yes"], 3, f"no user '{OM}'"),
    (O, ["transfer", OTHER, OM, "--yes"], 3, f"no user '{OTHER}'"),
    # -- edit --role and --expires -------------------------------------------------------------------
    (None, ["edit", O, "--role", "viewer"], 5, "nobody alters the owner's permissions"),
    (None, ["edit", GONE, "--role", "viewer"], 5, "holds no role"),
    (ADM, ["edit", ADM, "--role", "viewer"], 4, "nobody changes their own permissions"),
    (ADM, ["edit", O, "--role", "viewer"], 5, "nobody alters the owner's permissions"),
    (TM, ["edit", TM2, "--role", "admin"], 4, "cannot give role admin"),
    (TM, ["edit", VIEW, "--role", "tm"], 4, "cannot give or take away role viewer"),
    (ADM, ["edit", OM, "--role", "viewer"], 3, f"no user '{OM}'"),
    (VIEW, ["edit", REG, "--role", "viewer"], 4, f"{VIEW} lacks team.manage"),
    (None, ["edit", VIEW, "--expires", "never"], 5, "the plan belongs to the account: edit the owner"),
    (None, ["edit", GONE, "--expires", "never"], 5, f"{GONE} belongs to no account"),
    (O, ["edit", O, "--expires", "never"], 4, "changing the plan expiry is an operator action"),
    (O, ["edit", O, "--package", "tiny"], 4, "changing the package is an operator action"),
    (ADM, ["edit", T1, "--expires", "never"], 4, "is an operator action"),  # said before anyone is looked up
]


def _option_cases():
    cases = list(OTHER_CASES)
    for email, code, needle in INVITEES:
        cases.append((None, ["invite", O, email, "--role", "viewer"], code, needle))
    for role, code, needle in ROLES:
        cases.append((None, ["invite", O, NEW, "--role", role], code, needle))
        cases.append((None, ["edit", VIEW, "--role", role], code, needle))
    for value, needle in EXPIRES:
        cases.append((None, ["edit", O, "--expires", value], 2, needle))
    for value, needle in TEXT:
        cases.append((None, ["invite", O, NEW, "--role", "viewer", "--name", value], 2, needle))
    return cases


CASES = _ref_cases() + _option_cases()
COMMANDS = sorted({args[0] for _as, args, _code, _needle in CASES})


def _id(case) -> str:
    as_user, args, _code, _needle = case
    text = (f"--as {as_user} " if as_user else "") + " ".join(args)
    return text.encode("unicode_escape").decode("ascii")[:90]


@pytest.fixture
def teams(op):
    build_team(op)


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_input_is_refused_whole(cli, db_url, teams, command):
    """Every row of one command on one store (a refused row changes nothing, so rows can share
    it); the failures are listed together, each by its row."""
    failures = []
    rows = [case for case in CASES if case[1][0] == command]
    for case in rows:
        as_user, args, code, needle = case
        before = audit_count(db_url)
        result = cli(*(["--as", as_user] if as_user else []), "users", *args)
        try:
            refused(result, code, needle)
            assert result.stdout == "", result
            assert audit_count(db_url) == before, "the audit log grew"
        except AssertionError as exc:
            failures.append(f"{_id(case)}: {str(exc).splitlines()[0][:300]}")
    assert not failures, f"{len(failures)} of {len(rows)} rows:\n" + "\n".join(failures)


def test_the_table_covers_every_team_command():
    assert {"invite", "remove", "transfer", "edit"} <= set(COMMANDS)

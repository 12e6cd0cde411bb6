"""Hostile input for every users command: each class of bad input on each option gets its
documented exit code and one `error:` stderr line, and changes nothing (issue 8).

Classes: references (ids beyond the store's integers, non-ASCII digits, malformed ids and
emails, unknown users) as arguments, on stdin and with --skip-missing; text that is not one line
(--name, --reason); over-long text; bad emails; unknown packages; bad --code; times beyond what a
date holds (--until, --since); limit names and values; CIDRs; formats a command does not offer;
unknown --fields/--sort; row counts beyond 64 bits; stdin that is not UTF-8; and changes that
would be refused, refused before the confirmation is asked. Every row runs on both stores.
"""

from __future__ import annotations

import pytest

from tests.helpers import audit_count, refused

HUGE = "9" * 30
LONG = "x" * 5000
ACTIVE, CLOSED = "a@example.com", "c@example.com"

# -- references --------------------------------------------------------------------------------
# (reference, exit code, what the one error line says); the same reference as an argument, on
# stdin and (for bulk commands) with --skip-missing, where it is listed as failed instead
REFS = [
    ("#9223372036854775808", 3, "no user '#9223372036854775808'"),  # beyond SQLite's INTEGER
    ("#2147483648", 3, "no user '#2147483648'"),  # beyond PostgreSQL's INTEGER
    ("#0", 3, "no user '#0'"),
    ("#²", 2, "'#²' is not a user id"),
    ("#٣", 2, "'#٣' is not a user id"),
    ("#12x", 2, "not a user id"),
    ("#" + "9" * 31, 2, "not a user id"),
    ("nobody", 2, "neither an email nor #ID"),
    ("bad..dots@example.com", 2, "not a valid email"),
    ("a@exa mple.com", 2, "not a valid email"),
    ("ghost@example.com", 3, "no user 'ghost@example.com'"),
]
STDIN_COMMENTS = {"#12x"}  # on stdin a line of `#` and more than digits is a comment (see test_users_lifecycle)
BULK_ONE = {  # a valid run of each bulk action on one user, but for the reference
    "suspend": ["--reason", "x", "--yes"],
    "unsuspend": ["--yes"],
    "close": ["--reason", "x", "--yes"],
    "reopen": ["--yes"],
    "delete": ["--force", "--yes"],
}
ONE_USER = {  # every other command that names one user
    "show": [],
    "edit": ["--name", "x"],
    "limits": [],
    "limits --set": ["--set", "daily=5"],
    "allow-ip": ["192.0.2.1"],
    "deny-ip": ["192.0.2.1"],
}


def _ref_cases():
    cases = []
    for ref, code, needle in REFS:
        for name, rest in ONE_USER.items():
            cases.append(([name.split()[0], ref, *rest], None, code, needle))
        for action, rest in BULK_ONE.items():
            cases.append(([action, ref, *rest], None, code, needle))
            # the same, without --yes and no terminal: refused for what it is, not "needs confirmation"
            cases.append(([action, ref, *[r for r in rest if r != "--yes"]], None, code, needle))
            if ref in STDIN_COMMENTS:
                continue
            # on stdin: all or nothing, the line named
            bulk_needle = "1 unknown user(s): " if code == 3 else "1 line(s) are neither an email nor #ID: "
            cases.append(([action, "-", *rest], f"{ref}\n", code, bulk_needle + ref.strip()))
            # with --skip-missing: listed as failed (exit 1), nothing else to change
            cases.append(([action, "-", *rest, "--skip-missing"], f"{ref}\n", 1, f"1 failed: {ref.strip()}"))
    return cases


# -- everything else -----------------------------------------------------------------------------
TEXT = [  # (value, what the error line says) for --name and --reason
    ("two\nlines", "must not contain control characters"),
    ("trailing\n", "must not contain control characters"),
    ("cr\rreturn", "must not contain control characters"),
    ("bell\x07", "must not contain control characters"),
    ("line\u2028separator", "must be one line"),
    ("para\u2029separator", "must be one line"),
    ("next\u0085line", "must be one line"),
    (LONG, "is longer than"),
    ("x" * 1001, "is longer than"),
]


def _text_cases():
    cases = []
    for value, needle in TEXT:
        cases += [
            (["create", "new@example.com", "--package", "starter", "--name", value], None, 2, f"name {needle}"),
            (["edit", ACTIVE, "--name", value], None, 2, f"name {needle}"),
            (["suspend", ACTIVE, "--reason", value, "--yes"], None, 2, f"reason {needle}"),
            (["close", ACTIVE, "--reason", value, "--yes"], None, 2, f"reason {needle}"),
            # checked before stdin is read: the ids never matter
            (["suspend", "-", "--reason", value, "--yes"], f"{ACTIVE}\n", 2, f"reason {needle}"),
        ]
    return cases


EMAILS = [  # (email, exit code, what the error line says) for create EMAIL and edit --email
    ("not-an-email", 2, "not a valid email"),
    ("a@b", 2, "not a valid email"),
    ("a@-bad-.example", 2, "not a valid email"),
    ("x" * 300 + "@example.com", 2, "not a valid email"),
    ("two@example.com\nthree@example.com", 2, "not a valid email"),
    ("nul\x00@example.com", 2, "not a valid email"),
    ("", 2, "not a valid email"),
    ("A@Example.COM", 5, "user a@example.com already exists"),
]


def _email_cases():
    cases = []
    for email, code, needle in EMAILS:
        cases.append((["create", email, "--package", "starter"], None, code, needle))
        if email != "A@Example.COM":
            cases.append((["edit", ACTIVE, "--email", email], None, code, needle))
    cases.append((["edit", ACTIVE, "--email", CLOSED], None, 5, f"user {CLOSED} already exists"))
    return cases


TIMES = [  # (value, what the error line says) for --until and --since
    ("soon", "is not a time"),
    ("٣d", "is not a time"),
    ("2026-02-30", "is not a time"),
    ("9999-12-31T23:59:59-01:00", "beyond the years"),
    ("0001-01-01T00:00:00+01:00", "beyond the years"),
    ("99999999999w", "beyond the years"),
    ("999999999d", "beyond the years"),
    (HUGE + "d", "beyond the years"),
]

SET_VALUES = [  # (--set item, what the error line says)
    ("nosuch=5", "unknown limit 'nosuch'"),
    ("dayly=5", "did you mean daily"),
    ("daily=-5", "integer >= 0"),
    ("daily=1e3", "integer >= 0"),
    ("daily=1.5", "integer >= 0"),
    ("daily=٣", "integer >= 0"),
    ("daily=５", "integer >= 0"),
    (f"daily={HUGE}", "too large"),
    ("daily=5\n", "integer >= 0"),
    ("daily\n=5", "unknown limit"),
    ("daily=", "integer >= 0"),
    ("daily", "NAME=VALUE"),
    ("=5", "unknown limit"),
]

CIDRS = [  # (item, what the error line says), for allow-ip and deny-ip
    ("garbage", "not an IP address or CIDR"),
    ("fe80::1%eth0", "zone index"),
    ("fe80::%eth0/64", "zone index"),
    ("2001:db8::/129", "not an IP address or CIDR"),
    ("10.0.0.0/33", "not an IP address or CIDR"),
    ("300.1.1.1", "not an IP address or CIDR"),
    ("10.0.0.0/-1", "not an IP address or CIDR"),
    ("", "not an IP address or CIDR"),
]

CODES = ["Not A Code", "billing\n", "", "x" * 40, "bïlling", "9lives", "abuse;drop"]

OTHER = [
    # -- unknown packages ----------------------------------------------------------------------
    (["create", "new@example.com", "--package", "nosuch"], None, 3, "no package named 'nosuch'"),
    (["create", "new@example.com", "--package", "starter\n"], None, 3, "no package named"),
    (["create", "new@example.com", "--package", "startr"], None, 3, "did you mean starter"),
    (["create", "new@example.com", "--package", LONG], None, 3, "no package named"),
    (["edit", ACTIVE, "--package", "nosuch"], None, 3, "no package named 'nosuch'"),
    (["list", "--package", "nosuch"], None, 3, "no package named 'nosuch'"),
    # -- create without a terminal ---------------------------------------------------------------
    (["create", "new@example.com"], None, 2, "missing option --package"),
    (["create", "--package", "starter"], None, 2, "missing argument EMAIL"),
    # -- formats a command does not offer ----------------------------------------------------------
    (["list", "-o", "yaml"], None, 2, "is not one of"),
    (["show", ACTIVE, "-o", "ids"], None, 2, "list commands only"),
    (["show", ACTIVE, "-o", "wide"], None, 2, "is not one of"),
    (["create", "new@example.com", "--package", "starter", "-o", "ids"], None, 2, "list commands only"),
    (["edit", ACTIVE, "--name", "x", "-o", "wide"], None, 2, "is not one of"),
    (["limits", ACTIVE, "-o", "ids"], None, 2, "list commands only"),
    (["limits", ACTIVE, "--set", "daily=5", "-o", "yaml"], None, 2, "is not one of"),
    (["allow-ip", ACTIVE, "192.0.2.1", "-o", "ids"], None, 2, "list commands only"),
    (["deny-ip", ACTIVE, "192.0.2.1", "-o", "wide"], None, 2, "is not one of"),
    *[([a, ACTIVE, *rest, "-o", fmt], None, 2, "bulk commands print -o json")
      for a, rest in BULK_ONE.items() for fmt in ("csv", "ids")],
    # -- lists: fields, order, counts, filters --------------------------------------------------------
    (["list", "--fields", "email,nope"], None, 2, "unknown field 'nope'; fields: id, email, name, status, package, account_id"),
    (["list", "--fields", "nope", "-o", "ids"], None, 2, "unknown field 'nope'"),
    (["list", "--fields", "nope", "-o", "json"], None, 2, "unknown field 'nope'"),
    (["list", "--fields", "Email", "-o", "csv"], None, 2, "unknown field 'Email'"),
    (["list", "--fields", ","], None, 2, "at least one field"),
    (["list", "--sort", "nope"], None, 2, "unknown field 'nope'"),
    (["list", "--sort", "-nope", "-o", "ids"], None, 2, "unknown field 'nope'"),
    (["list", "--limit", HUGE], None, 2, "is not a count of rows"),
    (["list", "-n", str(2**64)], None, 2, "is not a count of rows"),
    (["list", "--limit", "-1"], None, 2, "is not a count of rows"),
    (["list", "--offset", HUGE], None, 2, "is not a count of rows"),
    (["list", "--offset", str(2**63), "-o", "json"], None, 2, "is not a count of rows"),
    (["list", "--limit", "1e3"], None, 2, "valid integer"),
    (["list", "--limit", "٣"], None, 2, "valid integer"),
    (["list", "--status", "frozen"], None, 2, "status must be one of"),
    (["list", "--status", "active\n"], None, 2, "status must be one of"),
    (["list", "--search", "x" * 201], None, 2, "--search is longer than 200 characters"),
    (["list", "--search", LONG, "-o", "ids"], None, 2, "--search is longer than 200 characters"),
    (["list", "--search", "nul\x00"], None, 2, "--search must not contain control characters"),
    (["list", "--search", "two\nlines", "-o", "json"], None, 2, "--search must not contain control characters"),
    (["list", "--search", "line\u2028sep"], None, 2, "--search must be one line"),
    (["list", "--frobnicate"], None, 2, "No such option"),
    # -- edit and limits with nothing to do, or contradictions ------------------------------------------
    (["edit", ACTIVE], None, 2, "nothing to change"),
    (["limits", ACTIVE, "--set", "daily=5", "--inherit", "daily"], None, 2, "both set and inherited"),
    (["limits", ACTIVE, "--set", "daily=5", "--set", "daily=6"], None, 2, "given twice"),
    (["limits", ACTIVE, "--inherit", "nosuch"], None, 2, "unknown limit 'nosuch'"),
    (["limits", ACTIVE, "--inherit", "daily\n"], None, 2, "unknown limit"),
    (["allow-ip", ACTIVE], None, 2, "Missing argument"),
    # -- bulk: no users, stdin that is not text, refusals before the question -----------------------------
    (["suspend", "--reason", "x", "--yes"], None, 2, "give one or more users"),
    (["suspend", "--reason", "x"], None, 2, "give one or more users"),
    (["suspend", "-", "--reason", "x", "--yes"], b"\xff\xfe" + ACTIVE.encode() + b"\n", 2, "stdin is not UTF-8 text"),
    (["suspend", "-", "--reason", "x"], "ghost@example.com\n", 2, "add --yes"),  # no terminal: stdin is never read
    (["suspend", ACTIVE, "--reason", "x"], None, 2, "add --yes"),  # valid, and no terminal to ask
    (["suspend", ACTIVE, "ghost@example.com", "--reason", "x"], None, 3, "1 unknown user(s): ghost@example.com"),
    (["suspend", ACTIVE, "#²", "--reason", "x"], None, 2, "1 line(s) are neither an email nor #ID: #²"),
    (["delete", ACTIVE], None, 5, f"{ACTIVE} is active, not closed"),
    (["delete", ACTIVE, CLOSED], None, 5, f"1 user(s) are not closed: {ACTIVE}"),
    (["close", CLOSED, "--reason", "x"], None, 5, "already closed"),
    (["reopen", ACTIVE], None, 5, "not closed"),
    (["unsuspend", ACTIVE], None, 5, "not suspended"),
    (["unsuspend", ACTIVE, "--code", "billing"], None, 5, "no standing billing suspension"),
    (["suspend", CLOSED, "--reason", "x"], None, 5, f"{CLOSED} is closed"),
    (["suspend", ACTIVE, "--reason", "x", "--until", "2000-01-01", "--yes"], None, 2, "in the future"),
    (["suspend", ACTIVE, "--reason", "", "--yes"], None, 2, "reason must not be empty"),
    (["close", ACTIVE, "--yes"], None, 2, "--reason"),
]


def _option_cases():
    cases = list(OTHER)
    for value, needle in TIMES:
        cases.append((["suspend", ACTIVE, "--reason", "x", "--until", value, "--yes"], None, 2, needle))
        cases.append((["list", "--since", value], None, 2, needle))
    for item, needle in SET_VALUES:
        cases.append((["limits", ACTIVE, "--set", item], None, 2, needle))
    for item, needle in CIDRS:
        cases.append((["allow-ip", ACTIVE, "192.0.2.1", item], None, 2, needle))
        cases.append((["deny-ip", ACTIVE, item], None, 2, needle))
    for code in CODES:
        cases.append((["suspend", ACTIVE, "--reason", "x", "--code", code, "--yes"], None, 2, "is not a code"))
        cases.append((["unsuspend", ACTIVE, "--code", code, "--yes"], None, 2, "is not a code"))
        cases.append((["suspend", "-", "--reason", "x", "--code", code, "--yes"], f"{ACTIVE}\n", 2, "is not a code"))
    return cases


CASES = _ref_cases() + _text_cases() + _email_cases() + _option_cases()


def _id(case) -> str:
    args, stdin, _code, _needle = case
    text = " ".join(args) + (" <" + repr(stdin)[:20] if stdin is not None else "")
    return text.encode("unicode_escape").decode("ascii")[:90]


@pytest.fixture
def people(op):
    """starter; a@example.com active, c@example.com closed (made by the services: fast)."""
    from mailadmin.refs import parse_ref
    from mailadmin.services import lifecycle, users
    from tests.factories import make_package

    with op.write() as o:
        make_package(o.session, "starter")
        users.create(o, ACTIVE, "starter")
        users.create(o, CLOSED, "starter")
        req = lifecycle.make_request("close", now=o.now, reason="gone")
        lifecycle.run(o, req, [parse_ref(CLOSED)], single=True)


COMMANDS = sorted({args[0] for args, _stdin, _code, _needle in CASES})


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_input_is_refused_whole(cli, db_url, people, command):
    """Every row of one command on one store (a refused row changes nothing, so rows can share
    it); the failures are listed together, each by its row."""
    failures = []
    rows = [case for case in CASES if case[0][0] == command]
    for case in rows:
        args, stdin, code, needle = case
        before = audit_count(db_url)
        result = cli("users", *args, input=stdin)
        try:
            refused(result, code, needle)
            assert result.stdout == "", result
            assert audit_count(db_url) == before, "the audit log grew"
        except AssertionError as exc:
            failures.append(f"{_id(case)}: {str(exc).splitlines()[0][:300]}")
    assert not failures, f"{len(failures)} of {len(rows)} rows:\n" + "\n".join(failures)


def test_the_table_covers_every_users_command():
    """Each users command meets at least one hostile row (a new command must join the table)."""
    import typer

    from mailadmin.cli.users import app

    from tests.cli.test_hostile_access import CASES as ACCESS_CASES
    from tests.cli.test_hostile_team import CASES as TEAM_CASES
    from tests.cli.test_hostile_usage import ROWS as USAGE_ROWS
    from tests.cli.test_hostile_import import BAD_FILES

    commands = set(typer.main.get_group(app).commands)
    tried = {args[0] for args, _stdin, _code, _needle in CASES}
    tried |= {args[1] for args, _code, _needle in ACCESS_CASES if args[0] == "users"}
    tried |= {args[0] for _as, args, _code, _needle in TEAM_CASES}
    tried |= {args[0] for args, _code, _needle in USAGE_ROWS}
    if BAD_FILES:  # users import has its own table of bad files (tests/cli/test_hostile_import.py)
        tried.add("import")
    assert commands <= tried, commands - tried

"""Hostile input for every domains command: each class of bad input gets its documented exit code
and one `error:` stderr line, prints nothing on stdout and changes nothing (no audit entry).

Classes: domain names that are not names (the validation table of tests/services/test_domains.py,
here through `add`, and as the DOMAIN of every other command); unknown domains; references that
name no user or no one; a domain role that is not one (`--role owner`); a member of another
account, a removed person, the owner; a closed account; a name already taken; the limit; formats
a command does not offer; bad --fields/--sort/--limit/--search; `set` without a setting or with a
cap that is not one; `credentials` with a bad --grace, an empty stdin for --check, options that do
not go together; and, acting through --as, another account's domain (not found) and a change the
user may not make (4). Every row runs on both stores.
"""

from __future__ import annotations

import pytest

from tests.cli.test_domains import B, D1, D_VIEWER, MANAGER, OTHER, OWNER, OWNER2, REGULAR, REMOVED, VIEWER, build_team
from tests.helpers import audit_count, refused

HUGE = "9" * 30
LONG = "x" * 5000
CLOSED_OWNER = "closed@c.example"

NAMES = [  # (a DOMAIN argument, what the error line says)
    ("192.0.2.1", "is an IP address"),
    ("[2001:db8::1]", "is an IP address"),
    ("localhost", "at least two labels"),
    ("a" * 64 + ".example", "64 octets long; at most 63"),
    (".".join(["a" * 63] * 4), "255 octets long; at most 253"),
    ("mail.-a.example", "starts or ends with a hyphen"),
    ("a_b.example", "holds '_'"),
    ("exa mple.com", "holds a space"),
    ("a..b", "empty label"),
    ("example.com\n", "control character"),
    ("example.com/x", "holds '/'"),
    ("example.123", "all digits"),
    ("xn--zz.example", "not a valid IDNA A-label"),
    ("☃.example", "cannot be an internationalised label"),
    (LONG, "is not a domain name"),
    ("", "must not be empty"),
]

OTHER_ROWS = [
    # -- add ------------------------------------------------------------------------------------
    (["add", "new.example", "--user", "ghost@example.com"], 3, "no user 'ghost@example.com'"),
    (["add", "new.example", "--user", "#2147483648"], 3, "no user '#2147483648'"),
    (["add", "new.example", "--user", "nobody"], 2, "neither an email nor #ID"),
    (["add", "new.example"], 2, "Missing option '--user'"),
    (["add", "new.example", "--user", REMOVED], 5, "belongs to no account"),
    (["add", "new.example", "--user", CLOSED_OWNER], 5, f"the account of {CLOSED_OWNER} is closed"),
    (["add", D1, "--user", OWNER], 5, f"{D1} is already a domain of {OWNER}'s account"),
    (["add", "D1.Example.", "--user", OWNER], 5, f"{D1} is already a domain of"),
    (["add", B, "--user", OWNER], 5, f"{B} already belongs to {OWNER2}'s account"),
    (["add", "third.example", "--user", OWNER2], 6, "has 1 of 1 domains: limit domains reached (from package tiny)"),
    (["add", "new.example", "--user", OWNER, "-o", "ids"], 2, "list commands only"),
    # -- show -----------------------------------------------------------------------------------
    (["show", "nosuch.example"], 3, "no domain 'nosuch.example'"),
    (["show", D1, "-o", "wide"], 2, "is not one of"),
    # -- list -----------------------------------------------------------------------------------
    (["list", "--user", "ghost@example.com"], 3, "no user 'ghost@example.com'"),
    (["list", "--search", "x" * 254], 2, "--search is longer than 253 characters"),
    (["list", "--search", "nul\x00"], 2, "--search must not contain control characters"),
    (["list", "--search", "☃"], 2, "cannot be part of a domain name"),
    (["list", "--fields", "name,nope"], 2, "unknown field 'nope'; fields: id, name, unicode, owner"),
    (["list", "--sort", "nope", "-o", "ids"], 2, "unknown field 'nope'"),
    (["list", "--limit", HUGE], 2, "is not a count of rows"),
    (["list", "-o", "yaml"], 2, "is not one of"),
    # -- remove ---------------------------------------------------------------------------------
    (["remove", "nosuch.example"], 3, "no domain 'nosuch.example'"),  # refused before anyone is asked
    (["remove", "nosuch.example", "--yes"], 3, "no domain 'nosuch.example'"),
    (["remove", D1], 2, "add --yes"),  # valid, and no terminal to ask
    # -- grant ----------------------------------------------------------------------------------
    (["grant", "nosuch.example", REGULAR, "--role", "viewer"], 3, "no domain 'nosuch.example'"),
    (["grant", D1, "ghost@example.com", "--role", "viewer"], 3, "no user 'ghost@example.com'"),
    (["grant", D1, "#0", "--role", "viewer"], 3, "no user '#0'"),
    (["grant", D1, "#٣", "--role", "viewer"], 2, "is not a user id"),
    (["grant", D1, REGULAR, "--role", "owner"], 2, "a domain role is admin or viewer, not 'owner'"),
    (["grant", D1, REGULAR, "--role", "Admin\n"], 2, "a domain role is admin or viewer"),
    (["grant", D1, REGULAR, "--role", ""], 2, "a domain role is admin or viewer"),
    (["grant", D1, REGULAR], 2, "Missing option '--role'"),
    (["grant", D1, OWNER, "--role", "viewer"], 5, "the owner already holds everything on every domain"),
    (["grant", D1, OTHER, "--role", "viewer"], 5, f"{OTHER} is not a member of the account that owns {D1}"),
    (["grant", B, REGULAR, "--role", "viewer"], 5, f"{REGULAR} is not a member of the account that owns {B}"),
    (["grant", D1, REMOVED, "--role", "admin"], 5, "was removed from its team"),
    (["grant", D1, REGULAR, "--role", "viewer", "-o", "ids"], 2, "list commands only"),
    # -- revoke ---------------------------------------------------------------------------------
    (["revoke", D1, REGULAR], 5, f"{REGULAR} holds no grant on {D1}"),
    (["revoke", D1, OWNER], 5, "the owner already holds everything"),
    (["revoke", B, D_VIEWER], 5, "is not a member of the account that owns b.example"),
    (["revoke", "nosuch.example", D_VIEWER], 3, "no domain 'nosuch.example'"),
    (["revoke", D1, "ghost@example.com"], 3, "no user 'ghost@example.com'"),
    # -- set ------------------------------------------------------------------------------------
    (["set", D1], 2, "give at least one setting"),
    (["set", D1, "-o", "json"], 2, "give at least one setting"),
    (["set", D1, "--monthly-cap", "-1"], 2, "--monthly-cap must be an integer >= 0 or 'unlimited', not '-1'"),
    (["set", D1, "--monthly-cap", "1.5"], 2, "--monthly-cap must be an integer >= 0 or 'unlimited', not '1.5'"),
    (["set", D1, "--monthly-cap", "ten"], 2, "--monthly-cap must be an integer >= 0 or 'unlimited'"),
    (["set", D1, "--monthly-cap", "1e3"], 2, "--monthly-cap must be an integer >= 0 or 'unlimited'"),
    (["set", D1, "--monthly-cap", "٣"], 2, "--monthly-cap must be an integer >= 0 or 'unlimited'"),
    (["set", D1, "--monthly-cap", "5\n"], 2, "--monthly-cap must be an integer >= 0 or 'unlimited'"),
    (["set", D1, "--monthly-cap", ""], 2, "--monthly-cap must be an integer >= 0 or 'unlimited'"),
    (["set", D1, "--monthly-cap", HUGE], 2, "is too large; use 'unlimited'"),
    (["set", D1, "--monthly-cap"], 2, "requires an argument"),
    (["set", D1, "--open-tracking=maybe"], 2, "does not take a value"),
    (["set", "nosuch.example", "--open-tracking"], 3, "no domain 'nosuch.example'"),
    (["set", D1, "--open-tracking", "-o", "ids"], 2, "list commands only"),
    # -- credentials ----------------------------------------------------------------------------
    (["credentials", D1], 3, f"{D1} has no SMTP credentials yet"),
    (["credentials", "nosuch.example"], 3, "no domain 'nosuch.example'"),
    (["credentials", "nosuch.example", "--reset"], 3, "no domain 'nosuch.example'"),
    (["credentials", "--export-passwd", "nosuch.example"], 3, "no domain 'nosuch.example'"),
    (["credentials"], 2, "missing argument DOMAIN"),
    (["credentials", D1, "--reset", "--grace", "0h"], 2, "--grace must be longer than 0"),
    (["credentials", D1, "--reset", "--grace", "2x"], 2, "--grace '2x' is not a duration"),
    (["credentials", D1, "--reset", "--grace", "-1h"], 2, "is not a duration"),
    (["credentials", D1, "--reset", "--grace", "2"], 2, "is not a duration"),
    (["credentials", D1, "--reset", "--grace", "1.5h"], 2, "is not a duration"),
    (["credentials", D1, "--reset", "--grace", "2h\n"], 2, "is not a duration"),
    (["credentials", D1, "--reset", "--grace", HUGE + "d"], 2, "is not a duration"),
    (["credentials", D1, "--reset", "--grace", "31d"], 2, "longer than the 30 days"),
    (["credentials", D1, "--reset", "--grace", ""], 2, "is not a duration"),
    (["credentials", D1, "--grace", "2h"], 2, "--grace goes with --reset"),
    (["credentials", D1, "--check"], 2, "--check reads the password on stdin, one line, and found none"),
    (["credentials", D1, "--reset", "--check"], 2, "--reset and --check cannot be used together"),
    (["credentials", D1, "--check", "--export-passwd"], 2, "--check and --export-passwd cannot be used together"),
    (["credentials", D1, "--reset", "--export-passwd"], 2, "cannot be used together"),
    (["credentials", D1, "--previous"], 2, "--previous goes with --export-passwd"),
    (["credentials", D1, "--check", "-o", "json"], 2, "-o does not go with --check"),
    (["credentials", "--export-passwd", "-o", "json"], 2, "-o does not go with --export-passwd"),
    (["credentials", D1, "--reset", "-o", "ids"], 2, "list commands only"),
]

AS_ROWS = [  # acting through --as: (acting as, arguments after `domains`, exit code, what the line says)
    (OWNER, ["credentials", B, "--reset"], 3, "no domain 'b.example'"),  # another account's: never "forbidden"
    (OWNER, ["credentials", B], 3, "no domain 'b.example'"),
    (OWNER, ["set", B, "--monthly-cap", "1"], 3, "no domain 'b.example'"),
    (OWNER2, ["credentials", D1, "--reset", "--grace", "1h"], 3, "no domain 'd1.example'"),
    (VIEWER, ["credentials", D1, "--reset"], 4, "lacks domains.credentials on d1.example"),
    (D_VIEWER, ["credentials", D1, "--reset"], 4, "lacks domains.credentials on d1.example"),
    (MANAGER, ["credentials", D1, "--reset"], 4, "role domain-manager does not grant domains.credentials"),
    (VIEWER, ["set", D1, "--no-open-tracking"], 4, "lacks domains.manage on d1.example"),
    (D_VIEWER, ["set", D1, "--monthly-cap", "1"], 4, "lacks domains.manage on d1.example"),
    (REGULAR, ["set", D1, "--monthly-cap", "1"], 4, "lacks domains.manage on d1.example"),
    (OWNER, ["credentials", "--export-passwd"], 4, "operator action"),
    (OWNER, ["credentials", "--export-passwd", D1], 4, "operator action"),
]


def _cases():
    cases = list(OTHER_ROWS)
    for name, needle in NAMES:
        cases += [
            (["add", name, "--user", OWNER], 2, needle),
            (["show", name], 2, needle),
            (["remove", name, "--yes"], 2, needle),
            (["grant", name, REGULAR, "--role", "viewer"], 2, needle),
            (["revoke", name, D_VIEWER], 2, needle),
            (["set", name, "--no-click-tracking"], 2, needle),
            (["credentials", name, "--reset"], 2, needle),
            (["credentials", name], 2, needle),
        ]
    return cases


CASES = _cases()
COMMANDS = sorted({args[0] for args, _code, _needle in CASES})


@pytest.fixture
def hostile_team(op):
    """The team of test_domains, B's account on a package allowing one domain, a closed account."""
    from sqlalchemy import select, update

    from mailadmin.refs import parse_ref
    from mailadmin.services import lifecycle, users
    from mailadmin.store.models import Account, User
    from tests.factories import make_package

    with op.write() as o:
        build_team(o)
        tiny = make_package(o.session, "tiny", role="admin", limits={"domains": 1})
        account = o.session.execute(select(User.account_id).where(User.email == OWNER2)).scalar_one()
        o.session.execute(update(Account).where(Account.id == account).values(package_id=tiny.id))
        users.create(o, CLOSED_OWNER, "pro")
        lifecycle.run(o, lifecycle.make_request("close", now=o.now, reason="gone"), [parse_ref(CLOSED_OWNER)], single=True)


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_input_is_refused_whole(cli, db_url, hostile_team, command):
    """Every row of one command on one store (a refused row changes nothing, so rows can share it);
    the failures are listed together, each by its row."""
    failures = []
    rows = [case for case in CASES if case[0][0] == command]
    for args, code, needle in rows:
        before = audit_count(db_url)
        result = cli("domains", *args)
        try:
            refused(result, code, needle)
            assert result.stdout == "", result
            assert audit_count(db_url) == before, "the audit log grew"
        except AssertionError as exc:
            shown = " ".join(args).encode("unicode_escape").decode("ascii")[:90]
            failures.append(f"{shown}: {str(exc).splitlines()[0][:300]}")
    assert not failures, f"{len(failures)} of {len(rows)} rows:\n" + "\n".join(failures)


def test_bad_requests_through_as_are_refused_whole(cli, db_url, hostile_team):
    """Every --as row on one store (a refused row changes nothing, so rows can share it)."""
    failures = []
    for actor, args, code, needle in AS_ROWS:
        before = audit_count(db_url)
        result = cli("--as", actor, "domains", *args)
        try:
            refused(result, code, needle)
            assert result.stdout == "", result
            assert audit_count(db_url) == before, "the audit log grew"
        except AssertionError as exc:
            failures.append(f"--as {actor} {' '.join(args)}: {str(exc).splitlines()[0][:300]}")
    assert not failures, f"{len(failures)} of {len(AS_ROWS)} rows:\n" + "\n".join(failures)

"""Operators as a service (seed 002's administrator permissions): the rules as one table, each row
a store of operators, one change, and its verdict; the built-in roles; and the functions the
invocation's central check calls (what an operator may do, in a fixed number of queries)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, event, select

from mailadmin.catalog import admin_catalog
from mailadmin.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mailadmin.operation import Actor, Operation
from mailadmin.services import operators
from mailadmin.store.models import AuditEntry, Operator, OperatorRole, OperatorRoleGrant

ME = "tester"  # the `op` fixture's operator: the OS user running these changes
OK = None

# Stores of operators, as (name, role) in the order they are added (by ME, with --force where ME
# is not among them), plus the custom roles made first.
ROLES = {"auditors": ["clients.view_all"], "managers": ["operators"], "billing": ["credits", "clients.view_all"]}
STORES = {
    "none": [],
    "me": [(ME, "superadmin")],
    "me and support": [(ME, "superadmin"), ("bob", "support")],
    "two managers": [(ME, "superadmin"), ("carol", "managers")],
    "bob alone (forced)": [("bob", "superadmin")],
}

# (rule, the store given, change, arguments, verdict: OK or (error, what the one line says))
RULES = [
    # -- adding --------------------------------------------------------------------------------
    ("the first operator may be me, with operators.manage", "none", "add", (ME, "superadmin"), OK),
    ("a custom role holding operators.manage will do for the first", "none", "add", (ME, "managers"), OK),
    ("the first operator must manage operators (support cannot)", "none", "add", (ME, "support"),
     (Conflict, "the first operator must be able to manage operators, or nobody could")),
    ("the first operator must manage operators (custom role)", "none", "add", (ME, "auditors"),
     (Conflict, "the first operator must be able to manage operators")),
    ("someone else first would lock me out", "none", "add", ("bob", "superadmin"),
     (Conflict, "would lock you (tester) out")),
    ("someone else first, forced", "none", "add", ("bob", "superadmin", True), OK),
    ("after the first, any role will do", "me", "add", ("bob", "support"), OK),
    ("names are unique", "me and support", "add", ("bob", "superadmin"), (Conflict, "operator bob already exists")),
    ("an unknown role", "me", "add", ("bob", "supprt"), (NotFound, "no operator role named 'supprt'")),
    ("a client role is not an operator role", "me", "add", ("bob", "admin"), (NotFound, "no operator role named 'admin'")),
    ("a name with a space", "me", "add", ("bob smith", "support"), (InvalidInput, "must not contain whitespace")),
    ("a name with a tab", "me", "add", ("bob\tsmith", "support"), (InvalidInput, "must not contain control characters")),
    ("a name with a line break", "me", "add", ("bob\n", "support"), (InvalidInput, "must not contain control characters")),
    ("a name with a NUL", "me", "add", ("b\x00b", "support"), (InvalidInput, "must not contain control characters")),
    ("a name with a zero-width space", "me", "add", ("b\u200bob", "support"), (InvalidInput, "control characters")),
    ("a name with a Unicode line separator", "me", "add", ("b\u2028b", "support"), (InvalidInput, "must not contain whitespace")),
    ("a name with a no-break space", "me", "add", ("b\u00a0b", "support"), (InvalidInput, "must not contain whitespace")),
    ("a name with a colon", "me", "add", ("bob:x", "support"), (InvalidInput, "must not contain ':'")),
    ("an empty name", "me", "add", ("", "support"), (InvalidInput, "must not be empty")),
    ("a name of 200 characters", "me", "add", ("b" * 200, "support"), OK),
    ("a name of 201 characters", "me", "add", ("b" * 201, "support"), (InvalidInput, "longer than 200 characters")),
    ("a non-ASCII login", "me", "add", ("jürgen", "support"), OK),
    # -- removing ------------------------------------------------------------------------------
    ("the last manager stays while others remain", "me and support", "remove", (ME,),
     (Conflict, "tester is the last operator able to manage operators, and 1 other operator(s) remain")),
    ("a manager may go while another remains", "two managers", "remove", (ME,), OK),
    ("a non-manager may go", "me and support", "remove", ("bob",), OK),
    ("the very last operator may go: single-operator mode again", "me", "remove", (ME,), OK),
    ("an unknown operator", "me", "remove", ("bobb",), (NotFound, "no operator named 'bobb'")),
    ("a name no operator can have", "me", "remove", ("b\x00b",), (NotFound, "no operator named")),
    # -- operator roles ------------------------------------------------------------------------
    ("a role from admin keys", "none", "create_role", ("helpdesk", ["clients.view_all", "users"]), OK),
    ("an unknown key suggests the closest", "none", "create_role", ("helpdesk", ["clients.veiw_all"]),
     (InvalidInput, "did you mean clients.view_all?")),
    ("a client catalog key is not an admin key", "none", "create_role", ("helpdesk", ["campaigns.view"]),
     (InvalidInput, "unknown admin permission 'campaigns.view'")),
    ("at least one key", "none", "create_role", ("helpdesk", []), (InvalidInput, "needs at least one admin permission")),
    ("a slug name", "none", "create_role", ("Help Desk", ["clients"]), (InvalidInput, "is not a slug")),
    ("names are unique", "none", "create_role", ("support", ["clients"]), (Conflict, "operator role 'support' already exists")),
    ("superadmin is built in", "none", "delete_role", ("superadmin",), (Conflict, "built-in operator role and cannot be deleted")),
    ("support is built in", "none", "delete_role", ("support",), (Conflict, "built-in operator role and cannot be deleted")),
    ("a role in use stays", "two managers", "delete_role", ("managers",), (Conflict, "operator role managers is held by 1 operator(s)")),
    ("an unused custom role may go", "me", "delete_role", ("billing",), OK),
    ("an unknown role", "none", "delete_role", ("nosuch",), (NotFound, "no operator role named 'nosuch'")),
]


def _make(op, given: str) -> None:
    with op.write() as o:
        for name, keys in ROLES.items():
            operators.create_role(o, name, grant=keys)
        for name, role in STORES[given]:
            operators.add(o, name, role, force=name != ME)


def _audit(op) -> int:
    with op.read() as o:
        return o.session.query(AuditEntry).count()


def _operators(op) -> dict[str, str]:
    with op.read() as o:
        return {v.name: v.role for v in operators.list_operators(o)}


@pytest.mark.parametrize(("rule", "given", "change", "args", "verdict"), RULES, ids=[r[0] for r in RULES])
def test_rules(op, rule, given, change, args, verdict):
    _make(op, given)
    before, audited = _operators(op), _audit(op)
    call = {
        "add": lambda o: operators.add(o, args[0], args[1], force=len(args) > 2 and args[2]),
        "remove": lambda o: operators.remove(o, *args),
        "create_role": lambda o: operators.create_role(o, args[0], grant=args[1]),
        "delete_role": lambda o: operators.delete_role(o, *args),
    }[change]
    if verdict is OK:
        with op.write() as o:
            call(o)
        assert _audit(op) == audited + 1  # one change, one entry, in the same transaction
        return
    error, needle = verdict
    with pytest.raises(error) as caught:
        with op.write() as o:
            call(o)
    line = f"{caught.value.message}; {caught.value.hint}"  # as the error boundary prints it
    assert needle in line
    assert "\n" not in line
    assert (_operators(op), _audit(op)) == (before, audited)  # a refusal changes nothing


def test_add_reports_the_first_operator_and_who_is_locked_out(op):
    with op.write() as o:
        mine = operators.add(o, ME, "superadmin")
        second = operators.add(o, "bob", "support")
    assert (mine.first, mine.runner, mine.runner_registered) == (True, ME, True)
    assert (second.first, second.runner_registered) == (False, True)
    assert second.operator.permissions == ["clients.view_all", "users.login_as"]


def test_forcing_someone_else_first_says_the_runner_is_locked_out(op):
    with op.write() as o:
        added = operators.add(o, "bob", "superadmin", force=True)
    assert (added.first, added.runner, added.runner_registered) == (True, ME, False)


def test_removal_reports_single_operator_mode_and_self_removal(op):
    _make(op, "two managers")
    with op.write() as o:
        mine = operators.remove(o, ME)
        last = operators.remove(o, "carol")
    assert (mine.last, mine.runner_removed) == (False, True)
    assert (last.last, last.runner_removed) == (True, False)
    with op.read() as o:
        assert not operators.any_registered(o.session)


def test_dry_run_removal_checks_and_changes_nothing(op):
    _make(op, "me and support")
    audited = _audit(op)
    with op.write() as o:
        operators.remove(o, "bob", dry_run=True)
        operators.delete_role(o, "billing", dry_run=True)
    assert _audit(op) == audited and "bob" in _operators(op)


def test_changes_are_audited_with_their_targets(op):
    _make(op, "none")
    with op.write() as o:
        operators.add(o, ME, "superadmin")
        operators.remove(o, ME)
        operators.delete_role(o, "billing")
    with op.read() as o:
        rows = o.session.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.actor)
                                 .order_by(AuditEntry.id.desc()).limit(3)).all()
    assert [tuple(r) for r in reversed(rows)] == [
        ("operator.add", f"operator:{ME}", ME), ("operator.remove", f"operator:{ME}", ME),
        ("operator_role.delete", "operator_role:billing", ME)]


def test_a_client_user_acting_through_as_has_no_say(op, store):
    from mailadmin.timeutil import utcnow

    as_user = Actor.user(1, "a@example.com", Actor.operator(ME))
    for call in (lambda o: operators.add(o, ME, "superadmin"), operators.list_operators, operators.list_roles,
                 lambda o: operators.create_role(o, "x", grant=["clients"])):
        with pytest.raises(PermissionDenied, match="acting through --as"):
            with store.write() as session:
                call(Operation(session, as_user, utcnow()))


# -- built-in roles --------------------------------------------------------------------------
def test_init_made_the_built_in_roles_and_making_them_again_changes_nothing(op):
    with op.read() as o:
        views = {v.name: v for v in operators.list_roles(o)}
    assert views["superadmin"].builtin and views["support"].builtin
    assert views["superadmin"].grants == admin_catalog().areas  # stored compressed: every area
    assert views["superadmin"].permissions == admin_catalog().leaves
    assert views["support"].grants == ["clients.view_all", "users"]  # users.login_as is its area's only leaf
    assert views["support"].permissions == ["clients.view_all", "users.login_as"]
    with op.write() as o:
        assert operators.ensure_builtins(o) == []


def test_superadmin_follows_the_catalog(op):
    """A catalog that grew: superadmin holds the new keys at once, and init stores them."""
    with op.write() as o:
        role_id = o.session.execute(select(OperatorRole.id).where(OperatorRole.name == "superadmin")).scalar_one()
        o.session.execute(delete(OperatorRoleGrant).where(OperatorRoleGrant.role_id == role_id,
                                                           OperatorRoleGrant.key == "operators"))
        operators.add(o, ME, "superadmin")
    with op.read() as o:
        assert "operators.manage" in operators.authority(o.session, ME).keys
    with op.write() as o:
        assert operators.ensure_builtins(o) == ["superadmin"]
        assert operators.describe_role(o, "superadmin").grants == admin_catalog().areas
        assert o.session.query(AuditEntry).filter(AuditEntry.action == "operator_role.sync").count() == 1


def test_keys_the_catalog_no_longer_has_grant_nothing(op):
    _make(op, "none")
    with op.write() as o:
        role_id = o.session.execute(select(OperatorRole.id).where(OperatorRole.name == "auditors")).scalar_one()
        o.session.add(OperatorRoleGrant(role_id=role_id, key="clients.retired"))
        operators.add(o, ME, "superadmin")
        operators.add(o, "dave", "auditors")
    with op.read() as o:
        assert operators.authority(o.session, "dave").keys == {"clients.view_all"}


# -- the central check -----------------------------------------------------------------------
@pytest.fixture
def counted(store):
    """The statements a block runs on the store."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", note)
    yield seen
    event.remove(store.engine, "before_cursor_execute", note)


# (role, admin key a command needs, allowed): seed 002's permissions for the built-ins and a custom role
CHECKS = [
    ("superadmin", "clients.add", True), ("superadmin", "operators.manage", True), ("superadmin", "credits.add", True),
    ("superadmin", None, True),
    ("support", "clients.view_all", True), ("support", "users.login_as", True), ("support", None, True),
    ("support", "clients.add", False), ("support", "clients.edit", False), ("support", "clients.delete", False),
    ("support", "packages.create", False), ("support", "packages.edit", False), ("support", "packages.delete", False),
    ("support", "roles.create", False), ("support", "roles.edit", False), ("support", "roles.delete", False),
    ("support", "credits.add", False), ("support", "operators.manage", False),
    ("billing", "credits.add", True), ("billing", "clients.view_all", True), ("billing", "clients.edit", False),
    ("billing", "clients", False),  # a node needs its whole subtree
    ("managers", "operators", True),
]


@pytest.mark.parametrize(("role", "key", "allowed"), CHECKS, ids=[f"{c[0]}-{c[1]}" for c in CHECKS])
def test_what_an_operator_may_do(op, counted, role, key, allowed):
    _make(op, "me")
    with op.write() as o:
        operators.add(o, "bob", role)
    counted.clear()
    with op.read() as o:
        assert operators.any_registered(o.session)
        authority = operators.authority(o.session, "bob")
    assert len([s for s in counted if s.lstrip().upper().startswith("SELECT")]) == 2  # one query each
    assert authority.name == "bob" and authority.role == role
    if allowed:
        assert operators.refuse(authority, "bob", key, "some command") is None
    else:
        with pytest.raises(PermissionDenied) as caught:
            operators.refuse(authority, "bob", key, "packages create")
        assert caught.value.message == (
            f"operator bob (role {role}) lacks the admin permission {key} needed by `packages create`")


def test_an_unregistered_login_is_refused_by_name(op):
    _make(op, "me")
    with op.read() as o:
        assert operators.authority(o.session, "bob") is None
        assert operators.authority(o.session, "b\x00b") is None  # never reaches the driver
    with pytest.raises(PermissionDenied) as caught:
        operators.refuse(None, "bob", None, "users list")
    assert caught.value.message == "the OS user 'bob' is not a registered operator of this store"
    assert "`mailadmin operators add bob --role ROLE`" in caught.value.hint


def test_nobody_registered_is_single_operator_mode(op):
    with op.read() as o:
        assert not operators.any_registered(o.session)
        assert o.session.execute(select(Operator)).first() is None

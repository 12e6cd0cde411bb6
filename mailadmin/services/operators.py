"""Operators and their admin roles (seed 002's administrator permissions).

With no operator registered, whoever runs mailadmin has full rights (a single-operator install).
Once one is registered, the OS user running a command must be one, and its operator role limits
what it may do: the invocation asks `any_registered`, `authority` and `refuse` before a command
touches the store. Operator roles range over the admin catalog (admin_catalog.toml); their grants
are stored compressed, like client roles. This is a guardrail with attribution in the audit log,
not a boundary against someone who holds the database file.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from mailadmin.catalog import admin_catalog
from mailadmin.errors import Conflict, InvalidInput, PermissionDenied
from mailadmin.operation import Operation
from mailadmin.services.validate import by_name, not_found, slug, text
from mailadmin.store.models import Operator, OperatorRole, OperatorRoleGrant

SUPERADMIN, SUPPORT = "superadmin", "support"
BUILTIN_NAMES = (SUPERADMIN, SUPPORT)
MANAGE = "operators.manage"  # without it nobody could add or remove operators
NAME_MAX = 200  # the column's width; longer than any OS login


def _audit(op: Operation, action: str, target: str, before=None, after=None) -> None:
    """audit.record, imported when a change is recorded: the central check below runs before
    every command and should not load the audit log's tables to say yes."""
    from mailadmin.services import audit

    audit.record(op, action, target, before, after)


# -- the central check -------------------------------------------------------------------------
@dataclass(frozen=True)
class Authority:
    """A registered operator as the central check sees it: the admin leaves its role holds."""

    name: str
    role: str
    keys: frozenset[str]


def any_registered(session: Session) -> bool:
    """Whether the store has left single-operator mode."""
    return session.execute(select(Operator.id).limit(1)).first() is not None


def authority(session: Session, login: str) -> Authority | None:
    """The operator registered under this OS login and what it may do, in one query; None when
    the login is not registered."""
    if not _storable(login):  # no such name can be stored; a NUL must not even reach the driver
        return None
    rows = session.execute(
        select(Operator.name, OperatorRole.name, OperatorRole.builtin, OperatorRoleGrant.key)
        .join(OperatorRole, OperatorRole.id == Operator.role_id)
        .outerjoin(OperatorRoleGrant, OperatorRoleGrant.role_id == OperatorRole.id)
        .where(Operator.name == login)
    ).all()
    if not rows:
        return None
    name, role, builtin = rows[0][0], rows[0][1], rows[0][2]
    return Authority(name, role, frozenset(_held(role, builtin, [r[3] for r in rows if r[3] is not None])))


def refuse(authority: Authority | None, login: str, key: str | None, command: str) -> None:
    """PermissionDenied unless `authority` (the runner's, None when unregistered) holds `key`
    (None: any registered operator may run `command`)."""
    if authority is None:
        raise PermissionDenied(
            f"the OS user {login!r} is not a registered operator of this store",
            hint=f"an operator with {MANAGE} runs `mailadmin operators add {login} --role ROLE`",
        )
    if key is None:
        return
    cat = admin_catalog()
    needed = cat.expand([key]) if key in cat.nodes else {key}
    if not needed <= authority.keys:
        raise PermissionDenied(
            f"operator {authority.name} (role {authority.role}) lacks the admin permission {key} needed by `{command}`",
            hint=f"an operator with {MANAGE} can register {authority.name} with a role holding it "
                 f"(see `mailadmin operators roles list`)",
        )


# -- built-in roles --------------------------------------------------------------------------
def _builtin_grants() -> dict[str, tuple[str, list[str]]]:
    cat = admin_catalog()
    return {
        SUPERADMIN: ("Every admin permission", cat.compress(cat.leaves)),
        SUPPORT: ("Sees every client and logs in as a user (--as)", cat.compress(["clients.view_all", "users.login_as"])),
    }


def ensure_builtins(op: Operation) -> list[str]:
    """Create missing built-in operator roles and keep `superadmin` equal to the whole admin
    catalog. Returns the names of the roles created or brought up to date."""
    session = op.session
    existing = {r.name: r for r in session.execute(select(OperatorRole).where(OperatorRole.name.in_(BUILTIN_NAMES))).scalars()}
    changed: list[str] = []
    for name, (description, keys) in _builtin_grants().items():
        role = existing.get(name)
        if role is None:
            role = OperatorRole(name=name, description=description, builtin=True, created_at=op.now)
            session.add(role)
            session.flush()
            _replace_grants(session, role, keys)
            _audit(op, "operator_role.create", f"operator_role:{name}", None, {"grants": keys, "builtin": True})
            changed.append(name)
        elif name == SUPERADMIN and (before := _grants(session, role)) != keys:
            _replace_grants(session, role, keys)  # the catalog grew: superadmin still holds everything
            _audit(op, "operator_role.sync", f"operator_role:{name}", {"grants": before}, {"grants": keys})
            changed.append(name)
    return changed


def _held(role: str, builtin: bool, stored: Iterable[str]) -> set[str]:
    """The admin leaves a role holds. Keys the catalog no longer has grant nothing; superadmin
    holds every leaf even before `init` has stored a grown catalog's new areas."""
    cat = admin_catalog()
    if builtin and role == SUPERADMIN:
        return set(cat.leaves)
    return cat.expand(k for k in stored if k in cat.nodes)


def _grants(session: Session, role: OperatorRole) -> list[str]:
    keys = set(session.execute(select(OperatorRoleGrant.key).where(OperatorRoleGrant.role_id == role.id)).scalars())
    return [k for k in admin_catalog().nodes if k in keys]


def _replace_grants(session: Session, role: OperatorRole, keys: list[str]) -> None:
    session.execute(delete(OperatorRoleGrant).where(OperatorRoleGrant.role_id == role.id))
    if keys:
        session.execute(insert(OperatorRoleGrant), [{"role_id": role.id, "key": k} for k in keys])


# -- names -----------------------------------------------------------------------------------
def login_name(value: str) -> str:
    """An OS login name as an operator's name: 1-200 characters, no whitespace, no control or
    other invisible characters, no `:` (it separates the fields of passwd lines and audit targets)."""
    if not value:
        raise InvalidInput("operator name must not be empty: give the OS login name")
    if len(value) > NAME_MAX:
        raise InvalidInput(f"operator name is longer than {NAME_MAX} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise InvalidInput("operator name must not contain control characters")
    if any(ch.isspace() for ch in value):
        raise InvalidInput("operator name must not contain whitespace: give the OS login name")
    if ":" in value:
        raise InvalidInput("operator name must not contain ':'")
    return value


def _storable(value: str) -> bool:
    try:
        login_name(value)
    except InvalidInput:
        return False
    return True


def _get(session: Session, name: str) -> Operator:
    row = session.execute(select(Operator).where(Operator.name == name)).scalar_one_or_none() if _storable(name) else None
    if row is None:
        raise not_found("operator", name, session.execute(select(Operator.name)).scalars(),
                        list_command="mailadmin operators list")
    return row


def get_role(session: Session, name: str) -> OperatorRole:
    return by_name(session, OperatorRole, name, "operator role", list_command="mailadmin operators roles list")


def runner(op: Operation) -> str:
    """The OS login of whoever runs the command (behind --as too)."""
    return op.actor.on_behalf_of.name if op.actor.on_behalf_of else op.actor.name


def _operators_only(op: Operation) -> None:
    if not op.actor.is_operator:
        raise PermissionDenied("operators and their roles are an operator matter; a client user acting through --as has no say",
                               hint="run the command without --as")


# -- views -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OperatorView:
    name: str
    role: str
    permissions: list[str]  # admin leaves held, in catalog order
    created_at: datetime


@dataclass(frozen=True)
class OperatorRoleView:
    name: str
    description: str
    builtin: bool
    grants: list[str]  # as stored (compressed)
    permissions: list[str]  # admin leaves held, in catalog order
    operators: list[str]  # who holds it


def _role_grants(session: Session) -> dict[int, list[str]]:
    grants: dict[int, set[str]] = {}
    for role_id, key in session.execute(select(OperatorRoleGrant.role_id, OperatorRoleGrant.key)):
        grants.setdefault(role_id, set()).add(key)
    order = list(admin_catalog().nodes)
    return {role_id: [k for k in order if k in keys] for role_id, keys in grants.items()}


def _operator_rows(session: Session, *, name: str | None = None) -> list[OperatorView]:
    """Operators with what their roles hold: two queries whatever their number."""
    query = (select(Operator.name, Operator.created_at, OperatorRole.id, OperatorRole.name, OperatorRole.builtin)
             .join(OperatorRole, OperatorRole.id == Operator.role_id).order_by(Operator.name))
    if name is not None:
        query = query.where(Operator.name == name)
    rows = session.execute(query).all()
    grants = _role_grants(session) if rows else {}
    cat = admin_catalog()
    return [
        OperatorView(op_name, role, cat.ordered(_held(role, builtin, grants.get(role_id, []))), created)
        for op_name, created, role_id, role, builtin in rows
    ]


def list_operators(op: Operation) -> list[OperatorView]:
    _operators_only(op)
    return _operator_rows(op.session)


def show(op: Operation, name: str) -> OperatorView:
    _operators_only(op)
    operator = _get(op.session, name)
    return _operator_rows(op.session, name=operator.name)[0]


def list_roles(op: Operation) -> list[OperatorRoleView]:
    """Every operator role, built-ins first, in three queries."""
    _operators_only(op)
    session = op.session
    roles = session.execute(select(OperatorRole).order_by(OperatorRole.builtin.desc(), OperatorRole.name)).scalars().all()
    grants = _role_grants(session)
    holders: dict[int, list[str]] = {}
    for role_id, op_name in session.execute(select(Operator.role_id, Operator.name).order_by(Operator.name)):
        holders.setdefault(role_id, []).append(op_name)
    return [_role_view(role, grants.get(role.id, []), holders.get(role.id, [])) for role in roles]


def describe_role(op: Operation, name: str) -> OperatorRoleView:
    _operators_only(op)
    role = get_role(op.session, name)
    return _describe(op.session, role)


def _describe(session: Session, role: OperatorRole) -> OperatorRoleView:
    holders = list(session.execute(select(Operator.name).where(Operator.role_id == role.id).order_by(Operator.name)).scalars())
    return _role_view(role, _grants(session, role), holders)


def _role_view(role: OperatorRole, grants: list[str], holders: list[str]) -> OperatorRoleView:
    held = _held(role.name, role.builtin, grants)
    return OperatorRoleView(role.name, role.description, role.builtin, grants, admin_catalog().ordered(held), holders)


# -- operators -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Added:
    operator: OperatorView
    first: bool  # the store has just left single-operator mode
    runner: str  # the OS user who ran the command
    runner_registered: bool  # whether that user can still run mailadmin on this store


def add(op: Operation, name: str, role: str, *, force: bool = False) -> Added:
    """Register an OS login as an operator with an operator role.

    The first operator must hold operators.manage, or nobody could ever add or remove one. And
    registering someone else first would lock out whoever runs the command (from then on only
    registered operators may run mailadmin): that is refused unless `force` says it is meant."""
    _operators_only(op)
    session = op.session
    name = login_name(name)
    role_row = get_role(session, role)
    if session.execute(select(Operator.id).where(Operator.name == name)).first():
        raise Conflict(f"operator {name} already exists", hint=f"`mailadmin operators show {name}` shows its role")
    first = not any_registered(session)
    who = runner(op)
    if first:
        if MANAGE not in _held(role_row.name, role_row.builtin, _grants(session, role_row)):
            raise Conflict("the first operator must be able to manage operators, or nobody could",
                           hint=f"give {name} a role holding {MANAGE}, e.g. `mailadmin operators add {name} --role {SUPERADMIN}`")
        if name != who and not force:
            raise Conflict(
                f"registering {name} as the first operator would lock you ({who}) out: from then on only registered "
                f"operators may run mailadmin on this store",
                hint=f"register yourself first (`mailadmin operators add {who} --role {SUPERADMIN}`), or add --force",
            )
    operator = Operator(name=name, role_id=role_row.id, created_at=op.now)
    session.add(operator)
    session.flush()
    after = {"role": role_row.name, "first": first}
    if first and name != who:
        after["forced_by"] = who  # the runner chose to lock themself out: the log says who did
    _audit(op, "operator.add", f"operator:{name}", None, after)
    registered = who == name or (_storable(who) and session.execute(select(Operator.id).where(Operator.name == who)).first() is not None)
    return Added(_operator_rows(session, name=name)[0], first, who, registered)


@dataclass(frozen=True)
class Removed:
    operator: OperatorView
    last: bool  # no operator remains: the store is back in single-operator mode
    runner_removed: bool  # whoever ran the command removed themself


def remove(op: Operation, name: str, *, dry_run: bool = False) -> Removed:
    """Remove an operator. The last operator able to manage operators stays while others remain
    (someone must be able to manage them); the very last operator of all may go, which returns
    the store to single-operator mode. `dry_run` only makes the checks (asked before a
    confirmation, so a refusal never waits for a yes)."""
    _operators_only(op)
    session = op.session
    operator = _get(session, name)
    everyone = _operator_rows(session)
    this = next(o for o in everyone if o.name == operator.name)
    others = [o for o in everyone if o.name != operator.name]
    if MANAGE in this.permissions and others and not any(MANAGE in o.permissions for o in others):
        raise Conflict(
            f"{operator.name} is the last operator able to manage operators, and {len(others)} other operator(s) remain",
            hint=f"register another operator with a role holding {MANAGE} first, or remove the others first",
        )
    result = Removed(this, not others, runner(op) == operator.name)
    if dry_run:
        return result
    session.delete(operator)
    session.flush()
    _audit(op, "operator.remove", f"operator:{operator.name}", {"role": this.role}, None)
    return result


# -- operator roles --------------------------------------------------------------------------
def create_role(op: Operation, name: str, *, grant: Iterable[str], description: str | None = None) -> OperatorRoleView:
    _operators_only(op)
    session = op.session
    cat = admin_catalog()
    name = slug(name, "operator role")
    keys = [cat.check(k) for k in grant]
    if not keys:
        raise InvalidInput("an operator role needs at least one admin permission",
                           hint="add --grant KEY (see `mailadmin operators roles permissions`)")
    description = text(description or "", "description", allow_empty=True)
    if session.execute(select(OperatorRole.id).where(OperatorRole.name == name)).first():
        raise Conflict(f"operator role {name!r} already exists", hint=f"`mailadmin operators roles show {name}` shows it")
    role = OperatorRole(name=name, description=description, builtin=False, created_at=op.now)
    session.add(role)
    session.flush()
    stored = cat.compress(cat.expand(keys))
    _replace_grants(session, role, stored)
    _audit(op, "operator_role.create", f"operator_role:{name}", None, {"grants": stored, "description": description})
    return _role_view(role, stored, [])


def delete_role(op: Operation, name: str, *, dry_run: bool = False) -> None:
    """Delete a custom operator role no operator holds; `dry_run` only makes the checks."""
    _operators_only(op)
    session = op.session
    role = get_role(session, name)
    if role.builtin:
        raise Conflict(f"{name} is a built-in operator role and cannot be deleted")
    holders = session.execute(select(func.count()).select_from(Operator).where(Operator.role_id == role.id)).scalar_one()
    if holders:
        raise Conflict(f"operator role {name} is held by {holders} operator(s)",
                       hint="remove them first (`mailadmin operators list` shows who; `mailadmin operators remove NAME`)")
    if dry_run:
        return
    before = {"grants": _grants(session, role), "description": role.description}
    session.execute(delete(OperatorRoleGrant).where(OperatorRoleGrant.role_id == role.id))
    session.delete(role)
    session.flush()
    _audit(op, "operator_role.delete", f"operator_role:{name}", before, None)

"""Roles: named sets of catalog keys, the built-ins, and what a role effectively allows.

A role's grants are stored compressed (the smallest set of keys covering its leaves), so
`roles show` reads like an operator would write it: `campaigns` rather than its three levels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from mailadmin.catalog import catalog
from mailadmin.errors import Conflict
from mailadmin.operation import Operation
from mailadmin.services import audit
from mailadmin.services.validate import by_name, slug, text
from mailadmin.store.models import Package, Role, RoleGrant, User


def _builtin_grants() -> dict[str, tuple[str, list[str]]]:
    cat = catalog()
    every = set(cat.leaves)
    view_levels = {k for k in cat.leaves if k.endswith(".view")} | {"smtp.dashboard", "smtp.activity"}
    not_regular = cat.expand(["domains", "smtp.pricing.request", "billing.manage", "team.manage", "account"])
    return {
        "owner": ("Account owner: everything, unalterable", cat.compress(every)),
        "admin": ("Everything except deleting or transferring the account", cat.compress(every - {"account.delete", "account.transfer"})),
        "viewer": ("Sees everything, changes nothing", cat.compress(view_levels)),
        "regular": ("Every feature, without domains, plan requests, billing, team or account management", cat.compress(every - not_regular)),
        "billing-admin": ("Manages billing", ["billing"]),
        "billing-viewer": ("Sees billing", ["billing.view"]),
    }


BUILTIN_NAMES = ("owner", "admin", "viewer", "regular", "billing-admin", "billing-viewer")
UNALTERABLE = "owner"


def ensure_builtins(op: Operation) -> list[str]:
    """Create missing built-in roles and keep `owner` equal to the whole catalog. Returns what changed."""
    session = op.session
    existing = {r.name: r for r in session.execute(select(Role)).scalars()}
    changed: list[str] = []
    for name, (description, keys) in _builtin_grants().items():
        role = existing.get(name)
        if role is None:
            role = Role(name=name, description=description, builtin=True)
            session.add(role)
            session.flush()
            _replace_grants(session, role, keys)
            audit.record(op, "role.create", f"role:{name}", None, {"grants": keys, "builtin": True})
            changed.append(name)
        elif name == UNALTERABLE and _grants(session, role) != keys:
            before = _grants(session, role)
            _replace_grants(session, role, keys)  # the catalog grew: the owner still holds everything
            audit.record(op, "role.sync", f"role:{name}", {"grants": before}, {"grants": keys})
            changed.append(name)
    return changed


# -- reading ---------------------------------------------------------------------------------
def get(session: Session, name: str) -> Role:
    return by_name(session, Role, name, "role", list_command="mailadmin roles list")


def names(session: Session) -> list[str]:
    return list(session.execute(select(Role.name).order_by(Role.name)).scalars())


def _grants(session: Session, role: Role) -> list[str]:
    keys = set(session.execute(select(RoleGrant.key).where(RoleGrant.role_id == role.id)).scalars())
    return [k for k in catalog().nodes if k in keys]


@dataclass
class RoleView:
    name: str
    description: str
    builtin: bool
    grants: list[str]  # as stored (compressed)
    granted: list[str]  # leaves covered by grants
    implied: list[str]  # leaves that come only through `implies`
    inert: dict[str, list[str]]  # granted leaves whose requirement is unmet -> what they need
    packages: list[str] = field(default_factory=list)
    members: int = 0

    @property
    def permissions(self) -> list[str]:
        inert = set(self.inert)
        return catalog().ordered([k for k in {*self.granted, *self.implied} if k not in inert])


def describe(op: Operation, name: str) -> RoleView:
    role = get(op.session, name)
    return _view(op.session, role, _grants(op.session, role))


def _view(session: Session, role: Role, grants: list[str]) -> RoleView:
    packages = list(session.execute(select(Package.name).where(Package.role_id == role.id).order_by(Package.name)).scalars())
    members = session.execute(select(func.count()).select_from(User).where(User.role_id == role.id)).scalar_one()
    return _build(role, grants, packages, members)


def _build(role: Role, grants: list[str], packages: list[str], members: int) -> RoleView:
    """A role's view from its stored grants: what they cover, imply, and leave inert."""
    cat = catalog()
    granted = cat.expand(grants)
    held = cat.with_implied(granted)
    return RoleView(
        name=role.name,
        description=role.description,
        builtin=role.builtin,
        grants=grants,
        granted=cat.ordered(granted),
        implied=cat.ordered(held - granted),
        inert={k: list(needs) for k in cat.ordered(held) if (needs := cat.unmet_requirement(k, held))},
        packages=packages,
        members=members,
    )


def list_roles(op: Operation) -> list[RoleView]:
    """Every role, in four queries whatever their number."""
    session = op.session
    roles = session.execute(select(Role).order_by(Role.builtin.desc(), Role.name)).scalars().all()
    grants: dict[int, set[str]] = {}
    for role_id, key in session.execute(select(RoleGrant.role_id, RoleGrant.key)):
        grants.setdefault(role_id, set()).add(key)
    package_names: dict[int, list[str]] = {}
    for role_id, pname in session.execute(select(Package.role_id, Package.name).order_by(Package.name)):
        package_names.setdefault(role_id, []).append(pname)
    member_counts = dict(
        session.execute(select(User.role_id, func.count()).where(User.role_id.is_not(None)).group_by(User.role_id)).all()
    )
    order = list(catalog().nodes)
    return [
        _build(role, [k for k in order if k in grants.get(role.id, ())], package_names.get(role.id, []), member_counts.get(role.id, 0))
        for role in roles
    ]


AREA_FULL, AREA_PARTIAL, AREA_NONE = "full", "partial", "none"


def matrix(op: Operation) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
    """Roles x areas: full, partial or none (from what each role effectively allows)."""
    cat = catalog()
    rows = []
    for view in list_roles(op):
        allowed = set(view.permissions)
        cells = {}
        for area in cat.areas:
            leaves = set(cat.leaves_under(area))
            have = leaves & allowed
            cells[area] = AREA_FULL if have == leaves else AREA_PARTIAL if have else AREA_NONE
        rows.append((view.name, cells))
    return cat.areas, rows


# -- changing --------------------------------------------------------------------------------
def _refuse_owner(role: Role) -> None:
    if role.name == UNALTERABLE:
        raise Conflict("the owner role cannot be altered: an owner always holds everything (seed 001)")


def _replace_grants(session: Session, role: Role, keys: list[str]) -> None:
    session.execute(delete(RoleGrant).where(RoleGrant.role_id == role.id))
    if keys:
        session.execute(insert(RoleGrant), [{"role_id": role.id, "key": k} for k in keys])


def create(
    op: Operation,
    name: str,
    *,
    copy_from: str | None = None,
    grant: Iterable[str] = (),
    description: str | None = None,
) -> RoleView:
    session = op.session
    cat = catalog()
    name = slug(name, "role")
    keys = [cat.check(k) for k in grant]
    if session.execute(select(Role.id).where(Role.name == name)).first():
        raise Conflict(f"role {name!r} already exists", hint=f"`mailadmin roles grant {name} KEY...` changes it")
    base: list[str] = []
    if copy_from:
        source = get(session, copy_from)
        base = _grants(session, source)
        if description is None:
            description = f"Copy of {source.name}"
    description = text(description or "", "description", allow_empty=True)
    role = Role(name=name, description=description, builtin=False)
    session.add(role)
    session.flush()
    stored = cat.compress(cat.expand([*base, *keys]))
    _replace_grants(session, role, stored)
    audit.record(op, "role.create", f"role:{name}", None, {"grants": stored, "from": copy_from, "description": description})
    return _view(session, role, stored)


@dataclass
class GrantChange:
    view: RoleView  # after the change (as it would be, on a dry run)
    idle: list[str]  # keys that changed nothing (already held, or not held)
    dry_run: bool = False
    impact: list = field(default_factory=list)  # access.Impact per person, on a dry run


def grant(op: Operation, name: str, keys: Iterable[str], *, dry_run: bool = False) -> GrantChange:
    """Add keys to a role. `dry_run`: change nothing, and list who would gain what."""
    return _change_grants(op, name, keys, adding=True, dry_run=dry_run)


def revoke(op: Operation, name: str, keys: Iterable[str], *, dry_run: bool = False) -> GrantChange:
    """Remove keys (and their subtrees) from a role. `dry_run`: change nothing, list who would lose what."""
    return _change_grants(op, name, keys, adding=False, dry_run=dry_run)


def _change_grants(op: Operation, name: str, keys: Iterable[str], *, adding: bool, dry_run: bool) -> GrantChange:
    """Grants are stored compressed: expand, add or remove whole subtrees, compress again. Keys
    that change nothing (already held, or not held) are returned for the caller to mention. A
    dry run works out every member and account whose effective permissions would change, through
    the access engine, and writes nothing."""
    session = op.session
    cat = catalog()
    keys = [cat.check(k) for k in keys]
    role = get(session, name)
    _refuse_owner(role)
    before = _grants(session, role)
    held = cat.expand(before)
    if adding:
        idle = [k for k in keys if set(cat.leaves_under(k)) <= held]
        after = cat.compress(held | cat.expand(keys))
    else:
        idle = [k for k in keys if not set(cat.leaves_under(k)) & held]
        after = cat.compress(held - cat.expand(keys))
    if dry_run:
        from mailadmin.services import access

        leaves_before, leaves_after = access.leaves_of(before), access.leaves_of(after)
        people = access.impact(session, role_id=role.id, before=leaves_before, after=leaves_after)
        return GrantChange(_view(session, role, after), idle, True, people)
    if after != before:
        _replace_grants(session, role, after)
        action, noun = ("role.grant", "added") if adding else ("role.revoke", "removed")
        audit.record(op, action, f"role:{name}", {"grants": before}, {"grants": after, noun: keys})
    return GrantChange(_view(session, role, after), idle)


def rename(op: Operation, name: str, new_name: str) -> RoleView:
    session = op.session
    role = get(session, name)
    if role.builtin:
        raise Conflict(f"{name} is a built-in role and keeps its name", hint=f"`mailadmin roles create NEW --from {name}` copies it")
    new_name = slug(new_name, "role")
    if new_name == name:
        return describe(op, name)
    if session.execute(select(Role.id).where(Role.name == new_name)).first():
        raise Conflict(f"role {new_name!r} already exists")
    role.name = new_name
    session.flush()
    audit.record(op, "role.rename", f"role:{name}", {"name": name}, {"name": new_name})
    return describe(op, new_name)


def delete_role(op: Operation, name: str, *, dry_run: bool = False) -> None:
    """Delete a custom role no package or member uses; `dry_run` only makes the checks (asked
    before a confirmation, so a refusal never waits for a yes)."""
    session = op.session
    role = get(session, name)
    if role.builtin:
        raise Conflict(f"{name} is a built-in role and cannot be deleted")
    view = _view(session, role, _grants(session, role))
    if view.packages:
        raise Conflict(
            f"role {name} is the role of package(s) {', '.join(view.packages)}",
            hint="give those packages another role first (`mailadmin packages edit PKG --role ROLE`)",
        )
    if view.members:
        raise Conflict(
            f"role {name} is held by {view.members} team member(s)",
            hint="give them another role first (`mailadmin users edit USER --role ROLE`)",
        )
    if dry_run:
        return
    session.execute(delete(RoleGrant).where(RoleGrant.role_id == role.id))
    session.delete(role)
    session.flush()
    audit.record(op, "role.delete", f"role:{name}", {"grants": view.grants, "description": view.description}, None)

"""Packages (service tiers): a role that caps their accounts, limits, credit settings, assets,
an optional validity period. Accounts read a package's limits live (see services/limits.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import delete, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from mailadmin.errors import Conflict, InvalidInput
from mailadmin.operation import Operation
from mailadmin.services import audit, status
from mailadmin.services.diff import Changes, diff, sides
from mailadmin.services.validate import by_name, slug, text
from mailadmin.store.models import Account, AccountLimit, Package, PackageAsset, PackageLimit, Role, User
from mailadmin.units import MAX_UNITS, display_limit, format_amount, format_percent
from mailadmin.vocab import ASSET_KINDS, DEFAULT_BOUNCE_MIN_SENDS, LIMIT_NAMES

Asset = tuple[str, str]  # (kind, value): ("node", "mta1")

MAX_EXPIRES_AFTER = 36_500  # days; longer than 100 years is "never"
MAX_BOUNCE_MIN_SENDS = 10**9  # fits the INTEGER column on every backend
# Changes that every account on the package feels, whatever it overrides. A new validity
# period is not among them: it applies to accounts created from now on.
REACHES_EVERY_ACCOUNT = ("role", "credits_enabled", "credit_cost", "allow_overuse", "bounce_limit", "bounce_min_sends")


@dataclass
class Settings:
    """What create/edit were asked to set, as typed values; None means 'not given' (edit keeps
    the value). `bounce_limit` (1/100 percent) and `expires_after` (days) use `clear_*` to say
    'set to none/never'. `credit_cost` is in units of 1/10000 credit."""

    role: str | None = None
    description: str | None = None
    limits: dict[str, int | None] = field(default_factory=dict)
    credits_enabled: bool | None = None
    credit_cost: int | None = None
    allow_overuse: bool | None = None
    bounce_limit: int | None = None
    clear_bounce_limit: bool = False
    bounce_min_sends: int | None = None  # sends a day or month must hold before its bounce rate counts
    expires_after: int | None = None
    clear_expires_after: bool = False
    assets: list[Asset] = field(default_factory=list)


def _checked(settings: Settings) -> Settings:
    """The meaning of typed settings (a script may pass anything): known limits, values in range."""
    for name, value in settings.limits.items():
        if name not in LIMIT_NAMES:
            raise InvalidInput(f"unknown limit {name!r}", hint=f"limits are {', '.join(LIMIT_NAMES)}")
        if value is not None and value < 0:
            raise InvalidInput(f"{name} must be an integer >= 0 or 'unlimited', not {value}")
    if settings.credit_cost is not None and not 0 <= settings.credit_cost < MAX_UNITS:
        raise InvalidInput(f"credit cost {format_amount(settings.credit_cost)} is out of range")
    if settings.bounce_limit is not None and not 0 <= settings.bounce_limit <= 10_000:
        raise InvalidInput(f"bounce limit {format_percent(settings.bounce_limit)} is not between 0 and 100 %")
    if settings.bounce_min_sends is not None and (isinstance(settings.bounce_min_sends, bool) or not isinstance(settings.bounce_min_sends, int)
                                                  or not 0 <= settings.bounce_min_sends <= MAX_BOUNCE_MIN_SENDS):
        raise InvalidInput(f"bounce minimum sends must be a whole number from 0 to {MAX_BOUNCE_MIN_SENDS}, not {settings.bounce_min_sends!r}")
    if settings.expires_after is not None and not 0 < settings.expires_after <= MAX_EXPIRES_AFTER:
        raise InvalidInput(f"expires after must be 1 to {MAX_EXPIRES_AFTER} days or never, not {settings.expires_after}")
    _check_assets(settings.assets)
    if settings.description is not None:
        return replace(settings, description=text(settings.description, "description", allow_empty=True))
    return settings


def _check_assets(assets: Iterable[Asset]) -> list[Asset]:
    """Distinct assets in a stable order; an unknown kind is refused."""
    out = sorted(set(assets))
    for kind, _value in out:
        if kind not in ASSET_KINDS:
            raise InvalidInput(f"unknown asset kind {kind!r}: use {', '.join(ASSET_KINDS)}")
    return out


# -- reading ---------------------------------------------------------------------------------
def get(session: Session, name: str) -> Package:
    """THE package lookup: by name, or NotFound naming the closest one."""
    return by_name(session, Package, name, "package", list_command="mailadmin packages list")


def names(session: Session) -> list[str]:
    return list(session.execute(select(Package.name).order_by(Package.name)).scalars())


@dataclass
class PackageView:
    name: str
    description: str
    role: str
    limits: dict[str, int | None]  # every limit name; None is unlimited
    credits_enabled: bool
    credit_cost: int  # 1/10000 credit
    allow_overuse: bool
    bounce_limit: int | None  # 1/100 percent
    expires_after: int | None  # days
    bounce_min_sends: int
    assets: dict[str, list[str]]  # every kind, each sorted
    accounts: int
    created_at: datetime


def _assets(session: Session, package_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {pid: {k: [] for k in ASSET_KINDS} for pid in package_ids}
    rows = session.execute(
        select(PackageAsset.package_id, PackageAsset.kind, PackageAsset.value)
        .where(PackageAsset.package_id.in_(package_ids))
        .order_by(PackageAsset.kind, PackageAsset.value)
    )
    for pid, kind, value in rows:
        out[pid].setdefault(kind, []).append(value)
    return out


def _views(session: Session, packages: list[Package]) -> list[PackageView]:
    ids = [p.id for p in packages]
    role_names = dict(session.execute(select(Role.id, Role.name)).all())
    lim: dict[int, dict[str, int | None]] = {pid: {n: None for n in LIMIT_NAMES} for pid in ids}
    for pid, name, value in session.execute(
        select(PackageLimit.package_id, PackageLimit.name, PackageLimit.value).where(PackageLimit.package_id.in_(ids))
    ):
        if name in LIMIT_NAMES:
            lim[pid][name] = value
    counts = dict(
        session.execute(
            select(Account.package_id, func.count()).where(Account.package_id.in_(ids)).group_by(Account.package_id)
        ).all()
    )
    assets = _assets(session, ids)
    return [
        PackageView(
            name=p.name, description=p.description, role=role_names.get(p.role_id, "?"), limits=lim[p.id],
            credits_enabled=p.credits_enabled, credit_cost=p.credit_cost, allow_overuse=p.allow_overuse,
            bounce_limit=p.bounce_limit, expires_after=p.expires_after_days, bounce_min_sends=p.bounce_min_sends, assets=assets[p.id],
            accounts=counts.get(p.id, 0), created_at=p.created_at,
        )
        for p in packages
    ]


def list_packages(op: Operation) -> list[PackageView]:
    session = op.session
    return _views(session, list(session.execute(select(Package).order_by(Package.name)).scalars()))


def describe(op: Operation, name: str) -> PackageView:
    return _views(op.session, [get(op.session, name)])[0]


def _snapshot(view: PackageView) -> dict[str, Any]:
    """What the audit log records of a package: its settings as an operator spells them."""
    return {
        "name": view.name,
        "description": view.description,
        "role": view.role,
        "limits": {k: display_limit(v) for k, v in view.limits.items()},
        "credits_enabled": view.credits_enabled,
        "credit_cost": format_amount(view.credit_cost),
        "allow_overuse": view.allow_overuse,
        "bounce_limit": format_percent(view.bounce_limit),
        "bounce_min_sends": view.bounce_min_sends,
        "expires_after": view.expires_after,
        "assets": view.assets,
    }


def _fields(view: PackageView) -> dict[str, Any]:
    """A package's settings flat (`limits.daily`), spelled as edits and their audit entries show them."""
    snapshot = _snapshot(view)
    flat = {k: v for k, v in snapshot.items() if k not in ("name", "limits", "assets")}
    flat.update({f"limits.{k}": v for k, v in snapshot["limits"].items()})
    return flat


def _asked(settings: Settings) -> dict[str, Any]:
    """The fields an edit sets, spelled like `_fields`, in a stable order."""
    asked: dict[str, Any] = {}
    if settings.role is not None:
        asked["role"] = settings.role
    if settings.description is not None:
        asked["description"] = settings.description
    if settings.credits_enabled is not None:
        asked["credits_enabled"] = settings.credits_enabled
    if settings.credit_cost is not None:
        asked["credit_cost"] = format_amount(settings.credit_cost)
    if settings.allow_overuse is not None:
        asked["allow_overuse"] = settings.allow_overuse
    if settings.bounce_limit is not None or settings.clear_bounce_limit:
        asked["bounce_limit"] = format_percent(settings.bounce_limit)
    if settings.bounce_min_sends is not None:
        asked["bounce_min_sends"] = settings.bounce_min_sends
    if settings.expires_after is not None or settings.clear_expires_after:
        asked["expires_after"] = settings.expires_after
    asked.update({f"limits.{n}": display_limit(v) for n, v in settings.limits.items()})
    return asked


# -- changing --------------------------------------------------------------------------------
def _role_id(session: Session, role: str) -> int:
    from mailadmin.services import roles

    return roles.get(session, role).id


def _write_limits(session: Session, package_id: int, values: dict[str, int | None]) -> None:
    if not values:
        return
    session.execute(delete(PackageLimit).where(PackageLimit.package_id == package_id, PackageLimit.name.in_(list(values))))
    session.execute(insert(PackageLimit), [{"package_id": package_id, "name": n, "value": v} for n, v in values.items()])


def create(op: Operation, name: str, settings: Settings) -> PackageView:
    session = op.session
    name = slug(name, "package")
    settings = _checked(settings)
    if settings.role is None:
        raise InvalidInput("a package needs --role (the cap on what its accounts may do)", hint="see `mailadmin roles list`")
    role_id = _role_id(session, settings.role)
    if session.execute(select(Package.id).where(Package.name == name)).first():
        raise Conflict(f"package {name!r} already exists", hint=f"`mailadmin packages edit {name}` changes it")
    package = Package(
        name=name,
        description=settings.description or "",
        role_id=role_id,
        credits_enabled=bool(settings.credits_enabled),
        credit_cost=settings.credit_cost or 0,
        allow_overuse=bool(settings.allow_overuse),
        bounce_limit=settings.bounce_limit,
        expires_after_days=settings.expires_after,
        bounce_min_sends=DEFAULT_BOUNCE_MIN_SENDS if settings.bounce_min_sends is None else settings.bounce_min_sends,
        created_at=op.now,
    )
    session.add(package)
    session.flush()
    # every limit gets a row: what was not given is explicitly unlimited
    _write_limits(session, package.id, {n: settings.limits.get(n) for n in LIMIT_NAMES})
    assets = _check_assets(settings.assets)
    if assets:
        session.execute(insert(PackageAsset), [{"package_id": package.id, "kind": k, "value": v} for k, v in assets])
    view = describe(op, name)
    audit.record(op, "package.create", f"package:{name}", None, _snapshot(view))
    return view


@dataclass
class AccountImpact:
    account_id: int
    owner: str | None
    inherits: list[str]  # changed limits this account takes from the package
    keeps_override: list[str]  # changed limits this account overrides (unaffected)
    affected: bool  # the edit reaches it: a limit it inherits, or a change every account feels


@dataclass
class EditResult:
    view: PackageView  # after the edit (before it, on a dry run or when nothing differs)
    changes: Changes  # field -> {"before", "after"}, spelled as the audit log records them
    accounts: list[AccountImpact]
    dry_run: bool
    all_accounts_affected: bool  # a change other than limits reaches every account
    permissions: list = field(default_factory=list)  # access.Impact per person a new role changes (dry run)

    @property
    def affected(self) -> int:
        return sum(a.affected for a in self.accounts)

    @property
    def keeping_override(self) -> int:
        return sum(bool(a.keeps_override) for a in self.accounts)


def edit(op: Operation, name: str, settings: Settings, *, dry_run: bool = False) -> EditResult:
    """Change a package; accounts inherit what they do not override. A dry run reports the same
    impact and writes nothing."""
    session = op.session
    package = get(session, name)
    settings = _checked(settings)
    role_id = _role_id(session, settings.role) if settings.role is not None else None
    if settings.assets:
        raise InvalidInput("assets are changed with `mailadmin packages assets PKG --add/--remove`")
    before = describe(op, name)
    changes = diff(_fields(before), _asked(settings))
    changed_limits = {n: v for n, v in settings.limits.items() if f"limits.{n}" in changes}
    reaches_all = any(key in changes for key in REACHES_EVERY_ACCOUNT)
    result = EditResult(before, changes, _impact(session, package.id, list(changed_limits), reaches_all), dry_run, reaches_all)
    if dry_run and "role" in changes:
        from mailadmin.services import access, roles

        old, new = (access.role_leaves(session, roles.get(session, n)) for n in (before.role, settings.role))
        result.permissions = access.impact(session, package_id=package.id, new_package_role=(old, new))
    if dry_run or not changes:
        return result

    values: dict[str, Any] = {}
    if "role" in changes:
        values["role_id"] = role_id
    for key in ("description", "credits_enabled", "credit_cost", "allow_overuse", "bounce_limit", "bounce_min_sends"):
        if key in changes:
            values[key] = getattr(settings, key)
    if "expires_after" in changes:
        values["expires_after_days"] = settings.expires_after
    if values:
        session.execute(update(Package).where(Package.id == package.id).values(**values))
    _write_limits(session, package.id, changed_limits)
    session.expire_all()
    result.view = describe(op, name)
    audit.record(op, "package.edit", f"package:{name}", *sides(changes))
    return result


def _impact(session: Session, package_id: int, changed_limits: list[str], reaches_all: bool) -> list[AccountImpact]:
    """Every account on the package, with which changed limits it inherits or overrides."""
    owners = dict(
        session.execute(
            select(Account.id, User.email)
            .select_from(Account)
            .outerjoin(User, (User.account_id == Account.id) & User.is_owner)
            .where(Account.package_id == package_id)
            .order_by(Account.id)
        ).all()
    )
    kept: dict[int, list[str]] = {}
    if changed_limits:
        for aid, lname in session.execute(
            select(AccountLimit.account_id, AccountLimit.name)
            .join(Account, Account.id == AccountLimit.account_id)
            .where(Account.package_id == package_id, AccountLimit.name.in_(changed_limits))
            .order_by(AccountLimit.account_id, AccountLimit.name)
        ):
            kept.setdefault(aid, []).append(lname)
    out = []
    for aid, email in owners.items():
        keep = kept.get(aid, [])
        inherits = [n for n in changed_limits if n not in keep]
        out.append(AccountImpact(aid, email, inherits, keep, affected=reaches_all or bool(inherits)))
    return out


@dataclass
class Deletion:
    name: str
    moved: int  # accounts moved to `reassigned_to`
    reassigned_to: str | None


def delete_package(op: Operation, name: str, *, reassign: str | None = None, dry_run: bool = False) -> Deletion:
    """Delete a package; accounts on it must move to `reassign` first. `dry_run` makes every check
    and says what would happen (asked before a confirmation, so a refusal never waits for a yes)."""
    session = op.session
    package = get(session, name)
    in_use = session.execute(select(func.count()).select_from(Account).where(Account.package_id == package.id)).scalar_one()
    snapshot = _snapshot(describe(op, name))
    moved = 0
    if in_use:
        if reassign is None:
            raise Conflict(
                f"package {name} is used by {in_use} account(s)",
                hint=f"move them with `mailadmin packages delete {name} --reassign OTHER`",
            )
        if reassign == name:
            raise InvalidInput("--reassign must name another package")
        target = get(session, reassign)
        moved = in_use if dry_run else move_accounts(op, package, target)
    if dry_run:
        return Deletion(name, moved, reassign if moved else None)
    session.execute(delete(PackageLimit).where(PackageLimit.package_id == package.id))
    session.execute(delete(PackageAsset).where(PackageAsset.package_id == package.id))
    session.execute(delete(Package).where(Package.id == package.id))
    session.expunge(package)
    audit.record(op, "package.delete", f"package:{name}", snapshot, {"reassigned_to": reassign} if moved else None)
    return Deletion(name, moved, reassign if moved else None)


def move_accounts(op: Operation, source: Package, target: Package) -> int:
    """Every account of `source` onto `target`, set-based. Overrides stay with the accounts; the
    plan expiry restarts now from the new package's validity period (none: no expiry)."""
    session = op.session
    rows = session.execute(
        select(Account.id, User.email)
        .select_from(Account)
        .outerjoin(User, (User.account_id == Account.id) & User.is_owner)
        .where(Account.package_id == source.id)
    ).all()
    expires = status.plan_expires_at(target.expires_after_days, op.now)
    session.execute(
        update(Account).where(Account.package_id == source.id).values(package_id=target.id, plan_expires_at=expires)
    )
    audit.record_many(
        op,
        [audit.Change("account.package", f"user:{email}" if email else f"account:{aid}", {"package": source.name},
                      {"package": target.name, "plan_expires_at": expires}) for aid, email in rows],
    )
    return len(rows)


@dataclass
class AssetChange:
    view: PackageView  # after the change
    already: list[Asset]  # asked to add, already assigned
    absent: list[Asset]  # asked to remove, not assigned


def change_assets(op: Operation, name: str, add: Iterable[Asset], remove: Iterable[Asset]) -> AssetChange:
    """Add and remove assets; what was already so is reported, not refused."""
    session = op.session
    package = get(session, name)
    to_add, to_remove = _check_assets(add), _check_assets(remove)
    both = set(to_add) & set(to_remove)
    if both:
        raise InvalidInput(f"{', '.join(f'{k}={v}' for k, v in sorted(both))} is both added and removed")
    have = set(session.execute(select(PackageAsset.kind, PackageAsset.value).where(PackageAsset.package_id == package.id)).all())
    new = [a for a in to_add if a not in have]
    gone = [a for a in to_remove if a in have]
    if new:
        session.execute(insert(PackageAsset), [{"package_id": package.id, "kind": k, "value": v} for k, v in new])
    if gone:
        session.execute(delete(PackageAsset).where(PackageAsset.package_id == package.id,
                                                   tuple_(PackageAsset.kind, PackageAsset.value).in_(gone)))
    if new or gone:
        audit.record(op, "package.assets", f"package:{name}", {"removed": [f"{k}={v}" for k, v in gone]},
                     {"added": [f"{k}={v}" for k, v in new]})
    return AssetChange(describe(op, name), [a for a in to_add if a in have], [a for a in to_remove if a not in have])

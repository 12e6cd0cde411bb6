"""Packages (service tiers): a role that caps their accounts, limits, credit settings, assets,
an optional validity period. Accounts read a package's limits live (see services/limits.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from mailadmin.errors import Conflict, InvalidInput
from mailadmin.services import audit, limits
from mailadmin.services.amounts import format_amount, parse_amount
from mailadmin.services.validate import not_found, slug, text
from mailadmin.store.models import Account, AccountLimit, Package, PackageAsset, PackageLimit, Role, User

ASSET_KINDS = ("node", "bounce", "domain")
_NODE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,253}$")
_PERCENT = re.compile(r"^([0-9]{1,3})(?:\.([0-9]{1,2}))?%?$")
NEVER = "never"


# -- parsing what an operator types ----------------------------------------------------------
def parse_bounce_limit(raw: str) -> int | None:
    """'5', '2.5', '2.25%' -> 1/100 percent (500, 250, 225); 'none' -> no bounce limit."""
    value = raw.strip().lower()
    if value in ("none", "off"):
        return None
    match = _PERCENT.match(value)
    if not match:
        raise InvalidInput(f"bounce limit {raw!r} is not a percentage: use 0 to 100 with at most 2 decimals (e.g. 5 or 2.5), or none")
    hundredths = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0") or 0)
    if hundredths > 10_000:
        raise InvalidInput(f"bounce limit {raw} is over 100 %")
    return hundredths


def format_percent(hundredths: int | None) -> str | None:
    """500 -> '5.00' (percent, exact digits)."""
    if hundredths is None:
        return None
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def parse_expires_after(raw: str) -> int | None:
    """Days (> 0), or 'never' for no validity period."""
    value = raw.strip().lower()
    if value == NEVER:
        return None
    if not value.isascii() or not value.isdigit() or int(value) <= 0:
        raise InvalidInput(f"expires after must be a number of days > 0 or 'never', not {raw!r}")
    if int(value) > 36_500:
        raise InvalidInput(f"expires after {raw} days is more than 100 years; use 'never'")
    return int(value)


def parse_asset(raw: str) -> tuple[str, str]:
    """'node=mta1' -> ('node', 'mta1'); bounce addresses are emails, domains IDNA-normalised."""
    if "=" not in raw:
        raise InvalidInput(f"{raw!r} is not KIND=VALUE (kinds: {', '.join(ASSET_KINDS)}; e.g. node=mta1)")
    kind, value = (part.strip() for part in raw.split("=", 1))
    kind = kind.lower()
    if kind not in ASSET_KINDS:
        raise InvalidInput(f"unknown asset kind {kind!r}: use {', '.join(ASSET_KINDS)}")
    if kind == "bounce":
        from mailadmin.services.accounts import normalise_email

        return kind, normalise_email(value)
    if kind == "domain":
        return kind, normalise_domain(value)
    value = value.lower()
    if not _NODE.match(value):
        raise InvalidInput(f"sending node {value!r} is not a node name (letters, digits, '.', '-', '_')")
    return kind, value


def normalise_domain(raw: str) -> str:
    value = raw.strip().rstrip(".").lower()
    try:
        ascii_ = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidInput(f"{raw!r} is not a domain name") from None
    labels = ascii_.split(".")
    ok = len(labels) >= 2 and len(ascii_) <= 253 and all(
        0 < len(label) <= 63 and re.match(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", label) for label in labels
    )
    if not ok:
        raise InvalidInput(f"{raw!r} is not a domain name")
    return ascii_


@dataclass
class Settings:
    """What create/edit were asked to set; None means 'not given' (edit keeps the value).
    `bounce_limit` and `expires_after` use `clear_*` to say 'set to none/never'."""

    role: str | None = None
    description: str | None = None
    limits: dict[str, int | None] = field(default_factory=dict)
    credits_enabled: bool | None = None
    credit_cost: int | None = None
    allow_overuse: bool | None = None
    bounce_limit: int | None = None
    clear_bounce_limit: bool = False
    expires_after: int | None = None
    clear_expires_after: bool = False
    assets: list[tuple[str, str]] = field(default_factory=list)


def parse_settings(
    *,
    role: str | None = None,
    description: str | None = None,
    limit: Iterable[str] = (),
    credits: bool | None = None,
    credit_cost: str | None = None,
    allow_overuse: bool | None = None,
    bounce_limit: str | None = None,
    expires_after: str | None = None,
    asset: Iterable[str] = (),
) -> Settings:
    s = Settings(role=role, credits_enabled=credits, allow_overuse=allow_overuse)
    if description is not None:
        s.description = text(description, "description", allow_empty=True)
    s.limits = limits.parse_assignments(limit)
    if credit_cost is not None:
        s.credit_cost = parse_amount(credit_cost, what="credit cost", allow_zero=True)
    if bounce_limit is not None:
        s.bounce_limit = parse_bounce_limit(bounce_limit)
        s.clear_bounce_limit = s.bounce_limit is None
    if expires_after is not None:
        s.expires_after = parse_expires_after(expires_after)
        s.clear_expires_after = s.expires_after is None
    s.assets = sorted(set(parse_asset(a) for a in asset))
    return s


# -- reading ---------------------------------------------------------------------------------
def get(session: Session, name: str) -> Package:
    package = session.execute(select(Package).where(Package.name == name)).scalar_one_or_none()
    if package is None:
        raise not_found("package", name, names(session), list_command="mailadmin packages list")
    return package


def names(session: Session) -> list[str]:
    return list(session.execute(select(Package.name).order_by(Package.name)).scalars())


@dataclass
class PackageView:
    name: str
    description: str
    role: str
    limits: dict[str, int | None]
    credits_enabled: bool
    credit_cost: int
    allow_overuse: bool
    bounce_limit: int | None
    expires_after: int | None
    assets: dict[str, list[str]]
    accounts: int
    created_at: object

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "role": self.role,
            "limits": {k: limits.display(v) for k, v in self.limits.items()},
            "credits_enabled": self.credits_enabled,
            "credit_cost": format_amount(self.credit_cost),
            "allow_overuse": self.allow_overuse,
            "bounce_limit": format_percent(self.bounce_limit),
            "expires_after": self.expires_after,
            "assets": self.assets,
            "accounts": self.accounts,
            "created_at": self.created_at,
        }


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
    lim: dict[int, dict[str, int | None]] = {pid: {n: None for n in limits.LIMIT_NAMES} for pid in ids}
    for pid, name, value in session.execute(
        select(PackageLimit.package_id, PackageLimit.name, PackageLimit.value).where(PackageLimit.package_id.in_(ids))
    ):
        if name in limits.LIMIT_NAMES:
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
            bounce_limit=p.bounce_limit, expires_after=p.expires_after_days, assets=assets[p.id],
            accounts=counts.get(p.id, 0), created_at=p.created_at,
        )
        for p in packages
    ]


def list_packages(session: Session) -> list[PackageView]:
    return _views(session, list(session.execute(select(Package).order_by(Package.name)).scalars()))


def describe(session: Session, name: str) -> PackageView:
    return _views(session, [get(session, name)])[0]


# -- changing --------------------------------------------------------------------------------
def _role_id(session: Session, role: str) -> int:
    from mailadmin.services import roles

    return roles.get(session, role).id


def _write_limits(session: Session, package_id: int, values: dict[str, int | None]) -> None:
    if not values:
        return
    session.execute(delete(PackageLimit).where(PackageLimit.package_id == package_id, PackageLimit.name.in_(list(values))))
    session.execute(insert(PackageLimit), [{"package_id": package_id, "name": n, "value": v} for n, v in values.items()])


def _snapshot(view: PackageView) -> dict:
    data = view.as_json()
    data.pop("accounts")
    data.pop("created_at")
    return data


def create(session: Session, actor: str, name: str, settings: Settings) -> PackageView:
    name = slug(name, "package")
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
    )
    session.add(package)
    session.flush()
    # every limit gets a row: what was not given is explicitly unlimited
    _write_limits(session, package.id, {n: settings.limits.get(n) for n in limits.LIMIT_NAMES})
    if settings.assets:
        session.execute(insert(PackageAsset), [{"package_id": package.id, "kind": k, "value": v} for k, v in settings.assets])
    view = describe(session, name)
    audit.record(session, actor, "package.create", f"package:{name}", None, _snapshot(view))
    return view


@dataclass
class AccountImpact:
    account_id: int
    owner: str | None
    inherits: list[str]  # changed limits this account takes from the package
    keeps_override: list[str]  # changed limits this account overrides (unaffected)

    @property
    def affected(self) -> bool:
        return bool(self.inherits)


@dataclass
class EditResult:
    view: PackageView
    changes: dict[str, dict]  # field -> {"before", "after"}
    accounts: list[AccountImpact]
    dry_run: bool
    all_accounts_affected: bool  # a change other than limits reaches every account

    @property
    def affected(self) -> int:
        return len(self.accounts) if self.all_accounts_affected else sum(a.affected for a in self.accounts)

    @property
    def keeping_override(self) -> int:
        return sum(bool(a.keeps_override) for a in self.accounts)


def edit(session: Session, actor: str, name: str, settings: Settings, *, dry_run: bool = False) -> EditResult:
    package = get(session, name)
    before = describe(session, name)
    changes: dict[str, dict] = {}

    def note(key: str, old, new) -> None:
        if old != new:
            changes[key] = {"before": old, "after": new}

    if settings.role is not None:
        role_id = _role_id(session, settings.role)
        note("role", before.role, settings.role)
    if settings.description is not None:
        note("description", before.description, settings.description)
    if settings.credits_enabled is not None:
        note("credits_enabled", before.credits_enabled, settings.credits_enabled)
    if settings.credit_cost is not None:
        note("credit_cost", format_amount(before.credit_cost), format_amount(settings.credit_cost))
    if settings.allow_overuse is not None:
        note("allow_overuse", before.allow_overuse, settings.allow_overuse)
    if settings.bounce_limit is not None or settings.clear_bounce_limit:
        note("bounce_limit", format_percent(before.bounce_limit), format_percent(settings.bounce_limit))
    if settings.expires_after is not None or settings.clear_expires_after:
        note("expires_after", before.expires_after, settings.expires_after)
    changed_limits = {n: v for n, v in settings.limits.items() if before.limits[n] != v}
    for n, v in changed_limits.items():
        note(f"limits.{n}", limits.display(before.limits[n]), limits.display(v))
    if settings.assets:
        raise InvalidInput("assets are changed with `mailadmin packages assets PKG --add/--remove`")

    impact = _impact(session, package.id, list(changed_limits))
    # role and credit settings reach every account; expires_after applies to new accounts only
    reaching = {"role", "credits_enabled", "credit_cost", "allow_overuse", "bounce_limit"}
    result = EditResult(before, changes, impact, dry_run, all_accounts_affected=bool(reaching & set(changes)))
    if dry_run or not changes:
        return result

    values = {}
    if "role" in changes:
        values["role_id"] = role_id
    for key in ("description", "credits_enabled", "credit_cost", "allow_overuse"):
        if key in changes:
            values[key] = getattr(settings, key)
    if "bounce_limit" in changes:
        values["bounce_limit"] = settings.bounce_limit
    if "expires_after" in changes:
        values["expires_after_days"] = settings.expires_after
    if values:
        session.execute(update(Package).where(Package.id == package.id).values(**values))
    _write_limits(session, package.id, changed_limits)
    session.expire_all()
    result.view = describe(session, name)
    audit.record(session, actor, "package.edit", f"package:{name}", {k: c["before"] for k, c in changes.items()},
                 {k: c["after"] for k, c in changes.items()})
    return result


def _impact(session: Session, package_id: int, changed_limits: list[str]) -> list[AccountImpact]:
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
        out.append(AccountImpact(aid, email, [n for n in changed_limits if n not in keep], keep))
    return out


def delete_package(session: Session, actor: str, name: str, *, reassign: str | None = None) -> tuple[int, str | None]:
    """Delete a package; accounts on it must move to `reassign` first. Returns (accounts moved, target)."""
    from mailadmin.timeutil import utcnow

    package = get(session, name)
    in_use = session.execute(select(func.count()).select_from(Account).where(Account.package_id == package.id)).scalar_one()
    snapshot = _snapshot(describe(session, name))
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
        moved = move_accounts(session, actor, package, target, utcnow())
    session.execute(delete(PackageLimit).where(PackageLimit.package_id == package.id))
    session.execute(delete(PackageAsset).where(PackageAsset.package_id == package.id))
    session.execute(delete(Package).where(Package.id == package.id))
    session.expunge(package)
    audit.record(session, actor, "package.delete", f"package:{name}", snapshot, {"reassigned_to": reassign} if moved else None)
    return moved, reassign if moved else None


def move_accounts(session: Session, actor: str, source: Package, target: Package, now) -> int:
    """Every account of `source` onto `target`, set-based. Overrides stay with the accounts; the
    plan expiry restarts from the new package's validity period (none: no expiry)."""
    from datetime import timedelta

    rows = session.execute(
        select(Account.id, User.email)
        .select_from(Account)
        .outerjoin(User, (User.account_id == Account.id) & User.is_owner)
        .where(Account.package_id == source.id)
    ).all()
    expires = now + timedelta(days=target.expires_after_days) if target.expires_after_days else None
    session.execute(
        update(Account).where(Account.package_id == source.id).values(package_id=target.id, plan_expires_at=expires)
    )
    audit.record_many(
        session, actor,
        [audit.Change("account.package", f"user:{email}" if email else f"account:{aid}", {"package": source.name},
                      {"package": target.name, "plan_expires_at": expires}) for aid, email in rows],
    )
    return len(rows)


def change_assets(session: Session, actor: str, name: str, add: Iterable[str], remove: Iterable[str]) -> tuple[PackageView, list[str]]:
    """Add and remove assets. Returns the new view and notes (already there / was not there)."""
    package = get(session, name)
    to_add = sorted(set(parse_asset(a) for a in add))
    to_remove = sorted(set(parse_asset(a) for a in remove))
    both = set(to_add) & set(to_remove)
    if both:
        raise InvalidInput(f"{', '.join(f'{k}={v}' for k, v in both)} is both added and removed")
    have = set(session.execute(select(PackageAsset.kind, PackageAsset.value).where(PackageAsset.package_id == package.id)).all())
    notes = [f"{k}={v} was already assigned" for k, v in to_add if (k, v) in have]
    notes += [f"{k}={v} was not assigned" for k, v in to_remove if (k, v) not in have]
    new = [(k, v) for k, v in to_add if (k, v) not in have]
    gone = [(k, v) for k, v in to_remove if (k, v) in have]
    if new:
        session.execute(insert(PackageAsset), [{"package_id": package.id, "kind": k, "value": v} for k, v in new])
    for k, v in gone:
        session.execute(delete(PackageAsset).where(PackageAsset.package_id == package.id, PackageAsset.kind == k, PackageAsset.value == v))
    if new or gone:
        audit.record(session, actor, "package.assets", f"package:{name}", {"removed": [f"{k}={v}" for k, v in gone]},
                     {"added": [f"{k}={v}" for k, v in new]})
    return describe(session, name), notes

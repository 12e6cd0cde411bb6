"""Limits: their names, how an operator spells a value, and an account's effective limits.

The link between a package and its accounts is live: an account's effective limit is its
override row when one exists, else the package's row; a missing row or NULL means unlimited.
Nothing is copied to accounts, so a package edit reaches every account that inherits, and an
override survives package edits and package changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailadmin.errors import InvalidInput
from mailadmin.services.batching import CHUNK, chunks

LIMIT_NAMES: tuple[str, ...] = (
    "hourly",
    "daily",
    "monthly",
    "contacts",
    "segments",
    "domains",
    "triggers",
    "evergreen_campaigns",
    "threads",
    "automation_actions",
    "automation_monthly",
    "suppressed_domains",
    "team_members",
)
UNLIMITED = "unlimited"
MAX_LIMIT = 10**15  # inside BIGINT with room; a typo of many digits fails loudly
PACKAGE, OVERRIDE = "package", "override"


def check_name(name: str) -> str:
    """A known limit name, or InvalidInput naming the closest one."""
    name = name.strip().lower().replace("-", "_")
    if name not in LIMIT_NAMES:
        close = get_close_matches(name, LIMIT_NAMES, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else f"limits are {', '.join(LIMIT_NAMES)}"
        raise InvalidInput(f"unknown limit {name!r}", hint=hint)
    return name


def parse_value(text: str, name: str = "limit") -> int | None:
    """'100' -> 100, 'unlimited' -> None. An integer >= 0, ASCII digits only."""
    raw = text.strip().lower()
    if raw == UNLIMITED:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise InvalidInput(f"{name} must be an integer >= 0 or 'unlimited', not {text!r}")
    value = int(raw)
    if value >= MAX_LIMIT:
        raise InvalidInput(f"{name} {text} is too large; use 'unlimited'")
    return value


def parse_assignment(text: str) -> tuple[str, int | None]:
    """'daily=5000' -> ('daily', 5000); 'hourly=unlimited' -> ('hourly', None)."""
    if "=" not in text:
        raise InvalidInput(f"{text!r} is not NAME=VALUE (e.g. daily=5000 or hourly=unlimited)")
    name, value = text.split("=", 1)
    name = check_name(name)
    return name, parse_value(value, name)


def parse_assignments(items: Iterable[str]) -> dict[str, int | None]:
    """Several NAME=VALUE; naming one limit twice with different values is refused."""
    out: dict[str, int | None] = {}
    for item in items:
        name, value = parse_assignment(item)
        if name in out and out[name] != value:
            raise InvalidInput(f"limit {name} is given twice with different values")
        out[name] = value
    return out


def display(value: int | None) -> int | str:
    """The JSON and table spelling: the integer, or 'unlimited'."""
    return UNLIMITED if value is None else value


@dataclass(frozen=True)
class EffectiveLimit:
    name: str
    value: int | None  # None: unlimited
    source: str  # package | override
    package_value: int | None

    def as_json(self) -> dict:
        return {"value": display(self.value), "source": self.source, "package_value": display(self.package_value)}


def package_limits(session: Session, package_id: int) -> dict[str, int | None]:
    """Every limit of a package; a missing row reads as unlimited."""
    from mailadmin.store.models import PackageLimit

    rows = dict(session.execute(select(PackageLimit.name, PackageLimit.value).where(PackageLimit.package_id == package_id)).all())
    return {name: rows.get(name) for name in LIMIT_NAMES}


def overrides(session: Session, account_id: int) -> dict[str, int | None]:
    from mailadmin.store.models import AccountLimit

    return {
        name: value
        for name, value in session.execute(
            select(AccountLimit.name, AccountLimit.value).where(AccountLimit.account_id == account_id)
        ).all()
        if name in LIMIT_NAMES
    }


def effective(package: dict[str, int | None], override: dict[str, int | None]) -> list[EffectiveLimit]:
    """The one rule: an override row wins, else the package's value."""
    return [
        EffectiveLimit(name, override[name], OVERRIDE, package[name]) if name in override
        else EffectiveLimit(name, package[name], PACKAGE, package[name])
        for name in LIMIT_NAMES
    ]


def effective_limits(session: Session, account) -> list[EffectiveLimit]:
    """Every limit of one account with its value and where it comes from."""
    return effective(package_limits(session, account.package_id), overrides(session, account.id))


def effective_limits_many(session: Session, account_ids: Sequence[int], *, chunk: int = CHUNK) -> dict[int, list[EffectiveLimit]]:
    """The same for many accounts in a few queries (lists, exports): account id -> limits."""
    from mailadmin.store.models import Account, AccountLimit, PackageLimit

    out: dict[int, list[EffectiveLimit]] = {}
    pkg_cache: dict[int, dict[str, int | None]] = {}
    for part in chunks(list(account_ids), chunk):
        package_of = dict(session.execute(select(Account.id, Account.package_id).where(Account.id.in_(part))).all())
        missing = set(package_of.values()) - set(pkg_cache)
        if missing:
            for pid in missing:
                pkg_cache[pid] = {name: None for name in LIMIT_NAMES}
            for pid, name, value in session.execute(
                select(PackageLimit.package_id, PackageLimit.name, PackageLimit.value).where(PackageLimit.package_id.in_(missing))
            ):
                if name in LIMIT_NAMES:
                    pkg_cache[pid][name] = value
        own: dict[int, dict[str, int | None]] = {}
        for aid, name, value in session.execute(
            select(AccountLimit.account_id, AccountLimit.name, AccountLimit.value).where(AccountLimit.account_id.in_(part))
        ):
            if name in LIMIT_NAMES:
                own.setdefault(aid, {})[name] = value
        for aid, pid in package_of.items():
            out[aid] = effective(pkg_cache[pid], own.get(aid, {}))
    return out


def as_json(limits: Iterable[EffectiveLimit]) -> dict[str, dict]:
    return {lim.name: lim.as_json() for lim in limits}

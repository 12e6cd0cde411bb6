"""An account's effective limits: the one inheritance rule, for one account or many.

The link between a package and its accounts is live: an account's effective limit is its
override row when one exists, else the package's row; a missing row or NULL means unlimited.
Nothing is copied to accounts, so a package edit reaches every account that inherits, and an
override survives package edits and package changes. (Names and values are parsed in cli/parse.py.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import select

from mailadmin.operation import Operation
from mailadmin.services.batching import CHUNK, chunks
from mailadmin.vocab import LIMIT_NAMES  # noqa: F401 - re-exported: the limits every account has

PACKAGE, OVERRIDE = "package", "override"


@dataclass(frozen=True)
class EffectiveLimit:
    name: str
    value: int | None  # None: unlimited
    source: str  # package | override
    package_value: int | None


def package_limits(op: Operation, package_id: int) -> dict[str, int | None]:
    """Every limit of a package; a missing row reads as unlimited."""
    from mailadmin.store.models import PackageLimit

    rows = dict(op.session.execute(select(PackageLimit.name, PackageLimit.value).where(PackageLimit.package_id == package_id)).all())
    return {name: rows.get(name) for name in LIMIT_NAMES}


def overrides(op: Operation, account_id: int) -> dict[str, int | None]:
    """The account's own values, where it has any."""
    from mailadmin.store.models import AccountLimit

    return {
        name: value
        for name, value in op.session.execute(
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


def effective_limits(op: Operation, account) -> list[EffectiveLimit]:
    """Every limit of one account with its value and where it comes from."""
    return effective(package_limits(op, account.package_id), overrides(op, account.id))


def effective_limit(op: Operation, account, name: str) -> EffectiveLimit:
    """One limit of one account (`effective_limits` filtered)."""
    return next(lim for lim in effective_limits(op, account) if lim.name == name)


def source_text(op: Operation, account, lim: EffectiveLimit) -> str:
    """Where a limit comes from, for a refusal: `from package P`, or the override with the
    package's value beside it."""
    from mailadmin.store.models import Package
    from mailadmin.units import display_limit

    package = op.session.get(Package, account.package_id).name
    if lim.source == OVERRIDE:
        return f"an override on the account (package {package}: {display_limit(lim.package_value)})"
    return f"from package {package}"


def effective_limits_many(op: Operation, account_ids: Sequence[int], *, chunk: int = CHUNK) -> dict[int, list[EffectiveLimit]]:
    """The same for many accounts in a few queries (lists, exports): account id -> limits."""
    from mailadmin.store.models import Account, AccountLimit, PackageLimit

    session = op.session
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

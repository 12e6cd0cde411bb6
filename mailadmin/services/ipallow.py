"""IP allow-lists: CIDRs (IPv4 and IPv6) an account may be reached from.

Input is normalised to network form (`10.1.2.3/24` -> `10.1.2.0/24`; a bare address becomes /32
or /128), duplicates merge, and one invalid entry refuses the whole command (nothing written).
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from mailadmin.errors import InvalidInput
from mailadmin.services import audit
from mailadmin.store.models import AccountIP


def normalise(raw: str) -> str:
    value = raw.strip()
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise InvalidInput(f"{raw!r} is not an IP address or CIDR (e.g. 203.0.113.7, 198.51.100.0/24, 2001:db8::/32)") from None


def parse_many(items: Iterable[str]) -> list[str]:
    """Every item normalised, in the order given, duplicates merged; any bad item -> exit 2."""
    out = [normalise(i) for i in items]
    if not out:
        raise InvalidInput("give at least one address or CIDR")
    return list(dict.fromkeys(out))


def sort_cidrs(cidrs: Iterable[str]) -> list[str]:
    """IPv4 before IPv6, then by address and prefix."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    return [str(n) for n in sorted(nets, key=lambda n: (n.version, n.network_address, n.prefixlen))]


def allow(session: Session, actor: str, ref: str, items: Iterable[str]) -> tuple[str, list[str], list[str], list[str]]:
    """Add CIDRs to the user's account. Returns (email, added, already there, the whole list)."""
    from mailadmin.services.accounts import account_of, find_user

    cidrs = parse_many(items)
    user = find_user(session, ref)
    account = account_of(session, user)
    have = set(session.execute(select(AccountIP.cidr).where(AccountIP.account_id == account.id)).scalars())
    added = [c for c in cidrs if c not in have]
    if added:
        session.execute(insert(AccountIP), [{"account_id": account.id, "cidr": c} for c in added])
        audit.record(session, actor, "account.allow_ip", f"user:{user.email}", {"ip_allow": sort_cidrs(have)},
                     {"ip_allow": sort_cidrs(have | set(added)), "added": added})
    return user.email, added, [c for c in cidrs if c in have], sort_cidrs(have | set(added))


def deny(session: Session, actor: str, ref: str, items: Iterable[str]) -> tuple[str, list[str], list[str], list[str]]:
    """Remove CIDRs. Returns (email, removed, not on the list, the whole list)."""
    from mailadmin.services.accounts import account_of, find_user

    cidrs = parse_many(items)
    user = find_user(session, ref)
    account = account_of(session, user)
    have = set(session.execute(select(AccountIP.cidr).where(AccountIP.account_id == account.id)).scalars())
    removed = [c for c in cidrs if c in have]
    if removed:
        session.execute(delete(AccountIP).where(AccountIP.account_id == account.id, AccountIP.cidr.in_(removed)))
        audit.record(session, actor, "account.deny_ip", f"user:{user.email}", {"ip_allow": sort_cidrs(have)},
                     {"ip_allow": sort_cidrs(have - set(removed)), "removed": removed})
    return user.email, removed, [c for c in cidrs if c not in have], sort_cidrs(have - set(removed))

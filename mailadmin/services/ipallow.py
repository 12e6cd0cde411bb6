"""IP allow-lists: the networks (IPv4 and IPv6) an account may be reached from.

Networks arrive parsed (cli/parse.ip_networks: network form, duplicates merged, one bad item
refuses the whole command). Stored as their text, listed IPv4 first, then by address and prefix.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Sequence, Union

from sqlalchemy import delete, insert, select

from mailadmin.errors import InvalidInput
from mailadmin.operation import Operation
from mailadmin.refs import UserRef
from mailadmin.services import audit
from mailadmin.services.accounts import account_of, find_user
from mailadmin.store.models import AccountIP

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True)
class IpChange:
    """What allow/deny did: `done` (added or removed), `unchanged` (already on, or not on, the
    list), and the whole list after the change."""

    user: str
    done: list[str]
    unchanged: list[str]
    ip_allow: list[str]


def sort_cidrs(cidrs: Iterable[str]) -> list[str]:
    """IPv4 before IPv6, then by address and prefix."""
    nets = [ipaddress.ip_network(c) for c in cidrs]
    return [str(n) for n in sorted(nets, key=lambda n: (n.version, n.network_address, n.prefixlen))]


def _cidrs(networks: Sequence[Network]) -> list[str]:
    if not networks:
        raise InvalidInput("give at least one address or CIDR")
    nets = [ipaddress.ip_network(n, strict=False) for n in networks]
    for net in nets:
        # fe80::1%eth0 names an interface of one host, not a network (cli/parse refuses the text)
        if getattr(net.network_address, "scope_id", None):
            raise InvalidInput(f"{net} has a zone index (%...); an allow-list takes addresses and networks without one")
    # a script may pass 10.1.2.3/24 as an interface: the list keeps networks only
    return list(dict.fromkeys(str(n) for n in nets))


def allow(op: Operation, ref: UserRef, networks: Sequence[Network]) -> IpChange:
    """Add networks to the user's account."""
    return _change(op, ref, networks, adding=True)


def deny(op: Operation, ref: UserRef, networks: Sequence[Network]) -> IpChange:
    """Remove networks from the user's account."""
    return _change(op, ref, networks, adding=False)


def _change(op: Operation, ref: UserRef, networks: Sequence[Network], *, adding: bool) -> IpChange:
    cidrs = _cidrs(networks)
    user = find_user(op, ref)
    account = account_of(op.session, user)
    have = set(op.session.execute(select(AccountIP.cidr).where(AccountIP.account_id == account.id)).scalars())
    done = [c for c in cidrs if (c not in have) == adding]
    after = have | set(done) if adding else have - set(done)
    if done:
        if adding:
            op.session.execute(insert(AccountIP), [{"account_id": account.id, "cidr": c} for c in done])
        else:
            op.session.execute(delete(AccountIP).where(AccountIP.account_id == account.id, AccountIP.cidr.in_(done)))
        audit.record(op, "account.allow_ip" if adding else "account.deny_ip", f"user:{user.email}",
                     {"ip_allow": sort_cidrs(have)}, {"ip_allow": sort_cidrs(after), "added" if adding else "removed": done})
    return IpChange(user.email, done, [c for c in cidrs if c not in done], sort_cidrs(after))

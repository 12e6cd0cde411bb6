"""The store as a TOML document (`mailadmin export`): format version 1, its sections, and the
canonical form `apply` diffs against.

One function, `document`, builds the document from the store in a few set-based queries (one per
table, never one per account); `apply` builds the same form from the store and from the file and
compares them, so "export, then apply" is a no-op by construction. Everything is ordered by name
or email so that two exports diff line by line.

What is never in a document: credit balances (ledger history, not configuration: applying a
balance would bypass the ledger), SMTP password hashes (a reset is the way), usage counters, audit
entries, and DKIM private keys unless `--with-secrets`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailadmin.errors import InvalidInput

FORMAT_VERSION = 1
SECTIONS = ("roles", "packages", "users", "domains", "operators")  # --only names
# document tables per --only name: `users` is the accounts table, `operators` holds operator roles too
TABLES = {"roles": ("roles",), "packages": ("packages",), "users": ("accounts",), "domains": ("domains",),
          "operators": ("operator_roles", "operators")}
UNLIMITED = "unlimited"


def parse_only(raw: str | None) -> tuple[str, ...]:
    """`--only roles,packages`: known names in document order; nothing given is every section."""
    if raw is None:
        return SECTIONS
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    if not names:
        raise InvalidInput("--only needs at least one section", hint=f"sections: {', '.join(SECTIONS)}")
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise InvalidInput(f"--only: unknown section {unknown[0]!r}", hint=f"sections: {', '.join(SECTIONS)}")
    return tuple(s for s in SECTIONS if s in names)


def limit_text(value: int | None) -> int | str:
    return UNLIMITED if value is None else value


# -- the store as a document ----------------------------------------------------------------------
def document(op, sections: tuple[str, ...] = SECTIONS, *, with_secrets: bool = False) -> dict[str, Any]:
    """The store's configuration as the export document (a dict tomli-w writes as is)."""
    doc: dict[str, Any] = {"version": FORMAT_VERSION}
    if "roles" in sections:
        doc["roles"] = _roles(op)
    if "packages" in sections:
        doc["packages"] = _packages(op)
    if "users" in sections:
        doc["accounts"] = _accounts(op)
    if "domains" in sections:
        doc["domains"] = _domains(op, with_secrets)
    if "operators" in sections:
        doc["operator_roles"], doc["operators"] = _operators(op)
    return doc


def _roles(op) -> dict[str, Any]:
    from sqlalchemy import select

    from mailadmin.store.models import Role, RoleGrant

    grants: dict[int, list[str]] = {}
    for role_id, key in op.session.execute(select(RoleGrant.role_id, RoleGrant.key)):
        grants.setdefault(role_id, []).append(key)
    rows = op.session.execute(select(Role.id, Role.name, Role.description).where(Role.builtin.is_(False)).order_by(Role.name))
    return {name: {"description": description, "grants": sorted(grants.get(rid, []))} for rid, name, description in rows}


def package_entry(view) -> dict[str, Any]:
    from mailadmin.units import format_amount, format_percent

    entry: dict[str, Any] = {
        "role": view.role, "description": view.description, "credits": view.credits_enabled,
        "credit_cost": format_amount(view.credit_cost), "allow_overuse": view.allow_overuse,
    }
    if view.bounce_limit is not None:
        entry["bounce_limit"] = format_percent(view.bounce_limit)
    entry["bounce_min_sends"] = view.bounce_min_sends
    if view.expires_after is not None:
        entry["expires_after"] = view.expires_after
    entry["limits"] = {k: limit_text(v) for k, v in view.limits.items()}
    entry["assets"] = {k: list(v) for k, v in sorted(view.assets.items())}
    return entry


def _packages(op) -> dict[str, Any]:
    from mailadmin.services import packages

    return {v.name: package_entry(v) for v in packages.list_packages(op)}


def _accounts(op) -> dict[str, Any]:
    from sqlalchemy import select

    from mailadmin.services import status
    from mailadmin.services.ipallow import sort_cidrs
    from mailadmin.store.models import Account, AccountIP, AccountLimit, Package, Role, Suspension, User
    from mailadmin.vocab import CLOSED, LIMIT_NAMES

    s = op.session
    overrides: dict[int, dict[str, Any]] = {}
    for aid, name, value in s.execute(select(AccountLimit.account_id, AccountLimit.name, AccountLimit.value)):
        overrides.setdefault(aid, {})[name] = limit_text(value)
    ips: dict[int, list[str]] = {}
    for aid, cidr in s.execute(select(AccountIP.account_id, AccountIP.cidr)):
        ips.setdefault(aid, []).append(cidr)
    suspensions: dict[int, list[dict[str, Any]]] = {}
    for uid, code, reason, until in s.execute(
        select(Suspension.user_id, Suspension.code, Suspension.reason, Suspension.until)
        .where(status.standing(op.now)).order_by(Suspension.code, Suspension.reason, Suspension.id)
    ):
        item: dict[str, Any] = {"code": code, "reason": reason}
        if until is not None:
            item["until"] = until
        suspensions.setdefault(uid, []).append(item)
    members: dict[int, dict[str, Any]] = {}
    for aid, email, name, role in s.execute(
        select(User.account_id, User.email, User.name, Role.name).join(Role, Role.id == User.role_id)
        .where(User.is_owner.is_(False), User.account_id.is_not(None)).order_by(User.email)
    ):
        members.setdefault(aid, {})[email] = {"name": name, "role": role}
    out: dict[str, Any] = {}
    rows = s.execute(
        select(User.id, User.email, User.name, User.status, User.closed_reason, Account.id, Package.name, Account.plan_expires_at)
        .join(Account, Account.id == User.account_id).join(Package, Package.id == Account.package_id)
        .where(User.is_owner.is_(True)).order_by(User.email)
    )
    order = {n: i for i, n in enumerate(LIMIT_NAMES)}
    for uid, email, name, state, closed_reason, aid, package, expires in rows:
        entry: dict[str, Any] = {"name": name, "package": package, "status": state}
        if state == CLOSED:
            entry["closed_reason"] = closed_reason or ""
        if expires is not None:
            entry["plan_expires"] = expires
        entry["limits"] = dict(sorted(overrides.get(aid, {}).items(), key=lambda kv: order.get(kv[0], 99)))
        entry["ip_allow"] = sort_cidrs(ips.get(aid, []))
        entry["suspensions"] = suspensions.get(uid, [])
        entry["members"] = members.get(aid, {})
        out[email] = entry
    return out


def _domains(op, with_secrets: bool) -> dict[str, Any]:
    from sqlalchemy import select

    from mailadmin.store.models import DkimKey, Domain, DomainGrant, User

    s = op.session
    owners = dict(s.execute(select(User.account_id, User.email).where(User.is_owner.is_(True))).all())
    grants: dict[int, dict[str, Any]] = {}
    for did, email, role, content in s.execute(
        select(DomainGrant.domain_id, User.email, DomainGrant.role, DomainGrant.email_content)
        .join(User, User.id == DomainGrant.user_id).order_by(User.email)
    ):
        grants.setdefault(did, {})[email] = {"role": role, "email_content": bool(content)}
    keys: dict[int, list[dict[str, Any]]] = {}
    for key in s.execute(select(DkimKey).order_by(DkimKey.selector)).scalars():
        item: dict[str, Any] = {"selector": key.selector, "algorithm": key.algorithm, "state": key.state}
        if with_secrets:
            item["private_key"] = key.private_key
        keys.setdefault(key.domain_id, []).append(item)
    out: dict[str, Any] = {}
    for d in s.execute(select(Domain).order_by(Domain.name)).scalars():
        out[d.name] = {
            "owner": owners.get(d.account_id, ""), "open_tracking": bool(d.open_tracking), "click_tracking": bool(d.click_tracking),
            "unsubscribe_footer": bool(d.unsubscribe_footer), "monthly_cap": limit_text(d.monthly_cap),
            "grants": grants.get(d.id, {}),
            "dkim": sorted(keys.get(d.id, []), key=lambda k: (k["state"] != "active", k["selector"])),
        }
    return out


def _operators(op) -> tuple[dict[str, Any], dict[str, Any]]:
    from sqlalchemy import select

    from mailadmin.store.models import Operator, OperatorRole, OperatorRoleGrant

    s = op.session
    grants: dict[int, list[str]] = {}
    for rid, key in s.execute(select(OperatorRoleGrant.role_id, OperatorRoleGrant.key)):
        grants.setdefault(rid, []).append(key)
    roles = {
        name: {"description": description, "grants": sorted(grants.get(rid, []))}
        for rid, name, description in s.execute(
            select(OperatorRole.id, OperatorRole.name, OperatorRole.description).where(OperatorRole.builtin.is_(False))
            .order_by(OperatorRole.name))
    }
    operators = {
        name: {"role": role}
        for name, role in s.execute(select(Operator.name, OperatorRole.name).join(OperatorRole, OperatorRole.id == Operator.role_id)
                                    .order_by(Operator.name))
    }
    return roles, operators


def dumps(doc: dict[str, Any]) -> str:
    """The document as TOML. An account's or domain's empty tables and arrays (no overrides, no
    members...) are left out: they read back as their default, and the file stays short."""
    import tomli_w

    slim = dict(doc)
    for section in ("accounts", "domains"):
        if section in doc:
            slim[section] = {name: {k: v for k, v in entry.items() if v not in ({}, [])} for name, entry in doc[section].items()}
    return tomli_w.dumps(slim)


# -- finding the line of a key ----------------------------------------------------------------------
def locate(text: str, path: tuple[str, ...]) -> int | None:
    """The line (1-based) where `path` (("packages", "basic", "role")) is written, or the
    nearest enclosing table's line.

    tomllib reports no positions once a document parses, so the text is scanned: every table
    header (`[a."b.c"]`, `[[a.b]]`) and every `key = ` line is parsed on its own with tomllib,
    which gives its key path exactly as the whole document meant it (quotes, dots, escapes).
    A key is found under its table's header; dotted keys and inline tables point at the line
    of the key that opens them."""
    import tomllib

    best: tuple[int, int] | None = None  # (matched depth, line)
    table: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            header = line[2:] if line.startswith("[[") else line[1:]
            closing = "]]" if line.startswith("[[") else "]"
            end = _unquoted_index(header, closing)
            if end is None:
                continue
            try:
                parsed = tomllib.loads(f"[{header[:end]}]\n")
            except tomllib.TOMLDecodeError:
                continue
            table = _only_path(parsed)
            here = table
        else:
            key = _key_part(line)
            if key is None:
                continue
            try:
                parsed = tomllib.loads(f"{key} = 0\n")
            except tomllib.TOMLDecodeError:
                continue
            here = table + _only_path(parsed)
        depth = _common(here, path)
        if depth and (best is None or depth > best[0]):
            best = (depth, number)
            if depth == len(path):
                return number
    return best[1] if best else None


def _key_part(line: str) -> str | None:
    i = _unquoted_index(line, "=")
    return None if i is None else line[:i].strip() or None


def _unquoted_index(text: str, token: str) -> int | None:
    """Where `token` first stands in `text` outside a quoted key ("a=b" or 'x]' are one key)."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif text.startswith(token, i):
            return i
    return None


def _only_path(parsed: dict) -> tuple[str, ...]:
    path: list[str] = []
    node: Any = parsed
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    return tuple(path)


def _common(here: tuple[str, ...], path: tuple[str, ...]) -> int:
    if len(here) > len(path) or path[: len(here)] != here:
        return 0
    return len(here)


def key_text(path: tuple[str, ...]) -> str:
    """A key path as TOML spells it: packages.basic.limits.daily, accounts."a@b.example".name."""
    import re

    return ".".join(p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else '"' + p.replace('"', '\\"') + '"' for p in path)


def when(value: datetime | None) -> str:
    return "never" if value is None else value.isoformat().replace("+00:00", "Z")

"""`mailadmin apply FILE`: make the store match an export document, in one transaction.

Three steps, in this order, so that a bad file changes nothing and a dry run has no effect:
1. `read_document`: parse (tomllib; its errors carry line and column) and check the file into the
   canonical form `state.document` produces (types, known keys, values normalised: emails,
   domain names, grants, CIDRs, amounts). Each problem names its line and key.
2. `plan`: load the store's current document (a few set-based queries), check every reference
   against the state the store would have afterwards (a package's role, an account's package, a
   member's role, a domain's owner and grantees), and diff: create, change (`field: before ->
   after`), delete (only with prune; refusing what stays in use, exit 5).
3. `execute`: carry out the plan through the same services the commands use (roles.create,
   packages.edit, users.create, team.invite, domains.add, ...), so every change is validated and
   audited as the command would. A dry run stops after step 2: no key generated, nothing written.

Only the sections present in the file are managed: a document made with `--only packages` never
touches roles or accounts. Accounts and domains are never deleted by apply (use `users close`,
`users delete`, `domains remove`); prune deletes custom roles, packages, operator roles, operators
and team members the file lacks.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from mailadmin.errors import Conflict, InvalidInput
from mailadmin.services import dkim
from mailadmin.services.state import FORMAT_VERSION, UNLIMITED, key_text, locate

TOP_KEYS = ("version", "roles", "packages", "operator_roles", "operators", "accounts", "domains")
PACKAGE_KEYS = ("role", "description", "credits", "credit_cost", "allow_overuse", "bounce_limit", "bounce_min_sends",
                "expires_after", "limits", "assets")
ACCOUNT_KEYS = ("name", "package", "status", "closed_reason", "plan_expires", "limits", "ip_allow", "suspensions", "members")
DOMAIN_KEYS = ("owner", "open_tracking", "click_tracking", "unsubscribe_footer", "monthly_cap", "grants", "dkim")
DOMAIN_SETTINGS = ("open_tracking", "click_tracking", "unsubscribe_footer", "monthly_cap")


# -- step 1: reading the file ---------------------------------------------------------------------
class Reader:
    """Checks a parsed document; `fail` names the line and key of a problem."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source

    def fail(self, path: tuple[str, ...], problem: str, hint: str | None = None) -> None:
        line = locate(self.text, path)
        where = f"line {line}, " if line else ""
        raise InvalidInput(f"{self.source}: {where}key {key_text(path)}: {problem}", hint=hint)

    def table(self, value: Any, path: tuple[str, ...], known: tuple[str, ...] | None = None) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"must be a table, not {_type(value)}")
        if known is not None:
            for key in value:
                if key not in known:
                    self.fail((*path, key), "unknown key", hint=f"keys here: {', '.join(known)}")
        return value

    def get(self, entry: dict, path: tuple[str, ...], key: str, kinds: tuple[type, ...], default: Any = None,
            required: bool = False) -> Any:
        if key not in entry:
            if required:
                self.fail(path, f"missing key {key!r}")
            return default
        value = entry[key]
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.fail((*path, key), f"must be {names}, not {_type(value)}")
        return value

    def check(self, path: tuple[str, ...], call: Callable[[], Any]) -> Any:
        """A service's own check of a value, its error re-said with the line and key."""
        try:
            return call()
        except InvalidInput as e:
            self.fail(path, e.message, e.hint)


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "an array", dict: "a table", datetime: "a date-time"}


def _type(value: Any) -> str:
    for kind in (bool, int, float, str, list, dict, datetime):
        if isinstance(value, kind):
            return {float: "a float"}.get(kind) or _TYPE_NAMES[kind]
    return type(value).__name__


def read_document(text: str, source: str = "FILE") -> dict[str, Any]:
    """The file as the canonical document (state.document's form), or InvalidInput naming line and key."""
    import tomllib

    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput(f"{source}: not valid TOML: {e}") from None
    r = Reader(text, source)
    r.table(raw, (), TOP_KEYS)
    version = r.get(raw, (), "version", (int,), required=True)
    if version != FORMAT_VERSION:
        r.fail(("version",), f"this mailadmin reads format version {FORMAT_VERSION}, not {version}")
    doc: dict[str, Any] = {"version": FORMAT_VERSION}
    if "roles" in raw:
        doc["roles"] = _read_roles(r, r.table(raw["roles"], ("roles",)))
    if "packages" in raw:
        doc["packages"] = _read_packages(r, r.table(raw["packages"], ("packages",)))
    if "accounts" in raw:
        doc["accounts"] = _read_accounts(r, r.table(raw["accounts"], ("accounts",)))
    if "domains" in raw:
        doc["domains"] = _read_domains(r, r.table(raw["domains"], ("domains",)))
    if "operator_roles" in raw:
        doc["operator_roles"] = _read_operator_roles(r, r.table(raw["operator_roles"], ("operator_roles",)))
    if "operators" in raw:
        doc["operators"] = _read_operators(r, r.table(raw["operators"], ("operators",)))
    return doc


def _slug(r: Reader, path: tuple[str, ...], name: str, what: str) -> str:
    from mailadmin.services.validate import slug

    checked = r.check(path, lambda: slug(name, what))
    if checked != name:
        r.fail(path, f"{what} names are lower-case slugs: write {checked!r}")
    return checked


def _grants(r: Reader, path: tuple[str, ...], keys: list, cat) -> list[str]:
    checked = []
    for key in keys:
        if not isinstance(key, str):
            r.fail(path, f"grants are strings (catalog keys), not {_type(key)}")
        checked.append(r.check(path, lambda key=key: cat.check(key)))
    return sorted(cat.compress(cat.expand(checked)))


def _read_roles(r: Reader, section: dict) -> dict[str, Any]:
    from mailadmin.catalog import catalog
    from mailadmin.services.roles import BUILTIN_NAMES

    return _read_role_table(r, section, "roles", "role", catalog(), BUILTIN_NAMES,
                            ": built-in roles come with `mailadmin init` and are not in a document")


def _read_role_table(r: Reader, section: dict, table: str, noun: str, cat, builtins, builtin_why: str, *,
                     needs_grants: bool = False) -> dict[str, Any]:
    """Custom client roles or operator roles: a description and catalog keys each (compressed)."""
    from mailadmin.services.validate import text

    out = {}
    for name in sorted(section):
        path = (table, name)
        entry = r.table(section[name], path, ("description", "grants"))
        _slug(r, path, name, noun)
        if name in builtins:
            r.fail(path, f"{name} is a built-in {noun}{builtin_why}")
        desc = r.get(entry, path, "description", (str,), "")
        desc = r.check((*path, "description"), lambda: text(desc, "description", allow_empty=True))
        grants = _grants(r, (*path, "grants"), r.get(entry, path, "grants", (list,), []), cat)
        if needs_grants and not grants:
            r.fail((*path, "grants"), f"an {noun} needs at least one admin permission")
        out[name] = {"description": desc, "grants": grants}
    return out


def _limit(r: Reader, path: tuple[str, ...], value: Any) -> int | str:
    if isinstance(value, str) and value.strip().lower() == UNLIMITED:
        return UNLIMITED
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        r.fail(path, f"a limit is an integer >= 0 or \"unlimited\", not {value!r}")
    if value >= 2**63:
        r.fail(path, "is too large")
    return value


def _limits(r: Reader, path: tuple[str, ...], table: dict, *, every: bool) -> dict[str, Any]:
    from mailadmin.vocab import LIMIT_NAMES

    for name in table:
        if name not in LIMIT_NAMES:
            r.fail((*path, name), "unknown limit", hint=f"limits are {', '.join(LIMIT_NAMES)}")
    if every:  # a package: what is not given is unlimited (as `packages create` does)
        return {n: _limit(r, (*path, n), table[n]) if n in table else UNLIMITED for n in LIMIT_NAMES}
    return {n: _limit(r, (*path, n), table[n]) for n in LIMIT_NAMES if n in table}


def _amount(r: Reader, path: tuple[str, ...], value: Any) -> str:
    from mailadmin.units import format_amount, parse_amount

    if isinstance(value, bool) or not isinstance(value, (str, int)):
        r.fail(path, f"an amount is a string like \"0.5\" (exact digits) or an integer, not {_type(value)}")
    return format_amount(r.check(path, lambda: parse_amount(str(value), what="credit cost", allow_zero=True)))


def _percent(r: Reader, path: tuple[str, ...], value: Any) -> str:
    from mailadmin.units import format_percent

    if isinstance(value, bool) or not isinstance(value, (str, int)):
        r.fail(path, f"a percentage is a string like \"2.5\" or an integer, not {_type(value)}")
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        number = Decimal(-1)
    hundredths = number * 100
    if not number.is_finite() or not 0 <= number <= 100 or hundredths != hundredths.to_integral_value():
        r.fail(path, f"a percentage is 0 to 100 with at most 2 decimals, not {value!r}")
    return format_percent(int(hundredths))


def _read_packages(r: Reader, section: dict) -> dict[str, Any]:
    from mailadmin.services.packages import MAX_BOUNCE_MIN_SENDS, MAX_EXPIRES_AFTER
    from mailadmin.services.validate import text
    from mailadmin.vocab import ASSET_KINDS, DEFAULT_BOUNCE_MIN_SENDS

    out = {}
    for name in sorted(section):
        path = ("packages", name)
        entry = r.table(section[name], path, PACKAGE_KEYS)
        _slug(r, path, name, "package")
        role = r.get(entry, path, "role", (str,), required=True)
        desc = r.get(entry, path, "description", (str,), "")
        item: dict[str, Any] = {
            "role": role,
            "description": r.check((*path, "description"), lambda: text(desc, "description", allow_empty=True)),
            "credits": r.get(entry, path, "credits", (bool,), False),
            "credit_cost": _amount(r, (*path, "credit_cost"), entry.get("credit_cost", "0")),
            "allow_overuse": r.get(entry, path, "allow_overuse", (bool,), False),
        }
        if "bounce_limit" in entry and not (isinstance(entry["bounce_limit"], str) and entry["bounce_limit"].lower() == "none"):
            item["bounce_limit"] = _percent(r, (*path, "bounce_limit"), entry["bounce_limit"])
        sends = r.get(entry, path, "bounce_min_sends", (int,), DEFAULT_BOUNCE_MIN_SENDS)
        if not 0 <= sends <= MAX_BOUNCE_MIN_SENDS:
            r.fail((*path, "bounce_min_sends"), f"must be 0 to {MAX_BOUNCE_MIN_SENDS}")
        item["bounce_min_sends"] = sends
        expires = r.get(entry, path, "expires_after", (int, str), None)
        if isinstance(expires, str) and expires.lower() != "never":
            r.fail((*path, "expires_after"), f"is a number of days or \"never\", not {expires!r}")
        if isinstance(expires, int):
            if not 0 < expires <= MAX_EXPIRES_AFTER:
                r.fail((*path, "expires_after"), f"must be 1 to {MAX_EXPIRES_AFTER} days, or \"never\"")
            item["expires_after"] = expires
        item["limits"] = _limits(r, (*path, "limits"), r.table(entry.get("limits", {}), (*path, "limits")), every=True)
        assets = r.table(entry.get("assets", {}), (*path, "assets"), ASSET_KINDS)
        item["assets"] = {}
        for kind in sorted(ASSET_KINDS):
            values = r.get(assets, (*path, "assets"), kind, (list,), [])
            for v in values:
                if not isinstance(v, str) or not v.strip() or len(v) > 255:
                    r.fail((*path, "assets", kind), f"assets are non-empty strings, not {v!r}")
            item["assets"][kind] = sorted(set(values))
        out[name] = item
    return out


def _email(r: Reader, path: tuple[str, ...], raw: str) -> str:
    from mailadmin.refs import normalise_email

    return r.check(path, lambda: normalise_email(raw))


def _utc_time(r: Reader, path: tuple[str, ...], value: Any) -> datetime | None:
    if isinstance(value, str) and value.lower() == "never":
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        r.fail(path, f"must be a date-time with its offset (2027-01-31T00:00:00Z) or \"never\", not {value!r}")
    return value.astimezone(timezone.utc)


def _read_accounts(r: Reader, section: dict) -> dict[str, Any]:
    from mailadmin.services.ipallow import sort_cidrs
    from mailadmin.services.users import clean_name
    from mailadmin.services.validate import text
    from mailadmin.vocab import ACTIVE, CLOSED, SUSPENSION_CODES

    out: dict[str, Any] = {}
    seen: dict[str, tuple[str, ...]] = {}  # a person's email -> where the file names it first

    def once(email: str, path: tuple[str, ...]) -> None:
        if email in seen:
            r.fail(path, f"{email} is named twice (first at {key_text(seen[email])}): a person is one account's owner "
                         "or one team's member")
        seen[email] = path

    for raw_email in section:
        path = ("accounts", raw_email)
        entry = r.table(section[raw_email], path, ACCOUNT_KEYS)
        email = _email(r, path, raw_email)
        once(email, path)
        name = r.get(entry, path, "name", (str,), "")
        item: dict[str, Any] = {
            "name": r.check((*path, "name"), lambda: clean_name(name)),
            "package": r.get(entry, path, "package", (str,), required=True),
            "status": r.get(entry, path, "status", (str,), ACTIVE),
        }
        if item["status"] not in (ACTIVE, CLOSED):
            r.fail((*path, "status"), f"is {ACTIVE!r} or {CLOSED!r} (suspensions are listed under suspensions), not {item['status']!r}")
        if item["status"] == CLOSED:
            reason = r.get(entry, path, "closed_reason", (str,), required=True)
            item["closed_reason"] = r.check((*path, "closed_reason"), lambda: text(reason, "reason"))
        elif "closed_reason" in entry:
            r.fail((*path, "closed_reason"), "only a closed account has a closed_reason")
        if "plan_expires" in entry:
            expires = _utc_time(r, (*path, "plan_expires"), entry["plan_expires"])
            if expires is not None:
                item["plan_expires"] = expires
        item["limits"] = _limits(r, (*path, "limits"), r.table(entry.get("limits", {}), (*path, "limits")), every=False)
        cidrs = []
        for c in r.get(entry, path, "ip_allow", (list,), []):
            try:
                net = ipaddress.ip_network(c, strict=False) if isinstance(c, str) and "%" not in c else None
            except ValueError:
                net = None
            if net is None:
                r.fail((*path, "ip_allow"), f"{c!r} is not an IP address or CIDR network")
            cidrs.append(str(net))
        item["ip_allow"] = sort_cidrs(set(cidrs))
        suspensions = []
        for i, s in enumerate(r.get(entry, path, "suspensions", (list,), [])):
            spath = (*path, "suspensions")
            s = r.table(s, spath, ("code", "reason", "until"))
            code = r.get(s, spath, "code", (str,), "manual")
            if code not in SUSPENSION_CODES:
                r.fail((*spath, "code"), f"unknown suspension code {code!r}", hint=f"codes: {', '.join(SUSPENSION_CODES)}")
            reason = r.get(s, spath, "reason", (str,), required=True)
            one: dict[str, Any] = {"code": code, "reason": r.check((*spath, "reason"), lambda: text(reason, "reason"))}
            if "until" in s:
                until = _utc_time(r, (*spath, "until"), s["until"])
                if until is not None:
                    one["until"] = until
            suspensions.append(one)
        item["suspensions"] = sorted(suspensions, key=lambda s: (s["code"], s["reason"]))
        members: dict[str, Any] = {}
        mtable = r.table(entry.get("members", {}), (*path, "members"))
        for raw_member in mtable:
            mpath = (*path, "members", raw_member)
            m = r.table(mtable[raw_member], mpath, ("name", "role"))
            member = _email(r, mpath, raw_member)
            once(member, mpath)
            mname = r.get(m, mpath, "name", (str,), "")
            members[member] = {"name": r.check((*mpath, "name"), lambda: clean_name(mname)),
                               "role": r.get(m, mpath, "role", (str,), required=True)}
        item["members"] = dict(sorted(members.items()))
        out[email] = item
    return dict(sorted(out.items()))


def _read_domains(r: Reader, section: dict) -> dict[str, Any]:
    from mailadmin.refs import domain_name
    from mailadmin.vocab import DOMAIN_ROLES

    out: dict[str, Any] = {}
    for raw_name in section:
        path = ("domains", raw_name)
        entry = r.table(section[raw_name], path, DOMAIN_KEYS)
        name = r.check(path, lambda: domain_name(raw_name)).ascii
        if name in out:
            r.fail(path, f"domain {name} is named twice")
        item: dict[str, Any] = {"owner": _email(r, (*path, "owner"), r.get(entry, path, "owner", (str,), required=True))}
        for setting in ("open_tracking", "click_tracking", "unsubscribe_footer"):
            item[setting] = r.get(entry, path, setting, (bool,), True)
        item["monthly_cap"] = _limit(r, (*path, "monthly_cap"), entry.get("monthly_cap", UNLIMITED))
        grants: dict[str, Any] = {}
        gtable = r.table(entry.get("grants", {}), (*path, "grants"))
        for raw_member in gtable:
            gpath = (*path, "grants", raw_member)
            g = r.table(gtable[raw_member], gpath, ("role", "email_content"))
            role = r.get(g, gpath, "role", (str,), required=True)
            if role not in DOMAIN_ROLES:
                r.fail((*gpath, "role"), f"a domain role is {' or '.join(DOMAIN_ROLES)}, not {role!r}")
            grants[_email(r, gpath, raw_member)] = {"role": role, "email_content": r.get(g, gpath, "email_content", (bool,), False)}
        item["grants"] = dict(sorted(grants.items()))
        keys = []
        for k in r.get(entry, path, "dkim", (list,), []):
            kpath = (*path, "dkim")
            k = r.table(k, kpath, ("selector", "algorithm", "state", "private_key"))
            key: dict[str, Any] = {
                "selector": r.check((*kpath, "selector"), lambda: dkim.check_selector(r.get(k, kpath, "selector", (str,), required=True))),
                "algorithm": r.check((*kpath, "algorithm"), lambda: dkim.check_algorithm(r.get(k, kpath, "algorithm", (str,), "rsa"))),
                "state": r.get(k, kpath, "state", (str,), "active"),
            }
            if key["state"] not in ("active", "pending"):
                r.fail((*kpath, "state"), f"is active or pending, not {key['state']!r}")
            if "private_key" in k:
                key["private_key"] = r.get(k, kpath, "private_key", (str,))
                _check_private_key(r, (*kpath, "private_key"), key)
            keys.append(key)
        states = [k["state"] for k in keys]
        if keys and (states.count("active") != 1 or states.count("pending") > 1):
            r.fail((*path, "dkim"), "a domain has one active key and at most one pending key")
        if len({k["selector"] for k in keys}) != len(keys):
            r.fail((*path, "dkim"), "two keys share a selector")
        item["dkim"] = sorted(keys, key=lambda k: (k["state"] != "active", k["selector"]))
        out[name] = item
    return dict(sorted(out.items()))


def _check_private_key(r: Reader, path: tuple[str, ...], key: dict) -> None:
    try:
        dkim.public_of(key["private_key"], key["algorithm"])
    except ValueError:
        r.fail(path, f"is not an {key['algorithm']} private key in PEM (PKCS#8, as `export --with-secrets` writes it)")


def _read_operator_roles(r: Reader, section: dict) -> dict[str, Any]:
    from mailadmin.catalog import admin_catalog
    from mailadmin.services.operators import BUILTIN_NAMES

    return _read_role_table(r, section, "operator_roles", "operator role", admin_catalog(), BUILTIN_NAMES,
                            " and is not in a document", needs_grants=True)


def _read_operators(r: Reader, section: dict) -> dict[str, Any]:
    from mailadmin.services.operators import login_name

    out = {}
    for name in sorted(section):
        path = ("operators", name)
        entry = r.table(section[name], path, ("role",))
        checked = r.check(path, lambda: login_name(name))
        if checked != name:
            r.fail(path, f"write the login as {checked!r}")
        out[name] = {"role": r.get(entry, path, "role", (str,), required=True)}
    return out


# -- step 2: the plan ---------------------------------------------------------------------------------
@dataclass
class Step:
    action: str  # create | change | delete
    kind: str  # role package account member domain operator_role operator
    name: str
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (before, after), for change
    after: dict[str, Any] | None = None  # the file's entry (create, change)
    before: dict[str, Any] | None = None  # the store's entry (change, delete)
    owner: str | None = None  # a member's account owner


KIND_ORDER = ("role", "operator_role", "package", "account", "member", "domain", "operator")


@dataclass
class Plan:
    steps: list[Step]
    dry_run: bool
    applied: bool = False


def _flat(entry: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in entry.items():
        if isinstance(v, dict) and k not in ("members",):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _changes(before: dict[str, Any], after: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, tuple[Any, Any]]:
    b, a = _flat(before), _flat(after)
    keys = [*a, *(k for k in b if k not in a)]
    return {k: (b.get(k), a.get(k)) for k in keys if b.get(k) != a.get(k) and k.split(".")[0] not in skip}


def plan(op, doc: dict[str, Any], text: str, source: str, *, prune: bool, dry_run: bool) -> Plan:
    from mailadmin.services import operators as ops
    from mailadmin.services import roles as roles_svc
    from mailadmin.services import state

    now = state.document(op)
    r = Reader(text, source)
    steps: list[Step] = []

    def final(section: str) -> dict[str, Any]:
        """A section as the store would hold it afterwards."""
        if section not in doc:
            return now[section]
        if prune and section not in ("accounts", "domains"):
            return doc[section]
        return {**now[section], **doc[section]}

    roles_after = set(final("roles")) | set(roles_svc.BUILTIN_NAMES)
    packages_after = final("packages")
    accounts_after = final("accounts")
    op_roles_after = set(final("operator_roles")) | set(ops.BUILTIN_NAMES)

    for name, p in doc.get("packages", {}).items():
        if p["role"] not in roles_after:
            r.fail(("packages", name, "role"), f"no role named {p['role']!r}", hint="roles: " + ", ".join(sorted(roles_after)))
    owners = {m: o for o, a in accounts_after.items() for m in a["members"]}
    for email, a in doc.get("accounts", {}).items():
        if a["package"] not in packages_after:
            r.fail(("accounts", email, "package"), f"no package named {a['package']!r}",
                   hint="packages: " + ", ".join(sorted(packages_after)))
        if email in owners and owners[email] != email:
            r.fail(("accounts", email), f"{email} is a member of the account of {owners[email]} and cannot own another")
        for member, m in a["members"].items():
            if m["role"] not in roles_after or m["role"] == "owner":
                r.fail(("accounts", email, "members", member, "role"), f"no member role named {m['role']!r}",
                       hint="roles: " + ", ".join(sorted(roles_after - {"owner"})))
            if member in accounts_after:
                r.fail(("accounts", email, "members", member), f"{member} owns an account and cannot join another team")
            if owners.get(member, email) != email:
                r.fail(("accounts", email, "members", member), f"{member} is a member of the account of {owners[member]}")
    domains_now = now["domains"]
    for name, d in doc.get("domains", {}).items():
        if d["owner"] not in accounts_after:
            r.fail(("domains", name, "owner"), f"no account owned by {d['owner']}")
        if name in domains_now and domains_now[name]["owner"] != d["owner"]:
            r.fail(("domains", name, "owner"), f"{name} belongs to {domains_now[name]['owner']}; apply does not move a domain "
                                               "between accounts", hint="remove it from the file, or `mailadmin domains remove` it first")
        members = accounts_after[d["owner"]]["members"]
        for member in d["grants"]:
            if member not in members:
                r.fail(("domains", name, "grants", member), f"{member} is not a member of the team of {d['owner']}")
    for name, o in doc.get("operators", {}).items():
        if o["role"] not in op_roles_after:
            r.fail(("operators", name, "role"), f"no operator role named {o['role']!r}",
                   hint="operator roles: " + ", ".join(sorted(op_roles_after)))

    kinds = (("roles", "role"), ("operator_roles", "operator_role"), ("packages", "package"), ("accounts", "account"),
             ("domains", "domain"), ("operators", "operator"))
    for section, kind in kinds:
        if section not in doc:
            continue
        have, want = now[section], doc[section]
        for name, entry in want.items():
            if name not in have:
                steps.append(Step("create", kind, name, after=entry))
                if kind == "account":
                    steps.extend(Step("create", "member", m, after=e, owner=name) for m, e in entry["members"].items())
                continue
            skip = {"account": ("members",), "domain": ("dkim", "owner")}.get(kind, ())
            diff = _changes(have[name], entry, skip)
            if kind == "account" and "status" in diff and entry["status"] == "active":
                diff.pop("closed_reason", None)
            if diff:
                steps.append(Step("change", kind, name, diff, after=entry, before=have[name]))
            if kind == "account":
                old = have[name]["members"]
                for m, e in entry["members"].items():
                    if m not in old:
                        steps.append(Step("create", "member", m, after=e, owner=name))
                    elif _changes(old[m], e):
                        steps.append(Step("change", "member", m, _changes(old[m], e), after=e, before=old[m], owner=name))
                if prune:
                    steps.extend(Step("delete", "member", m, before=e, owner=name) for m, e in old.items() if m not in entry["members"])
        if prune and section not in ("accounts", "domains"):
            steps.extend(Step("delete", kind, name, before=have[name]) for name in have if name not in want)

    _refuse_in_use(steps, packages_after, accounts_after, final("roles"), final("operators"))
    steps.sort(key=lambda s: (s.action == "delete", KIND_ORDER.index(s.kind) * (-1 if s.action == "delete" else 1)))
    return Plan(steps, dry_run)


def _refuse_in_use(steps: list[Step], packages: dict, accounts: dict, roles: dict, operators: dict) -> None:
    """Prune deletes nothing that the store would still use afterwards (exit 5, naming it)."""
    for s in steps:
        if s.action != "delete":
            continue
        if s.kind == "package":
            users = sorted(e for e, a in accounts.items() if a["package"] == s.name)
            if users:
                raise Conflict(f"package {s.name} is not in the file but {len(users)} account(s) use it ({users[0]}...)",
                               hint="move them to another package in the file, or add the package back")
        if s.kind == "role":
            pkgs = sorted(n for n, p in packages.items() if p["role"] == s.name)
            held = sorted(m for a in accounts.values() for m, e in a["members"].items() if e["role"] == s.name)
            if pkgs or held:
                what = f"package {pkgs[0]}" if pkgs else f"team member {held[0]}"
                raise Conflict(f"role {s.name} is not in the file but is in use by {what}",
                               hint="give them another role in the file, or add the role back")
        if s.kind == "operator_role":
            holders = sorted(n for n, o in operators.items() if o["role"] == s.name)
            if holders:
                raise Conflict(f"operator role {s.name} is not in the file but operator {holders[0]} holds it")


# -- step 3: carrying it out -------------------------------------------------------------------------
def execute(op, p: Plan) -> None:
    from mailadmin.services import operators as ops

    # the store's first operator must be whoever runs apply (operators add's lock-out rule)
    first_ops = [s for s in p.steps if s.kind == "operator" and s.action == "create"]
    if first_ops and not ops.any_registered(op.session):
        me = ops.runner(op)
        p.steps.sort(key=lambda s: not (s.kind == "operator" and s.name == me))
        p.steps.sort(key=lambda s: (s.action == "delete", KIND_ORDER.index(s.kind) * (-1 if s.action == "delete" else 1)))
    for s in p.steps:
        _RUN[s.kind](op, s)
    # closing comes last: a closed account takes no new domain or member (the commands refuse)
    for s in p.steps:
        if s.kind == "account" and s.action != "delete" and s.after["status"] == "closed" and (
                s.before is None or s.before.get("status") != "closed" or s.before.get("closed_reason") != s.after["closed_reason"]):
            _status(op, s.name, s.before.get("status") if s.before else "active", s.after)
    p.applied = True


def _ref(email: str):
    from mailadmin.refs import parse_ref

    return parse_ref(email)


def _run_role(op, s: Step) -> None:
    from sqlalchemy import update

    from mailadmin.catalog import catalog
    from mailadmin.services import audit, roles
    from mailadmin.store.models import Role

    if s.action == "create":
        roles.create(op, s.name, grant=s.after["grants"], description=s.after["description"])
    elif s.action == "delete":
        roles.delete_role(op, s.name)
    else:
        cat = catalog()
        if "grants" in s.changes:
            have, want = cat.expand(s.before["grants"]), cat.expand(s.after["grants"])
            if want - have:
                roles.grant(op, s.name, cat.compress(want - have))
            if have - want:
                roles.revoke(op, s.name, cat.compress(have - want))
        if "description" in s.changes:
            op.session.execute(update(Role).where(Role.name == s.name).values(description=s.after["description"]))
            audit.record(op, "role.edit", f"role:{s.name}", {"description": s.before["description"]}, {"description": s.after["description"]})


def _settings(entry: dict[str, Any], changed: dict | None = None):
    from mailadmin.services.packages import Settings
    from mailadmin.units import parse_amount

    def wanted(key: str) -> bool:
        return changed is None or any(k == key or k.startswith(key + ".") for k in changed)

    s = Settings()
    if wanted("role"):
        s.role = entry["role"]
    if wanted("description"):
        s.description = entry["description"]
    if wanted("credits"):
        s.credits_enabled = entry["credits"]
    if wanted("credit_cost"):
        s.credit_cost = parse_amount(entry["credit_cost"], allow_zero=True)
    if wanted("allow_overuse"):
        s.allow_overuse = entry["allow_overuse"]
    if wanted("bounce_limit"):
        if "bounce_limit" in entry:
            s.bounce_limit = int(Decimal(entry["bounce_limit"]) * 100)
        else:
            s.clear_bounce_limit = True
    if wanted("bounce_min_sends"):
        s.bounce_min_sends = entry["bounce_min_sends"]
    if wanted("expires_after"):
        if "expires_after" in entry:
            s.expires_after = entry["expires_after"]
        else:
            s.clear_expires_after = True
    s.limits = {n: (None if v == UNLIMITED else v) for n, v in entry["limits"].items() if wanted(f"limits.{n}")}
    return s


def _run_package(op, s: Step) -> None:
    from mailadmin.services import packages

    if s.action == "create":
        settings = _settings(s.after)
        settings.assets = [(k, v) for k, vs in s.after["assets"].items() for v in vs]
        packages.create(op, s.name, settings)
    elif s.action == "delete":
        packages.delete_package(op, s.name)
    else:
        settings = _settings(s.after, s.changes)
        if any(k != "assets" and not k.startswith("assets.") for k in s.changes):
            packages.edit(op, s.name, settings)
        have = {(k, v) for k, vs in s.before["assets"].items() for v in vs}
        want = {(k, v) for k, vs in s.after["assets"].items() for v in vs}
        if have != want:
            packages.change_assets(op, s.name, sorted(want - have), sorted(have - want))


def _run_account(op, s: Step) -> None:
    from mailadmin.services import ipallow, users

    entry, email = s.after, s.name
    before = s.before
    if s.action == "create":
        users.create(op, email, entry["package"], name=entry["name"])
        detail_expiry = _account_expiry(op, email)
        before = {"name": entry["name"], "package": entry["package"], "status": "active", "limits": {}, "ip_allow": [],
                  "suspensions": []}
        if detail_expiry is not None:
            before["plan_expires"] = detail_expiry
    edits: dict[str, Any] = {}
    if before.get("name") != entry["name"]:
        edits["name"] = entry["name"]
    if before.get("package") != entry["package"] or before.get("plan_expires") != entry.get("plan_expires"):
        if before.get("package") != entry["package"]:
            edits["package"] = entry["package"]
        edits["expires"] = entry.get("plan_expires") or users.NEVER
    if edits:
        users.edit(op, _ref(email), **edits)
    if before.get("limits") != entry["limits"]:
        old = before.get("limits", {})
        new = {n: (None if v == UNLIMITED else v) for n, v in entry["limits"].items() if old.get(n) != v}
        users.set_limits(op, _ref(email), set_=new, inherit=[n for n in old if n not in entry["limits"]])
    old_ips, new_ips = set(before.get("ip_allow", [])), set(entry["ip_allow"])
    nets = lambda cidrs: [ipaddress.ip_network(c) for c in sorted(cidrs)]  # noqa: E731
    if new_ips - old_ips:
        ipallow.allow(op, _ref(email), nets(new_ips - old_ips))
    if old_ips - new_ips:
        ipallow.deny(op, _ref(email), nets(old_ips - new_ips))
    _suspensions(op, email, before.get("suspensions", []), entry["suspensions"])
    if entry["status"] == "active" and before.get("status") == "closed":
        _status(op, email, "closed", entry)  # reopened first, so the rest of the plan may change it


def _account_expiry(op, email: str) -> datetime | None:
    from sqlalchemy import select

    from mailadmin.store.models import Account, User

    return op.session.execute(select(Account.plan_expires_at).join(User, User.account_id == Account.id)
                              .where(User.email == email)).scalar_one()


def _key(s: dict[str, Any]) -> tuple:
    return s["code"], s["reason"], s.get("until")


def _suspensions(op, email: str, before: list[dict], after: list[dict]) -> None:
    """Standing suspensions as the file lists them: new ones start now, missing ones are lifted;
    audited as `users suspend`/`unsuspend` record them."""
    from sqlalchemy import select, update

    from mailadmin.services import audit, status
    from mailadmin.store.models import Suspension, User

    have, want = {_key(s) for s in before}, {_key(s) for s in after}
    if have == want:
        return
    user_id = op.session.execute(select(User.id).where(User.email == email)).scalar_one()
    for code, reason, until in sorted(want - have, key=str):
        op.session.add(Suspension(user_id=user_id, code=code, reason=reason, actor=op.actor.name, started_at=op.now, until=until))
        audit.record(op, "user.suspend", f"user:{email}", None, {"code": code, "reason": reason, "until": until})
    for code, reason, until in sorted(have - want, key=str):
        cond = [Suspension.user_id == user_id, status.standing(op.now), Suspension.code == code, Suspension.reason == reason]
        cond.append(Suspension.until.is_(None) if until is None else Suspension.until == until)
        op.session.execute(update(Suspension).where(*cond).values(lifted_at=op.now, lifted_by=op.actor.name))
        audit.record(op, "user.unsuspend", f"user:{email}", {"code": code, "reason": reason}, {"lifted": [code]})
    op.session.flush()


def _status(op, email: str, before: str | None, entry: dict[str, Any]) -> None:
    from sqlalchemy import update

    from mailadmin.services import audit
    from mailadmin.store.models import User

    if entry["status"] == "closed":
        op.session.execute(update(User).where(User.email == email).values(
            status="closed", closed_reason=entry["closed_reason"], closed_by=op.actor.name, closed_at=op.now))
        audit.record(op, "user.close", f"user:{email}", {"status": before}, {"status": "closed", "reason": entry["closed_reason"]})
    else:
        op.session.execute(update(User).where(User.email == email).values(status="active", closed_reason=None, closed_by=None,
                                                                            closed_at=None))
        audit.record(op, "user.reopen", f"user:{email}", {"status": before}, {"status": "active"})


def _run_member(op, s: Step) -> None:
    from mailadmin.services import team, users

    if s.action == "create":
        team.invite(op, _ref(s.owner), s.name, s.after["role"], name=s.after["name"])
    elif s.action == "delete":
        team.remove(op, _ref(s.name))
    else:
        edits = {k: s.after[k] for k in ("name", "role") if k in s.changes}
        users.edit(op, _ref(s.name), **edits)


def _run_domain(op, s: Step) -> None:
    from mailadmin.services import domains

    entry, name = s.after, s.name
    before = s.before
    if s.action == "create":
        _add_domain(op, name, entry)
        before = {k: v for k, v in (("open_tracking", True), ("click_tracking", True), ("unsubscribe_footer", True),
                                    ("monthly_cap", UNLIMITED))}
        before["grants"] = {}
    settings = {k: (None if entry[k] == UNLIMITED else entry[k]) for k in DOMAIN_SETTINGS if before.get(k) != entry[k]}
    if settings:
        domains.set_settings(op, name, settings)
    old = before.get("grants", {})
    for member, g in entry["grants"].items():
        if old.get(member) != g:
            domains.grant(op, name, _ref(member), g["role"], email_content=g["email_content"])
    for member in old:
        if member not in entry["grants"]:
            domains.revoke(op, name, _ref(member))


def _add_domain(op, name: str, entry: dict[str, Any]) -> None:
    """`domains add` with the file's first key; the other key (a rotation's pending one) follows.
    A key with its private part in the file is stored as is; without it a fresh one is made."""
    from sqlalchemy import select

    from mailadmin.services import dkim, domains
    from mailadmin.store.models import DkimKey, Domain

    keys = entry["dkim"] or [{"selector": None, "algorithm": "rsa", "state": "active"}]
    first = keys[0]
    domains.add(op, name, _ref(entry["owner"]), selector=first["selector"], algorithm=first["algorithm"])
    domain = op.session.execute(select(Domain).where(Domain.name == name)).scalar_one()
    if "private_key" in first:
        stored = op.session.execute(select(DkimKey).where(DkimKey.domain_id == domain.id)).scalar_one()
        stored.public_key, stored.bits = dkim.public_of(first["private_key"], first["algorithm"])
        stored.private_key = first["private_key"]
    for key in keys[1:]:
        if "private_key" in key:
            pub, bits = dkim.public_of(key["private_key"], key["algorithm"])
            op.session.add(DkimKey(domain_id=domain.id, selector=key["selector"], algorithm=key["algorithm"], bits=bits,
                                   private_key=key["private_key"], public_key=pub, state=key["state"], created_at=op.now))
        else:
            dkim.create(op, domain, selector=key["selector"], algorithm=key["algorithm"], state=key["state"])
    op.session.flush()


def _run_operator_role(op, s: Step) -> None:
    from sqlalchemy import delete, insert, select, update

    from mailadmin.services import audit, operators
    from mailadmin.store.models import OperatorRole, OperatorRoleGrant

    if s.action == "create":
        operators.create_role(op, s.name, grant=s.after["grants"], description=s.after["description"])
    elif s.action == "delete":
        operators.delete_role(op, s.name)
    else:
        role_id = op.session.execute(select(OperatorRole.id).where(OperatorRole.name == s.name)).scalar_one()
        op.session.execute(update(OperatorRole).where(OperatorRole.id == role_id).values(description=s.after["description"]))
        op.session.execute(delete(OperatorRoleGrant).where(OperatorRoleGrant.role_id == role_id))
        op.session.execute(insert(OperatorRoleGrant), [{"role_id": role_id, "key": k} for k in s.after["grants"]])
        audit.record(op, "operator_role.edit", f"operator_role:{s.name}", dict(s.before), dict(s.after))


def _run_operator(op, s: Step) -> None:
    from sqlalchemy import update

    from mailadmin.services import audit, operators
    from mailadmin.store.models import Operator

    if s.action == "create":
        operators.add(op, s.name, s.after["role"])
    elif s.action == "delete":
        operators.remove(op, s.name)
    else:
        role = operators.get_role(op.session, s.after["role"])
        op.session.execute(update(Operator).where(Operator.name == s.name).values(role_id=role.id))
        audit.record(op, "operator.edit", f"operator:{s.name}", {"role": s.before["role"]}, {"role": s.after["role"]})


_RUN = {"role": _run_role, "package": _run_package, "account": _run_account, "member": _run_member, "domain": _run_domain,
        "operator_role": _run_operator_role, "operator": _run_operator}

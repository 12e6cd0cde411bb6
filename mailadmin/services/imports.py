"""`users import`: account owners in bulk from CSV, validated whole first, then one set-based transaction.

1. `read_rows` parses the file (no store): header, one typed `Row` per record, and a `RowFailure`
   for every bad record, with the line it starts on (a duplicate email names both lines).
2. `run` (inside the caller's one transaction) looks packages and existing users up a chunk at a
   time, refuses the whole file when any row is bad (exit 2) or an account exists without
   `skip_existing`/`update` (exit 5), and then writes with one executemany per table and chunk:
   accounts, users (a closed row is inserted closed), limit overrides, allow-lists, suspensions
   (reason "imported"), audit entries (one per account). The statement count grows with chunks of
   5,000 rows, never with rows.

An empty cell leaves a value as it is (`--update`) or takes the default (a new account: the
package's limits, no allow-list, active, the package's plan period); `inherit`, `none` and `never`
say "no override", "no allow-list" and "no expiry" explicitly.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, delete, insert, select, update

from mailadmin.errors import Conflict, InvalidInput, MailadminError
from mailadmin.operation import Operation
from mailadmin.refs import normalise_email
from mailadmin.services import audit, status
from mailadmin.services.batching import Progress, chunks, no_progress
from mailadmin.services.csvrows import RowFailure
from mailadmin.services.validate import SLUG, text
from mailadmin.store.models import Account, Package, Suspension, User
from mailadmin.units import display_limit, preview
from mailadmin.vocab import ACTIVE, CLOSED, DEFAULT_SUSPENSION_CODE, LIMIT_NAMES, STATUSES, SUSPENDED, UNLIMITED

REQUIRED = ("email", "name", "package")
OPTIONAL = ("status", "expires", *LIMIT_NAMES, "ip_allow")
COLUMNS = (*REQUIRED, *OPTIONAL)
INHERIT, NONE, NEVER = "inherit", "none", "never"
REASON = "imported"  # the reason of suspensions and closures an import makes
MAX_LIMIT = 10**15  # as cli/parse: a typo of many digits fails loudly
ERRORS_SHOWN = 10  # lines named in the one error line after the first bad row
NAME_MAX = 200


# -- reading ---------------------------------------------------------------------------------
@dataclass(slots=True)
class Row:
    """One record, checked. None means "not given" (an empty cell or a column the file lacks)."""

    line: int
    email: str
    name: str
    package: str
    status: str | None = None
    expires: datetime | str | None = None  # a time, or NEVER
    limits: dict[str, int | None | str] = field(default_factory=dict)  # value, None (unlimited) or INHERIT
    ip_allow: list[str] | None = None  # [] with `none`


# A plain ASCII dot-atom local part: email-validator accepts it as typed, so once it has accepted
# the domain, an address on that domain needs no second look (100,000 validations cost seconds).
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_IP_SPLIT = re.compile(r"[;\s]+")


class EmailNormaliser:
    """refs.normalise_email, remembering the domains it has accepted (their A-label form)."""

    def __init__(self) -> None:
        self.domains: dict[str, str] = {}

    def __call__(self, raw: str) -> str:
        value = raw.strip()
        local, at, domain = value.rpartition("@")
        dot_atom = bool(at) and len(local) <= 64 and _LOCAL.fullmatch(local) is not None
        if dot_atom and (known := self.domains.get(domain)) is not None and len(local) + 1 + len(known) <= 254:
            return f"{local}@{known}".lower()
        email = normalise_email(value)
        if dot_atom:
            self.domains[domain] = email.rpartition("@")[2]
        return email


def limit_value(raw: str, name: str) -> int | None | str:
    value = raw.strip(" \t").lower()
    if value == INHERIT:
        return INHERIT
    if value == UNLIMITED:
        return None
    if not value.isascii() or not value.isdigit():
        raise InvalidInput(f"{name} must be an integer >= 0, 'unlimited' or 'inherit', not {raw!r}")
    if len(value) > 16 or int(value) >= MAX_LIMIT:
        raise InvalidInput(f"{name} {raw} is too large; use 'unlimited'")
    return int(value)


def ip_list(raw: str) -> list[str]:
    """`203.0.113.7; 2001:db8::/32` -> networks in their normal form, in order, duplicates merged."""
    if raw.strip(" \t").lower() == NONE:
        return []
    out: list[str] = []
    for item in _IP_SPLIT.split(raw.strip()):
        if "%" in item:
            raise InvalidInput(f"ip_allow {item!r} has a zone index (%...); give addresses and networks without one")
        try:
            net = str(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise InvalidInput(f"ip_allow {item!r} is not an IP address or CIDR (e.g. 203.0.113.7, 198.51.100.0/24)") from None
        if net not in out:
            out.append(net)
    return out


def read_rows(lines: Iterable[str], source: str, *, now: datetime) -> tuple[list[Row], list[RowFailure], tuple[str, ...]]:
    """(rows, failures, the columns the file has). A bad header, an empty file or text that is not
    UTF-8 raise InvalidInput at once; a bad record becomes a failure naming its line."""
    from mailadmin.timeutil import parse_when

    from mailadmin.services.csvrows import read_header

    reader = csv.reader(lines)
    names = read_header(reader, source, f"a header with {','.join(REQUIRED)}")
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise InvalidInput(f"{source} line 1: unknown column {', '.join(repr(n) for n in unknown)}",
                           hint=f"columns are {', '.join(REQUIRED)} and optionally status, expires, ip_allow and the limits")
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise InvalidInput(f"{source} line 1: missing column {', '.join(missing)} (the header needs {','.join(REQUIRED)})")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInput(f"{source} line 1: column {', '.join(twice)} given twice")
    at = {n: i for i, n in enumerate(names)}
    width = len(names)
    limit_cols = [(n, at[n]) for n in LIMIT_NAMES if n in at]
    i_email, i_name, i_package = at["email"], at["name"], at["package"]
    i_status, i_expires, i_ip = at.get("status"), at.get("expires"), at.get("ip_allow")
    email_of = EmailNormaliser()
    names_seen: dict[str, str] = {}  # the same name on many rows is checked once
    packages_seen: dict[str, str] = {}
    rows: list[Row] = []
    failures: list[RowFailure] = []
    first_line: dict[str, int] = {}
    start = reader.line_num + 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            ident = record[i_email].strip() if len(record) > i_email else record[0]
            try:
                if len(record) != width:
                    raise InvalidInput(f"expected {width} fields ({','.join(names)}), got {len(record)}")
                email = email_of(record[i_email])
                raw_name = record[i_name]
                name = names_seen.get(raw_name)
                if name is None:
                    # printable text holds no control character or line separator: only its length to check
                    name = raw_name.strip(" ") if raw_name.isprintable() and len(raw_name) <= NAME_MAX else None
                    if name is None:
                        name = text(raw_name, "name", max_len=NAME_MAX, allow_empty=True)
                    if len(names_seen) < 10_000:  # many rows share a few names; a file of unique names is not kept twice
                        names_seen[raw_name] = name
                raw_package = record[i_package]
                package = packages_seen.get(raw_package)
                if package is None:
                    package = raw_package.strip(" \t").lower()
                    if not package:
                        raise InvalidInput("package is empty")
                    if not SLUG.fullmatch(package):
                        raise InvalidInput(f"package {raw_package!r} is not a package name (a lower-case slug)")
                    packages_seen[raw_package] = package
                row = Row(line, email, name, package)
                if i_status is not None and (word := record[i_status].strip(" \t").lower()):
                    if word not in STATUSES:
                        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {record[i_status]!r}")
                    row.status = word
                if i_expires is not None and (when := record[i_expires].strip(" \t")):
                    row.expires = NEVER if when.lower() == NEVER else parse_when(when, now=now, future=True)
                for limit, i in limit_cols:
                    if cell := record[i].strip(" \t"):
                        row.limits[limit] = limit_value(cell, limit)
                if i_ip is not None and record[i_ip].strip():
                    row.ip_allow = ip_list(record[i_ip])
            except MailadminError as exc:
                failures.append(RowFailure.of(line, ident, exc))
                continue
            if email in first_line:
                failures.append(RowFailure(line, email, f"{email} is also on line {first_line[email]} (an email may appear once)",
                                           int(InvalidInput.exit_code)))
                continue
            first_line[email] = line
            rows.append(row)
    except csv.Error as exc:
        failures.append(RowFailure(reader.line_num, "", f"not valid CSV: {exc}", int(InvalidInput.exit_code)))
    except UnicodeDecodeError:
        raise InvalidInput(f"{source} is not UTF-8 text (after line {reader.line_num}); save it as UTF-8 (a BOM is fine)") from None
    return rows, failures, tuple(names)


def refusal(source: str, failures: Sequence[RowFailure]) -> InvalidInput:
    """The one error line of a file with bad rows: the first in full, the lines of the next ones."""
    failures = sorted(failures, key=lambda f: (f.line or 0))
    first = failures[0]
    message = f"{source} line {first.line}: {first.error}"
    if len(failures) > 1:
        lines = [str(f.line) for f in failures[1:ERRORS_SHOWN + 1]]
        more = ", ..." if len(failures) > ERRORS_SHOWN + 1 else ""
        message += f"; {len(failures) - 1} more bad row{'s' if len(failures) > 2 else ''} (line {', '.join(lines)}{more})"
    return InvalidInput(message + "; nothing was imported")


# -- the run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Item:
    line: int
    email: str
    id: int | None  # the user's id (None for an account a dry run would create)
    changed: tuple[str, ...] = ()  # updated: the fields that changed


@dataclass
class ImportReport:
    dry_run: bool
    created: list[Item] = field(default_factory=list)
    updated: list[Item] = field(default_factory=list)
    unchanged: list[Item] = field(default_factory=list)  # --update: already as the file says
    skipped: list[Item] = field(default_factory=list)  # --skip-existing: left as they are


@dataclass(slots=True)
class _Existing:
    id: int
    email: str
    is_owner: bool
    account_id: int | None
    name: str
    closed: bool
    package_id: int | None
    plan_expires_at: datetime | None
    standing: bool = False
    limits: dict[str, int | None] = field(default_factory=dict)
    ips: list[str] = field(default_factory=list)


def run(op: Operation, rows: Sequence[Row], *, source: str, failures: Sequence[RowFailure] = (),
        skip_existing: bool = False, update: bool = False, dry_run: bool = False,
        progress: Progress = no_progress) -> ImportReport:
    if skip_existing and update:
        raise InvalidInput("--skip-existing and --update exclude each other")
    check_access(op, update=update)
    session = op.session
    failures = list(failures)
    total = len(rows)
    progress("checking", 0, total)
    wanted = sorted({r.package for r in rows})
    packages = {name: (pid, days) for pid, name, days in session.execute(
        select(Package.id, Package.name, Package.expires_after_days).where(Package.name.in_(wanted)))} if wanted else {}
    for r in rows:
        if r.package not in packages:
            failures.append(RowFailure(r.line, r.email, f"no package named {r.package!r}", int(InvalidInput.exit_code)))
    if failures:
        raise refusal(source, failures)

    existing: dict[str, _Existing] = {}
    u, a = User.__table__.c, Account.__table__.c
    for part in chunks([r.email for r in rows]):
        for row in session.execute(
            select(u.id, u.email, u.is_owner, u.account_id, u.name, u.status, a.package_id, a.plan_expires_at)
            .select_from(User.__table__.outerjoin(Account.__table__, a.id == u.account_id))
            .where(u.email.in_(part))
        ):
            existing[row.email] = _Existing(row.id, row.email, bool(row.is_owner), row.account_id, row.name, row.status == CLOSED,
                                            row.package_id, row.plan_expires_at)
    report = ImportReport(dry_run)
    new = [r for r in rows if r.email not in existing]
    old = [r for r in rows if r.email in existing]
    if old and not (skip_existing or update):
        shown = preview([f"{r.email} (line {r.line})" for r in old], 3)
        raise Conflict(f"{source}: {len(old)} user{'s' if len(old) != 1 else ''} already exist{'s' if len(old) == 1 else ''}: "
                       f"{shown}; nothing was imported",
                       hint="add --skip-existing to leave them as they are, or --update to set them to the file's values")
    if skip_existing:
        report.skipped = [Item(r.line, r.email, existing[r.email].id) for r in old]
        old = []
    if old:
        members = [r for r in old if not existing[r.email].is_owner or existing[r.email].account_id is None]
        if members:
            shown = preview([f"{r.email} (line {r.line})" for r in members], 3)
            raise Conflict(f"{source}: {shown} {'is' if len(members) == 1 else 'are'} not an account owner; an import creates "
                           f"and updates owners; nothing was imported",
                           hint="leave them out, or add --skip-existing")
    progress("checking", total, total)

    done = 0
    for part in chunks(new):
        ids = [None] * len(part) if dry_run else _create(op, part, packages)
        report.created.extend(Item(r.line, r.email, uid) for r, uid in zip(part, ids))
        done += len(part)
        progress("would create" if dry_run else "creating", done, total)
    for part in chunks(old):
        _load_state(op, [existing[r.email] for r in part])
        for r, changes in _update(op, part, existing, packages, dry_run=dry_run):
            target = report.updated if changes else report.unchanged
            target.append(Item(r.line, r.email, existing[r.email].id, tuple(changes)))
        done += len(part)
        progress("would update" if dry_run else "updating", done, total)
    return report


def check_access(op: Operation, *, update: bool) -> None:
    """What the invocation does not check itself: `--update` changes accounts too, so a registered
    operator needs clients.edit besides the command's clients.add."""
    from mailadmin.services import operators

    if update and op.actor.is_operator and operators.any_registered(op.session):
        operators.refuse(operators.authority(op.session, op.actor.name), op.actor.name, "clients.edit", "users import --update")


def _expiry(r: Row, days: int | None, now: datetime) -> datetime | None:
    if r.expires is None:
        return status.plan_expires_at(days, now)
    return None if r.expires == NEVER else r.expires  # type: ignore[return-value]


def _create(op: Operation, part: Sequence[Row], packages: dict[str, tuple[int, int | None]]) -> list[int]:
    """New owners with their accounts, overrides, allow-lists, suspensions; one executemany each."""
    from mailadmin.store.models import AccountIP, AccountLimit

    session, now, actor = op.session, op.now, op.actor.name
    expiries = [_expiry(r, packages[r.package][1], now) for r in part]
    account_ids = _new_ids(session, Account.__table__, len(part))
    _insert(session, Account.__table__,
                    [{"id": aid, "package_id": packages[r.package][0], "plan_expires_at": e, "created_at": now, "credit_balance": 0}
                     for r, e, aid in zip(part, expiries, account_ids)])
    user_ids = _new_ids(session, User.__table__, len(part))
    user_rows = []
    for r, aid, uid in zip(part, account_ids, user_ids):
        closed = r.status == CLOSED
        user_rows.append({"id": uid, "email": r.email, "name": r.name, "account_id": aid, "is_owner": True,
                          "status": CLOSED if closed else ACTIVE, "closed_reason": REASON if closed else None,
                          "closed_by": actor if closed else None, "closed_at": now if closed else None, "created_at": now})
    _insert(session, User.__table__, user_rows)
    limits = [{"account_id": aid, "name": n, "value": v} for r, aid in zip(part, account_ids)
              for n, v in r.limits.items() if v != INHERIT]
    if limits:
        session.execute(insert(AccountLimit.__table__), limits)
    ips = [{"account_id": aid, "cidr": c} for r, aid in zip(part, account_ids) for c in (r.ip_allow or ())]
    if ips:
        session.execute(insert(AccountIP.__table__), ips)
    suspended = [{"user_id": uid, "code": DEFAULT_SUSPENSION_CODE, "reason": REASON, "actor": actor, "started_at": now}
                 for r, uid in zip(part, user_ids) if r.status == SUSPENDED]
    if suspended:
        session.execute(insert(Suspension.__table__), suspended)
    changes = []
    for r, aid, e in zip(part, account_ids, expiries):
        after: dict[str, Any] = {"name": r.name, "package": r.package, "account_id": aid, "plan_expires_at": e,
                                 "status": r.status or ACTIVE, "source": "import"}
        own = {n: display_limit(v) for n, v in r.limits.items() if v != INHERIT}
        if own:
            after["limits"] = own
        if r.ip_allow:
            after["ip_allow"] = _sorted_cidrs(r.ip_allow)
        changes.append(audit.Change("user.create", f"user:{r.email}", None, after))
    audit.record_many(op, changes)
    return list(user_ids)


def _insert(session, table, rows: list[dict[str, Any]]) -> None:
    """One executemany straight to the driver (as audit's entries are written): Core's executemany
    spends more on building per-row parameters than the database spends on the rows. Values go
    through each column's bind processor, so they are stored exactly as SQLAlchemy stores them; a
    time or a flag repeats on every row (the operation's time), so its processed value is kept."""
    from functools import lru_cache

    from sqlalchemy import Boolean, DateTime
    from sqlalchemy.types import TypeDecorator

    conn = session.connection()
    dialect = conn.dialect
    names = list(rows[0])
    compiled = table.insert().compile(dialect=dialect, column_keys=names)
    procs = {}
    for n in names:
        kind = table.c[n].type
        proc = kind.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            base = kind.impl if isinstance(kind, TypeDecorator) else kind
            procs[n] = lru_cache(maxsize=64)(proc) if isinstance(base, (DateTime, Boolean)) else proc
    if compiled.positional:
        order = compiled.positiontup
        params: list = [tuple(procs[k](r[k]) if k in procs else r[k] for k in order) for r in rows]
    else:
        params = [{k: procs[k](r[k]) if k in procs else r[k] for k in names} for r in rows]
    conn.exec_driver_sql(compiled.string, params)


def _new_ids(session, table, n: int) -> list[int]:
    """`n` ids for new rows of `table`, taken up front so each row can be written with its id (and
    rows that refer to it) in one executemany, without RETURNING (which SQLite answers row by row
    when the order must be kept). PostgreSQL: from the table's sequence, in one query. SQLite: after
    the largest id ever given (AUTOINCREMENT's sqlite_sequence), safe because this transaction
    holds the write lock (BEGIN IMMEDIATE) until it commits."""
    from sqlalchemy import text as sql

    conn = session.connection()
    if conn.dialect.name == "postgresql":
        quoted = conn.dialect.identifier_preparer.quote(table.name)
        return list(session.execute(sql("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                                    {"t": quoted, "n": n}).scalars())
    quoted = conn.dialect.identifier_preparer.quote(table.name)
    last = session.execute(sql(f"SELECT max(m) FROM (SELECT seq AS m FROM sqlite_sequence WHERE name = :t "
                               f"UNION ALL SELECT max(id) FROM {quoted})"), {"t": table.name}).scalar() or 0
    return list(range(last + 1, last + 1 + n))


def _sorted_cidrs(cidrs: Iterable[str]) -> list[str]:
    from mailadmin.services.ipallow import sort_cidrs

    return sort_cidrs(cidrs)


def _load_state(op: Operation, users: list[_Existing]) -> None:
    """Standing suspensions, overrides and allow-lists of a chunk of existing owners: three queries."""
    from mailadmin.store.models import AccountIP, AccountLimit

    session = op.session
    s = Suspension.__table__.c
    suspended = set(session.execute(select(s.user_id).where(s.user_id.in_([x.id for x in users]), status.standing(op.now, s))).scalars())
    by_account = {x.account_id: x for x in users}
    accounts = list(by_account)
    for aid, name, value in session.execute(select(AccountLimit.account_id, AccountLimit.name, AccountLimit.value)
                                            .where(AccountLimit.account_id.in_(accounts))):
        by_account[aid].limits[name] = value
    for aid, cidr in session.execute(select(AccountIP.account_id, AccountIP.cidr).where(AccountIP.account_id.in_(accounts))):
        by_account[aid].ips.append(cidr)
    for x in users:
        x.standing = x.id in suspended


def _own_status(x: _Existing) -> str:
    return status.own_status(x.closed, x.standing)


def _update(op: Operation, part: Sequence[Row], existing: dict[str, _Existing], packages: dict[str, tuple[int, int | None]],
            *, dry_run: bool) -> list[tuple[Row, dict[str, dict[str, Any]]]]:
    """Set each existing owner to its row's values; returns (row, changes) per row. Writes (unless
    `dry_run`) one statement per kind of change for the whole chunk."""
    from mailadmin.store.models import AccountIP, AccountLimit

    session, now, actor = op.session, op.now, op.actor.name
    package_names = {pid: name for name, (pid, _days) in packages.items()}
    missing_ids = {x.package_id for x in (existing[r.email] for r in part)} - set(package_names)
    if missing_ids:
        package_names.update(dict(session.execute(select(Package.id, Package.name).where(Package.id.in_(missing_ids))).all()))
    out = []
    names, accounts, limit_drops, limit_adds, ip_accounts, ip_adds = [], [], [], [], [], []
    lift, reopen, suspend, close = [], [], [], []
    entries = []
    for r in part:
        x = existing[r.email]
        changes: dict[str, dict[str, Any]] = {}
        if r.name != x.name:
            changes["name"] = {"before": x.name, "after": r.name}
            names.append({"uid": x.id, "new_name": r.name})
        new_pid, days = packages[r.package]
        expiry = x.plan_expires_at
        if new_pid != x.package_id:
            changes["package"] = {"before": package_names.get(x.package_id), "after": r.package}
            expiry = _expiry(r, days, now)  # a package change restarts the plan, as `users edit --package`
        elif r.expires is not None:
            expiry = None if r.expires == NEVER else r.expires  # type: ignore[assignment]
        if expiry != x.plan_expires_at or "package" in changes:
            if expiry != x.plan_expires_at:
                changes["plan_expires_at"] = {"before": x.plan_expires_at, "after": expiry}
            accounts.append({"aid": x.account_id, "new_package": new_pid, "new_expiry": expiry})
        before_limits, after_limits = {}, {}
        for n, v in r.limits.items():
            have = n in x.limits
            if v == INHERIT:
                if have:
                    limit_drops.append({"aid": x.account_id, "lname": n})
                    before_limits[n], after_limits[n] = display_limit(x.limits[n]), INHERIT
            elif not have or x.limits[n] != v:
                if have:
                    limit_drops.append({"aid": x.account_id, "lname": n})
                limit_adds.append({"account_id": x.account_id, "name": n, "value": v})
                before_limits[n] = display_limit(x.limits[n]) if have else INHERIT
                after_limits[n] = display_limit(v)
        if after_limits:
            changes["limits"] = {"before": before_limits, "after": after_limits}
        if r.ip_allow is not None and set(r.ip_allow) != set(x.ips):
            changes["ip_allow"] = {"before": _sorted_cidrs(x.ips), "after": _sorted_cidrs(r.ip_allow)}
            ip_accounts.append(x.account_id)
            ip_adds.extend({"account_id": x.account_id, "cidr": c} for c in r.ip_allow)
        if r.status is not None and r.status != _own_status(x):
            changes["status"] = {"before": _own_status(x), "after": r.status}
            if r.status == ACTIVE:
                lift.append(x.id)
                if x.closed:
                    reopen.append(x.id)
            elif r.status == SUSPENDED:
                if x.closed:
                    reopen.append(x.id)
                if not x.standing:
                    suspend.append({"user_id": x.id, "code": DEFAULT_SUSPENSION_CODE, "reason": REASON, "actor": actor,
                                    "started_at": now})
            else:
                close.append(x.id)
        if changes:
            before = {k: c["before"] for k, c in changes.items()}
            after = {**{k: c["after"] for k, c in changes.items()}, "source": "import"}
            entries.append(audit.Change("user.import", f"user:{r.email}", before, after))
        out.append((r, changes))
    if dry_run:
        return out
    u, acc = User.__table__.c, Account.__table__.c
    if names:
        session.execute(update(User.__table__).where(u.id == bindparam("uid")).values(name=bindparam("new_name")), names)
    if accounts:
        session.execute(update(Account.__table__).where(acc.id == bindparam("aid"))
                        .values(package_id=bindparam("new_package"), plan_expires_at=bindparam("new_expiry")), accounts)
    if limit_drops:
        lim = AccountLimit.__table__.c
        session.execute(delete(AccountLimit.__table__).where(lim.account_id == bindparam("aid"), lim.name == bindparam("lname")),
                        limit_drops)
    if limit_adds:
        session.execute(insert(AccountLimit.__table__), limit_adds)
    if ip_accounts:
        session.execute(delete(AccountIP.__table__).where(AccountIP.__table__.c.account_id.in_(ip_accounts)))
        if ip_adds:
            session.execute(insert(AccountIP.__table__), ip_adds)
    if lift:
        s = Suspension.__table__.c
        session.execute(update(Suspension.__table__).where(s.user_id.in_(lift), status.standing(now, s))
                        .values(lifted_at=now, lifted_by=actor))
    if reopen:
        session.execute(update(User.__table__).where(u.id.in_(reopen))
                        .values(status=ACTIVE, closed_reason=None, closed_by=None, closed_at=None))
    if suspend:
        session.execute(insert(Suspension.__table__), suspend)
    if close:
        session.execute(update(User.__table__).where(u.id.in_(close))
                        .values(status=CLOSED, closed_reason=REASON, closed_by=actor, closed_at=now))
    if entries:
        audit.record_many(op, entries)
    return out

"""Usage against limits: counting sends and bounces, the one limit decision of `users record`, the
bounce-rate suspension, resource counts as the platform reports them, and the usage reports.

Counters: every recorded send adds to its account's UTC hour, day and month rows at once (and to
its domain's month row), so the three windows are enforced together in one decision and a dropped
hourly row loses nothing its day and month rows do not hold. Hourly rows older than
HOURLY_RETENTION and daily rows older than DAILY_RETENTION are deleted by `record` itself, at most
PRUNE_BATCH rows a call: each call adds at most one hourly row, so expired rows never pile up.

The decision of one `record` (one write transaction; writers are serialised by the store, so what
is read is what is written against):
1. the status gate: a suspended, closed or expired account (or a suspended or closed member named
   as the sender) is refused, exit 5 with the reason;
2. the domain's monthly cap is a hard stop (seed 004: a cap an administrator sets on a manager's
   domain is not a tier to buy past): past it, exit 6 whatever the package allows;
3. each window's excess is how many of the N sends land past its limit (clamped to 0..N: a
   window already past its limit after a paid overuse counts every new send as excess). A send
   counts in all three windows, so paying for the LARGEST excess covers every window at once;
   charging the sum would bill one send several times. That excess is charged at credit_cost as
   one `overuse` ledger entry naming the window and the count, when the package allows overuse,
   has credits enabled, and the balance covers it; otherwise nothing is counted and exit 6 names
   the window, by how much, and when it resets.
4. after counting, the bounce rate of the current day and month (bounced / sent) is held to the
   package's bounce_limit once the window holds bounce_min_sends sends; past it, the account's
   owner gets a `bounces` suspension whose reason carries the figures. The send that crossed it
   is still counted (it happened). A bounces suspension that was lifted (or ended) during the
   window is the operator accepting that window's rate: the window is not checked again until it
   rolls over.

A fixed number of statements whatever the history: the sender with its account, package and
statuses (one query), the three sending limits (one), the current counters (one), the domain and
its month's row (two, with --domain), one upsert, one bounded delete; the ledger append and the
suspension only when they happen.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Sequence

from sqlalchemy import and_, bindparam, delete, func, literal, or_, select, text, tuple_, union_all
from sqlalchemy.orm import aliased

from mailadmin.errors import Conflict, InvalidInput, LimitExceeded
from mailadmin.operation import Operation
from mailadmin.refs import UserRef
from mailadmin.services import audit
from mailadmin.services.accounts import account_of, resolve_one
from mailadmin.services.status import own_status_column, plan_expired, standing
from mailadmin.store.models import Account, AccountLimit, Package, PackageLimit, Suspension, User
from mailadmin.units import format_amount, format_percent
from mailadmin.vocab import (ACTIVE, BOUNCES, CLOSED, COUNTED_LIMITS, DAY, HOUR, LIMIT_NAMES, MONTH, OVERUSE, RESOURCE_LIMITS,
                             SENDING_LIMITS, SUSPENDED, USAGE_SPANS)

SPAN_LIMIT = dict(zip(USAGE_SPANS, SENDING_LIMITS))  # hour -> hourly, day -> daily, month -> monthly
LIMIT_SPAN = dict(zip(SENDING_LIMITS, USAGE_SPANS))
SPAN_WORDS = {HOUR: "this hour", DAY: "today", MONTH: "this month"}
HOURLY_RETENTION = timedelta(hours=48)  # hourly rows kept for two days: "the last 48 hours" stays answerable
DAILY_RETENTION = timedelta(days=400)  # daily rows kept for a year and a month; monthly rows are kept
PRUNE_BATCH = 500  # expired rows deleted per `record` call, at most
MAX_COUNT = 10**9  # sends in one call: a batch, not a typo of many digits
MAX_RESOURCE = 10**15  # as limits (cli/parse.MAX_LIMIT)
PACKAGE, OVERRIDE = "package", "override"
# a limit's state in the reports: bars are green under 80 %, yellow to 100 %, red over
UNLIMITED, OK, NEAR, OVER = "unlimited", "ok", "near", "over"
NEAR_AT = 8000  # hundredths of a percent


# -- periods ---------------------------------------------------------------------------------
def period_start(span: str, now: datetime) -> datetime:
    """The UTC hour, day or month `now` falls in, by its first moment."""
    now = now.astimezone(timezone.utc)
    if span == HOUR:
        return now.replace(minute=0, second=0, microsecond=0)
    if span == DAY:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def period_end(span: str, start: datetime) -> datetime:
    """When the period that starts at `start` ends: the moment its limit resets."""
    if span == HOUR:
        return start + timedelta(hours=1)
    if span == DAY:
        return start + timedelta(days=1)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def period_label(span: str, now: datetime) -> str:
    """`2026-11-26T14:00Z`, `2026-11-26`, `2026-11`: the period a ledger reason names."""
    start = period_start(span, now)
    return start.strftime({HOUR: "%Y-%m-%dT%H:00Z", DAY: "%Y-%m-%d", MONTH: "%Y-%m"}[span])


def starts(now: datetime) -> dict[str, datetime]:
    return {span: period_start(span, now) for span in USAGE_SPANS}


# -- input -----------------------------------------------------------------------------------
def check_counts(sent: Any, bounced: Any) -> tuple[int, int]:
    """What a script may pass without the CLI's parsing: whole numbers, 0 <= bounced <= sent."""
    for what, value in (("--sent", sent), ("--bounced", bounced)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{what} must be a whole number, not {value!r}")
        if value < 0:
            raise InvalidInput(f"{what} must be 0 or more, not {value}")
        if value > MAX_COUNT:
            raise InvalidInput(f"{what} {value} is more than one call records (at most {MAX_COUNT})")
    if bounced > sent:
        raise InvalidInput(f"--bounced {bounced} is more than --sent {sent}: bounces are recorded with the sends they belong to")
    return sent, bounced


def check_resources(values: Mapping[str, Any]) -> dict[str, int]:
    """Resource counts the platform reports: names among RESOURCE_LIMITS, whole numbers >= 0."""
    from difflib import get_close_matches

    out: dict[str, int] = {}
    for name, value in values.items():
        if name in COUNTED_LIMITS:
            raise InvalidInput(f"{name} is counted from the store, not reported", hint=f"resources are {', '.join(RESOURCE_LIMITS)}")
        if name in SENDING_LIMITS:
            raise InvalidInput(f"{name} sends are counted by `mailadmin users record`, not reported",
                               hint=f"resources are {', '.join(RESOURCE_LIMITS)}")
        if name not in RESOURCE_LIMITS:
            close = get_close_matches(name, RESOURCE_LIMITS, n=1, cutoff=0.6)
            raise InvalidInput(f"unknown resource {name!r}",
                               hint=f"did you mean {close[0]}?" if close else f"resources are {', '.join(RESOURCE_LIMITS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"{name} must be a whole number >= 0, not {value!r}")
        if value >= MAX_RESOURCE:
            raise InvalidInput(f"{name} {value} is too large")
        out[name] = value
    if not out:
        raise InvalidInput("give at least one NAME=COUNT to --set")
    return out


def parse_percent(raw: str) -> int:
    """`--over 90`, `90.5`, `90%` -> hundredths of a percent (9000, 9050); 0 to 10000 %."""
    import re

    match = re.fullmatch(r"([0-9]{1,5})(?:\.([0-9]{1,2}))?%?", raw.strip(" \t")) if isinstance(raw, str) else None
    if not match:
        raise InvalidInput(f"--over {raw!r} is not a percentage: use a number like 90 or 92.5 (at most 2 decimals)")
    hundredths = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0") or 0)
    if hundredths > 1_000_000:
        raise InvalidInput(f"--over {raw} is more than 10000 %")
    return hundredths


# -- the sender ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sender:
    """The user a record names and everything the decision needs of its account."""

    user_id: int
    email: str
    account_id: int | None
    is_owner: bool
    status: str  # the named user's own status
    owner_id: int | None
    owner: str | None
    owner_status: str
    plan_expires_at: datetime | None
    balance: int
    package_id: int
    package: str
    credits_enabled: bool
    credit_cost: int
    allow_overuse: bool
    bounce_limit: int | None
    bounce_min_sends: int


@functools.cache
def _sender_query():
    """Built once per process (an alias proxies every column of User: building it cost more than
    running the query, on every line of a batch); the time is bound at execution (`now`)."""
    now = bindparam("now", type_=Suspension.until.type)
    owner = aliased(User)
    return (
        select(User.id, User.email, User.account_id, User.is_owner, own_status_column(User, now), owner.id, owner.email,
               own_status_column(owner, now), Account.plan_expires_at, Account.credit_balance, Package.id, Package.name,
               Package.credits_enabled, Package.credit_cost, Package.allow_overuse, Package.bounce_limit,
               Package.bounce_min_sends)
        .select_from(User)
        .outerjoin(Account, Account.id == User.account_id)
        .outerjoin(Package, Package.id == Account.package_id)
        .outerjoin(owner, and_(owner.account_id == User.account_id, owner.is_owner))
    )


def sender(op: Operation, ref: UserRef) -> Sender:
    row = resolve_one(op.session, ref, _sender_query().params(now=op.now))
    if row[2] is None:
        account_of(op.session, op.session.get(User, row[0]))  # raises: removed from its team
    (uid, email, account_id, is_owner, own, owner_id, owner_email, owner_status, expires, balance, package_id, package,
     enabled, cost, overuse, bounce_limit, min_sends) = row
    return Sender(uid, email, account_id, bool(is_owner), own, owner_id, owner_email, owner_status or ACTIVE, expires,
                  balance, package_id, package, bool(enabled), cost, bool(overuse), bounce_limit, min_sends)


def _gate(op: Operation, s: Sender) -> None:
    """Rule 8: a suspended, closed or expired account sends nothing (exit 5, with the reason)."""
    who = s.owner or s.email
    if s.owner_status == CLOSED or s.status == CLOSED:
        closed = s.owner_id if s.owner_status == CLOSED else s.user_id
        reason = op.session.execute(select(User.closed_reason).where(User.id == closed)).scalar_one_or_none()
        whose = f"the account of {who}" if s.owner_status == CLOSED else s.email
        raise Conflict(f"{whose} is closed{f' ({reason})' if reason else ''}; nothing was counted",
                       hint=f"reopen it first: `mailadmin users reopen {who if s.owner_status == CLOSED else s.email}`")
    if s.owner_status == SUSPENDED or s.status == SUSPENDED:
        held = s.owner_id if s.owner_status == SUSPENDED else s.user_id
        rows = op.session.execute(
            select(Suspension.code, Suspension.reason).where(Suspension.user_id == held, standing(op.now))
            .order_by(Suspension.started_at, Suspension.id)
        ).all()
        reasons = "; ".join(f"{code}: {reason}" for code, reason in rows)
        whose = f"the account of {who}" if s.owner_status == SUSPENDED else s.email
        raise Conflict(f"{whose} is suspended ({reasons}); nothing was counted",
                       hint=f"see `mailadmin users show {who}`; lift it with `mailadmin users unsuspend {who} --code CODE`")
    if plan_expired(s.plan_expires_at, op.now):
        from mailadmin.timeutil import iso

        raise Conflict(f"the plan of {who}'s account expired at {iso(s.plan_expires_at)}: the account is read-only; "
                       "nothing was counted", hint=f"extend it: `mailadmin users edit {who} --expires DATE|never`")


# -- counters --------------------------------------------------------------------------------
@dataclass
class Counter:
    sent: int = 0
    bounced: int = 0
    overuse: int = 0


def _counters(op: Operation, account_id: int, at: dict[str, datetime]) -> dict[str, Counter]:
    from mailadmin.store.models import UsageCounter

    c = UsageCounter.__table__.c
    found = {span: Counter() for span in USAGE_SPANS}
    for span, sent, bounced, overuse in op.session.execute(
        select(c.span, c.sent, c.bounced, c.overuse).where(
            c.account_id == account_id, or_(*(and_(c.span == span, c.starts_at == at[span]) for span in USAGE_SPANS)))
    ):
        found[span] = Counter(sent, bounced, overuse)
    return found


def _sending_limits(op: Operation, s: Sender) -> dict[str, tuple[int | None, str]]:
    """hourly, daily, monthly -> (value or None for unlimited, package | override), in one query."""
    rows = op.session.execute(union_all(
        select(PackageLimit.name, PackageLimit.value, literal(PACKAGE)).where(
            PackageLimit.package_id == s.package_id, PackageLimit.name.in_(SENDING_LIMITS)),
        select(AccountLimit.name, AccountLimit.value, literal(OVERRIDE)).where(
            AccountLimit.account_id == s.account_id, AccountLimit.name.in_(SENDING_LIMITS)),
    )).all()
    out: dict[str, tuple[int | None, str]] = {name: (None, PACKAGE) for name in SENDING_LIMITS}
    for name, value, source in sorted(rows, key=lambda r: r[2] == OVERRIDE):  # an override wins
        out[name] = (value, source)
    return out


def _upsert(session, table, keys: Sequence[str], rows: list[dict[str, Any]], adds: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET col = col + excluded.col: one statement."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table).values(rows)
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys),
                                               set_={col: table.c[col] + stmt.excluded[col] for col in adds}))


def _prune(op: Operation) -> None:
    """Delete expired hourly and daily rows, PRUNE_BATCH at most (bounded work per call)."""
    from mailadmin.store.models import UsageCounter

    t = UsageCounter.__table__
    c = t.c
    hour = period_start(HOUR, op.now) - HOURLY_RETENTION
    day = period_start(DAY, op.now) - DAILY_RETENTION
    old = (select(c.account_id, c.span, c.starts_at)
           .where(or_(and_(c.span == HOUR, c.starts_at < hour), and_(c.span == DAY, c.starts_at < day)))
           .limit(PRUNE_BATCH))
    op.session.execute(delete(t).where(tuple_(c.account_id, c.span, c.starts_at).in_(old)))


# -- the decision ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    span: str  # hour | day | month
    limit_name: str  # hourly | daily | monthly
    limit: int | None
    source: str
    used: int  # before this record
    resets_at: datetime
    excess: int  # of this record's sends, how many land past the limit

    def after(self, sent: int) -> int:
        return self.used + sent


@dataclass(frozen=True)
class DomainMonth:
    name: str
    cap: int | None
    used: int  # before this record
    resets_at: datetime


@dataclass(frozen=True)
class Overuse:
    window: str  # the limit it paid for: hourly, daily or monthly
    count: int  # sends paid for
    amount: int  # units of 1/10000 credit (positive: what was charged)
    balance: int  # after the charge
    entry_id: int | None  # None on a dry run, or when the package's credit cost is 0


@dataclass(frozen=True)
class BounceSuspension:
    window: str  # day | month
    reason: str


@dataclass(frozen=True)
class Recorded:
    user: str
    account_id: int
    owner: str
    sent: int
    bounced: int
    dry_run: bool
    windows: list[Window]
    domain: DomainMonth | None
    overuse: Overuse | None
    suspension: BounceSuspension | None


def _excess(used: int, sent: int, limit: int | None) -> int:
    if limit is None:
        return 0
    return max(0, min(sent, used + sent - limit))


def _iso(moment: datetime) -> str:
    from mailadmin.timeutil import iso

    return iso(moment) or ""


def _over_message(s: Sender, w: Window, sent: int, others: list[Window]) -> str:
    source = "override on the account" if w.source == OVERRIDE else f"package {s.package}"
    also = "".join(f"; also the {o.limit_name} limit by {o.excess}" for o in others)
    return (f"{s.owner or s.email}'s account would pass its {w.limit_name} limit of {w.limit} ({source}) by {w.excess}: "
            f"{w.used} sent {SPAN_WORDS[w.span]} + {sent}{also}; it resets at {_iso(w.resets_at)}; nothing was counted")


def record(op: Operation, ref: UserRef, sent: int, bounced: int = 0, *, domain: str | None = None,
           dry_run: bool = False) -> Recorded:
    """Count `sent` sends (and `bounced` of them bounced) for the account `ref` names, or refuse
    them whole. `dry_run` answers the same and writes nothing."""
    sent, bounced = check_counts(sent, bounced)
    session = op.session
    s = sender(op, ref)
    dom = None
    if domain is not None:
        from mailadmin.services import domains

        dom = domains.get(op, domain)
        if dom.account_id != s.account_id:
            owner = session.execute(select(User.email).where(User.account_id == dom.account_id, User.is_owner)).scalar_one_or_none()
            whose = f"{owner}'s account" if owner else "another account"
            raise Conflict(f"{dom.name} belongs to {whose}, not to {s.owner or s.email}'s; nothing was counted", hint=f"see `mailadmin domains list --user {s.owner or s.email}`")
    _gate(op, s)
    at = starts(op.now)
    limits = _sending_limits(op, s)
    counters = _counters(op, s.account_id, at)
    windows = [
        Window(span, SPAN_LIMIT[span], limits[SPAN_LIMIT[span]][0], limits[SPAN_LIMIT[span]][1], counters[span].sent,
               period_end(span, at[span]), _excess(counters[span].sent, sent, limits[SPAN_LIMIT[span]][0]))
        for span in USAGE_SPANS
    ]
    month = None
    if dom is not None:
        from mailadmin.store.models import DomainUsage

        used = session.execute(select(DomainUsage.sent).where(DomainUsage.domain_id == dom.id,
                                                              DomainUsage.starts_at == at[MONTH])).scalar_one_or_none() or 0
        month = DomainMonth(dom.name, dom.monthly_cap, used, period_end(MONTH, at[MONTH]))
        over = _excess(used, sent, dom.monthly_cap)
        if over:
            raise LimitExceeded(
                f"domain {dom.name} would pass its monthly cap of {dom.monthly_cap} by {over}: {used} sent this month + {sent}; "
                f"it resets at {_iso(month.resets_at)}; nothing was counted (a domain's cap is not paid past with credits)",
                hint=f"raise it: `mailadmin domains set {dom.name} --monthly-cap N|unlimited`")
    # the largest excess pays for every window (ties: the window that resets last names it)
    worst = max(windows, key=lambda w: (w.excess, USAGE_SPANS.index(w.span)))
    overuse = None
    if worst.excess:
        others = [w for w in windows if w.excess and w is not worst]
        who = s.owner or s.email
        if not (s.allow_overuse and s.credits_enabled):
            why = "does not allow overuse" if not s.allow_overuse else "has no credits enabled"
            raise LimitExceeded(_over_message(s, worst, sent, others),
                                hint=f"package {s.package} {why}; raise the limit (`mailadmin users limits {who} "
                                     f"--set {worst.limit_name}=N`) or wait for the reset")
        charge = worst.excess * s.credit_cost
        if charge > s.balance:
            raise LimitExceeded(
                _over_message(s, worst, sent, others).replace("; nothing was counted", "")
                + f"; overuse of {worst.excess} sends costs {format_amount(charge)} credits and the account has "
                  f"{format_amount(s.balance)}; nothing was counted",
                hint=f"add credits: `mailadmin credits add {who} AMOUNT --reason TEXT`")
        overuse = Overuse(worst.limit_name, worst.excess, charge, s.balance - charge, None)
    after = {span: Counter(counters[span].sent + sent, counters[span].bounced + bounced) for span in (DAY, MONTH)}
    crossing = _bounce_crossing(s, after)
    suspension = None
    if crossing is not None and s.owner_id is not None and not _accepted_in_window(op, s, at[crossing[0]]):
        suspension = BounceSuspension(*crossing)
    result = Recorded(s.email, s.account_id, s.owner or s.email, sent, bounced, dry_run, windows, month, overuse, suspension)
    if dry_run:
        return result
    _count(op, s, at, sent, bounced, overuse.count if overuse else 0, dom.id if dom is not None else None)
    if overuse is not None and overuse.amount:
        overuse = _charge(op, s, worst, overuse)
    if suspension is not None:
        _suspend(op, s, suspension)
    return Recorded(s.email, s.account_id, s.owner or s.email, sent, bounced, False, windows, month, overuse, suspension)


def _count(op: Operation, s: Sender, at: dict[str, datetime], sent: int, bounced: int, paid: int, domain_id: int | None) -> None:
    from mailadmin.store.models import DomainUsage, UsageCounter

    _upsert(op.session, UsageCounter.__table__, ("account_id", "span", "starts_at"),
            [{"account_id": s.account_id, "span": span, "starts_at": at[span], "sent": sent, "bounced": bounced, "overuse": paid}
             for span in USAGE_SPANS], ("sent", "bounced", "overuse"))
    if domain_id is not None:
        _upsert(op.session, DomainUsage.__table__, ("domain_id", "starts_at"),
                [{"domain_id": domain_id, "starts_at": at[MONTH], "sent": sent, "bounced": bounced}], ("sent", "bounced"))
    _prune(op)


def _charge(op: Operation, s: Sender, w: Window, o: Overuse) -> Overuse:
    """One `overuse` entry through the ledger's single append, naming the window and the count."""
    from mailadmin.services import ledger

    holder = ledger.Holder(s.email, s.account_id, s.balance, s.package, s.credits_enabled, s.owner, s.owner_status)
    reason = (f"overuse: {o.count} sends past the {w.limit_name} limit of {w.limit} ({period_label(w.span, op.now)}) "
              f"at {format_amount(s.credit_cost)} each")
    applied = ledger.append(op, ledger.Request(holder, OVERUSE, -o.amount, reason))
    return Overuse(o.window, o.count, o.amount, applied.entry.balance_after, applied.entry.id)


# -- bounces ---------------------------------------------------------------------------------
def _bounce_crossing(s: Sender, after: dict[str, Counter]) -> tuple[str, str] | None:
    """(span, reason) of the first window (day, then month) whose bounce rate is past the limit,
    once it holds the package's minimum of sends."""
    if s.bounce_limit is None:
        return None
    for span in (DAY, MONTH):
        c = after[span]
        if c.sent == 0 or c.sent < s.bounce_min_sends:
            continue
        if c.bounced * 10_000 > s.bounce_limit * c.sent:
            rate = format_percent(c.bounced * 10_000 // c.sent)
            return span, (f"bounce rate {rate}% ({c.bounced} of {c.sent} {SPAN_WORDS[span]}) over the package's "
                          f"{format_percent(s.bounce_limit)}% (package {s.package})")
    return None


def _accepted_in_window(op: Operation, s: Sender, window_start: datetime) -> bool:
    """A bounces suspension of this account lifted (or ended) during the window: an operator has
    seen this window's rate and let the account send again."""
    ended = func.coalesce(Suspension.lifted_at, Suspension.until)
    return op.session.execute(
        select(literal(1)).where(Suspension.user_id == s.owner_id, Suspension.code == BOUNCES, ended >= window_start)
        .limit(1)
    ).first() is not None


def _suspend(op: Operation, s: Sender, susp: BounceSuspension) -> None:
    """The account's owner gets one `bounces` suspension (none stands: the gate refused otherwise)."""
    op.session.add(Suspension(user_id=s.owner_id, code=BOUNCES, reason=susp.reason, actor=op.actor.name, started_at=op.now))
    op.session.flush()
    audit.record(op, "user.suspend", f"user:{s.owner}", {"status": ACTIVE},
                 {"status": SUSPENDED, "code": BOUNCES, "reason": susp.reason, "until": None})


# -- reports ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    name: str
    used: int
    limit: int | None
    source: str
    resets_at: datetime | None  # sending windows only
    reported_at: datetime | None  # resources the platform reports (None: never reported)

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def percent(self) -> int | None:
        """Hundredths of a percent; None when unlimited, or a limit of 0 with something used."""
        return percent_of(self.used, self.limit)

    @property
    def state(self) -> str:
        return state_of(self.used, self.limit)


def percent_of(used: int, limit: int | None) -> int | None:
    if limit is None:
        return None
    if limit == 0:
        return 10_000 if used == 0 else None
    return used * 10_000 // limit


def state_of(used: int, limit: int | None) -> str:
    if limit is None:
        return UNLIMITED
    if used > limit:
        return OVER
    if limit == 0 or used * 10_000 >= NEAR_AT * limit:
        return NEAR
    return OK


@dataclass(frozen=True)
class BounceWindow:
    span: str  # day | month
    sent: int
    bounced: int
    limit: int | None  # hundredths of a percent
    min_sends: int

    @property
    def rate(self) -> int | None:
        return None if self.sent == 0 else self.bounced * 10_000 // self.sent

    @property
    def counts(self) -> bool:
        """The rate is held to the limit: enough sends in the window."""
        return self.limit is not None and self.sent > 0 and self.sent >= self.min_sends


@dataclass(frozen=True)
class Report:
    user: str
    account_id: int
    owner: str
    package: str
    at: datetime
    lines: list[Line]
    bounces: list[BounceWindow]
    overuse_sends: int  # this month
    overuse_amount: int | None  # this month, units (positive); None: the reader may not see billing
    balance: int | None
    credits_enabled: bool
    allow_overuse: bool
    credit_cost: int | None


def report(op: Operation, ref: UserRef) -> Report:
    """One account's usage of every limit, with where each limit comes from and when it resets."""
    from mailadmin.services import access, limits

    user = access.visible_user(op, ref)
    account = account_of(op.session, user)
    rep = _report(op, user, account, limits.effective_limits(op, account))
    if not op.actor.is_operator:  # credits and what overuse cost are billing: shown with billing.view only
        from mailadmin.errors import PermissionDenied

        try:
            access.authorize(op, account_id=account.id, key="billing.view")
        except PermissionDenied:
            rep = replace(rep, overuse_amount=None, balance=None, credit_cost=None)
    return rep


def _report(op: Operation, user: User, account: Account, effective) -> Report:
    from mailadmin.store.models import CreditEntry, Domain, ResourceUsage

    session = op.session
    package = session.get(Package, account.package_id)
    owner = session.execute(select(User.email).where(User.account_id == account.id, User.is_owner)).scalar_one_or_none()
    at = starts(op.now)
    counters = _counters(op, account.id, at)
    reported = {name: (value, when) for name, value, when in session.execute(
        select(ResourceUsage.name, ResourceUsage.value, ResourceUsage.reported_at).where(ResourceUsage.account_id == account.id))}
    counted = {
        "domains": session.execute(select(func.count()).select_from(Domain).where(Domain.account_id == account.id)).scalar_one(),
        "team_members": session.execute(select(func.count()).select_from(User).where(
            User.account_id == account.id, User.is_owner.is_(False))).scalar_one(),
    }
    spent = session.execute(select(func.coalesce(func.sum(CreditEntry.amount), 0)).where(
        CreditEntry.account_id == account.id, CreditEntry.kind == OVERUSE, CreditEntry.created_at >= at[MONTH])).scalar_one()
    lines = []
    for lim in effective:
        if lim.name in LIMIT_SPAN:
            span = LIMIT_SPAN[lim.name]
            lines.append(Line(lim.name, counters[span].sent, lim.value, lim.source, period_end(span, at[span]), None))
        elif lim.name in counted:
            lines.append(Line(lim.name, counted[lim.name], lim.value, lim.source, None, None))
        else:
            value, when = reported.get(lim.name, (0, None))
            lines.append(Line(lim.name, value, lim.value, lim.source, None, when))
    bounces = [BounceWindow(span, counters[span].sent, counters[span].bounced, package.bounce_limit, package.bounce_min_sends)
               for span in (DAY, MONTH)]
    return Report(user.email, account.id, owner or user.email, package.name, op.now, lines, bounces, counters[MONTH].overuse,
                  -int(spent), account.credit_balance, package.credits_enabled, package.allow_overuse, package.credit_cost)


def set_resources(op: Operation, ref: UserRef, values: Mapping[str, int]) -> tuple[Report, dict[str, tuple[int | None, int]]]:
    """Store resource counts as the platform reports them (no limit is enforced on a report: the
    reports show what is over). Returns the report and {name: (before, after)} of what changed."""
    from mailadmin.services import limits
    from mailadmin.services.accounts import find_user
    from mailadmin.store.models import ResourceUsage

    values = check_resources(values)
    session = op.session
    user = find_user(op, ref)
    account = account_of(session, user)
    current = dict(session.execute(select(ResourceUsage.name, ResourceUsage.value).where(ResourceUsage.account_id == account.id)).all())
    changed = {n: (current.get(n), v) for n, v in values.items() if current.get(n) != v}
    if changed:
        session.execute(delete(ResourceUsage).where(ResourceUsage.account_id == account.id, ResourceUsage.name.in_(list(changed))))
        session.execute(ResourceUsage.__table__.insert(), [{"account_id": account.id, "name": n, "value": v, "reported_at": op.now}
                                                         for n, (_b, v) in changed.items()])
        owner = session.execute(select(User.email).where(User.account_id == account.id, User.is_owner)).scalar_one_or_none()
        audit.record(op, "account.usage", f"user:{owner or user.email}", {n: b for n, (b, _a) in changed.items()},
                     {n: a for n, (_b, a) in changed.items()})
    session.flush()
    return _report(op, user, account, limits.effective_limits(op, account)), changed


# -- every account over a threshold ----------------------------------------------------------
@dataclass(frozen=True)
class OverRow:
    user: str | None  # the account's owner
    account_id: int
    package: str
    limit_name: str  # the worst limit
    used: int
    limit: int
    source: str
    over: list[str]  # every limit at or past the threshold, worst first

    @property
    def percent(self) -> int | None:
        return percent_of(self.used, self.limit)


def _floor(name: str) -> str:
    """SQL: the least count that can be at the threshold of some finite `name` limit (NULL when
    none is finite). Exact arithmetic (10^15 times 10^6 overflows BIGINT), then back to the count's
    type so PostgreSQL can use the index for the range; rounding lets no count under it through."""
    return (f"(SELECT CAST(MIN(CAST(f.v AS NUMERIC)) * :threshold / 10000 AS BIGINT) FROM "
            f"(SELECT value AS v FROM package_limit WHERE name = '{name}' AND value IS NOT NULL UNION ALL "
            f"SELECT value FROM account_limit WHERE name = '{name}' AND value IS NOT NULL) AS f)")


def _over_sql(by_package: bool) -> str:
    """The one query of `--over`, as SQL text: a statement of thirteen branches costs SQLAlchemy
    about 0.1 s to compile in a fresh process, more than running it. Limit names are the fixed
    vocabulary, never user input."""
    branches = [f"SELECT account_id, '{limit}' AS name, sent AS used FROM usage_counter WHERE span = '{span}' "
                f"AND starts_at = :{span}_start AND sent > 0 AND sent >= {_floor(limit)}" for span, limit in SPAN_LIMIT.items()]
    branches += [f"SELECT account_id, name, value FROM resource_usage WHERE name = '{name}' AND value > 0 "
                 f"AND value >= {_floor(name)}" for name in RESOURCE_LIMITS]
    # domains and members: a grouped scan of the account_id index (skipped when no limit is finite),
    # then the exact count of members (the owner is in the grouped count: one more)
    branches.append(f"SELECT account_id, 'domains', COUNT(*) FROM domain WHERE {_floor('domains')} IS NOT NULL "
                    f"GROUP BY account_id HAVING COUNT(*) >= {_floor('domains')}")
    branches.append("SELECT g.account_id, 'team_members', (SELECT COUNT(*) FROM \"user\" m WHERE m.account_id = g.account_id "
                    "AND NOT m.is_owner) FROM (SELECT account_id FROM \"user\" WHERE account_id IS NOT NULL AND "
                    f"{_floor('team_members')} IS NOT NULL GROUP BY account_id HAVING COUNT(*) > {_floor('team_members')}) AS g")
    value = "CASE WHEN al.account_id IS NOT NULL THEN al.value ELSE pl.value END"
    return (
        f"SELECT u.account_id, u.name, u.used, {value}, CASE WHEN al.account_id IS NOT NULL THEN '{OVERRIDE}' "
        f"ELSE '{PACKAGE}' END, p.name, o.email FROM ({' UNION ALL '.join(branches)}) AS u "
        "JOIN account a ON a.id = u.account_id JOIN package p ON p.id = a.package_id "
        "LEFT JOIN account_limit al ON al.account_id = u.account_id AND al.name = u.name "
        "LEFT JOIN package_limit pl ON pl.package_id = a.package_id AND pl.name = u.name "
        "LEFT JOIN \"user\" o ON o.account_id = a.id AND o.is_owner "
        f"WHERE u.used > 0 AND {value} IS NOT NULL AND CAST(u.used AS NUMERIC) * 10000 >= CAST({value} AS NUMERIC) * :threshold"
        + (" AND a.package_id = :package_id" if by_package else "")
    )


def over(op: Operation, threshold: int, *, package: str | None = None) -> list[OverRow]:
    """Every account using at least `threshold` hundredths of a percent of any limit (something
    used: an account that used nothing is never listed), worst first: ONE aggregate query.

    It is driven by what is used, and reads only what could be over: for each limit, the smallest
    finite value any package or override gives it, times the threshold, is a floor no listed
    count can be under, so each branch is a range scan of an index ordered by the count (current
    periods' sends, reported resources) or a grouped index scan (domains, members). Each candidate
    row then finds its effective limit by primary key (the account's override, else its package's)
    and is held to it exactly."""
    from mailadmin.store.models import UTCDateTime

    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        raise InvalidInput(f"--over must be a percentage >= 0, not {threshold!r}")
    session = op.session
    package_id = None
    if package is not None:
        from mailadmin.services import packages

        package_id = packages.get(session, package).id
    at = starts(op.now)
    query = text(_over_sql(package_id is not None)).bindparams(
        *(bindparam(f"{span}_start", at[span], type_=UTCDateTime()) for span in USAGE_SPANS),
        bindparam("threshold", threshold), *([bindparam("package_id", package_id)] if package_id is not None else []),
    )
    by_account: dict[int, list[tuple]] = {}
    for row in session.execute(query):
        if row[1] in LIMIT_NAMES:
            by_account.setdefault(row[0], []).append(row)

    def severity(row) -> tuple:  # used / limit, a limit of 0 with something used first of all
        _aid, _name, used_, limit_, *_ = row
        return (1, 0) if limit_ == 0 else (0, used_ * 10**6 // limit_)

    out = []
    for aid, rows in by_account.items():
        rows.sort(key=lambda r: (severity(r), -LIMIT_NAMES.index(r[1])), reverse=True)
        _aid, name, used_, limit_, source, package_name, email = rows[0]
        out.append(OverRow(email, aid, package_name, name, used_, limit_, source, [r[1] for r in rows]))
    out.sort(key=lambda o: (severity((o.account_id, o.limit_name, o.used, o.limit)), -o.account_id), reverse=True)
    return out

"""Usage as people and scripts read it: what `users record` counted or charged, one account's usage
against every limit as bars, and the accounts over a threshold.

`record` is called per send batch, so this module imports nothing heavy: Rich only when a table of
`users usage` is drawn (through Output), never for `record`.
"""

from __future__ import annotations

from typing import Any

from mailadmin.render.output import Column, Format, Output, counted, escape, view
from mailadmin.units import display_limit, format_amount, format_percent

RECORD = view("usage_record", "user", "account_id", "sent", "bounced", "dry_run", "windows", "domain", "overuse", "suspended")
RECORD_WINDOW = view("usage_window", "used", "limit", "remaining", "source", "resets_at")
RECORD_DOMAIN = view("usage_domain", "domain", "used", "cap", "remaining", "resets_at")
RECORD_OVERUSE = view("usage_overuse", "window", "count", "amount", "balance", "entry_id")
RECORD_SUSPENSION = view("usage_suspension", "code", "window", "reason")
USAGE = view("usage", "user", "account_id", "owner", "package", "at", "limits", "bounces", "overuse_sends", "overuse_amount",
             "balance", "credits_enabled", "allow_overuse", "credit_cost")
USAGE_LIMIT = view("usage_limit", "used", "limit", "remaining", "percent", "state", "source", "resets_at", "reported_at")
USAGE_LIMIT_ROW = view("usage_limit_row", "name", *USAGE_LIMIT.fields)
USAGE_BOUNCES = view("usage_bounces", "sent", "bounced", "rate", "limit", "min_sends", "counts")
OVER = view("usage_over", "user", "account_id", "package", "limit_name", "used", "limit", "percent", "source", "over")

OVER_COLUMNS = [Column("user", "Owner"), Column("account_id", "Account", justify="right"), Column("package"),
                Column("limit_name", "Worst limit"), Column("used", justify="right"), Column("limit", justify="right"),
                Column("percent", "%", justify="right"), Column("source"), Column("over", "Limits over", wrap=True)]
BAR = 20  # characters
COLOURS = {"ok": "green", "near": "yellow", "over": "red"}


# -- users record ----------------------------------------------------------------------------
def _pct(hundredths: int | None) -> str | None:
    return format_percent(hundredths)


def record_json(r) -> dict[str, Any]:
    sent = r.sent
    windows = {
        w.limit_name: RECORD_WINDOW(used=w.used + sent, limit=display_limit(w.limit),
                                    remaining=None if w.limit is None else max(w.limit - w.used - sent, 0),
                                    source=w.source, resets_at=w.resets_at)
        for w in r.windows
    }
    domain = None
    if r.domain is not None:
        d = r.domain
        domain = RECORD_DOMAIN(domain=d.name, used=d.used + sent, cap=display_limit(d.cap),
                               remaining=None if d.cap is None else max(d.cap - d.used - sent, 0), resets_at=d.resets_at)
    overuse = None
    if r.overuse is not None:
        o = r.overuse
        overuse = RECORD_OVERUSE(window=o.window, count=o.count, amount=format_amount(o.amount), balance=format_amount(o.balance),
                                 entry_id=o.entry_id)
    suspended = None
    if r.suspension is not None:
        suspended = RECORD_SUSPENSION(code="bounces", window=r.suspension.window, reason=r.suspension.reason)
    return RECORD(user=r.user, account_id=r.account_id, sent=r.sent, bounced=r.bounced, dry_run=r.dry_run, windows=windows,
                  domain=domain, overuse=overuse, suspended=suspended)


def recorded(out: Output, r, fmt) -> None:
    """JSON on stdout when asked; else what was counted, charged and suspended, on stderr (none with -q)."""
    if fmt is Format.json:
        out.json(record_json(r))
    else:
        would = "dry run: would count" if r.dry_run else "counted"
        bounced = f" ({r.bounced} bounced)" if r.bounced else ""
        figures = ", ".join(f"{w.limit_name} {w.used + r.sent}/{display_limit(w.limit)}" for w in r.windows)
        if r.domain is not None:
            figures += f", {r.domain.name} {r.domain.used + r.sent}/{display_limit(r.domain.cap)} this month"
        out.message(f"{would} {counted(r.sent, 'send')}{bounced} for {r.user}: {figures}")
    if r.overuse is not None:
        o = r.overuse
        verb = "would charge" if r.dry_run else "charged"
        entry = f" (entry #{o.entry_id})" if o.entry_id else ""
        out.message(f"{verb} {format_amount(o.amount)} credits for {counted(o.count, 'send')} past the {o.window} limit{entry}; "
                    f"balance {format_amount(o.balance)}")
    if r.suspension is not None:
        verb = "would now be" if r.dry_run else "is now"
        out.message(f"{r.owner}'s account {verb} suspended (bounces): {r.suspension.reason}")
    if r.dry_run and fmt is not Format.json:
        out.message("nothing was counted (dry run)")


# -- users usage USER ------------------------------------------------------------------------
def _amount(units: int | None) -> str | None:
    return None if units is None else format_amount(units)



def _limit_json(line) -> dict[str, Any]:
    return USAGE_LIMIT(used=line.used, limit=display_limit(line.limit), remaining=line.remaining, percent=_pct(line.percent),
                       state=line.state, source=line.source, resets_at=line.resets_at, reported_at=line.reported_at)


def usage_json(rep) -> dict[str, Any]:
    return USAGE(
        user=rep.user, account_id=rep.account_id, owner=rep.owner, package=rep.package, at=rep.at,
        limits={line.name: _limit_json(line) for line in rep.lines},
        bounces={b.span: USAGE_BOUNCES(sent=b.sent, bounced=b.bounced, rate=_pct(b.rate), limit=_pct(b.limit),
                                       min_sends=b.min_sends, counts=b.counts) for b in rep.bounces},
        overuse_sends=rep.overuse_sends, overuse_amount=_amount(rep.overuse_amount), balance=_amount(rep.balance),
        credits_enabled=rep.credits_enabled, allow_overuse=rep.allow_overuse, credit_cost=_amount(rep.credit_cost),
    )


def bar(out: Output, line) -> str:
    """`[########............]`: green under 80 %, yellow to 100 %, red over; plain ASCII (and
    the state in words) when colour is off or stdout is no terminal."""
    if line.limit is None:
        return "" if out.plain() else "[dim]unlimited[/]"
    pct = line.percent
    filled = BAR if pct is None else min(BAR, (pct * BAR + 5_000) // 10_000)
    if line.used and not filled:
        filled = 1  # something used shows
    body = "#" * filled + "." * (BAR - filled)
    if out.plain():
        mark = {"near": " near", "over": " OVER"}.get(line.state, "")
        return escape(f"[{body}]{mark}")
    colour = COLOURS[line.state]
    return f"[{colour}]{'█' * filled}[/][dim]{'░' * (BAR - filled)}[/]"


def usage(out: Output, rep, fmt: Format) -> None:
    data = usage_json(rep)
    if fmt is Format.json:
        out.json(data)
        return
    if fmt is Format.csv:
        rows = [USAGE_LIMIT_ROW(name=name, **values) for name, values in data["limits"].items()]
        out.rows(rows, [Column(f) for f in USAGE_LIMIT_ROW.fields], fmt, shape=USAGE_LIMIT_ROW)
        return
    from mailadmin.timeutil import iso

    table = out.table(f"{rep.user} (account of {rep.owner}, package {rep.package}) at {iso(rep.at)}")
    for title, justify in (("Limit", "left"), ("Used", "right"), ("Of", "right"), ("Left", "right"), ("%", "right"),
                           ("", "left"), ("Source", "left"), ("Resets / reported", "left")):
        table.add_column(title, justify=justify, no_wrap=True)
    for line in rep.lines:
        when = iso(line.resets_at) or (iso(line.reported_at) and f"reported {iso(line.reported_at)}") or ""
        table.add_row(line.name, str(line.used), str(display_limit(line.limit)),
                      "" if line.remaining is None else str(line.remaining), _pct(line.percent) or "", bar(out, line),
                      line.source, when)
    out.print_whole(table)
    lines = []
    for b in rep.bounces:
        rate = f"{_pct(b.rate)}%" if b.rate is not None else "-"
        limit = f"limit {_pct(b.limit)}%" if b.limit is not None else "no bounce limit"
        counts = "" if b.limit is None or b.counts else f" (counts from {b.min_sends} sends)"
        lines.append(f"bounces {'today' if b.span == 'day' else 'this month'}: {rate} ({b.bounced} of {b.sent}); {limit}{counts}")
    if not rep.credits_enabled:
        credits = "credits: off"
    else:
        credits = "credits: not shown (needs billing.view)" if rep.balance is None else f"credits: {format_amount(rep.balance)} left"
    cost = "" if rep.overuse_amount is None else f", {format_amount(rep.overuse_amount)} credits"
    overuse = (f"overuse this month: {counted(rep.overuse_sends, 'send')}{cost}"
               + ("" if rep.allow_overuse else " (the package allows no overuse)"))
    for text in (*lines, overuse, credits):
        out.print(escape(text))


def resources_set(out: Output, changed: dict) -> None:
    if not changed:
        out.message("every count was already as reported; nothing changed")
        return
    out.message("reported " + ", ".join(f"{name}={after} (was {'none' if before is None else before})"
                                        for name, (before, after) in changed.items()))


# -- users usage --over ----------------------------------------------------------------------
def over(out: Output, rows, fmt: Format, threshold: int, *, shown: int | None = None) -> None:
    data = [OVER(user=r.user, account_id=r.account_id, package=r.package, limit_name=r.limit_name, used=r.used, limit=r.limit,
                 percent=_pct(r.percent), source=r.source, over=r.over) for r in rows]
    out.rows(data, OVER_COLUMNS, fmt, id_key="user", shape=OVER,
             empty=f"no account uses {format_percent(threshold)}% of any limit")
    if fmt in (Format.table, Format.wide) and rows:
        total = f"{counted(len(rows), 'account')} at or over {format_percent(threshold)}% of a limit"
        if shown and len(rows) > shown:
            total += f"; showing the worst {shown} (--limit N, 0 for all; -o json or csv for all)"
        out.message(total)

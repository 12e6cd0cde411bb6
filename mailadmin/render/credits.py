"""Credits as people and scripts read them: balances, ledger entries, bulk reports, progress.

JSON shapes (stable): amounts and balances are strings with 4 decimals, times ISO UTC with Z.
"""

from __future__ import annotations

from typing import Any

from mailadmin.render.output import Column, Format, counted, emit_json, emit_list, emit_record, message
from mailadmin.services.amounts import format_amount

ENTRY_COLUMNS = [
    Column("id", justify="right"), Column("created_at", "Time"), Column("kind"), Column("amount", justify="right"),
    Column("balance_after", "Balance after", justify="right"), Column("reason"), Column("actor"), Column("key"),
]
ACCOUNT_COLUMNS = [
    Column("account_id", "Account", justify="right"), Column("user", "Owner"), Column("package"), Column("status"),
    Column("balance", justify="right"),
]


def entry_json(entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "account_id": entry.account_id,
        "kind": entry.kind,
        "amount": format_amount(entry.amount),
        "balance_after": format_amount(entry.balance_after),
        "reason": entry.reason,
        "actor": entry.actor,
        "created_at": entry.created_at,
        "key": entry.key,
    }


def balance_json(holder) -> dict[str, Any]:
    return {
        "user": holder.user,
        "account_id": holder.account_id,
        "balance": format_amount(holder.balance),
        "credits_enabled": holder.credits_enabled,
        "package": holder.package,
        "status": holder.status,
    }


def balance(holder, fmt: Format) -> None:
    emit_record(balance_json(holder), fmt)


def applied(result, fmt: Format, *, quiet: bool) -> None:
    """After add/deduct/adjust: JSON on stdout when asked; else one line on stderr (none with -q)."""
    e = result.entry
    if result.replayed and not quiet:  # stderr, whatever the format: a retried job says so in its log
        message(f"already applied: entry #{e.id} ({e.kind} {format_amount(e.amount)}, key {e.key}) on account "
                f"{e.account_id}; balance {format_amount(result.balance)}")
    if fmt is Format.json:
        emit_json({**entry_json(e), "user": result.holder.user, "balance": format_amount(result.balance),
                   "already_applied": result.replayed})
        return
    if quiet or result.replayed:
        return
    sign = "+" if e.amount > 0 else ""
    forced = f" (forced: {', '.join(result.forced)})" if result.forced else ""
    message(f"{result.holder.user}: {e.kind} {sign}{format_amount(e.amount)}, balance {format_amount(e.balance_after)} "
            f"(entry #{e.id}){forced}")


def history(entries, fmt: Format, *, more: bool) -> None:
    emit_list([entry_json(e) for e in entries], ENTRY_COLUMNS, fmt, id_key="id", empty="no ledger entries match")
    if more and entries:
        message(f"older entries exist: add --before {entries[-1].id}")


def accounts(rows, fmt: Format, *, quiet: bool) -> None:
    data = [
        {"account_id": r.account_id, "user": r.user, "package": r.package, "credits_enabled": r.credits_enabled,
         "status": r.status, "balance": format_amount(r.balance)}
        for r in rows
    ]
    if not data and quiet:
        return  # a cron alert mails only when there is something to say
    emit_list(data, ACCOUNT_COLUMNS, fmt, id_key="user", empty="no account matches")


def bulk_json(report) -> dict[str, Any]:
    return {
        "changed": report.changed,
        "unchanged": report.unchanged,
        "failed": [{"id": f.id, "line": f.line, "error": f.error} for f in report.failed],
    }


def bulk(report, fmt: Format, *, quiet: bool) -> None:
    if fmt is Format.json:
        emit_json(bulk_json(report))
        return
    if quiet or report.failed:
        return
    what = "top-ups" if report.kind == "topup" else f"{report.kind}s"
    line = f"applied {len(report.changed)} {what} ({format_amount(report.total)} credits)"
    if report.unchanged:
        line += f"; {len(report.unchanged)} already applied"
    message(line)


def verify(report, fmt: Format, *, quiet: bool) -> None:
    problems = [
        {"account_id": p.account_id, "entry_id": p.entry_id, "problem": p.problem,
         "expected": None if p.expected is None else format_amount(p.expected),
         "found": None if p.found is None else format_amount(p.found)}
        for p in report.problems
    ]
    if fmt is Format.json:
        emit_json({"accounts": report.accounts, "entries": report.entries, "ok": report.ok, "problems": problems})
        return
    for p in problems:
        where = f"account {p['account_id']}" + (f" entry #{p['entry_id']}" if p["entry_id"] else "")
        figures = f": ledger says {p['expected']}, stored {p['found']}" if p["expected"] is not None else ""
        message(f"{where}: {p['problem']}{figures}")
    if report.ok and not quiet:
        message(f"ledger consistent: {counted(report.entries, 'entry', 'entries')}, {counted(report.accounts, 'account')}")

"""Credits as people and scripts read them: balances, ledger entries, bulk reports, verify.

JSON shapes (stable): amounts and balances are strings with 4 decimals, times ISO UTC with Z.
"""

from __future__ import annotations

from typing import Any

from mailadmin.errors import Conflict, Failure, InvalidInput, LimitExceeded, MailadminError, NotFound, StoreUnavailable
from mailadmin.render.output import BULK_REPORT, Column, Format, Output, counted, view
from mailadmin.units import format_amount

ENTRY = view("credit_entry", "id", "account_id", "kind", "amount", "balance_after", "reason", "actor", "created_at", "key")
BALANCE = view("credit_balance", "user", "account_id", "balance", "credits_enabled", "package", "status")
APPLIED = view("credit_applied", *ENTRY.fields, "user", "balance", "already_applied")
ACCOUNT = view("credit_account", "account_id", "user", "package", "credits_enabled", "status", "balance")
VERIFY = view("credit_verify", "accounts", "entries", "ok", "problems")
MISMATCH = view("credit_mismatch", "account_id", "entry_id", "problem", "expected", "found")
# bulk report items; a row read from a file also says its line
TOPUP = view("bulk_credit", "user", "account_id", "amount", "balance", "key")
TOPUP_AT_LINE = view("bulk_credit_line", *TOPUP.fields, "line")
ALREADY = view("bulk_credit_applied", "user", "account_id", "key", "entry_id")
ALREADY_AT_LINE = view("bulk_credit_applied_line", *ALREADY.fields, "line")
ROW_FAILURE = view("bulk_row_failure", "id", "line", "error")

# A plain table keeps what a person scans for, whole, at 60 columns too; who made an entry and
# under which key are optional (`-o wide`, and csv, which always carries every column).
ENTRY_COLUMNS = [
    Column("id", justify="right"), Column("created_at", "Time"), Column("kind"), Column("amount", justify="right"),
    Column("balance_after", "Balance after", justify="right"), Column("reason", wrap=True), Column("actor", wide=True),
    Column("key", wide=True),
]
ACCOUNT_COLUMNS = [
    Column("account_id", "Account", justify="right"), Column("user", "Owner"), Column("package", wide=True), Column("status"),
    Column("balance", justify="right"),
]
PROBLEMS = {  # services/ledger_verify.py's codes
    "broken_chain": "balance_after does not follow the previous entry",
    "sum_differs": "balance differs from the sum of its ledger",
    "last_differs": "balance differs from its last entry's balance_after",
}


def _amount(units: int | None) -> str | None:
    return None if units is None else format_amount(units)


# -- one account -----------------------------------------------------------------------------
def entry_json(e) -> dict[str, Any]:
    return ENTRY(id=e.id, account_id=e.account_id, kind=e.kind, amount=format_amount(e.amount),
                 balance_after=format_amount(e.balance_after), reason=e.reason, actor=e.actor, created_at=e.created_at,
                 key=e.key)


def balance(out: Output, holder, fmt: Format) -> None:
    out.record(BALANCE(user=holder.user, account_id=holder.account_id, balance=format_amount(holder.balance),
                       credits_enabled=holder.credits_enabled, package=holder.package, status=holder.status), fmt)


def applied(out: Output, result, fmt: Format) -> None:
    """After add/deduct/adjust: JSON on stdout when asked; else one line on stderr (none with -q)."""
    e = result.entry
    if result.replayed:  # stderr, whatever the format: a retried job says so in its log
        out.message(f"already applied: entry #{e.id} ({e.kind} {format_amount(e.amount)}, key {e.key}) on account "
                    f"{e.account_id}; balance {format_amount(result.balance)}")
    if fmt is Format.json:
        out.json(APPLIED(**entry_json(e), user=result.holder.user, balance=format_amount(result.balance),
                         already_applied=result.replayed))
        return
    if result.replayed:
        return
    sign = "+" if e.amount > 0 else ""
    forced = f" (forced: {', '.join(result.forced)})" if result.forced else ""
    out.message(f"{result.holder.user}: {e.kind} {sign}{format_amount(e.amount)}, balance {format_amount(e.balance_after)} "
                f"(entry #{e.id}){forced}")


def history(out: Output, entries, fmt: Format, *, more: bool) -> None:
    out.rows([entry_json(e) for e in entries], ENTRY_COLUMNS, fmt, id_key="id", empty="no ledger entries match", shape=ENTRY)
    if more and entries:
        out.message(f"older entries exist: add --before {entries[-1].id}")


# -- many accounts ---------------------------------------------------------------------------
def accounts(out: Output, rows, fmt: Format) -> None:
    if not rows and out.quiet:
        return  # -q: a cron alert mails only when there is something to say (not even a csv header)
    data = [ACCOUNT(account_id=r.account_id, user=r.user, package=r.package, credits_enabled=r.credits_enabled,
                    status=r.status, balance=format_amount(r.balance)) for r in rows]
    out.rows(data, ACCOUNT_COLUMNS, fmt, id_key="user", empty="no account matches", shape=ACCOUNT)


# -- bulk ------------------------------------------------------------------------------------
def _changed(p) -> dict[str, Any]:
    r = p.request
    fields = dict(user=r.holder.user, account_id=r.holder.account_id, amount=format_amount(r.amount),
                  balance=format_amount(p.after), key=r.key)
    return TOPUP(**fields) if r.line is None else TOPUP_AT_LINE(**fields, line=r.line)


def _unchanged(replay) -> dict[str, Any]:
    r = replay.request
    fields = dict(user=r.holder.user, account_id=r.holder.account_id, key=r.key, entry_id=replay.entry_id)
    return ALREADY(**fields) if r.line is None else ALREADY_AT_LINE(**fields, line=r.line)


def bulk_json(report) -> dict[str, Any]:
    return BULK_REPORT(
        changed=[_changed(p) for p in report.changed],
        unchanged=[_unchanged(r) for r in report.unchanged],
        failed=[ROW_FAILURE(id=f.id, line=f.line, error=f.error) for f in report.failed],
    )


def bulk(out: Output, report, fmt: Format, *, dry_run: bool = False) -> None:
    """The report as JSON when asked; else one summary line on stderr (none with -q). A dry run
    says so on stderr whatever the format: nothing was written, whatever the JSON lists."""
    if fmt is Format.json:
        out.json(bulk_json(report))
    if report.failed or (fmt is Format.json and not dry_run):
        return  # a refused run is the one error line the command raises
    what = "top-ups" if report.kind == "topup" else f"{report.kind}s"
    verb = "dry run: would apply" if dry_run else "applied"
    line = f"{verb} {len(report.changed)} {what} ({format_amount(report.total)} credits)"
    if report.unchanged:
        line += f"; {len(report.unchanged)} already applied"
    out.message(line + ("; nothing changed" if dry_run else ""))


def describe_failure(f) -> str:
    return f"line {f.line}: {f.error}" if f.line is not None else f"{f.id}: {f.error}"


def bulk_failure(report, source: str) -> MailadminError:
    """The one-line error for a run refused because of bad rows (nothing was applied), with the
    exit code of its first bad row."""
    first = report.failed[0]
    message = f"{source} {describe_failure(first)}"
    if len(report.failed) > 1:
        lines = [str(f.line) for f in report.failed[1:11] if f.line is not None]
        more = f" (lines {', '.join(lines)}{', ...' if len(report.failed) > 11 else ''})" if lines else ""
        message += f"; {len(report.failed) - 1} more refused{more}"
    return _error_class(first.exit_code)(message + "; nothing was applied")


def _error_class(code: int) -> type[MailadminError]:
    for cls in (InvalidInput, NotFound, Conflict, LimitExceeded, StoreUnavailable):
        if cls.exit_code == code:
            return cls
    return InvalidInput


# -- verify ----------------------------------------------------------------------------------
def problem_text(p) -> str:
    if p.problem == "wrong_sign":
        return f"a {p.kind} entry cannot have the amount {format_amount(p.amount)}"
    return PROBLEMS[p.problem]


def verify(out: Output, report, fmt: Format) -> None:
    problems = [MISMATCH(account_id=p.account_id, entry_id=p.entry_id, problem=problem_text(p), expected=_amount(p.expected),
                         found=_amount(p.found)) for p in report.problems]
    if fmt is Format.json:
        out.json(VERIFY(accounts=report.accounts, entries=report.entries, ok=report.ok, problems=problems))
        return
    for p in problems:
        where = f"account {p['account_id']}" + (f" entry #{p['entry_id']}" if p["entry_id"] else "")
        figures = f": ledger says {p['expected']}, stored {p['found']}" if p["expected"] is not None else ""
        out.message(f"{where}: {p['problem']}{figures}")
    if report.ok:
        out.message(f"ledger consistent: {counted(report.entries, 'entry', 'entries')}, {counted(report.accounts, 'account')}")


def verify_failure(report, fmt: Format) -> Failure | None:
    """The error that makes a mismatch exit 1, or None when the ledger is consistent."""
    if report.ok:
        return None
    accounts_ = len({p.account_id for p in report.problems})
    return Failure(f"the credits ledger does not match: {len(report.problems)} problem(s) in {accounts_} account(s)",
                   hint="each is listed above" if fmt is not Format.json else None)

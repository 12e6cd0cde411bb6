"""`mailadmin credits`: the append-only, idempotent credits ledger (balances, top-ups, verify)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from mailadmin import vocab
from mailadmin.cli.complete import complete_packages, complete_users
from mailadmin.cli.context import current
from mailadmin.cli.options import (DryRun, Fields, Force, Limit, NoHeaders, Offset, Output, Quiet, ReportOutput, ShowOutput, Sort,
                                   UserRef, bounded)
from mailadmin.render.output import LIST, REPORT, SHOW

app = typer.Typer(
    help="Credits: an append-only ledger per account; idempotent top-ups for cron jobs.",
    no_args_is_help=True,
)

# `-5` must reach the amount parser (adjust takes it; add and deduct explain why not) instead of
# being read as an unknown short option; `_plain` then refuses what really is an unknown option.
SIGNED = {"ignore_unknown_options": True, "allow_extra_args": True}

# the --kind choices, from the one declaration of the ledger's kinds
AddKind = Enum("AddKind", {k: k for k in vocab.CREDIT_KINDS}, type=str)
DeductKind = Enum("DeductKind", {k: k for k in vocab.DEBIT_KINDS}, type=str)
LedgerKind = Enum("LedgerKind", {k: k for k in vocab.LEDGER_KINDS}, type=str)

Reason = Annotated[Optional[str], typer.Option("--reason", "-r", metavar="TEXT", help="Why (kept in the ledger and the audit log).", show_default=False)]
RequiredReason = Annotated[str, typer.Option("--reason", "-r", metavar="TEXT", help="Why (kept in the ledger and the audit log).", show_default=False)]
Key = Annotated[
    Optional[str],
    typer.Option("--key", "-k", metavar="KEY", help="Idempotency key, per account: the same key and request again is a no-op (exit 0), "
                 "the same key for another request is exit 5. Cron: derive it, e.g. topup:2026-12.", show_default=False),
]
# ledger entry ids are store integers: a --before beyond 64 bits is a usage error, not a driver overflow
MAX_ENTRY_ID = 2**63 - 1
AmountArg = Annotated[Optional[str], typer.Argument(metavar="AMOUNT", help="Credits: digits with at most 4 decimals (10, 0.5, 12.3456).", show_default=False)]


def _plain(ctx: typer.Context, *values: str | None) -> None:
    """Unknown options are let through for `-5`; refuse whatever else arrived that way (a
    misspelt `--reason`, a stray word) as Click would."""
    import re

    from mailadmin.errors import InvalidInput

    given = [v for v in values if v is not None]
    for value in [*given, *ctx.args]:
        if value.startswith("-") and not re.match(r"^-[0-9.]", value):
            raise InvalidInput(f"no such option: {value}", hint=f"see `{ctx.command_path} --help`")
    if ctx.args:
        raise InvalidInput(f"unexpected extra argument(s): {' '.join(ctx.args)}", hint=f"see `{ctx.command_path} --help`")


@app.command("balance")
def credits_balance(user: UserRef, output: ShowOutput = None) -> None:
    """Show an account's credit balance (a team member's credits are its account's).

    Example: mailadmin credits balance alice@example.com -o json
    """
    from mailadmin.cli import parse
    from mailadmin.render import credits as render
    from mailadmin.services import credits

    inv = current()
    fmt = inv.format(output, SHOW)
    ref = parse.user_ref(user)
    with inv.read() as op:
        holder = credits.balance(op, ref)
    render.balance(inv.out, holder, fmt)


@app.command("add", context_settings=SIGNED)
def credits_add(
    ctx: typer.Context,
    user: Annotated[Optional[str], typer.Argument(metavar="USER", help="Email or #ID (leave out with --package or --from-file).",
                                                   autocompletion=complete_users, show_default=False)] = None,
    amount: AmountArg = None,
    reason: Reason = None,
    key: Key = None,
    from_file: Annotated[Optional[str], typer.Option("--from-file", "-f", metavar="FILE",
                                                     help="CSV with the header user,amount,reason,key (- for stdin). All rows or none.",
                                                     show_default=False)] = None,
    package: Annotated[Optional[str], typer.Option("--package", "-p", metavar="PKG", autocompletion=complete_packages,
                                                   help="Every active account of this package; needs --key (made per account: KEY:ACCOUNT_ID).",
                                                   show_default=False)] = None,
    kind: Annotated[AddKind, typer.Option("--kind", metavar="KIND", help="Ledger kind of the entry: topup or refund.")] = AddKind[vocab.TOPUP],
    force: Force = False,
    dry_run: DryRun = False,
    quiet: Quiet = False,
    output: ShowOutput = None,
) -> None:
    """Add credits to one account, every account in a CSV file, or every active account of a package.

    Example: mailadmin credits add alice@example.com 100 --reason "December plan" --key topup:2026-12
    """
    from mailadmin.cli import parse
    from mailadmin.errors import InvalidInput
    from mailadmin.render import credits as render
    from mailadmin.services import credits

    _plain(ctx, user, amount)
    inv = current()
    fmt = inv.format(output, SHOW)
    if from_file is not None:
        if user is not None or amount is not None or package or reason is not None or key is not None:
            raise InvalidInput("--from-file takes user, amount, reason and key from the file; give no USER, AMOUNT, --reason, --key or --package")
        _add_from_file(from_file, kind.value, force, dry_run, fmt)
        return
    if package is not None:
        if amount is not None:
            raise InvalidInput("with --package give only AMOUNT, not a user", hint="usage: mailadmin credits add --package PKG AMOUNT --reason TEXT --key KEY")
        if user is None:
            raise InvalidInput("missing AMOUNT", hint="usage: mailadmin credits add --package PKG AMOUNT --reason TEXT --key KEY")
        units = parse.signed_amount(user, kind.value)  # with --package the one positional is the amount
        with inv.out.progress(not inv.out.quiet) as progress, _transaction(inv, dry_run) as op:
            report = credits.topup_package(op, package, units, reason, key, kind=kind.value, force=force, dry_run=dry_run,
                                           progress=progress)
        render.bulk(inv.out, report, fmt, dry_run=dry_run)
        if report.failed:
            raise render.bulk_failure(report, f"package {package}:")
        return
    if dry_run:
        raise InvalidInput("--dry-run works with --package and --from-file only")
    if user is None or amount is None:
        raise InvalidInput("missing USER and AMOUNT" if user is None else "missing AMOUNT",
                           hint="usage: mailadmin credits add USER AMOUNT --reason TEXT [--key KEY]")
    _one_entry(inv, user, amount, kind.value, reason, key, force, fmt)


def _one_entry(inv, user: str, amount: str, kind: str, reason: str | None, key: str | None, force: bool, fmt) -> None:
    """`credits add/deduct/adjust USER AMOUNT`: one entry through the ledger's single append."""
    from mailadmin.cli import parse
    from mailadmin.render import credits as render
    from mailadmin.services import credits

    units = parse.signed_amount(amount, kind)
    ref = parse.user_ref(user)
    with inv.write() as op:
        result = credits.apply(op, ref, kind, units, reason, key=key, force=force)
    render.applied(inv.out, result, fmt)


def _transaction(inv, dry_run: bool):
    """A dry run plans inside a read: it takes no write lock and cannot commit anything."""
    return inv.read() if dry_run else inv.write()


def _add_from_file(path: str, kind: str, force: bool, dry_run: bool, fmt) -> None:
    from mailadmin.render import credits as render
    from mailadmin.services import credits, csvrows

    inv = current()
    # read (and check) the whole file before taking the write lock: a slow pipe must not block other writers
    with csvrows.open_source(path, inv.stdin) as (stream, source):
        rows, failures = credits.read_topups(stream, source)
    with inv.out.progress(not inv.out.quiet) as progress, _transaction(inv, dry_run) as op:
        report = credits.topup_rows(op, rows, kind=kind, force=force, failures=failures, dry_run=dry_run, progress=progress)
    render.bulk(inv.out, report, fmt, dry_run=dry_run)
    if report.failed:
        raise render.bulk_failure(report, source)


@app.command("deduct", context_settings=SIGNED)
def credits_deduct(
    ctx: typer.Context,
    user: UserRef,
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="Credits to take: positive, at most 4 decimals.", show_default=False)],
    reason: RequiredReason,
    key: Key = None,
    kind: Annotated[DeductKind, typer.Option("--kind", metavar="KIND", help="Ledger kind of the entry: spend or overuse.")] = DeductKind[vocab.SPEND],
    force: Force = False,
    quiet: Quiet = False,
    output: ShowOutput = None,
) -> None:
    """Take credits from an account; never below zero (exit 6 with the shortfall).

    Example: mailadmin credits deduct alice@example.com 2.5 --reason "campaign 118" --key send:118
    """
    _plain(ctx, user, amount)
    inv = current()
    _one_entry(inv, user, amount, kind.value, reason, key, force, inv.format(output, SHOW))


@app.command("adjust", context_settings=SIGNED)
def credits_adjust(
    ctx: typer.Context,
    user: UserRef,
    amount: Annotated[Optional[str], typer.Argument(metavar="AMOUNT", help="Signed correction: 5 or -5 (or --amount).", show_default=False)] = None,
    amount_option: Annotated[Optional[str], typer.Option("--amount", "-a", metavar="AMOUNT", help="The signed correction, e.g. --amount -5.",
                                                         show_default=False)] = None,
    reason: Reason = None,
    key: Key = None,
    force: Force = False,
    quiet: Quiet = False,
    output: ShowOutput = None,
) -> None:
    """Correct a balance in either direction; the one way to go below zero. A reason is required.

    Example: mailadmin credits adjust alice@example.com -5 --reason "double charge, ticket 4411"
    """
    from mailadmin.errors import InvalidInput

    _plain(ctx, user, amount)
    if amount is not None and amount_option is not None:
        raise InvalidInput("give the amount once: as AMOUNT or as --amount")
    raw = amount if amount is not None else amount_option
    if raw is None:
        raise InvalidInput("missing AMOUNT", hint="usage: mailadmin credits adjust USER -5 --reason TEXT (or --amount -5)")
    inv = current()
    _one_entry(inv, user, raw, vocab.ADJUST, reason, key, force, inv.format(output, SHOW))


@app.command("history")
def credits_history(
    user: UserRef,
    kind: Annotated[Optional[list[LedgerKind]], typer.Option("--kind", metavar="KIND", help="Only entries of this kind (repeatable).", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", metavar="WHEN", help="From this time: ISO date or time (UTC), or a span back from now: 12h, 7d.", show_default=False)] = None,
    until: Annotated[Optional[str], typer.Option("--until", metavar="WHEN", help="Before this time (same forms as --since).", show_default=False)] = None,
    before: Annotated[Optional[int], typer.Option("--before", min=1, max=MAX_ENTRY_ID, metavar="ID", help="Page back: only entries older than entry ID.",
                                                  show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", callback=bounded, metavar="N", help="At most this many entries, newest first (0: all).")] = 50,
    offset: Offset = 0,
    fields: Fields = None,
    no_headers: NoHeaders = False,
    sort: Sort = None,
    quiet: Quiet = False,
    output: Output = None,
) -> None:
    """List an account's ledger entries, newest first, a page at a time.

    Example: mailadmin credits history alice@example.com --kind topup --since 30d -o json
    """
    from mailadmin.cli import parse
    from mailadmin.render import credits as render
    from mailadmin.services import credits

    inv = current()
    fmt = inv.format(output, LIST)
    since_at, until_at = inv.when(since), inv.when(until)
    ref = parse.user_ref(user)
    page, skip = inv.listing(fields, no_headers, sort, limit, offset, store_pages=True)
    with inv.read() as op:
        _holder, entries, more = credits.history(op, ref, kinds=[k.value for k in kind or []], since=since_at, until=until_at,
                                                 before=before, limit=page, offset=skip)
    render.history(inv.out, entries, fmt, more=more)


@app.command("list")
def credits_list(
    below: Annotated[Optional[str], typer.Option("--below", metavar="AMOUNT", help="Only balances lower than AMOUNT (the low-balance report).",
                                                 show_default=False)] = None,
    package: Annotated[Optional[str], typer.Option("--package", "-p", metavar="PKG", autocompletion=complete_packages,
                                                   help="Only accounts on this package.", show_default=False)] = None,
    include_all: Annotated[bool, typer.Option("--all", help="Also accounts without credits enabled and closed ones.")] = False,
    fields: Fields = None, no_headers: NoHeaders = False, sort: Sort = None, limit: Limit = None, offset: Offset = 0,
    quiet: Quiet = False,
    output: Output = None,
) -> None:
    """List account balances, lowest first; with --below, the low-balance report a cron alert reads.

    Example: mailadmin credits list --below 100 -q -o csv
    """
    from mailadmin.render import credits as render
    from mailadmin.services import credits
    from mailadmin.units import parse_amount

    inv = current()
    fmt = inv.format(output, LIST)
    threshold = parse_amount(below, what="--below", allow_zero=True, allow_negative=True) if below is not None else None
    inv.listing(fields, no_headers, sort, limit, offset)
    with inv.read() as op:
        rows = credits.accounts(op, below=threshold, package=package, include_all=include_all)
    render.accounts(inv.out, rows, fmt)


@app.command("verify")
def credits_verify(quiet: Quiet = False, output: ReportOutput = None) -> None:
    """Recompute every balance from the ledger: exit 0 when all agree, 1 naming each mismatch.

    Example: mailadmin credits verify -o json
    """
    from mailadmin.render import credits as render
    from mailadmin.services import ledger_verify

    inv = current()
    fmt = inv.format(output, REPORT)
    with inv.read() as op:
        report = ledger_verify.verify(op)
    render.verify(inv.out, report, fmt)
    if failure := render.verify_failure(report, fmt):
        raise failure

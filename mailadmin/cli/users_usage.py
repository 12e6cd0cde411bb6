"""`mailadmin users record` and `users usage`: sends counted against the hourly, daily and monthly
limits and a domain's monthly cap, overuse paid with credits, and usage reports with bars.

Registered onto the `users` group by cli/users.py. `record` is called per send batch, so its path
imports no Rich and nothing the decision does not need."""

from __future__ import annotations

import re
from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import complete_packages, complete_users
from mailadmin.cli.context import current
from mailadmin.cli.options import Quiet, ReportOutput, ShowOutput, UserRef, bounded
from mailadmin.render.output import REPORT, SHOW

TABLE_PAGE = 100  # accounts a --over table shows unless --limit says otherwise; json and csv get all
_COUNT = re.compile(r"[0-9]+")  # ASCII digits only: `٣`, `1e3`, `+5` and `5_000` are typos, not counts


def count(raw: str | None, option: str) -> int:
    """A whole number of sends or a resource count, spelled in ASCII digits."""
    from mailadmin.errors import InvalidInput

    value = (raw or "").strip(" \t")
    if value.startswith("-") and _COUNT.fullmatch(value[1:]):
        raise InvalidInput(f"{option} must be 0 or more, not {value}")
    if not _COUNT.fullmatch(value):
        raise InvalidInput(f"{option} must be a whole number (ASCII digits), not {raw!r}")
    if len(value) > 18:  # far past any count; int() of thousands of digits is refused by Python itself
        raise InvalidInput(f"{option} {value[:20]}... is too large")
    return int(value)


def resource_assignments(items: list[str]) -> dict[str, int]:
    """`contacts=1234` -> {"contacts": 1234}; a name given twice with different counts is refused."""
    from mailadmin.errors import InvalidInput

    out: dict[str, int] = {}
    for item in items:
        if "=" not in item:
            raise InvalidInput(f"{item!r} is not NAME=COUNT (e.g. contacts=1234)")
        raw_name, raw_value = item.split("=", 1)
        name = raw_name.strip(" \t").lower().replace("-", "_")
        value = count(raw_value, name or "a count")
        if name in out and out[name] != value:
            raise InvalidInput(f"{name} is given twice with different counts")
        out[name] = value
    return out


def users_record(
    user: UserRef,
    sent: Annotated[str, typer.Option("--sent", metavar="N", show_default=False, help="Sends to count: a whole number.")],
    bounced: Annotated[Optional[str], typer.Option("--bounced", metavar="M", show_default=False,
                                                   help="How many of those sends bounced (at most N).")] = None,
    domain: Annotated[Optional[str], typer.Option("--domain", metavar="DOMAIN", show_default=False,
                                                  help="The sending domain (its monthly cap applies; one of the account's).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Answer as if counting (same exit codes); count nothing.")] = False,
    output: ReportOutput = None,
    quiet: Quiet = False,
) -> None:
    """Count sends against the hourly, daily and monthly limits and the domain's cap, in one decision.

    Within every limit: counted (exit 0). Past one, with overuse allowed and credits enough: the
    largest excess is charged as one overuse ledger entry, and counted. Otherwise nothing is counted
    (exit 6, naming the limit and when it resets). A suspended, closed or expired account: exit 5.
    A bounce rate past the package's limit suspends the account (the send is still counted).

    Example: mailadmin users record alice@example.com --sent 500 --bounced 3 --domain mail.example.com
    """
    from mailadmin.refs import parse_ref
    from mailadmin.render import usage as render
    from mailadmin.services import usage

    inv = current()
    fmt = inv.format(output, REPORT)
    n, m = count(sent, "--sent"), count(bounced, "--bounced") if bounced is not None else 0
    usage.check_counts(n, m)
    ref = parse_ref(user)
    with (inv.read() if dry_run else inv.write()) as op:
        result = usage.record(op, ref, n, m, domain=domain, dry_run=dry_run)
    render.recorded(inv.out, result, fmt)


def users_usage(
    user: Annotated[Optional[str], typer.Argument(metavar="USER", autocompletion=complete_users, show_default=False,
                                                  help="A user (email or #ID): its account's usage.")] = None,
    over: Annotated[Optional[str], typer.Option("--over", metavar="PCT", show_default=False,
                                                help="Instead: every account using at least PCT % of any limit, worst first.")] = None,
    package: Annotated[Optional[str], typer.Option("--package", "-p", metavar="PKG", autocompletion=complete_packages,
                                                   show_default=False, help="With --over: only this package's accounts.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="NAME=COUNT", show_default=False,
                                                      help="Record a resource count as the platform reports it "
                                                           "(contacts, segments, triggers, ...; repeatable).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", callback=bounded, metavar="N", show_default=False,
                                                 help=f"With --over: the worst N accounts (0: all). Default: {TABLE_PAGE} "
                                                      "for a table, all otherwise.")] = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Usage against every limit as bars (used, limit, left, %, source, reset), or accounts over PCT.

    Example: mailadmin users usage alice@example.com --set contacts=1234 --set segments=12
    """
    from mailadmin.cli import parse
    from mailadmin.errors import InvalidInput
    from mailadmin.render import usage as render
    from mailadmin.services import usage

    inv = current()
    fmt = inv.format(output, SHOW)
    if over is not None:
        if user is not None or set_:
            raise InvalidInput("--over lists every account: give it without USER and --set")
        threshold = usage.parse_percent(over)
        from mailadmin.render.output import Format

        if limit is None:
            limit = TABLE_PAGE if fmt is Format.table else 0
        inv.listing(limit=limit)
        with inv.read() as op:
            if not op.actor.is_operator:
                from mailadmin.errors import PermissionDenied

                raise PermissionDenied("`users usage --over` is an operator action; a client user (--as) never holds it")
            rows = usage.over(op, threshold, package=package)
        render.over(inv.out, rows, fmt, threshold, shown=limit or None)
        return
    if package is not None or limit is not None:
        raise InvalidInput(f"{'--package' if package is not None else '--limit'} goes with --over")
    if user is None:
        raise InvalidInput("give a USER, or --over PCT for every account over a threshold", hint="see `mailadmin users usage --help`")
    ref = parse.user_ref(user)
    if set_:
        values = usage.check_resources(resource_assignments(set_))
        with inv.write() as op:
            rep, changed = usage.set_resources(op, ref, values)
        render.resources_set(inv.out, changed)
    else:
        with inv.read() as op:
            rep = usage.report(op, ref)
    render.usage(inv.out, rep, fmt)


def register(app: typer.Typer) -> None:
    app.command("usage")(users_usage)
    app.command("record")(users_record)

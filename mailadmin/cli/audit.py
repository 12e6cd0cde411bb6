"""`mailadmin audit`: the hash-chained log of every change."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.context import current
from mailadmin.cli.options import Fields, NoHeaders, Offset, Output, Quiet, ReportOutput, Sort, bounded
from mailadmin.render.output import LIST, REPORT

app = typer.Typer(help="The audit log: who changed what, when, before and after.", no_args_is_help=True)


@app.command("list")
def audit_list(
    actor: Annotated[Optional[str], typer.Option("--actor", metavar="ACTOR", help="Only changes by this actor.", show_default=False)] = None,
    target: Annotated[Optional[str], typer.Option("--target", metavar="TARGET", help="Only this target (role:support), or a kind (user:).", show_default=False)] = None,
    action: Annotated[Optional[str], typer.Option("--action", metavar="ACTION", help="Only this action (role.grant).", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", metavar="WHEN", help="ISO date or time (UTC), or a span back from now: 12h, 7d.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", callback=bounded, help="At most this many entries, newest first (0: all).")] = 100,
    offset: Offset = 0,
    fields: Fields = None,
    no_headers: NoHeaders = False,
    sort: Sort = None,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """List audit entries, newest first.

    Example: mailadmin audit list --target role:support --since 7d -o json
    """
    from mailadmin.render import audit as render
    from mailadmin.services import audit

    inv = current()
    fmt = inv.format(output, LIST)
    since_at = inv.when(since)
    page, skip = inv.listing(fields, no_headers, sort, limit, offset, store_pages=True)
    with inv.read() as op:
        rows = audit.entries(op, actor=actor, target=target, action=action, since=since_at, limit=page, offset=skip)
    render.entries(inv.out, rows, fmt)


@app.command("verify")
def audit_verify(
    from_hash: Annotated[Optional[str], typer.Option("--from", metavar="HASH", show_default=False,
                                                     help="A head kept elsewhere (`audit head`): the log must still hold it.")] = None,
    output: ReportOutput = None,
) -> None:
    """Check the hash chain: exit 0 when intact, 1 naming what was edited or deleted.

    Example: mailadmin audit verify --from "$(cat /secure/audit-head)"
    """
    import re

    from mailadmin.errors import Failure, InvalidInput
    from mailadmin.render import audit as render
    from mailadmin.services import audit

    inv = current()
    fmt = inv.format(output, REPORT)
    if from_hash is not None:
        from_hash = from_hash.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", from_hash):
            raise InvalidInput("--from takes the 64 hex digits `mailadmin audit head` printed")
    with inv.read() as op:
        result = audit.verify(op, from_hash=from_hash)
    render.verified(inv.out, result, fmt)
    if result.problems:
        raise Failure(render.tampered(result))


@app.command("head")
def audit_head(output: ReportOutput = None) -> None:
    """Print the newest entry's sequence number and hash, to keep somewhere the store's writers cannot reach.

    Example: mailadmin audit head -o json > /secure/audit-head.json
    """
    from mailadmin.render import audit as render
    from mailadmin.services import audit

    inv = current()
    fmt = inv.format(output, REPORT)
    with inv.read() as op:
        h = audit.head(op)
    render.head(inv.out, h, fmt)

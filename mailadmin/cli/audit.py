"""`mailadmin audit`: the hash-chained log of every change."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.options import Output

app = typer.Typer(help="The audit log: who changed what, when, before and after.", no_args_is_help=True)


@app.command("list")
def audit_list(
    actor: Annotated[Optional[str], typer.Option("--actor", metavar="ACTOR", help="Only changes by this actor.", show_default=False)] = None,
    target: Annotated[Optional[str], typer.Option("--target", metavar="TARGET", help="Only this target (role:support), or a kind (user:).", show_default=False)] = None,
    action: Annotated[Optional[str], typer.Option("--action", metavar="ACTION", help="Only this action (role.grant).", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", metavar="WHEN", help="ISO date or time (UTC), or a span back from now: 12h, 7d.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", min=0, help="At most this many entries, newest first (0: all).")] = 100,
    output: Output = None,
) -> None:
    """List audit entries, newest first.

    Example: mailadmin audit list --target role:support --since 7d -o json
    """
    from mailadmin.cli.context import output_format, read
    from mailadmin.render.output import Column, emit_list
    from mailadmin.services import audit
    from mailadmin.timeutil import parse_when

    fmt = output_format(output)
    since_at = parse_when(since) if since else None
    with read() as session:
        rows = audit.entries(session, actor=actor, target=target, action=action, since=since_at, limit=limit or None)
    emit_list(
        [{"id": r.id, "at": r.at, "actor": r.actor, "action": r.action, "target": r.target, "before": r.before, "after": r.after} for r in rows],
        [Column("id", justify="right"), Column("at"), Column("actor"), Column("action"), Column("target")],
        fmt,
        id_key="id",
        empty="no audit entries match",
    )


@app.command("verify")
def audit_verify(output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FORMAT", help="table or json.", show_default=False)] = None) -> None:
    """Check the hash chain: exit 0 when intact, 1 naming each edited or deleted entry.

    Example: mailadmin audit verify
    """
    from mailadmin.cli.context import read
    from mailadmin.errors import Failure, InvalidInput
    from mailadmin.render.output import counted, emit_json, message
    from mailadmin.services import audit

    if output not in (None, "table", "json"):
        raise InvalidInput("audit verify prints table or json")
    with read() as session:
        checked, problems = audit.verify(session)
    if output == "json":
        emit_json({"checked": checked, "ok": not problems, "problems": [{"id": p.entry_id, "problem": p.problem} for p in problems]})
    else:
        for p in problems:
            message(f"entry {p.entry_id}: {p.problem}")
    if problems:
        raise Failure(f"the audit log has been tampered with: {len(problems)} problem(s) in {checked} entries")
    if output != "json":
        message(f"audit log intact: {counted(checked, 'entry', 'entries')}")

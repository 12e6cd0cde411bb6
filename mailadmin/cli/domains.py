"""`mailadmin domains`: sending domains of client accounts, and team members' grants on them."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import choice, complete_domains, complete_users
from mailadmin.cli.context import current
from mailadmin.cli.options import Fields, NoHeaders, Offset, Output, Quiet, ShowOutput, Sort, Yes, bounded
from mailadmin.render.output import LIST, SHOW
from mailadmin.vocab import DOMAIN_ROLES

TABLE_PAGE = 500  # rows a table shows unless --limit says otherwise; scripts (json, csv, ids) get all

app = typer.Typer(help="Domains: sending domains of client accounts, and members' grants on them.", no_args_is_help=True)

DomainArg = Annotated[str, typer.Argument(metavar="DOMAIN", help="A domain name (Unicode or punycode; any case).",
                                          autocompletion=complete_domains, show_default=False)]
Member = Annotated[str, typer.Argument(metavar="MEMBER", help="A team member of the domain's account: email or #ID.",
                                       autocompletion=complete_users, show_default=False)]
Limit = Annotated[Optional[int], typer.Option("--limit", "-n", callback=bounded, metavar="N", show_default=False,
                                              help=f"At most N domains (0: all). Default: {TABLE_PAGE} for tables, all otherwise.")]


@app.command("add")
def domains_add(
    domain: DomainArg,
    user: Annotated[str, typer.Option("--user", metavar="OWNER", autocompletion=complete_users, show_default=False,
                                      help="The account owner (or a member: its account).")],
    selector: Annotated[Optional[str], typer.Option("--selector", metavar="S", show_default=False,
                                                    help="The DKIM selector (default: ma + today's date, ma20261126).")] = None,
    algorithm: Annotated[str, typer.Option("--algorithm", metavar="ALG", autocompletion=choice("rsa", "ed25519"),
                                           help="The DKIM key: rsa (2048 bits) or ed25519 (RFC 8463).")] = "rsa",
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Add a sending domain to an account, with a DKIM key (the package's `domains` limit applies).

    Example: mailadmin domains add mail.example.com --user alice@example.com
    """
    from mailadmin.cli import parse
    from mailadmin.render import domains as render
    from mailadmin.services import domains

    inv = current()
    fmt = inv.format(output, SHOW)
    ref = parse.user_ref(user)
    with inv.write() as op:
        detail = domains.add(op, domain, ref, selector=selector, algorithm=algorithm)
    render.added(inv.out, detail, fmt)


@app.command("list")
def domains_list(
    user: Annotated[Optional[str], typer.Option("--user", metavar="USER", autocompletion=complete_users, show_default=False,
                                                help="Only the domains of this user's account.")] = None,
    search: Annotated[Optional[str], typer.Option("--search", metavar="TEXT", show_default=False,
                                                  help="Name contains TEXT (Unicode text matches its punycode).")] = None,
    fields: Fields = None,
    no_headers: NoHeaders = False,
    sort: Sort = None,
    limit: Limit = None,
    offset: Offset = 0,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """List sending domains by name, with their account owner and how many members hold a grant.

    Example: mailadmin domains list --user alice@example.com -o json
    """
    from mailadmin.cli import parse
    from mailadmin.render import domains as render
    from mailadmin.render.output import Format
    from mailadmin.services import domains

    inv = current()
    fmt = inv.format(output, LIST)
    ref = parse.user_ref(user) if user is not None else None
    if limit is None:
        limit = TABLE_PAGE if fmt in (Format.table, Format.wide) else 0
    page, skip = inv.listing(fields, no_headers, sort, limit, offset, store_pages=True)
    with inv.read() as op:
        # one more than shown tells whether there is more
        rows = domains.list_domains(op, user=ref, search=search, limit=page + 1 if page else None, offset=skip)
    if page:
        more = len(rows) > page
        rows = rows[:page]
    else:
        more = bool(limit) and len(rows) > offset + limit
    render.domains_list(inv.out, rows, fmt, cut_at=limit if more else None)


@app.command("show")
def domains_show(domain: DomainArg, output: ShowOutput = None) -> None:
    """Show a domain: its account, settings and the members' grants on it.

    Example: mailadmin domains show mail.example.com -o json
    """
    from mailadmin.render import domains as render
    from mailadmin.services import domains

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.read() as op:
        detail = domains.show(op, domain)
    render.domain_show(inv.out, detail, fmt)


@app.command("remove")
def domains_remove(domain: DomainArg, yes: Yes = False, quiet: Quiet = False) -> None:
    """Remove a sending domain (and every grant on it).

    Example: mailadmin domains remove mail.example.com --yes
    """
    from mailadmin.render import domains as render
    from mailadmin.services import domains

    inv = current()
    if not yes:
        with inv.read() as op:  # what would be refused is refused before anyone is asked
            plan = domains.remove(op, domain, dry_run=True)
        inv.confirm(render.removal_question(plan), yes)
    with inv.write() as op:
        detail = domains.remove(op, domain)
    render.removed(inv.out, detail)


@app.command("grant")
def domains_grant(
    domain: DomainArg,
    member: Member,
    role: Annotated[str, typer.Option("--role", metavar="ROLE", autocompletion=choice(*DOMAIN_ROLES), show_default=False,
                                      help="admin (manage the domain and its members) or viewer (settings, reports, logs).")],
    email_content: Annotated[bool, typer.Option("--email-content", help="Also let them read email bodies in the domain's logs.")] = False,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Make a team member admin or viewer of one domain (a new grant replaces the old one).

    Example: mailadmin domains grant mail.example.com bob@example.com --role viewer --email-content
    """
    from mailadmin.cli import parse
    from mailadmin.render import domains as render
    from mailadmin.services import domains

    inv = current()
    fmt = inv.format(output, SHOW)
    ref = parse.user_ref(member)
    with inv.write() as op:
        change = domains.grant(op, domain, ref, role, email_content=email_content)
    render.granted(inv.out, change, fmt)


@app.command("revoke")
def domains_revoke(domain: DomainArg, member: Member, quiet: Quiet = False) -> None:
    """Take away a member's grant on one domain (they stay on the team).

    Example: mailadmin domains revoke mail.example.com bob@example.com
    """
    from mailadmin.cli import parse
    from mailadmin.render import domains as render
    from mailadmin.services import domains

    inv = current()
    ref = parse.user_ref(member)
    with inv.write() as op:
        change = domains.revoke(op, domain, ref)
    render.revoked(inv.out, change)

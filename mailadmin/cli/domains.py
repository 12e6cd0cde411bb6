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
    """List sending domains by name: account owner, members with a grant, verification and settings.

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
    """Show a domain: its account, settings, DKIM keys, DNS verification, SMTP login and members' grants.

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
    """Remove a sending domain, with its DKIM keys, DNS check results, SMTP login and grants (its audit entries stay).

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


@app.command("set")
def domains_set(
    domain: DomainArg,
    open_tracking: Annotated[Optional[bool], typer.Option("--open-tracking/--no-open-tracking", show_default=False,
                                                          help="Track opens (a pixel in HTML mail).")] = None,
    click_tracking: Annotated[Optional[bool], typer.Option("--click-tracking/--no-click-tracking", show_default=False,
                                                           help="Track clicks (links rewritten through the tracking host).")] = None,
    unsubscribe_footer: Annotated[Optional[bool], typer.Option("--unsubscribe-footer/--no-unsubscribe-footer", show_default=False,
                                                               help="Add the unsubscribe footer to every message.")] = None,
    monthly_cap: Annotated[Optional[str], typer.Option("--monthly-cap", metavar="N|unlimited", show_default=False,
                                                       help="At most N emails a calendar month (UTC) from this domain, or unlimited.")] = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Change a domain's settings: tracking, the unsubscribe footer, its monthly cap (only what is given).

    Example: mailadmin domains set mail.example.com --no-click-tracking --monthly-cap 50000
    """
    from mailadmin.cli import parse
    from mailadmin.render import domains as render
    from mailadmin.services import domains

    inv = current()
    fmt = inv.format(output, SHOW)
    values: dict[str, bool | int | None] = {
        name: value for name, value in (("open_tracking", open_tracking), ("click_tracking", click_tracking),
                                        ("unsubscribe_footer", unsubscribe_footer)) if value is not None
    }
    if monthly_cap is not None:
        values["monthly_cap"] = parse.limit_value(monthly_cap, "--monthly-cap")
    if not values:  # a usage error before the store is opened
        from mailadmin.errors import InvalidInput

        raise InvalidInput("give at least one setting to change", hint="see `mailadmin domains set --help`")
    with inv.write() as op:
        change = domains.set_settings(op, domain, values)
    render.settings_set(inv.out, change, fmt)


OptionalDomain = Annotated[Optional[str], typer.Argument(
    metavar="[DOMAIN]", help="A domain name (optional with --export-passwd: every domain).",
    autocompletion=complete_domains, show_default=False)]


@app.command("credentials")
def domains_credentials(
    domain: OptionalDomain = None,
    reset: Annotated[bool, typer.Option("--reset", help="Make a new password (the first reset makes the login) and print it, "
                                                        "this once.")] = False,
    grace: Annotated[Optional[str], typer.Option("--grace", metavar="DURATION", show_default=False,
                                                 help="With --reset: the old password stays valid this long (30m, 2h, 7d; at most 30d).")] = None,
    check: Annotated[bool, typer.Option("--check", help="Read a password on stdin (one line): exit 0 when it opens the login "
                                                        "(the previous one too, within its grace), else 1.")] = False,
    export_passwd: Annotated[bool, typer.Option("--export-passwd", help="Print username:{ARGON2ID}... lines for a Dovecot "
                                                                        "passwd-file (every domain, or DOMAIN); operators only.")] = False,
    previous: Annotated[bool, typer.Option("--previous", help="With --export-passwd: the previous passwords still within their "
                                                              "grace, for a second passdb.")] = False,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """A domain's SMTP login: show it, reset its password (shown once), check a password, or export them for Dovecot.

    Example: mailadmin domains credentials mail.example.com --reset --grace 2h
    """
    from mailadmin.errors import ExitCode, InvalidInput
    from mailadmin.render import domains as render
    from mailadmin.services import credentials

    inv = current()
    modes = [flag for flag, given in (("--reset", reset), ("--check", check), ("--export-passwd", export_passwd)) if given]
    if len(modes) > 1:
        raise InvalidInput(f"{' and '.join(modes)} cannot be used together", hint="see `mailadmin domains credentials --help`")
    if grace is not None and not reset:
        raise InvalidInput("--grace goes with --reset (how long the old password stays valid)")
    if previous and not export_passwd:
        raise InvalidInput("--previous goes with --export-passwd")
    if output is not None and (check or export_passwd):
        raise InvalidInput(f"-o does not go with {modes[0]}: it prints " + ("nothing on stdout; its answer is the exit status"
                           if check else "passwd-file lines"))
    if domain is None and not export_passwd:
        raise InvalidInput("missing argument DOMAIN", hint="see `mailadmin domains credentials --help`")
    if export_passwd:
        with inv.read() as op:
            lines = credentials.passwd_lines(op, domain, previous=previous)
        inv.out.lines(lines)
        return
    if check:
        password = _password_from_stdin(inv)
        with inv.read() as op:
            result = credentials.check(op, domain, password)
        if result.matched is None:
            inv.out.message(f"the password does not open the SMTP login {result.username}")
            raise typer.Exit(ExitCode.FAILURE)
        inv.out.message(f"the password opens the SMTP login {result.username} ({result.matched} password)")
        return
    fmt = inv.format(output, SHOW)
    if reset:
        span = credentials.parse_grace(grace) if grace is not None else None
        with inv.write() as op:
            issued = credentials.reset(op, domain, grace=span)
        render.secret_issued(inv.out, issued, fmt)
        return
    with inv.read() as op:
        summary = credentials.show(op, domain)
    render.credentials_show(inv.out, summary, fmt)


def _password_from_stdin(inv) -> str:
    """One line of stdin without its line end; from a terminal, asked without echo."""
    from mailadmin.errors import InvalidInput
    from mailadmin.services.credentials import PASSWORD_MAX

    try:
        if inv.stdin.isatty():
            import getpass

            line = getpass.getpass("password: ", stream=inv.stderr)
        else:
            line = inv.stdin.readline(PASSWORD_MAX + 3)
    except UnicodeDecodeError:
        raise InvalidInput("stdin is not UTF-8 text") from None
    except (AttributeError, ValueError, OSError):
        line = ""
    password = line[:-2] if line.endswith("\r\n") else line[:-1] if line.endswith("\n") else line
    if not password:
        raise InvalidInput("--check reads the password on stdin, one line, and found none")
    return password


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


from mailadmin.cli import domains_dns  # noqa: E402
domains_dns.register(app)

"""`mailadmin users`: client accounts and their teams, limits, lifecycle (one user or a stream of ids), IP allow-lists."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mailadmin.cli.complete import LIMIT_ASSIGNMENTS, LIMIT_NAMES, STATUSES, SUSPENSION_CODES, complete_packages, complete_roles, complete_users
from mailadmin.cli.context import current
from mailadmin.cli.options import (BulkOutput, DryRun, Fields, NoHeaders, Offset, Output, Quiet, ShowOutput, SkipMissing, Sort,
                                   Stdin, UserRef, UserRefs, Yes, bounded)
from mailadmin.render.output import BULK, LIST, SHOW

TABLE_PAGE = 500  # rows a table shows unless --limit says otherwise; scripts (json, csv, ids) get all

app = typer.Typer(help="Users: client accounts and their teams, limits, suspensions, closing, IP allow-lists.", no_args_is_help=True)

Package = Annotated[Optional[str], typer.Option("--package", "-p", metavar="PKG", help="The account's package.", autocompletion=complete_packages, show_default=False)]
Name = Annotated[Optional[str], typer.Option("--name", metavar="TEXT", help="The person's name.", show_default=False)]
Reason = Annotated[Optional[str], typer.Option("--reason", metavar="TEXT", help="Why (kept with the record and in the audit log).", show_default=False)]
Code = Annotated[Optional[str], typer.Option("--code", metavar="CODE", autocompletion=SUSPENSION_CODES, help="Reason code: billing, abuse, bounces, manual (default), ...", show_default=False)]
Force = Annotated[bool, typer.Option("--force", help="Delete users that are not closed too.")]
Cidrs = Annotated[list[str], typer.Argument(metavar="CIDR", help="IPv4/IPv6 addresses or networks (203.0.113.7, 2001:db8::/32).", show_default=False)]
Limit = Annotated[Optional[int], typer.Option("--limit", "-n", callback=bounded, metavar="N", show_default=False,
                                              help=f"At most N users (0: all). Default: {TABLE_PAGE} for tables, all otherwise.")]
MemberRole = Annotated[Optional[str], typer.Option("--role", metavar="ROLE", autocompletion=complete_roles, show_default=False,
                                                   help="The member role (required): built-in or custom, not `owner`.")]


@app.command("create")
def users_create(
    email: Annotated[Optional[str], typer.Argument(metavar="EMAIL", help="The owner's email (validated, stored lower-case).", show_default=False)] = None,
    package: Package = None,
    name: Name = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Create an account owner on a package (a wizard asks for what is missing at a terminal).

    Example: mailadmin users create alice@example.com --package starter --name "Alice Martin"
    """
    from mailadmin.errors import InvalidInput
    from mailadmin.render import users as render
    from mailadmin.services import users

    inv = current()
    fmt = inv.format(output, SHOW)
    if email is None or package is None:
        if not inv.can_prompt():
            missing = "argument EMAIL" if email is None else "option --package PKG"
            raise InvalidInput(f"missing {missing} (no terminal to ask)", hint="see `mailadmin users create --help`")
        email, name, package = _wizard(email, name, package)
    with inv.write() as op:
        detail = users.create(op, email, package, name=name)
    render.created(inv.out, detail, fmt)


def _wizard(email: str | None, name: str | None, package: str | None) -> tuple[str, str, str]:
    """Two steps, like the admin panel: the user's details, then a package picked from a table.
    What was given on the command line is checked before anything is asked, and a typed email
    must be valid and free before the package is asked for."""
    from mailadmin.errors import Conflict, InvalidInput, NotFound
    from mailadmin.render import users as render
    from mailadmin.services import packages, users

    inv = current()
    views = []
    with inv.read() as op:
        if email is not None:
            email = users.free_email(op, email)
        if name is not None:
            name = users.clean_name(name)
        if package is not None:
            packages.get(op.session, package)
        else:
            views = packages.list_packages(op)
            if not views:
                raise NotFound("there are no packages yet", hint="create one with `mailadmin packages create NAME --role ROLE`")
    render.wizard_note(inv.out, "step 1 of 2: user details")
    while email is None:
        raw = inv.ask("email")
        try:
            with inv.read() as op:
                email = users.free_email(op, raw)
        except (InvalidInput, Conflict) as exc:
            render.wizard_note(inv.out, f"  {exc.message}")
    while name is None:
        try:
            name = users.clean_name(inv.ask("name", default=""))
        except InvalidInput as exc:
            render.wizard_note(inv.out, f"  {exc.message}")
    if package is None:
        render.package_picker(inv.out, views)
        by_number = {str(i): v.name for i, v in enumerate(views, 1)}
        while package is None:
            choice = inv.ask("package (number or name)")
            package = by_number.get(choice) or (choice if choice in {v.name for v in views} else None)
            if package is None:
                render.wizard_note(inv.out, f"  no package {choice!r}; pick a number from the table")
    return email, name, package


@app.command("show")
def users_show(user: UserRef, output: ShowOutput = None) -> None:
    """Show a user: status and suspensions, package, limits with their source, IP allow-list.

    Example: mailadmin users show alice@example.com -o json
    """
    from mailadmin.cli import parse
    from mailadmin.render import users as render
    from mailadmin.services import users

    inv = current()
    fmt = inv.format(output, SHOW)
    ref = parse.user_ref(user)
    with inv.read() as op:
        detail = users.show(op, ref)
    render.user_show(inv.out, detail, fmt)


@app.command("list")
def users_list(
    status: Annotated[Optional[str], typer.Option("--status", "-s", metavar="STATUS", autocompletion=STATUSES, help="active, suspended or closed.", show_default=False)] = None,
    package: Package = None,
    search: Annotated[Optional[str], typer.Option("--search", metavar="TEXT", help="Email or name contains TEXT (any case).", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", metavar="WHEN", help="Created since: ISO date or time (UTC), or a span back from now (7d).", show_default=False)] = None,
    account: Annotated[Optional[str], typer.Option("--account", metavar="OWNER", autocompletion=complete_users, show_default=False,
                                                   help="One account's owner and members (name it by its owner or any member), with their roles.")] = None,
    fields: Fields = None,
    no_headers: NoHeaders = False,
    sort: Sort = None,
    limit: Limit = None,
    offset: Offset = 0,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """List users in id order (or --sort FIELD), filtered; `-o ids` prints one email a line for pipelines.

    Example: mailadmin users list --status active --package free -o ids | mailadmin users suspend - --reason billing --yes
    """
    from mailadmin.cli import parse
    from mailadmin.render import users as render
    from mailadmin.render.output import Format
    from mailadmin.services import users

    inv = current()
    fmt = inv.format(output, LIST)
    since_at = inv.when(since)
    account_ref = parse.user_ref(account) if account is not None else None
    if limit is None:
        limit = TABLE_PAGE if fmt in (Format.table, Format.wide) else 0
    page, skip = inv.listing(fields, no_headers, sort, limit, offset, store_pages=True)
    with inv.read() as op:
        # one more than shown tells whether there is more
        rows = users.list_users(op, status_filter=status, package=package, search=search, since=since_at,
                                account=account_ref, limit=page + 1 if page else None, offset=skip)
    if page:  # paged by the store
        more = len(rows) > page
        rows = rows[:page]
    else:  # everything, or sorted and paged by the output
        more = bool(limit) and len(rows) > offset + limit
    render.users_list(inv.out, rows, fmt, cut_at=limit if more else None, team=account is not None)


@app.command("edit")
def users_edit(
    user: UserRef,
    name: Name = None,
    email: Annotated[Optional[str], typer.Option("--email", "-e", metavar="EMAIL", help="A new email (validated).", show_default=False)] = None,
    package: Annotated[Optional[str], typer.Option("--package", "-p", metavar="PKG", help="Move the account to this package (overrides stay; plan expiry restarts).", autocompletion=complete_packages, show_default=False)] = None,
    role: Annotated[Optional[str], typer.Option("--role", metavar="ROLE", autocompletion=complete_roles, show_default=False,
                                                help="A member's new role (not the owner's, not `owner`).")] = None,
    expires: Annotated[Optional[str], typer.Option("--expires", metavar="DATE|never", show_default=False,
                                                   help="When the owner's plan ends: ISO date or time (UTC), a span from now (30d), or never. "
                                                        "An expired account is read-only.")] = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Change a user's name or email, a member's role, or an account's package or plan expiry.

    Example: mailadmin users edit mia@example.com --role viewer
    """
    from mailadmin.cli import parse
    from mailadmin.render import users as render
    from mailadmin.services import users

    inv = current()
    fmt = inv.format(output, SHOW)
    ref = parse.user_ref(user)
    until = None
    if expires is not None:
        until = users.NEVER if expires.strip().lower() == users.NEVER else inv.when(expires, future=True)
    with inv.write() as op:
        detail, changes = users.edit(op, ref, name=name, email=email, package=package, role=role, expires=until)
    render.edited(inv.out, detail, changes, fmt)


@app.command("limits")
def users_limits(
    user: UserRef,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="NAME=VALUE", autocompletion=LIMIT_ASSIGNMENTS, help="Override a limit: an integer >= 0 or `unlimited` (repeatable).", show_default=False)] = None,
    inherit: Annotated[Optional[list[str]], typer.Option("--inherit", metavar="NAME", autocompletion=LIMIT_NAMES, help="Drop an override: take the package's value again (repeatable).", show_default=False)] = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Show every limit of the user's account with its value and source; override or inherit.

    Example: mailadmin users limits alice@example.com --set daily=20000 --inherit hourly
    """
    from mailadmin.cli import parse
    from mailadmin.render import users as render
    from mailadmin.services import users

    inv = current()
    fmt = inv.format(output, SHOW)
    if set_ or inherit:
        values, names = parse.limit_assignments(set_ or []), parse.limit_names(inherit or [])
        ref = parse.user_ref(user)
        with inv.write() as op:
            detail, already = users.set_limits(op, ref, set_=values, inherit=names)
        render.already_inherited(inv.out, already)
    else:
        ref = parse.user_ref(user)
        with inv.read() as op:
            detail = users.show(op, ref)
    render.limits_view(inv.out, detail, fmt)


# -- the team ------------------------------------------------------------------------------------
@app.command("invite")
def users_invite(
    owner: Annotated[str, typer.Argument(metavar="OWNER", help="The account owner (email or #ID).", autocompletion=complete_users, show_default=False)],
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The member's email: a new person, or one removed from a team before.", show_default=False)],
    role: MemberRole = None,
    name: Name = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Add a member to an owner's account with a role (the package's team_members limit applies).

    Example: mailadmin users invite alice@example.com mia@example.com --role viewer --name "Mia Rossi"
    """
    from mailadmin.cli import parse
    from mailadmin.errors import InvalidInput
    from mailadmin.render import users as render
    from mailadmin.services import team

    inv = current()
    fmt = inv.format(output, SHOW)
    if role is None:
        raise InvalidInput("missing option --role ROLE", hint="see `mailadmin roles list`")
    ref = parse.user_ref(owner)
    with inv.write() as op:
        detail, rejoined = team.invite(op, ref, email, role, name=name)
    render.invited(inv.out, detail, rejoined, fmt)


@app.command("remove")
def users_remove(
    member: Annotated[str, typer.Argument(metavar="MEMBER", help="A team member (email or #ID).", autocompletion=complete_users, show_default=False)],
    yes: Yes = False,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Remove a member from its account: its access and domain grants go, the person and its history stay.

    Example: mailadmin users remove mia@example.com --yes
    """
    from mailadmin.cli import parse
    from mailadmin.render import users as render
    from mailadmin.services import team

    inv = current()
    fmt = inv.format(output, SHOW)
    ref = parse.user_ref(member)
    if not yes:
        with inv.read() as op:  # a change that would be refused is refused before anyone is asked
            plan = team.check_remove(op, ref)
        inv.confirm(render.remove_question(plan), yes)
    with inv.write() as op:
        detail, removal = team.remove(op, ref)
    render.removed(inv.out, detail, removal, fmt)


@app.command("transfer")
def users_transfer(
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="The account: its owner, or any of its members (email or #ID).", autocompletion=complete_users, show_default=False)],
    new_owner: Annotated[str, typer.Argument(metavar="NEW_OWNER", help="A member of that account, who becomes its owner.", autocompletion=complete_users, show_default=False)],
    yes: Yes = False,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Move an account's ownership to one of its members; the old owner stays as an admin member.

    Example: mailadmin users transfer alice@example.com mia@example.com --yes
    """
    from mailadmin.cli import parse
    from mailadmin.render import users as render
    from mailadmin.services import team

    inv = current()
    fmt = inv.format(output, SHOW)
    account_ref, new_ref = parse.user_ref(account), parse.user_ref(new_owner)
    if not yes:
        with inv.read() as op:
            plan = team.check_transfer(op, account_ref, new_ref)
        inv.confirm(render.transfer_question(plan), yes)
    with inv.write() as op:
        detail, moved = team.transfer(op, account_ref, new_ref)
    render.transferred(inv.out, detail, moved, fmt)


# -- lifecycle: one user or many ----------------------------------------------------------------
def _bulk(action: str, users: list[str] | None, stdin: bool, *, dry_run: bool, yes: bool, skip_missing: bool,
          output, reason: str | None = None, code: str | None = None, until: str | None = None, force: bool = False) -> None:
    from mailadmin.cli import parse
    from mailadmin.errors import Failure, InvalidInput
    from mailadmin.render import users as render
    from mailadmin.services import lifecycle

    inv = current()
    fmt = inv.format(output, BULK)
    args = list(users or [])
    from_stdin = stdin or "-" in args
    args = [a for a in args if a != "-"]
    if not args and not from_stdin:
        raise InvalidInput("give one or more users, or `-` to read them from stdin", hint=f"see `mailadmin users {action} --help`")
    single = len(args) == 1 and not from_stdin
    req = lifecycle.make_request(action, now=inv.clock(), reason=reason, force=force,
                                 code=parse.suspension_code(code) if code is not None else None,
                                 until=inv.when(until, future=True))
    asking = not dry_run and not yes
    if asking and from_stdin and not inv.can_prompt():
        inv.confirm("", yes)  # a script piping ids without --yes: exit 2 now, before reading stdin
    refs = parse.user_refs(args, inv.stdin if from_stdin else None)
    if asking:
        refs = list(refs)
        # what would be refused (unknown users, a state that does not allow it) is refused before
        # anyone is asked; the question names what the run would change
        with inv.out.progress() as tick, inv.read() as op:
            plan = lifecycle.run(op, req, refs, single=single, skip_missing=skip_missing, dry_run=True, progress=tick)
        inv.confirm(render.bulk_question(plan), yes)
    with inv.out.progress() as tick, (inv.read() if dry_run else inv.write()) as op:
        report = lifecycle.run(op, req, refs, single=single, skip_missing=skip_missing, dry_run=dry_run, progress=tick)
    render.bulk_report(inv.out, report, fmt)
    if report.failed:
        raise Failure(render.bulk_failure(report))
    inv.out.message(render.bulk_summary(report))


@app.command("suspend")
def users_suspend(
    users: UserRefs = None,
    stdin: Stdin = False,
    reason: Reason = None,
    code: Code = None,
    until: Annotated[Optional[str], typer.Option("--until", metavar="WHEN", help="Lifts itself then: ISO date/time (UTC) or a span (12h, 7d).", show_default=False)] = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    skip_missing: SkipMissing = False,
    output: BulkOutput = None,
    quiet: Quiet = False,
) -> None:
    """Suspend users (a record with code, reason, actor, optional end; several may stand).

    Example: mailadmin users suspend alice@example.com --reason "unpaid invoice" --code billing --until 7d --yes
    """
    _bulk("suspend", users, stdin, dry_run=dry_run, yes=yes, skip_missing=skip_missing, output=output,
          reason=reason, code=code, until=until)


@app.command("unsuspend")
def users_unsuspend(
    users: UserRefs = None,
    stdin: Stdin = False,
    code: Annotated[Optional[str], typer.Option("--code", metavar="CODE", autocompletion=SUSPENSION_CODES, help="Lift only suspensions with this code (default: all).", show_default=False)] = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    skip_missing: SkipMissing = False,
    output: BulkOutput = None,
    quiet: Quiet = False,
) -> None:
    """Lift standing suspensions, all of them or only those with --code.

    Example: mailadmin users unsuspend alice@example.com --code billing --yes
    """
    _bulk("unsuspend", users, stdin, dry_run=dry_run, yes=yes, skip_missing=skip_missing, output=output, code=code)


@app.command("close")
def users_close(
    users: UserRefs = None,
    stdin: Stdin = False,
    reason: Reason = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    skip_missing: SkipMissing = False,
    output: BulkOutput = None,
    quiet: Quiet = False,
) -> None:
    """Close users (data kept; `reopen` undoes it). Closing an owner shuts out its team.

    Example: mailadmin users close alice@example.com --reason "asked to leave" --yes
    """
    _bulk("close", users, stdin, dry_run=dry_run, yes=yes, skip_missing=skip_missing, output=output, reason=reason)


@app.command("reopen")
def users_reopen(
    users: UserRefs = None,
    stdin: Stdin = False,
    dry_run: DryRun = False,
    yes: Yes = False,
    force: Annotated[bool, typer.Option("--force", help="Accepted so reopen and delete take the same options; reopening needs no force.")] = False,
    skip_missing: SkipMissing = False,
    output: BulkOutput = None,
    quiet: Quiet = False,
) -> None:
    """Reopen closed users (suspensions still standing still count).

    Example: mailadmin users reopen alice@example.com --yes
    """
    _bulk("reopen", users, stdin, dry_run=dry_run, yes=yes, skip_missing=skip_missing, output=output)


@app.command("delete")
def users_delete(
    users: UserRefs = None,
    stdin: Stdin = False,
    dry_run: DryRun = False,
    yes: Yes = False,
    force: Force = False,
    skip_missing: SkipMissing = False,
    output: BulkOutput = None,
    quiet: Quiet = False,
) -> None:
    """Delete closed users (any with --force); an owner's account goes too, ledger and audit stay.

    Example: mailadmin users delete alice@example.com --yes
    """
    _bulk("delete", users, stdin, dry_run=dry_run, yes=yes, skip_missing=skip_missing, output=output, force=force)


# -- IP allow-lists -------------------------------------------------------------------------------
@app.command("allow-ip")
def users_allow_ip(user: UserRef, cidrs: Cidrs, output: ShowOutput = None, quiet: Quiet = False) -> None:
    """Add addresses or networks to the account's IP allow-list (normalised, duplicates merged).

    Example: mailadmin users allow-ip alice@example.com 203.0.113.7 2001:db8::/32
    """
    _ip("allow", user, cidrs, output)


@app.command("deny-ip")
def users_deny_ip(user: UserRef, cidrs: Cidrs, output: ShowOutput = None, quiet: Quiet = False) -> None:
    """Remove addresses or networks from the account's IP allow-list.

    Example: mailadmin users deny-ip alice@example.com 203.0.113.7
    """
    _ip("deny", user, cidrs, output)


def _ip(which: str, user: str, cidrs: list[str], output) -> None:
    from mailadmin.cli import parse
    from mailadmin.render import users as render
    from mailadmin.services import ipallow

    inv = current()
    fmt = inv.format(output, SHOW)
    networks = parse.ip_networks(cidrs)  # one bad item refuses them all, before the store is opened
    ref = parse.user_ref(user)
    with inv.write() as op:
        change = (ipallow.allow if which == "allow" else ipallow.deny)(op, ref, networks)
    (render.ip_allowed if which == "allow" else render.ip_denied)(inv.out, change, fmt)


# `users can` and `users access` live in cli/users_access.py
from mailadmin.cli import users_access  # noqa: E402

users_access.register(app)

# `users usage` and `users record` live in cli/users_usage.py
from mailadmin.cli import users_usage  # noqa: E402

users_usage.register(app)

# `users import` lives in cli/users_import.py
from mailadmin.cli import users_import  # noqa: E402

users_import.register(app)

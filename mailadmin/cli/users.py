"""`mailadmin users`: client accounts, their limits, lifecycle (one user or a stream of ids), IP allow-lists."""

from __future__ import annotations

from typing import Annotated, Iterator, Optional

import typer

from mailadmin.cli.complete import complete_packages
from mailadmin.cli.options import BulkOutput, DryRun, Output, ShowOutput, SkipMissing, Stdin, UserRef, UserRefs, Yes

app = typer.Typer(help="Users: client accounts, limits, suspensions, closing, IP allow-lists.", no_args_is_help=True)

Package = Annotated[Optional[str], typer.Option("--package", "-p", metavar="PKG", help="The account's package.", autocompletion=complete_packages, show_default=False)]
Name = Annotated[Optional[str], typer.Option("--name", "-n", metavar="TEXT", help="The person's name.", show_default=False)]
Reason = Annotated[Optional[str], typer.Option("--reason", metavar="TEXT", help="Why (kept with the record and in the audit log).", show_default=False)]
Code = Annotated[Optional[str], typer.Option("--code", metavar="CODE", help="Reason code: billing, abuse, bounces, manual (default), ...", show_default=False)]
Force = Annotated[bool, typer.Option("--force", help="Delete users that are not closed too.")]
Cidrs = Annotated[list[str], typer.Argument(metavar="CIDR", help="IPv4/IPv6 addresses or networks (203.0.113.7, 2001:db8::/32).", show_default=False)]


@app.command("create")
def users_create(
    email: Annotated[Optional[str], typer.Argument(metavar="EMAIL", help="The owner's email (validated, stored lower-case).", show_default=False)] = None,
    package: Package = None,
    name: Name = None,
    output: ShowOutput = None,
) -> None:
    """Create an account owner on a package (a wizard asks for what is missing at a terminal).

    Example: mailadmin users create alice@example.com --package starter --name "Alice Martin"
    """
    from mailadmin.cli.context import actor, can_prompt, output_format, write
    from mailadmin.errors import InvalidInput
    from mailadmin.render.output import Format, message
    from mailadmin.render.users import user_show
    from mailadmin.services import users

    fmt = output_format(output, allow_ids=False)
    if email is None or package is None:
        if not can_prompt():
            missing = "argument EMAIL" if email is None else "option --package PKG"
            raise InvalidInput(f"missing {missing} (no terminal to ask)", hint="see `mailadmin users create --help`")
        email, name, package = _wizard(email, name, package)
    with write() as session:
        detail = users.create(session, actor(), email, package, name=name)
    if fmt is Format.json:
        user_show(detail, fmt)
    else:
        message(f"created {detail.email} on package {detail.package} (account #{detail.account_id})")


def _wizard(email: str | None, name: str | None, package: str | None) -> tuple[str, str | None, str]:
    """Two steps, like the admin panel: the user's details, then a package picked from a table."""
    from mailadmin.cli.context import read
    from mailadmin.errors import InvalidInput, NotFound
    from mailadmin.render.output import message
    from mailadmin.render.users import package_picker
    from mailadmin.services import packages
    from mailadmin.services.accounts import normalise_email

    message("step 1 of 2: user details")
    while email is None:
        raw = typer.prompt("email", err=True)
        try:
            email = normalise_email(raw)
        except InvalidInput as exc:
            message(f"  {exc.message}")
    if name is None:
        name = typer.prompt("name", default="", err=True, show_default=False)
    if package is None:
        with read() as session:
            views = packages.list_packages(session)
        if not views:
            raise NotFound("there are no packages yet", hint="create one with `mailadmin packages create NAME --role ROLE`")
        package_picker(views)
        by_number = {str(i): v.name for i, v in enumerate(views, 1)}
        while package is None:
            choice = typer.prompt("package (number or name)", err=True).strip()
            package = by_number.get(choice) or (choice if choice in {v.name for v in views} else None)
            if package is None:
                message(f"  no package {choice!r}; pick a number from the table")
    return email, name, package


@app.command("show")
def users_show(user: UserRef, output: ShowOutput = None) -> None:
    """Show a user: status and suspensions, package, limits with their source, IP allow-list.

    Example: mailadmin users show alice@example.com -o json
    """
    from mailadmin.cli.context import output_format, read
    from mailadmin.render.users import user_show
    from mailadmin.services import users

    fmt = output_format(output, allow_ids=False)
    with read() as session:
        detail = users.show(session, user)
    user_show(detail, fmt)


@app.command("list")
def users_list(
    status: Annotated[Optional[str], typer.Option("--status", "-s", metavar="STATUS", help="active, suspended or closed.", show_default=False)] = None,
    package: Package = None,
    search: Annotated[Optional[str], typer.Option("--search", metavar="TEXT", help="Email or name contains TEXT (any case).", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", metavar="WHEN", help="Created since: ISO date or time (UTC), or a span back from now (7d).", show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=0, metavar="N", help="At most N users (0: all). Default: 500 for tables, all otherwise.", show_default=False)] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, metavar="N", help="Skip the first N users (in id order).")] = 0,
    output: Output = None,
) -> None:
    """List users in id order, filtered; `-o ids` prints one email a line for pipelines.

    Example: mailadmin users list --status active --package free -o ids | mailadmin users suspend - --reason billing --yes
    """
    from mailadmin.cli.context import output_format, read
    from mailadmin.render.output import Format
    from mailadmin.render.users import users_list as render
    from mailadmin.services import users
    from mailadmin.timeutil import parse_when

    fmt = output_format(output)
    since_at = parse_when(since) if since else None
    if limit is None:
        limit = 500 if fmt is Format.table else 0
    with read() as session:
        rows = users.list_users(session, status_filter=status, package=package, search=search, since=since_at,
                                limit=limit + 1 if limit else None, offset=offset)
    more = bool(limit) and len(rows) > limit
    render(rows[:limit] if more else rows, fmt, more=more)


@app.command("edit")
def users_edit(
    user: UserRef,
    name: Name = None,
    email: Annotated[Optional[str], typer.Option("--email", "-e", metavar="EMAIL", help="A new email (validated).", show_default=False)] = None,
    package: Annotated[Optional[str], typer.Option("--package", "-p", metavar="PKG", help="Move the account to this package (overrides stay; plan expiry restarts).", autocompletion=complete_packages, show_default=False)] = None,
    output: ShowOutput = None,
) -> None:
    """Change a user's name, email or package.

    Example: mailadmin users edit alice@example.com --package business
    """
    from mailadmin.cli.context import actor, output_format, write
    from mailadmin.render.output import Format, message
    from mailadmin.render.users import user_show
    from mailadmin.services import users

    fmt = output_format(output, allow_ids=False)
    with write() as session:
        detail, changes = users.edit(session, actor(), user, name=name, email=email, package=package)
    if fmt is Format.json:
        user_show(detail, fmt)
    if changes:
        message(f"updated {detail.email}: " + ", ".join(f"{k} {_short(c['before'])} -> {_short(c['after'])}" for k, c in changes.items()))
    else:
        message(f"{detail.email} unchanged: it already has those values")


def _short(value) -> str:
    from mailadmin.timeutil import iso

    if value is None:
        return "none"
    return iso(value) if hasattr(value, "tzinfo") else repr(value) if isinstance(value, str) else str(value)


@app.command("limits")
def users_limits(
    user: UserRef,
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="NAME=VALUE", help="Override a limit: an integer >= 0 or `unlimited` (repeatable).", show_default=False)] = None,
    inherit: Annotated[Optional[list[str]], typer.Option("--inherit", metavar="NAME", help="Drop an override: take the package's value again (repeatable).", show_default=False)] = None,
    output: ShowOutput = None,
) -> None:
    """Show every limit of the user's account with its value and source; override or inherit.

    Example: mailadmin users limits alice@example.com --set daily=20000 --inherit hourly
    """
    from mailadmin.cli.context import actor, output_format, read, write
    from mailadmin.render.output import message
    from mailadmin.render.users import limits_view
    from mailadmin.services import users

    fmt = output_format(output, allow_ids=False)
    if set_ or inherit:
        with write() as session:
            detail, notes = users.set_limits(session, actor(), user, set_=set_ or [], inherit=inherit or [])
        for note in notes:
            message(note)
    else:
        with read() as session:
            detail = users.show(session, user)
    limits_view(detail, fmt)


# -- lifecycle: one user or many ----------------------------------------------------------------
def _stdin_refs() -> Iterator[str]:
    """One user a line; blank lines and comments are skipped. `#12` is user 12; any other line
    starting with `#` (`# note`, `#todo`) is a comment."""
    import sys

    for line in sys.stdin:
        ref = line.strip()
        if not ref or (ref.startswith("#") and not ref[1:].isdigit()):
            continue
        yield ref


def _bulk(action: str, users: list[str] | None, stdin: bool, *, dry_run: bool, yes: bool, skip_missing: bool,
          output, reason: str | None = None, code: str | None = None, until: str | None = None, force: bool = False) -> None:
    import itertools

    from mailadmin.cli.context import actor, can_prompt, confirm, output_format, read, write
    from mailadmin.errors import Failure, InvalidInput
    from mailadmin.render.output import message
    from mailadmin.render.output import progress
    from mailadmin.render.users import bulk_report
    from mailadmin.services import lifecycle
    from mailadmin.timeutil import parse_when

    from mailadmin.render.output import Format

    if output is Format.csv:
        raise InvalidInput("bulk commands print -o json (the report) or a one-line summary")
    fmt = output_format(output, allow_ids=False)
    args = list(users or [])
    from_stdin = stdin or "-" in args
    args = [a for a in args if a != "-"]
    if not args and not from_stdin:
        raise InvalidInput("give one or more users, or `-` to read them from stdin", hint=f"see `mailadmin users {action} --help`")
    single = len(args) == 1 and not from_stdin
    req = lifecycle.make_request(action, reason=reason, code=code, force=force,
                                 until=parse_when(until, future=True) if until else None)
    refs = itertools.chain(args, _stdin_refs() if from_stdin else ())
    if not dry_run and not yes:
        if not can_prompt():
            confirm("", yes)  # a script without --yes: exit 2 now, before reading anything
        refs = list(refs)
        what = refs[0] if len(refs) == 1 else f"{len(refs)} users"
        confirm(f"{action} {what}?", yes)
    with progress() as tick, (read() if dry_run else write()) as session:
        report = lifecycle.run(session, actor(), req, refs, single=single, skip_missing=skip_missing, dry_run=dry_run, progress=tick)
    bulk_report(report, fmt)
    if report.failed:
        raise Failure(f"{report.summary()}: {lifecycle.preview([f['id'] for f in report.failed])}")
    message(report.summary())


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
    code: Annotated[Optional[str], typer.Option("--code", metavar="CODE", help="Lift only suspensions with this code (default: all).", show_default=False)] = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    skip_missing: SkipMissing = False,
    output: BulkOutput = None,
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
) -> None:
    """Delete closed users (any with --force); an owner's account goes too, ledger and audit stay.

    Example: mailadmin users delete alice@example.com --yes
    """
    _bulk("delete", users, stdin, dry_run=dry_run, yes=yes, skip_missing=skip_missing, output=output, force=force)


# -- IP allow-lists -------------------------------------------------------------------------------
@app.command("allow-ip")
def users_allow_ip(user: UserRef, cidrs: Cidrs, output: ShowOutput = None) -> None:
    """Add addresses or networks to the account's IP allow-list (normalised, duplicates merged).

    Example: mailadmin users allow-ip alice@example.com 203.0.113.7 2001:db8::/32
    """
    _ip("allow", user, cidrs, output)


@app.command("deny-ip")
def users_deny_ip(user: UserRef, cidrs: Cidrs, output: ShowOutput = None) -> None:
    """Remove addresses or networks from the account's IP allow-list.

    Example: mailadmin users deny-ip alice@example.com 203.0.113.7
    """
    _ip("deny", user, cidrs, output)


def _ip(which: str, user: str, cidrs: list[str], output) -> None:
    from mailadmin.cli.context import actor, output_format, write
    from mailadmin.render.output import Format, emit_json, message
    from mailadmin.services import ipallow

    fmt = output_format(output, allow_ids=False)
    with write() as session:
        email, done, skipped, whole = (ipallow.allow if which == "allow" else ipallow.deny)(session, actor(), user, cidrs)
    if fmt is Format.json:
        emit_json({"user": email, "ip_allow": whole, "added" if which == "allow" else "removed": done, "unchanged": skipped})
    if skipped:
        message(f"{'already on' if which == 'allow' else 'not on'} the list: {', '.join(skipped)}")
    verb = "added" if which == "allow" else "removed"
    message(f"{verb} {len(done)}; allow-list now: {', '.join(whole) or 'empty (every address allowed)'}")

"""`mailadmin packages`: service tiers with a role cap, limits, credit settings and assets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Iterable, Optional

import typer

from mailadmin.cli.complete import LIMIT_ASSIGNMENTS, complete_packages, complete_roles
from mailadmin.cli.context import current
from mailadmin.cli.options import DryRun, Fields, Limit, NoHeaders, Offset, Output, PackageName, Quiet, ShowOutput, Sort, Yes
from mailadmin.render.output import LIST, SHOW

if TYPE_CHECKING:
    from mailadmin.services.packages import Settings

app = typer.Typer(help="Packages: service tiers with limits, credits and a role that caps their accounts.", no_args_is_help=True)

Role = Annotated[Optional[str], typer.Option("--role", metavar="ROLE", help="The role that caps what the package's accounts may do.", autocompletion=complete_roles, show_default=False)]
LimitSetting = Annotated[Optional[list[str]], typer.Option("--limit", "-l", metavar="NAME=VALUE", autocompletion=LIMIT_ASSIGNMENTS, show_default=False,
                                                          help="A limit: an integer >= 0 or `unlimited` (repeatable), e.g. daily=5000.")]
Credits = Annotated[Optional[bool], typer.Option("--credits/--no-credits", help="Enable pay-as-you-go credits.", show_default=False)]
CreditCost = Annotated[Optional[str], typer.Option("--credit-cost", metavar="AMOUNT", help="Credits per email, up to 4 decimals (0.0010).", show_default=False)]
AllowOveruse = Annotated[Optional[bool], typer.Option("--allow-overuse/--no-allow-overuse", help="Let accounts send past a limit by paying credits.", show_default=False)]
BounceLimit = Annotated[Optional[str], typer.Option("--bounce-limit", metavar="PCT", help="Bounce rate (percent, up to 2 decimals) above which an account is suspended; `none` for no limit.", show_default=False)]
BounceMinSends = Annotated[Optional[str], typer.Option("--bounce-min-sends", metavar="N", show_default=False,
                                                      help="Sends a day or month must hold before its bounce rate counts (default 100).")]
ExpiresAfter = Annotated[Optional[str], typer.Option("--expires-after", metavar="DAYS", help="Plan validity of new accounts in days, or `never`.", show_default=False)]
Description = Annotated[Optional[str], typer.Option("--description", "-d", metavar="TEXT", help="What the package is for.", show_default=False)]
Asset = Annotated[Optional[list[str]], typer.Option("--asset", metavar="KIND=VALUE", help="Pre-assign an asset: node=NAME, bounce=EMAIL or domain=NAME (repeatable).", show_default=False)]


def settings_from_options(
    *,
    role: str | None = None,
    description: str | None = None,
    limit: Iterable[str] = (),
    credits: bool | None = None,
    credit_cost: str | None = None,
    allow_overuse: bool | None = None,
    bounce_limit: str | None = None,
    expires_after: str | None = None,
    asset: Iterable[str] = (),
    bounce_min_sends: str | None = None,
) -> "Settings":
    """The typed settings create and edit take, from what the operator typed (exit 2 on a typo)."""
    from mailadmin.cli import parse
    from mailadmin.services.packages import Settings
    from mailadmin.units import parse_amount

    settings = Settings(role=role, description=description, credits_enabled=credits, allow_overuse=allow_overuse)
    settings.limits = parse.limit_assignments(limit)
    if credit_cost is not None:
        settings.credit_cost = parse_amount(credit_cost, what="credit cost", allow_zero=True)
    if bounce_limit is not None:
        settings.bounce_limit = parse.bounce_limit(bounce_limit)
        settings.clear_bounce_limit = settings.bounce_limit is None
    if bounce_min_sends is not None:
        from mailadmin.cli.users_usage import count

        settings.bounce_min_sends = count(bounce_min_sends, "--bounce-min-sends")
    if expires_after is not None:
        settings.expires_after = parse.expires_after(expires_after)
        settings.clear_expires_after = settings.expires_after is None
    settings.assets = parse.assets(asset)
    return settings


@app.command("list")
def packages_list(
    fields: Fields = None, no_headers: NoHeaders = False, sort: Sort = None, limit: Limit = None, offset: Offset = 0,
    output: Output = None,
    quiet: Quiet = False,
) -> None:
    """List packages with their main limits, credit settings and account counts.

    Example: mailadmin packages list -o json
    """
    from mailadmin.render import packages as render
    from mailadmin.services import packages

    inv = current()
    fmt = inv.format(output, LIST)
    inv.listing(fields, no_headers, sort, limit, offset)
    with inv.read() as op:
        views = packages.list_packages(op)
    render.packages_list(inv.out, views, fmt)


@app.command("show")
def packages_show(name: PackageName, output: ShowOutput = None) -> None:
    """Show a package: role, every limit, credit settings, assets, accounts on it.

    Example: mailadmin packages show business -o json
    """
    from mailadmin.render import packages as render
    from mailadmin.services import packages

    inv = current()
    fmt = inv.format(output, SHOW)
    with inv.read() as op:
        view = packages.describe(op, name)
    render.package_show(inv.out, view, fmt)


@app.command("create")
def packages_create(
    name: PackageName,
    role: Role = None,
    limit: LimitSetting = None,
    credits: Credits = None,
    credit_cost: CreditCost = None,
    allow_overuse: AllowOveruse = None,
    bounce_limit: BounceLimit = None,
    bounce_min_sends: BounceMinSends = None,
    expires_after: ExpiresAfter = None,
    description: Description = None,
    asset: Asset = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Create a package; limits not given are unlimited.

    Example: mailadmin packages create starter --role regular --limit daily=5000 --limit monthly=100000
    """
    from mailadmin.render import packages as render
    from mailadmin.services import packages

    inv = current()
    fmt = inv.format(output, SHOW)
    settings = settings_from_options(role=role, description=description, limit=limit or [], credits=credits,
                                     credit_cost=credit_cost, allow_overuse=allow_overuse, bounce_limit=bounce_limit,
                                     expires_after=expires_after, asset=asset or [], bounce_min_sends=bounce_min_sends)
    with inv.write() as op:
        view = packages.create(op, name, settings)
    render.created(inv.out, view, fmt)


@app.command("edit")
def packages_edit(
    name: PackageName,
    role: Role = None,
    limit: LimitSetting = None,
    credits: Credits = None,
    credit_cost: CreditCost = None,
    allow_overuse: AllowOveruse = None,
    bounce_limit: BounceLimit = None,
    bounce_min_sends: BounceMinSends = None,
    expires_after: ExpiresAfter = None,
    description: Description = None,
    dry_run: DryRun = False,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Change a package; every account that inherits follows (overrides stay).

    --dry-run lists the accounts the change reaches and which of them keep an override.
    A new --expires-after applies to accounts created from now on.

    Example: mailadmin packages edit starter --limit daily=8000 --dry-run
    """
    from mailadmin.render import packages as render
    from mailadmin.services import packages

    inv = current()
    fmt = inv.format(output, SHOW)
    settings = settings_from_options(role=role, description=description, limit=limit or [], credits=credits,
                                     credit_cost=credit_cost, allow_overuse=allow_overuse, bounce_limit=bounce_limit,
                                     expires_after=expires_after, bounce_min_sends=bounce_min_sends)
    with (inv.read() if dry_run else inv.write()) as op:
        result = packages.edit(op, name, settings, dry_run=dry_run)
    render.edit_report(inv.out, result, fmt)


@app.command("delete")
def packages_delete(
    name: PackageName,
    reassign: Annotated[Optional[str], typer.Option("--reassign", metavar="OTHER", help="Move the package's accounts to this package first.", autocompletion=complete_packages, show_default=False)] = None,
    dry_run: DryRun = False,
    yes: Yes = False,
    quiet: Quiet = False,
) -> None:
    """Delete a package; one still in use needs --reassign OTHER.

    Example: mailadmin packages delete trial --reassign free --yes
    """
    from mailadmin.render import packages as render
    from mailadmin.services import packages

    inv = current()
    if dry_run or not yes:
        with inv.read() as op:  # what would be refused is refused before anyone is asked
            plan = packages.delete_package(op, name, reassign=reassign, dry_run=True)
        if dry_run:
            render.deleted(inv.out, plan, dry_run=True)
            return
        inv.confirm(render.delete_question(plan), yes)
    with inv.write() as op:
        deletion = packages.delete_package(op, name, reassign=reassign)
    render.deleted(inv.out, deletion)


@app.command("assets")
def packages_assets(
    name: PackageName,
    add: Annotated[Optional[list[str]], typer.Option("--add", metavar="KIND=VALUE", help="Assign node=NAME, bounce=EMAIL or domain=NAME (repeatable).", show_default=False)] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove", metavar="KIND=VALUE", help="Unassign an asset (repeatable).", show_default=False)] = None,
    output: ShowOutput = None,
    quiet: Quiet = False,
) -> None:
    """Show or change the sending nodes, bounce addresses and domains a package pre-assigns.

    Example: mailadmin packages assets business --add node=mta1 --remove bounce=old@bounce.example.net
    """
    from mailadmin.cli import parse
    from mailadmin.render import packages as render
    from mailadmin.services import packages

    inv = current()
    fmt = inv.format(output, SHOW)
    if add or remove:
        to_add, to_remove = parse.assets(add or []), parse.assets(remove or [])
        with inv.write() as op:
            change = packages.change_assets(op, name, to_add, to_remove)
        render.assets(inv.out, change.view, fmt, change)
    else:
        with inv.read() as op:
            view = packages.describe(op, name)
        render.assets(inv.out, view, fmt)
